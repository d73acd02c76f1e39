//! The cluster model the evaluator reasons about: namespaces with labels, pods with labels,
//! addresses and container ports.

use std::net::IpAddr;

use std::collections::{BTreeSet, HashMap};

use manifests_core::tenant::Isolation;
use serde::Serialize;

use crate::policy::Proto;
use crate::selector::Labels;

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
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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
    /// Pods serving a UI or a model, which the ingress gateway and the platform must reach.
    user_facing: BTreeSet<PodId>,
    /// Namespaces whose only pod is a representative one (they declared no workload).
    representatives: BTreeSet<String>,
    /// Position of each namespace in `namespaces`: selectors look namespaces up on every check.
    #[serde(skip)]
    by_name: HashMap<String, usize>,
}

impl Cluster {
    /// An empty cluster.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or relabels) a namespace; [`NAME_LABEL`] is set as the API server would.
    pub fn add_namespace(&mut self, name: &str, mut labels: Labels) {
        labels.insert(NAME_LABEL.into(), name.into());
        match self.by_name.get(name) {
            Some(&index) => self.namespaces[index].labels.extend(labels),
            None => {
                self.by_name.insert(name.to_owned(), self.namespaces.len());
                self.namespaces.push(Namespace {
                    name: name.into(),
                    labels,
                });
            }
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
        self.by_name.get(name).map(|&index| &self.namespaces[index])
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

    /// Marks a pod as serving a UI or a model: `verify` then checks that the ingress gateway and
    /// the system namespaces reach it.
    pub fn mark_user_facing(&mut self, pod: PodId) {
        self.user_facing.insert(pod);
    }

    /// Whether the pod serves a UI or a model.
    pub fn is_user_facing(&self, pod: PodId) -> bool {
        self.user_facing.contains(&pod)
    }

    /// Records that namespace `name` declared no workload and is modelled by one
    /// representative pod.
    pub fn mark_representative(&mut self, name: &str) {
        self.representatives.insert(name.to_owned());
    }

    /// Namespaces modelled by a representative pod, in name order.
    pub fn representatives(&self) -> impl Iterator<Item = &str> {
        self.representatives.iter().map(String::as_str)
    }

    /// Ids of the pods of namespace `name`.
    pub fn pods_in<'a>(&'a self, name: &'a str) -> impl Iterator<Item = PodId> + 'a {
        self.pods
            .iter()
            .enumerate()
            .filter(move |(_, p)| p.namespace == name)
            .map(|(i, _)| PodId(i))
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
