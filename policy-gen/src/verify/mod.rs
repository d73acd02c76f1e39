//! Verification of a set of manifests: who reaches whom, and what leaks.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use manifests_core::ManifestSet;
use manifests_core::crds::istio::AuthorizationPolicy;
use manifests_core::tenant::TENANT_LABEL;
use serde::Serialize;

use crate::Result;
use crate::cluster::{Cluster, Endpoint, PodId};
use crate::evaluate::{Direction, Evaluator, Side};
use crate::policy::{NsScope, Peer, Policy, Proto};

/// One allowed flow between two tenants.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Leak {
    /// Source `namespace/pod`.
    pub from: String,
    /// Destination `namespace/pod`.
    pub to: String,
    /// Port.
    pub port: u16,
    /// Protocol.
    pub proto: Proto,
    /// Why the source's egress let it out.
    pub egress: Side,
    /// Why the destination's ingress let it in.
    pub ingress: Side,
}

/// A tenant namespace that new pods would join unprotected in one direction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingDefaultDeny {
    /// Namespace.
    pub namespace: String,
    /// The direction no namespace-wide policy isolates.
    pub direction: Direction,
}

/// An AuthorizationPolicy rule that trusts a request header without requiring an mTLS principal:
/// any pod in the mesh can set that header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeaderTrust {
    /// `namespace/name` of the AuthorizationPolicy.
    pub policy: String,
    /// Index of the rule.
    pub rule: usize,
    /// The condition key, e.g. `request.headers[kubeflow-userid]`.
    pub header: String,
}

/// What [`verify`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Tenant namespaces (labelled `mlflow-gitops.io/tenant`).
    pub tenants: Vec<String>,
    /// `from namespace -> to namespace -> reachable` (some pod reaches some served port).
    pub matrix: BTreeMap<String, BTreeMap<String, bool>>,
    /// Flows from one tenant into another.
    pub leaks: Vec<Leak>,
    /// Tenant namespaces without a namespace-wide default deny.
    pub missing_default_deny: Vec<MissingDefaultDeny>,
    /// Header-trusting authorization rules without a principal condition.
    pub header_trust_without_principal: Vec<HeaderTrust>,
}

impl Report {
    /// True when nothing leaks and every finding list is empty.
    pub fn is_clean(&self) -> bool {
        self.leaks.is_empty()
            && self.missing_default_deny.is_empty()
            && self.header_trust_without_principal.is_empty()
    }

    /// Whether some pod of `from` reaches some pod of `to`.
    pub fn reaches(&self, from: &str, to: &str) -> bool {
        self.matrix
            .get(from)
            .and_then(|m| m.get(to))
            .copied()
            .unwrap_or(false)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} namespaces, {} tenants",
            self.matrix.len(),
            self.tenants.len()
        )?;
        for (from, row) in &self.matrix {
            let reached: Vec<&str> = row
                .iter()
                .filter(|(to, ok)| **ok && *to != from)
                .map(|(to, _)| to.as_str())
                .collect();
            writeln!(
                f,
                "  {from} -> {}",
                if reached.is_empty() {
                    "(nothing else)".to_owned()
                } else {
                    reached.join(", ")
                }
            )?;
        }
        for leak in &self.leaks {
            writeln!(
                f,
                "LEAK {} -> {} {:?}/{} (egress: {:?}; ingress: {:?})",
                leak.from, leak.to, leak.proto, leak.port, leak.egress, leak.ingress
            )?;
        }
        for gap in &self.missing_default_deny {
            writeln!(
                f,
                "NO DEFAULT DENY {} for {:?}",
                gap.namespace, gap.direction
            )?;
        }
        for trust in &self.header_trust_without_principal {
            writeln!(
                f,
                "HEADER TRUSTED WITHOUT PRINCIPAL {} rule {} ({})",
                trust.policy, trust.rule, trust.header
            )?;
        }
        write!(
            f,
            "{}",
            if self.is_clean() {
                "clean"
            } else {
                "NOT ISOLATED"
            }
        )
    }
}

/// The (port, protocol) pairs a pod serves; a pod that declares none is probed on TCP 80.
fn probes(cluster: &Cluster, pod: PodId) -> Vec<(u16, Proto)> {
    let ports: Vec<(u16, Proto)> = cluster
        .pod(pod)
        .ports
        .iter()
        .map(|p| (p.port, p.proto))
        .collect();
    if ports.is_empty() {
        vec![(80, Proto::Tcp)]
    } else {
        ports
    }
}

/// Verifies the NetworkPolicies and AuthorizationPolicies of `manifests` on `cluster` (add the
/// namespaces and workloads of the manifests with [`Cluster::from_manifests`] and the platform with
/// [`Cluster::with_platform`]).
pub fn verify(manifests: &ManifestSet, cluster: &Cluster) -> Result<Report> {
    let mut policies = Vec::new();
    let mut header_trust = Vec::new();
    for manifest in manifests {
        let key = manifest.key();
        match (key.api_version.as_str(), key.kind.as_str()) {
            ("networking.k8s.io/v1", "NetworkPolicy") => {
                let policy: NetworkPolicy = manifest.decode()?;
                policies.push(Policy::from_k8s(&policy, "default")?);
            }
            ("security.istio.io/v1" | "security.istio.io/v1beta1", "AuthorizationPolicy") => {
                let policy: AuthorizationPolicy = manifest.decode()?;
                header_trust.extend(trusting_rules(
                    &policy,
                    key.namespace.as_deref().unwrap_or("default"),
                    &key.name,
                ));
            }
            _ => {}
        }
    }
    let evaluator = Evaluator::new(cluster, &policies);
    let tenants: Vec<String> = cluster
        .namespaces()
        .iter()
        .filter(|n| n.labels.contains_key(TENANT_LABEL))
        .map(|n| n.name.clone())
        .collect();

    let mut report = Report {
        tenants: tenants.clone(),
        header_trust_without_principal: header_trust,
        ..Default::default()
    };
    for namespace in &tenants {
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
                report.missing_default_deny.push(MissingDefaultDeny {
                    namespace: namespace.clone(),
                    direction,
                });
            }
        }
    }

    let names: Vec<&str> = cluster
        .namespaces()
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    let pods_of: BTreeMap<&str, Vec<PodId>> = names
        .iter()
        .map(|n| (*n, cluster.pods_in(n).collect()))
        .collect();
    for from in &names {
        let mut row = BTreeMap::new();
        for to in &names {
            let flow = first_allowed_flow(&evaluator, &pods_of[from], &pods_of[to], from, to);
            if let Some((src, dst, port, proto)) = flow {
                let is_leak = from != to
                    && tenants.iter().any(|t| t == from)
                    && tenants.iter().any(|t| t == to);
                if is_leak {
                    let verdict =
                        evaluator.reachable(Endpoint::Pod(src), Endpoint::Pod(dst), port, proto);
                    report.leaks.push(Leak {
                        from: pod_name(cluster, src),
                        to: pod_name(cluster, dst),
                        port,
                        proto,
                        egress: verdict.egress,
                        ingress: verdict.ingress,
                    });
                }
            }
            row.insert((*to).to_owned(), flow.is_some());
        }
        report.matrix.insert((*from).to_owned(), row);
    }
    Ok(report)
}

type Flow = (PodId, PodId, u16, Proto);

/// The first allowed flow from a pod of `from` to a pod of `to`. Pods whose side can rule out the
/// whole other namespace are skipped before any pair is tried: this keeps a cluster of thousands of
/// isolated pods from costing a full pairwise evaluation.
fn first_allowed_flow(
    evaluator: &Evaluator<'_>,
    sources: &[PodId],
    targets: &[PodId],
    from: &str,
    to: &str,
) -> Option<Flow> {
    let cluster = evaluator.cluster();
    let open_sources: Vec<PodId> = sources
        .iter()
        .copied()
        .filter(|p| may_pass(evaluator, *p, Direction::Egress, to))
        .collect();
    if open_sources.is_empty() {
        return None;
    }
    let open_targets: Vec<PodId> = targets
        .iter()
        .copied()
        .filter(|p| may_pass(evaluator, *p, Direction::Ingress, from))
        .collect();
    for &dst in &open_targets {
        for (port, proto) in probes(cluster, dst) {
            for &src in &open_sources {
                if src != dst
                    && evaluator
                        .reachable(Endpoint::Pod(src), Endpoint::Pod(dst), port, proto)
                        .allowed
                {
                    return Some((src, dst, port, proto));
                }
            }
        }
    }
    None
}

/// False only when no rule of the policies isolating `pod` in `direction` could match any pod of
/// namespace `other` (a sound over-approximation: true may still end in a denial).
fn may_pass(evaluator: &Evaluator<'_>, pod: PodId, direction: Direction, other: &str) -> bool {
    if !evaluator.isolated(pod, direction) {
        return true;
    }
    let namespace = &evaluator.cluster().pod(pod).namespace;
    let other_labels = evaluator.cluster().namespace(other).map(|n| &n.labels);
    evaluator.selecting(pod, direction).any(|(_, rules)| {
        rules.iter().any(|rule| match &rule.peers {
            None => true,
            Some(peers) => peers.iter().any(|peer| match peer {
                Peer::Pods {
                    namespaces: NsScope::PolicyNamespace,
                    ..
                } => namespace == other,
                Peer::Pods {
                    namespaces: NsScope::Matching(selector),
                    ..
                } => other_labels.is_none_or(|labels| selector.matches(labels)),
                Peer::IpBlock { .. } => true,
            }),
        })
    })
}

fn pod_name(cluster: &Cluster, pod: PodId) -> String {
    let pod = cluster.pod(pod);
    format!("{}/{}", pod.namespace, pod.name)
}

/// Rules of an ALLOW policy that condition on a request header but accept any caller identity.
fn trusting_rules(policy: &AuthorizationPolicy, namespace: &str, name: &str) -> Vec<HeaderTrust> {
    let allow = policy.spec.action.as_deref().is_none_or(|a| a == "ALLOW");
    if !allow {
        return Vec::new();
    }
    policy
        .spec
        .rules
        .iter()
        .enumerate()
        .flat_map(|(index, rule)| {
            let principal_required =
                !rule.from.is_empty() && rule.from.iter().all(|f| !f.source.principals.is_empty());
            rule.when
                .iter()
                .filter(move |c| c.key.starts_with("request.headers[") && !principal_required)
                .map(move |c| HeaderTrust {
                    policy: format!("{namespace}/{name}"),
                    rule: index,
                    header: c.key.clone(),
                })
        })
        .collect()
}
