//! The findings beyond leaks: default deny, DNS, ingress from the platform, selectors that
//! match nothing, cluster policies of equal priority.

use manifests_core::tenant::Isolation;

use super::report::{AmbiguousPriority, Flow, MissingDefaultDeny, UnmatchedSelector, Unreachable};
use super::search::probes;
use crate::cluster::{Cluster, Endpoint, PodId};
use crate::cluster_policy::{ClusterPeer, ClusterPods, ClusterPolicy};
use crate::evaluate::{Direction, Evaluator};
use crate::policy::{NsScope, Peer, Policy, Proto};
use crate::selector::Selector;
use crate::tenancy::Tenants;

/// Label of Istio's ingress gateway pods in a default install.
const GATEWAY_LABEL: (&str, &str) = ("istio", "ingressgateway");
/// Where Istio's ingress gateway runs.
const GATEWAY_NAMESPACE: &str = "istio-system";

/// A flow with the verdict of each side.
pub(super) fn flow(
    evaluator: &Evaluator<'_>,
    src: PodId,
    dst: PodId,
    port: u16,
    proto: Proto,
) -> Flow {
    let cluster = evaluator.cluster();
    let verdict = evaluator.reachable(Endpoint::Pod(src), Endpoint::Pod(dst), port, proto);
    Flow {
        from: pod_name(cluster, src),
        to: pod_name(cluster, dst),
        port,
        proto,
        egress: verdict.egress,
        ingress: verdict.ingress,
    }
}

pub(super) fn pod_name(cluster: &Cluster, pod: PodId) -> String {
    let pod = cluster.pod(pod);
    format!("{}/{}", pod.namespace, pod.name)
}

/// Tenants where no namespace-wide NetworkPolicy isolates a direction: a new pod would join
/// unprotected in it.
pub(super) fn missing_default_deny(
    policies: &[Policy],
    tenants: &Tenants,
) -> Vec<MissingDefaultDeny> {
    let mut gaps = Vec::new();
    for namespace in &tenants.namespaces {
        for direction in [Direction::Ingress, Direction::Egress] {
            let covered = policies.iter().any(|p| {
                &p.namespace == namespace
                    && p.subject.is_empty()
                    && match direction {
                        Direction::Ingress => p.ingress.is_some(),
                        Direction::Egress => p.egress.is_some(),
                    }
            });
            if !covered {
                gaps.push(MissingDefaultDeny {
                    namespace: namespace.clone(),
                    direction,
                });
            }
        }
    }
    gaps
}

/// The pods of `targets` (in tenant `namespace`) that no pod of `sources` reaches on any of
/// `ports(target)`, with one denied flow as the example.
fn cut_off(
    evaluator: &Evaluator<'_>,
    namespace: &str,
    what: String,
    sources: &[PodId],
    targets: &[PodId],
    ports: impl Fn(PodId) -> Vec<(u16, Proto)>,
) -> Option<Unreachable> {
    let mut example = None;
    let mut pods = 0;
    for &dst in targets {
        let reached = sources.iter().any(|&src| {
            ports(dst).into_iter().any(|(port, proto)| {
                evaluator.allows(Endpoint::Pod(src), Endpoint::Pod(dst), port, proto)
            })
        });
        if !reached {
            pods += 1;
            if example.is_none() {
                let (port, proto) = ports(dst)[0];
                example = Some(flow(evaluator, sources[0], dst, port, proto));
            }
        }
    }
    example.map(|example| Unreachable {
        namespace: namespace.to_owned(),
        what,
        pods,
        example,
    })
}

/// Tenants whose pods cannot reach any DNS pod over UDP 53, or over TCP 53.
pub(super) fn dns_unreachable(
    evaluator: &Evaluator<'_>,
    tenants: &Tenants,
    isolation: &Isolation,
) -> Vec<Unreachable> {
    let cluster = evaluator.cluster();
    let dns: Vec<PodId> = cluster
        .pods_in(&isolation.dns_namespace)
        .filter(|p| {
            let labels = &cluster.pod(*p).labels;
            isolation
                .dns_pod_labels
                .iter()
                .all(|(k, v)| labels.get(k) == Some(v))
        })
        .collect();
    if dns.is_empty() {
        return Vec::new();
    }
    let mut gaps = Vec::new();
    for namespace in &tenants.namespaces {
        let pods: Vec<PodId> = cluster.pods_in(namespace).collect();
        for proto in [Proto::Udp, Proto::Tcp] {
            // The tenant's pods are the sources here: each one must reach some DNS pod.
            let mut example = None;
            let mut count = 0;
            for &pod in &pods {
                let reached = dns
                    .iter()
                    .any(|&d| evaluator.allows(Endpoint::Pod(pod), Endpoint::Pod(d), 53, proto));
                if !reached {
                    count += 1;
                    example.get_or_insert_with(|| flow(evaluator, pod, dns[0], 53, proto));
                }
            }
            if let Some(example) = example {
                gaps.push(Unreachable {
                    namespace: namespace.clone(),
                    what: format!("DNS over {proto} 53"),
                    pods: count,
                    example,
                });
            }
        }
    }
    gaps
}

/// Tenants serving a UI or a model whose serving pods the ingress gateway (in `istio-system`)
/// or the pods of another system namespace cannot reach on any port they serve.
pub(super) fn ingress_denied(
    evaluator: &Evaluator<'_>,
    tenants: &Tenants,
    isolation: &Isolation,
) -> Vec<Unreachable> {
    let cluster = evaluator.cluster();
    let mut gaps = Vec::new();
    for namespace in &tenants.namespaces {
        let serving: Vec<PodId> = cluster
            .pods_in(namespace)
            .filter(|p| cluster.is_user_facing(*p))
            .collect();
        if serving.is_empty() {
            continue;
        }
        for system in &isolation.system_namespaces {
            let all: Vec<PodId> = cluster.pods_in(system).collect();
            let gateways: Vec<PodId> = all
                .iter()
                .copied()
                .filter(|p| {
                    cluster
                        .pod(*p)
                        .labels
                        .get(GATEWAY_LABEL.0)
                        .map(String::as_str)
                        == Some(GATEWAY_LABEL.1)
                })
                .collect();
            let sources = if system == GATEWAY_NAMESPACE && !gateways.is_empty() {
                gateways
            } else {
                all
            };
            if sources.is_empty() {
                continue;
            }
            gaps.extend(cut_off(
                evaluator,
                namespace,
                format!("ingress from {system}"),
                &sources,
                &serving,
                |pod| probes(cluster, pod),
            ));
        }
    }
    gaps
}

/// Selectors of NetworkPolicies and ClusterNetworkPolicies that match no namespace, or no pod,
/// in the model. Pod selectors are not judged in namespaces modelled by a representative pod:
/// the model does not know their pods' labels.
pub(super) fn unmatched_selectors(
    cluster: &Cluster,
    policies: &[Policy],
    cluster_policies: &[ClusterPolicy],
) -> Vec<UnmatchedSelector> {
    let mut check = SelectorCheck {
        cluster,
        found: Vec::new(),
    };
    for policy in policies {
        check.network_policy(policy);
    }
    for policy in cluster_policies {
        check.cluster_policy(policy);
    }
    check.found
}

/// The selectors of each policy, checked against the cluster model one at a time.
struct SelectorCheck<'a> {
    cluster: &'a Cluster,
    found: Vec<UnmatchedSelector>,
}

impl SelectorCheck<'_> {
    /// A NetworkPolicy's subject and the pod peers of its rules.
    fn network_policy(&mut self, policy: &Policy) {
        let id = policy.id();
        let home = Some(policy.namespace.as_str());
        let subject = Some((&policy.subject, "podSelector".into()));
        self.check(&id, "spec", None, home, subject);
        for (direction, peers_field, rules) in [
            ("ingress", "from", policy.ingress.as_deref()),
            ("egress", "to", policy.egress.as_deref()),
        ] {
            for (i, rule) in rules.unwrap_or_default().iter().enumerate() {
                for (j, peer) in rule.peers.iter().flatten().enumerate() {
                    let field = format!("spec.{direction}[{i}].{peers_field}[{j}]");
                    if let Peer::Pods { namespaces, pods } = peer {
                        let namespaces = match namespaces {
                            NsScope::PolicyNamespace => None,
                            NsScope::Matching(s) => Some((s, "namespaceSelector".to_owned())),
                        };
                        let pods = Some((pods, "podSelector".into()));
                        self.check(&id, &field, namespaces, home, pods);
                    }
                }
            }
        }
    }

    /// A ClusterNetworkPolicy's subject and the pod peers of its rules.
    fn cluster_policy(&mut self, policy: &ClusterPolicy) {
        let id = format!("ClusterNetworkPolicy {}", policy.name);
        self.cluster_pods(&id, "spec.subject", &policy.subject);
        for (direction, peers_field, rules) in [
            ("ingress", "from", &policy.ingress),
            ("egress", "to", &policy.egress),
        ] {
            for (i, rule) in rules.iter().enumerate() {
                for (j, peer) in rule.peers.iter().enumerate() {
                    if let ClusterPeer::Pods(pods) = peer {
                        let field = format!("spec.{direction}[{i}].{peers_field}[{j}]");
                        self.cluster_pods(&id, &field, pods);
                    }
                }
            }
        }
    }

    fn cluster_pods(&mut self, id: &str, field: &str, pods: &ClusterPods) {
        match pods {
            ClusterPods::Namespaces(s) => {
                self.check(id, field, Some((s, "namespaces".into())), None, None)
            }
            ClusterPods::Pods { namespaces, pods } => self.check(
                id,
                field,
                Some((namespaces, "pods.namespaceSelector".into())),
                None,
                Some((pods, "pods.podSelector".into())),
            ),
        }
    }

    /// One (namespace selector, pod selector) pair; `namespaces` None: the policy's namespace
    /// (`home`). A namespace selector that matches no namespace is reported; otherwise a pod
    /// selector that matches no pod in the matched namespaces the model knows.
    fn check(
        &mut self,
        policy: &str,
        field: &str,
        namespaces: Option<(&Selector, String)>,
        home: Option<&str>,
        pods: Option<(&Selector, String)>,
    ) {
        let cluster = self.cluster;
        let in_scope: Vec<&str> = match (&namespaces, home) {
            (Some((selector, ns_field)), _) => {
                let matched: Vec<&str> = cluster
                    .namespaces()
                    .iter()
                    .filter(|n| selector.matches(&n.labels))
                    .map(|n| n.name.as_str())
                    .collect();
                if matched.is_empty() {
                    self.found.push(UnmatchedSelector {
                        policy: policy.to_owned(),
                        field: format!("{field}.{ns_field}"),
                        selector: selector.to_string(),
                        selects: "namespace".into(),
                    });
                    return;
                }
                matched
            }
            (None, Some(home)) => vec![home],
            (None, None) => return,
        };
        let Some((pods, pod_field)) = pods else {
            return;
        };
        // Representative pods stand for namespaces that declare none: nothing to match there.
        let judged: Vec<&str> = in_scope
            .into_iter()
            .filter(|ns| !cluster.representatives().any(|r| r == *ns))
            .collect();
        let any_pod = judged.iter().any(|ns| {
            cluster
                .pods_in(ns)
                .any(|p| pods.matches(&cluster.pod(p).labels))
        });
        if !pods.is_empty() && !judged.is_empty() && !any_pod {
            self.found.push(UnmatchedSelector {
                policy: policy.to_owned(),
                field: format!("{field}.{pod_field}"),
                selector: pods.to_string(),
                selects: "pod".into(),
            });
        }
    }
}

/// Pairs of cluster policies that apply to one pod in one tier and direction with one priority.
pub(super) fn ambiguous_priorities(evaluator: &Evaluator<'_>) -> Vec<AmbiguousPriority> {
    evaluator
        .tiers
        .same_priority_pairs()
        .into_iter()
        .map(|(a, b, priority)| AmbiguousPriority {
            policies: [a, b],
            priority,
        })
        .collect()
}
