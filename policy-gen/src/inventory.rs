//! The cluster model read from any set of manifests or a cluster dump: namespaces from every
//! object, one pod per workload with the labels its controller gives the pods, which pods serve
//! users, and a representative pod where a namespace declares no workload.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Container, PodTemplateSpec};
use manifests_core::{Manifest, ManifestSet, ObjectKey};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::cluster::{Cluster, ContainerPort, Pod};
use crate::policy::Proto;
use crate::selector::{Labels, Selector};
use crate::{Error, Result};

/// Name of the pod that stands for whatever a namespace without declared workloads runs.
pub const REPRESENTATIVE_POD: &str = "(representative)";

/// Kubeflow's notebook controller serves Jupyter here when the Notebook names no port.
const NOTEBOOK_PORT: u16 = 8888;
/// KServe's predictor containers listen here unless the spec says otherwise.
const KSERVE_PORT: u16 = 8080;

/// A pod as a controller would create it.
struct Workload {
    pod: Pod,
    /// Serves a UI or a model: needs ingress from the gateway and the platform.
    user_facing: bool,
}

impl Cluster {
    /// The namespaces and workloads a manifest set (or a `kubectl get … -o yaml` dump read into
    /// one) declares.
    ///
    /// Namespaces: every Namespace object, and every namespace an object names (policies
    /// included). Pods: Pods as they are (with `status.podIP`); one pod per Deployment,
    /// StatefulSet, DaemonSet, ReplicaSet, Job and CronJob from its pod template; one per Kubeflow
    /// Notebook and KServe InferenceService predictor, with the labels and default ports their
    /// controllers give. A template's pod is dropped when a Pod with the same namespace, labels
    /// and ports is present (a dump holds both). Pods that serve users: Notebooks,
    /// InferenceServices, and pods behind a Service that a gateway-bound VirtualService routes
    /// to. A namespace with no pod at all gets one [`REPRESENTATIVE_POD`], with no labels, which
    /// counts as serving users: it stands for whatever the team will run.
    pub fn from_manifests(set: &ManifestSet) -> Result<Self> {
        let mut cluster = Self::new();
        let mut workloads = Vec::new();
        for manifest in set {
            let key = manifest.key();
            if let Some(namespace) = &key.namespace {
                cluster.add_namespace(namespace, Labels::new());
            }
            if key.api_version == "v1" && key.kind == "Namespace" {
                let labels = decode::<Labels>(manifest, "/metadata/labels")?.unwrap_or_default();
                cluster.add_namespace(&key.name, labels);
                continue;
            }
            workloads.extend(workload(manifest)?);
        }
        let exposed = exposed_selectors(set);
        // Pods first, so a template equal to a real pod can be recognised.
        workloads.sort_by_key(|w| w.pod.ip.is_none());
        let mut seen: BTreeSet<(String, Labels, Vec<ContainerPort>)> = BTreeSet::new();
        for Workload { pod, user_facing } in workloads {
            let shape = (pod.namespace.clone(), pod.labels.clone(), pod.ports.clone());
            if pod.ip.is_none() && seen.contains(&shape) {
                continue;
            }
            seen.insert(shape);
            let behind_gateway = exposed
                .iter()
                .any(|(ns, selector)| *ns == pod.namespace && selector.matches(&pod.labels));
            let id = cluster.add_pod(pod);
            if user_facing || behind_gateway {
                cluster.mark_user_facing(id);
            }
        }
        let empty: Vec<String> = cluster
            .namespaces()
            .iter()
            .filter(|n| cluster.pods_in(&n.name).next().is_none())
            .map(|n| n.name.clone())
            .collect();
        for namespace in empty {
            let id = cluster.add_pod(Pod {
                namespace: namespace.clone(),
                name: REPRESENTATIVE_POD.into(),
                labels: Labels::new(),
                ip: None,
                ports: Vec::new(),
            });
            cluster.mark_user_facing(id);
            cluster.mark_representative(&namespace);
        }
        Ok(cluster)
    }
}

fn decode<T: DeserializeOwned>(manifest: &Manifest, pointer: &str) -> Result<Option<T>> {
    match manifest.body().pointer(pointer) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value.clone())
            .map(Some)
            .map_err(|e| Error::InvalidSpec {
                field: format!("{} {pointer}", manifest.key()),
                reason: e.to_string(),
            }),
    }
}

fn group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

fn workload(manifest: &Manifest) -> Result<Option<Workload>> {
    let key = manifest.key();
    let namespace = key.namespace.clone().unwrap_or_else(|| "default".into());
    let workload = match (group(&key.api_version), key.kind.as_str()) {
        ("", "Pod") => pod_workload(manifest, namespace)?,
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") | ("batch", "Job") => {
            template_workload(manifest, namespace, "/spec/template")?
        }
        ("batch", "CronJob") => {
            template_workload(manifest, namespace, "/spec/jobTemplate/spec/template")?
        }
        ("kubeflow.org", "Notebook") => notebook_workload(manifest, namespace)?,
        ("serving.kserve.io", "InferenceService") => predictor_workload(manifest, namespace)?,
        _ => return Ok(None),
    };
    Ok(Some(workload))
}

/// A Pod as it is, with its address when the dump has one.
fn pod_workload(manifest: &Manifest, namespace: String) -> Result<Workload> {
    let key = manifest.key();
    let containers = decode::<Vec<Container>>(manifest, "/spec/containers")?.unwrap_or_default();
    let ip = decode::<String>(manifest, "/status/podIP")?
        .map(|ip| {
            ip.parse().map_err(|_| Error::InvalidSpec {
                field: format!("{key} status.podIP"),
                reason: format!("{ip:?} is not an IP address"),
            })
        })
        .transpose()?;
    Ok(Workload {
        pod: Pod {
            namespace,
            name: key.name.clone(),
            labels: decode::<Labels>(manifest, "/metadata/labels")?.unwrap_or_default(),
            ip,
            ports: container_ports(key, &containers)?,
        },
        user_facing: false,
    })
}

/// The pods a controller makes from the pod template at `pointer`.
fn template_workload(manifest: &Manifest, namespace: String, pointer: &str) -> Result<Workload> {
    let key = manifest.key();
    let template = decode::<PodTemplateSpec>(manifest, pointer)?.unwrap_or_default();
    let containers = template.spec.map(|s| s.containers).unwrap_or_default();
    Ok(Workload {
        pod: Pod {
            namespace,
            name: key.name.clone(),
            labels: template.metadata.and_then(|m| m.labels).unwrap_or_default(),
            ip: None,
            ports: container_ports(key, &containers)?,
        },
        user_facing: false,
    })
}

/// A Kubeflow Notebook's pod, labelled as its controller labels it.
fn notebook_workload(manifest: &Manifest, namespace: String) -> Result<Workload> {
    let key = manifest.key();
    // The controller sets these two labels and copies the Notebook's own labels over them; the
    // template's labels are not used.
    let mut labels = Labels::from([
        ("statefulset".to_owned(), key.name.clone()),
        ("notebook-name".to_owned(), key.name.clone()),
    ]);
    labels.extend(decode::<Labels>(manifest, "/metadata/labels")?.unwrap_or_default());
    let containers =
        decode::<Vec<Container>>(manifest, "/spec/template/spec/containers")?.unwrap_or_default();
    let mut ports = container_ports(key, &containers[..containers.len().min(1)])?;
    if containers.first().is_none_or(|c| c.ports.is_none()) {
        ports = vec![ContainerPort {
            name: Some("notebook-port".into()),
            port: NOTEBOOK_PORT,
            proto: Proto::Tcp,
        }];
    }
    Ok(Workload {
        pod: Pod {
            namespace,
            name: key.name.clone(),
            labels,
            ip: None,
            ports,
        },
        user_facing: true,
    })
}

/// A KServe InferenceService's predictor pods, labelled as KServe labels them.
fn predictor_workload(manifest: &Manifest, namespace: String) -> Result<Workload> {
    let key = manifest.key();
    // The InferenceService's labels, the predictor's own, then the two KServe sets itself.
    let mut labels = decode::<Labels>(manifest, "/metadata/labels")?.unwrap_or_default();
    labels.extend(decode::<Labels>(manifest, "/spec/predictor/labels")?.unwrap_or_default());
    labels.insert(
        "serving.kserve.io/inferenceservice".into(),
        key.name.clone(),
    );
    labels.insert("component".into(), "predictor".into());
    let containers =
        decode::<Vec<Container>>(manifest, "/spec/predictor/containers")?.unwrap_or_default();
    let mut ports = container_ports(key, &containers)?;
    if ports.is_empty() {
        ports.push(ContainerPort {
            name: None,
            port: KSERVE_PORT,
            proto: Proto::Tcp,
        });
    }
    Ok(Workload {
        pod: Pod {
            namespace,
            name: format!("{}-predictor", key.name),
            labels,
            ip: None,
            ports,
        },
        user_facing: true,
    })
}

fn container_ports(key: &ObjectKey, containers: &[Container]) -> Result<Vec<ContainerPort>> {
    let mut ports = Vec::new();
    for container in containers {
        for port in container.ports.iter().flatten() {
            ports.push(ContainerPort {
                name: port.name.clone(),
                port: u16::try_from(port.container_port)
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| Error::InvalidSpec {
                        field: format!("{key} containerPort"),
                        reason: format!("{} is out of range", port.container_port),
                    })?,
                proto: Proto::parse(port.protocol.as_deref()).map_err(|reason| {
                    Error::InvalidSpec {
                        field: key.to_string(),
                        reason,
                    }
                })?,
            });
        }
    }
    Ok(ports)
}

/// `(namespace, selector)` of every Service that a VirtualService bound to a gateway routes to:
/// the pods behind them are reached from outside through the ingress gateway.
fn exposed_selectors(set: &ManifestSet) -> Vec<(String, Selector)> {
    let mut services: BTreeMap<(String, String), Labels> = BTreeMap::new();
    let mut routed: BTreeSet<(String, String)> = BTreeSet::new();
    for manifest in set {
        let key = manifest.key();
        let namespace = key.namespace.clone().unwrap_or_else(|| "default".into());
        let body = manifest.body();
        match (group(&key.api_version), key.kind.as_str()) {
            ("", "Service") => {
                if let Ok(Some(selector)) = decode::<Labels>(manifest, "/spec/selector") {
                    services.insert((namespace, key.name.clone()), selector);
                }
            }
            ("networking.istio.io", "VirtualService") => {
                let gateways: Vec<&str> = body
                    .pointer("/spec/gateways")
                    .and_then(Value::as_array)
                    .map(|g| g.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                // No gateways, or only "mesh": the routes apply to in-mesh callers only.
                if gateways.iter().all(|g| *g == "mesh") {
                    continue;
                }
                for kind in ["http", "tcp", "tls"] {
                    let routes = body
                        .pointer(&format!("/spec/{kind}"))
                        .and_then(Value::as_array);
                    for route in routes.into_iter().flatten() {
                        let destinations = route.get("route").and_then(Value::as_array);
                        for destination in destinations.into_iter().flatten() {
                            if let Some(host) = destination
                                .pointer("/destination/host")
                                .and_then(Value::as_str)
                            {
                                let mut parts = host.split('.');
                                let service = parts.next().unwrap_or_default().to_owned();
                                let ns = parts.next().map_or(namespace.clone(), str::to_owned);
                                routed.insert((ns, service));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    routed
        .into_iter()
        .filter_map(|service| {
            let selector = services.get(&service)?;
            // A Service without a selector routes to endpoints we cannot see.
            (!selector.is_empty()).then(|| {
                (
                    service.0,
                    Selector {
                        match_labels: selector.clone(),
                        requirements: Vec::new(),
                    },
                )
            })
        })
        .collect()
}
