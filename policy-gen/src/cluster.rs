//! The cluster model the evaluator reasons about: namespaces with labels, pods with labels,
//! addresses and container ports.

use std::net::IpAddr;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace as K8sNamespace;
use manifests_core::ManifestSet;
use manifests_core::tenant::Isolation;
use serde::Serialize;

use crate::policy::Proto;
use crate::selector::Labels;
use crate::{Error, Result};

/// The label the API server sets on every namespace (immutable, equal to its name).
pub const NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// A namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Namespace {
    /// Name.
    pub name: String,
    /// Labels, always including [`NAME_LABEL`].
    pub labels: Labels,
}

/// A container port a pod serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ContainerPort {
    /// Port name, for named-port rules.
    pub name: Option<String>,
    /// Number.
    pub port: u16,
    /// Protocol.
    pub proto: Proto,
}

/// A pod.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pod {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: Labels,
    /// Address, for ipBlock rules (none: no ipBlock matches it).
    pub ip: Option<IpAddr>,
    /// Served ports.
    pub ports: Vec<ContainerPort>,
}

/// Index of a pod in its [`Cluster`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PodId(pub usize);

/// One end of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A pod of the cluster.
    Pod(PodId),
    /// An address outside the cluster.
    External(IpAddr),
}

/// Namespaces and pods.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Cluster {
    namespaces: Vec<Namespace>,
    pods: Vec<Pod>,
}

impl Cluster {
    /// An empty cluster.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or relabels) a namespace; [`NAME_LABEL`] is set as the API server would.
    pub fn add_namespace(&mut self, name: &str, mut labels: Labels) {
        labels.insert(NAME_LABEL.into(), name.into());
        match self.namespaces.iter_mut().find(|n| n.name == name) {
            Some(existing) => existing.labels.extend(labels),
            None => self.namespaces.push(Namespace {
                name: name.into(),
                labels,
            }),
        }
    }

    /// Adds a pod (and its namespace, unlabelled, if unknown).
    pub fn add_pod(&mut self, pod: Pod) -> PodId {
        if self.namespace(&pod.namespace).is_none() {
            self.add_namespace(&pod.namespace.clone(), Labels::new());
        }
        self.pods.push(pod);
        PodId(self.pods.len() - 1)
    }

    /// The namespace called `name`.
    pub fn namespace(&self, name: &str) -> Option<&Namespace> {
        self.namespaces.iter().find(|n| n.name == name)
    }

    /// All namespaces.
    pub fn namespaces(&self) -> &[Namespace] {
        &self.namespaces
    }

    /// All pods.
    pub fn pods(&self) -> &[Pod] {
        &self.pods
    }

    /// The pod with this id.
    pub fn pod(&self, id: PodId) -> &Pod {
        &self.pods[id.0]
    }

    /// Ids of the pods of namespace `name`.
    pub fn pods_in<'a>(&'a self, name: &'a str) -> impl Iterator<Item = PodId> + 'a {
        self.pods
            .iter()
            .enumerate()
            .filter(move |(_, p)| p.namespace == name)
            .map(|(i, _)| PodId(i))
    }

    /// The namespaces and workloads a manifest set declares: every Namespace, and one pod per
    /// Deployment (its template's labels and container ports).
    pub fn from_manifests(set: &ManifestSet) -> Result<Self> {
        let mut cluster = Self::new();
        for manifest in set {
            let key = manifest.key();
            match (key.api_version.as_str(), key.kind.as_str()) {
                ("v1", "Namespace") => {
                    let ns: K8sNamespace = manifest.decode()?;
                    cluster.add_namespace(&key.name, ns.metadata.labels.unwrap_or_default());
                }
                ("apps/v1", "Deployment") => {
                    let deployment: Deployment = manifest.decode()?;
                    let template = deployment.spec.map(|s| s.template).unwrap_or_default();
                    let mut ports = Vec::new();
                    for container in template.spec.iter().flat_map(|s| &s.containers) {
                        for port in container.ports.iter().flatten() {
                            ports.push(ContainerPort {
                                name: port.name.clone(),
                                port: u16::try_from(port.container_port).map_err(|_| {
                                    Error::InvalidSpec {
                                        field: format!("{key} containerPort"),
                                        reason: format!("{} is out of range", port.container_port),
                                    }
                                })?,
                                proto: Proto::parse(port.protocol.as_deref()).map_err(
                                    |reason| Error::InvalidSpec {
                                        field: key.to_string(),
                                        reason,
                                    },
                                )?,
                            });
                        }
                    }
                    cluster.add_pod(Pod {
                        namespace: key.namespace.clone().unwrap_or_else(|| "default".into()),
                        name: key.name.clone(),
                        labels: template.metadata.and_then(|m| m.labels).unwrap_or_default(),
                        ip: None,
                        ports,
                    });
                }
                _ => {}
            }
        }
        Ok(cluster)
    }

    /// Adds the platform a tenant depends on, as [`Isolation`] describes it: the DNS pods, and one
    /// representative pod in each system namespace (the ingress gateway in `istio-system`).
    pub fn with_platform(mut self, isolation: &Isolation) -> Self {
        let dns = Pod {
            namespace: isolation.dns_namespace.clone(),
            name: "coredns".into(),
            labels: isolation.dns_pod_labels.clone(),
            ip: None,
            ports: vec![
                ContainerPort {
                    name: Some("dns".into()),
                    port: 53,
                    proto: Proto::Udp,
                },
                ContainerPort {
                    name: Some("dns-tcp".into()),
                    port: 53,
                    proto: Proto::Tcp,
                },
            ],
        };
        self.add_pod(dns);
        for ns in &isolation.system_namespaces {
            let (name, labels) = if ns == "istio-system" {
                (
                    "istio-ingressgateway",
                    [("app", "istio-ingressgateway"), ("istio", "ingressgateway")],
                )
            } else {
                (
                    "platform",
                    [("app", "platform"), ("component", ns.as_str())],
                )
            };
            self.add_pod(Pod {
                namespace: ns.clone(),
                name: name.into(),
                labels: labels
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                ip: None,
                ports: vec![ContainerPort {
                    name: Some("http".into()),
                    port: 8080,
                    proto: Proto::Tcp,
                }],
            });
        }
        self
    }
}
