//! `networking.k8s.io/v1` NetworkPolicy semantics, under the tiers of ClusterNetworkPolicy: is a
//! flow allowed, and which policies decided.
//!
//! A flow from A to B needs A's egress side AND B's ingress side. A side is judged only by the
//! policies of its pod's namespace that select the pod and affect that direction: none → the
//! direction is not isolated and everything passes; otherwise some rule of one of them must match
//! both the other end and the port. External addresses have no side of their own. A pod always
//! reaches itself. Cluster policies wrap that judgement (module `tiers`): an Admin rule
//! decides before it, a Baseline rule after it for pods no NetworkPolicy isolates.

mod tiers;

use std::collections::HashMap;

use serde::Serialize;

use manifests_core::crds::network_policy_api::Tier;

use crate::cluster::{Cluster, Endpoint, NAME_LABEL, PodId};
use crate::cluster_policy::ClusterPolicy;
use crate::policy::{NsScope, Peer, Policy, PortSpec, Proto, Rule};
use crate::selector::{Labels, Selector};
use tiers::{FlowEnds, TierIndex};

/// Traffic direction, from the point of view of the pod whose side is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Direction {
    /// Into the pod.
    Ingress,
    /// Out of the pod.
    Egress,
}

/// How one side judged a flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "result", content = "policies", rename_all = "snake_case")]
pub enum Side {
    /// No policy isolates the pod in this direction: allowed.
    NotIsolated,
    /// The end is outside the cluster and has no side.
    External,
    /// Allowed by these policies (`namespace/name`).
    AllowedBy(Vec<String>),
    /// Isolated by these policies, none of which allows the flow.
    DeniedBy(Vec<String>),
}

impl Side {
    /// Whether this side lets the flow through.
    pub fn allows(&self) -> bool {
        !matches!(self, Side::DeniedBy(_))
    }
}

/// The answer for one flow, with the policies behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Whether the connection is allowed.
    pub allowed: bool,
    /// The source's egress side.
    pub egress: Side,
    /// The destination's ingress side.
    pub ingress: Side,
}

/// Evaluates flows in a cluster under a set of policies: ClusterNetworkPolicies (Admin tier),
/// then NetworkPolicies, then ClusterNetworkPolicies (Baseline tier), then the default allow.
pub struct Evaluator<'a> {
    cluster: &'a Cluster,
    policies: &'a [Policy],
    /// Per pod, the policies selecting it that affect ingress and egress: computed once, so a
    /// verdict never scans the policies of other namespaces.
    selecting: Vec<[Vec<&'a Policy>; 2]>,
    /// Per pod, the cluster policies applying to it, per tier and direction, in evaluation order.
    pub(crate) tiers: TierIndex<'a>,
}

impl<'a> Evaluator<'a> {
    /// An evaluator of NetworkPolicies only; `policies` are normalized ([`Policy::from_k8s`]).
    pub fn new(cluster: &'a Cluster, policies: &'a [Policy]) -> Self {
        Self::with_cluster_policies(cluster, policies, &[])
    }

    /// An evaluator of NetworkPolicies and ClusterNetworkPolicies (normalized with
    /// [`ClusterPolicy::from_k8s`]).
    pub fn with_cluster_policies(
        cluster: &'a Cluster,
        policies: &'a [Policy],
        cluster_policies: &'a [ClusterPolicy],
    ) -> Self {
        let mut by_namespace: HashMap<&str, Vec<&Policy>> = HashMap::new();
        for policy in policies {
            by_namespace
                .entry(policy.namespace.as_str())
                .or_default()
                .push(policy);
        }
        let selecting = cluster
            .pods()
            .iter()
            .map(|pod| {
                let mine = by_namespace
                    .get(pod.namespace.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                let pick = |affects: fn(&Policy) -> bool| -> Vec<&'a Policy> {
                    mine.iter()
                        .copied()
                        .filter(|p| affects(p) && p.subject.matches(&pod.labels))
                        .collect()
                };
                [pick(|p| p.ingress.is_some()), pick(|p| p.egress.is_some())]
            })
            .collect();
        Self {
            cluster,
            policies,
            selecting,
            tiers: TierIndex::new(cluster, cluster_policies),
        }
    }

    /// The policies evaluated.
    pub fn policies(&self) -> &[Policy] {
        self.policies
    }

    /// The cluster.
    pub fn cluster(&self) -> &Cluster {
        self.cluster
    }

    /// Whether `src` may open a connection to `dst` on `port`/`proto`, and why.
    pub fn reachable(&self, src: Endpoint, dst: Endpoint, port: u16, proto: Proto) -> Verdict {
        if src == dst {
            // "A pod cannot block access to itself."
            return Verdict {
                allowed: true,
                egress: Side::NotIsolated,
                ingress: Side::NotIsolated,
            };
        }
        let egress = match src {
            Endpoint::Pod(pod) => self.side(
                pod,
                Direction::Egress,
                &FlowEnds::outbound(dst, port, proto),
            ),
            Endpoint::External(_) => Side::External,
        };
        let ingress = match dst {
            Endpoint::Pod(pod) => self.side(
                pod,
                Direction::Ingress,
                &FlowEnds::inbound(src, dst, port, proto),
            ),
            Endpoint::External(_) => Side::External,
        };
        Verdict {
            allowed: egress.allows() && ingress.allows(),
            egress,
            ingress,
        }
    }

    /// Whether `pod` is isolated in `direction` (some policy of its namespace selects it and
    /// affects that direction).
    pub fn isolated(&self, pod: PodId, direction: Direction) -> bool {
        self.selecting(pod, direction).next().is_some()
    }

    /// For a pod the NetworkPolicies isolate in `direction`: false only when no rule of theirs
    /// could match any pod of namespace `other`.
    pub(crate) fn namespaced_may_allow(
        &self,
        pod: PodId,
        direction: Direction,
        other: &str,
    ) -> bool {
        let namespace = &self.cluster.pod(pod).namespace;
        self.selecting(pod, direction).any(|(_, rules)| {
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
                    } => self.namespace_matches(selector, other),
                    Peer::IpBlock { .. } => true,
                }),
            })
        })
    }

    /// The policies that select `pod` and affect `direction`, with their rules for it.
    pub fn selecting(
        &self,
        pod: PodId,
        direction: Direction,
    ) -> impl Iterator<Item = (&'a Policy, &'a [Rule])> + '_ {
        let index = match direction {
            Direction::Ingress => 0,
            Direction::Egress => 1,
        };
        self.selecting[pod.0][index].iter().map(move |policy| {
            let rules = match direction {
                Direction::Ingress => policy.ingress.as_deref(),
                Direction::Egress => policy.egress.as_deref(),
            };
            (*policy, rules.unwrap_or_default())
        })
    }

    /// One side of a flow, tier by tier: an Admin decision, else the NetworkPolicies isolating
    /// the pod, else a Baseline decision, else not isolated.
    fn side(&self, pod: PodId, direction: Direction, flow: &FlowEnds) -> Side {
        if let Some(decided) = self.tier_side(pod, direction, Tier::Admin, flow) {
            return decided;
        }
        match self.namespaced_side(pod, direction, flow) {
            Side::NotIsolated => self
                .tier_side(pod, direction, Tier::Baseline, flow)
                .unwrap_or(Side::NotIsolated),
            decided => decided,
        }
    }

    /// Whether one side lets a flow through: [`side`](Self::side) without naming the
    /// policies, so the verifier's searches allocate nothing per flow.
    fn side_allows(&self, pod: PodId, direction: Direction, flow: &FlowEnds) -> bool {
        if let Some(accept) = self.tier_allows(pod, direction, Tier::Admin, flow) {
            return accept;
        }
        if self.isolated(pod, direction) {
            return self.selecting(pod, direction).any(|(policy, rules)| {
                rules
                    .iter()
                    .any(|rule| self.rule_matches(policy, rule, flow))
            });
        }
        self.tier_allows(pod, direction, Tier::Baseline, flow)
            .unwrap_or(true)
    }

    /// Whether `src` may open a connection to `dst`: [`reachable`](Self::reachable)`.allowed`,
    /// computed without naming the policies.
    pub fn allows(&self, src: Endpoint, dst: Endpoint, port: u16, proto: Proto) -> bool {
        self.side_passes(Direction::Egress, src, dst, port, proto)
            && self.side_passes(Direction::Ingress, src, dst, port, proto)
    }

    /// Whether the `direction` side of a flow lets it through: the source's for egress, the
    /// destination's for ingress (loopback and external ends always do).
    pub(crate) fn side_passes(
        &self,
        direction: Direction,
        src: Endpoint,
        dst: Endpoint,
        port: u16,
        proto: Proto,
    ) -> bool {
        let (judged, flow) = match direction {
            Direction::Egress => (src, FlowEnds::outbound(dst, port, proto)),
            Direction::Ingress => (dst, FlowEnds::inbound(src, dst, port, proto)),
        };
        match judged {
            _ if src == dst => true,
            Endpoint::Pod(pod) => self.side_allows(pod, direction, &flow),
            Endpoint::External(_) => true,
        }
    }

    fn namespaced_side(&self, pod: PodId, direction: Direction, flow: &FlowEnds) -> Side {
        let mut isolating = Vec::new();
        let mut allowing = Vec::new();
        for (policy, rules) in self.selecting(pod, direction) {
            isolating.push(policy.id());
            if rules
                .iter()
                .any(|rule| self.rule_matches(policy, rule, flow))
            {
                allowing.push(policy.id());
            }
        }
        match (isolating.is_empty(), allowing.is_empty()) {
            (true, _) => Side::NotIsolated,
            (false, false) => Side::AllowedBy(allowing),
            (false, true) => Side::DeniedBy(isolating),
        }
    }

    fn rule_matches(&self, policy: &Policy, rule: &Rule, flow: &FlowEnds) -> bool {
        let peer_ok = match &rule.peers {
            None => true,
            Some(peers) => peers
                .iter()
                .any(|peer| self.peer_matches(policy, peer, flow.other)),
        };
        peer_ok
            && match &rule.ports {
                None => true,
                Some(ports) => ports
                    .iter()
                    .any(|spec| self.port_matches(spec, flow.dst, flow.port, flow.proto)),
            }
    }

    fn peer_matches(&self, policy: &Policy, peer: &Peer, other: Endpoint) -> bool {
        match peer {
            Peer::Pods { namespaces, pods } => {
                let Endpoint::Pod(id) = other else {
                    return false;
                };
                let pod = self.cluster.pod(id);
                let namespace_ok = match namespaces {
                    NsScope::PolicyNamespace => pod.namespace == policy.namespace,
                    NsScope::Matching(selector) => self.namespace_matches(selector, &pod.namespace),
                };
                namespace_ok && pods.matches(&pod.labels)
            }
            Peer::IpBlock { cidr, except } => self.address(other).is_some_and(|ip| {
                cidr.contains(ip) && !except.iter().any(|hole| hole.contains(ip))
            }),
        }
    }

    /// Whether namespace `name`'s labels satisfy `selector`; a namespace the cluster does not know
    /// still carries the name label the API server sets.
    pub(crate) fn namespace_matches(&self, selector: &Selector, name: &str) -> bool {
        match self.cluster.namespace(name) {
            Some(namespace) => selector.matches(&namespace.labels),
            None => selector.matches(&Labels::from([(NAME_LABEL.to_owned(), name.to_owned())])),
        }
    }

    /// The address of an endpoint, for ipBlock and networks peers.
    pub(crate) fn address(&self, endpoint: Endpoint) -> Option<std::net::IpAddr> {
        match endpoint {
            Endpoint::External(ip) => Some(ip),
            Endpoint::Pod(id) => self.cluster.pod(id).ip,
        }
    }

    /// Named ports resolve on the destination pod, for ingress and egress rules alike.
    pub(crate) fn port_matches(
        &self,
        spec: &PortSpec,
        dst: Endpoint,
        port: u16,
        proto: Proto,
    ) -> bool {
        match spec {
            PortSpec::Any(p) => *p == proto,
            PortSpec::Range { proto: p, lo, hi } => *p == proto && (*lo..=*hi).contains(&port),
            PortSpec::Named { proto: p, name } => {
                let Endpoint::Pod(id) = dst else {
                    return false;
                };
                *p == proto
                    && self.cluster.pod(id).ports.iter().any(|cp| {
                        cp.name.as_deref() == Some(name.as_str())
                            && cp.proto == proto
                            && cp.port == port
                    })
            }
        }
    }
}
