//! The upstream e2e model in our own data: namespaces x, y, z with pods a, b, c, each serving
//! TCP 80 and 81, UDP 80 and SCTP 80 on ports named `serve-<port>-<proto>`; pod label `pod=<name>`,
//! namespace label `ns=<name>`; pod IPs 10.<ns>.0.<pod>.

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use policy_gen::{
    Cluster, ClusterPolicy, ContainerPort, Endpoint, Evaluator, Pod, PodId, Policy, Proto,
};

pub const NAMESPACES: [&str; 3] = ["x", "y", "z"];
pub const PODS: [&str; 3] = ["a", "b", "c"];

pub fn e2e_cluster() -> Cluster {
    let mut cluster = Cluster::new();
    for (n, ns) in NAMESPACES.iter().enumerate() {
        cluster.add_namespace(ns, BTreeMap::from([("ns".to_owned(), (*ns).to_owned())]));
        for (p, pod) in PODS.iter().enumerate() {
            let ports = [
                (80, Proto::Tcp, "serve-80-tcp"),
                (81, Proto::Tcp, "serve-81-tcp"),
                (80, Proto::Udp, "serve-80-udp"),
                (80, Proto::Sctp, "serve-80-sctp"),
            ]
            .into_iter()
            .map(|(port, proto, name)| ContainerPort {
                name: Some(name.into()),
                port,
                proto,
            })
            .collect();
            cluster.add_pod(Pod {
                namespace: (*ns).into(),
                name: (*pod).into(),
                labels: BTreeMap::from([("pod".to_owned(), (*pod).to_owned())]),
                ip: Some(
                    format!("10.{}.0.{}", n + 1, p + 1)
                        .parse::<IpAddr>()
                        .unwrap(),
                ),
                ports,
            });
        }
    }
    cluster
}

/// Parses NetworkPolicies from YAML (multi-document) and normalizes them.
pub fn policies(yaml: &str) -> Vec<Policy> {
    manifests_core::yaml::from_documents::<NetworkPolicy>(yaml, "test policies")
        .unwrap()
        .iter()
        .map(|p| Policy::from_k8s(p, "x").unwrap())
        .collect()
}

pub fn pod(cluster: &Cluster, name: &str) -> PodId {
    let (ns, pod) = name.split_once('/').unwrap();
    cluster
        .pods_in(ns)
        .find(|id| cluster.pod(*id).name == pod)
        .unwrap()
}

/// A truth table over every ordered pair of pods (loopback ignored, as upstream does).
pub struct Reachability {
    expected: BTreeMap<(String, String), bool>,
}

impl Reachability {
    pub fn all(allowed: bool) -> Self {
        let mut expected = BTreeMap::new();
        for a in all_pods() {
            for b in all_pods() {
                if a != b {
                    expected.insert((a.clone(), b), allowed);
                }
            }
        }
        Self { expected }
    }

    /// Sets every pair for which `pick(from, to)` holds.
    pub fn set(mut self, allowed: bool, pick: impl Fn(&str, &str) -> bool) -> Self {
        for ((from, to), value) in self.expected.iter_mut() {
            if pick(from, to) {
                *value = allowed;
            }
        }
        self
    }

    /// Compares with the evaluator on one port/protocol; lists every difference.
    pub fn check(&self, cluster: &Cluster, policies: &[Policy], port: u16, proto: Proto) {
        self.check_with(cluster, policies, &[], port, proto);
    }

    /// [`check`](Self::check) with ClusterNetworkPolicies too.
    pub fn check_with(
        &self,
        cluster: &Cluster,
        policies: &[Policy],
        cluster_policies: &[ClusterPolicy],
        port: u16,
        proto: Proto,
    ) {
        let evaluator = Evaluator::with_cluster_policies(cluster, policies, cluster_policies);
        let mut wrong = Vec::new();
        for ((from, to), expected) in &self.expected {
            let verdict = evaluator.reachable(
                Endpoint::Pod(pod(cluster, from)),
                Endpoint::Pod(pod(cluster, to)),
                port,
                proto,
            );
            if verdict.allowed != *expected {
                wrong.push(format!(
                    "{from} -> {to}: expected {expected}, got {verdict:?}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{proto:?}/{port}:\n{}", wrong.join("\n"));
    }
}

pub fn all_pods() -> Vec<String> {
    NAMESPACES
        .iter()
        .flat_map(|ns| PODS.iter().map(move |p| format!("{ns}/{p}")))
        .collect()
}

/// Writes `set` as files with a kustomization.yaml and has kustomize, kubernetes-validate and the
/// real CRD schemas judge it; returns the number of documents checked.
pub fn assert_valid(set: &manifests_core::ManifestSet) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let mut kustomization = String::from("resources:\n");
    for (name, text) in set.files().unwrap() {
        std::fs::write(dir.path().join(&name), text).unwrap();
        kustomization.push_str(&format!("- {name}\n"));
    }
    std::fs::write(dir.path().join("kustomization.yaml"), kustomization).unwrap();
    testkit::kube::assert_valid_kustomization(dir.path())
}
