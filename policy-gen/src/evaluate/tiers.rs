//! The ClusterNetworkPolicy tiers around the NetworkPolicy judgement: which cluster policies
//! apply to a pod, the first rule that matches a flow, and the namespace-level bound the
//! verifier uses to skip pairs of namespaces no flow can join.

use manifests_core::crds::network_policy_api::{RuleAction, Tier};

use super::{Direction, Evaluator, Side};
use crate::cluster::{Cluster, Endpoint, PodId};
use crate::cluster_policy::{ClusterPeer, ClusterPods, ClusterPolicy, ClusterRule, ProtocolMatch};
use crate::policy::{PortSpec, Proto};
use crate::selector::Selector;

/// Per pod, the cluster policies that apply to it, for [Admin, Baseline] × [Ingress, Egress],
/// each list in evaluation order (priority, then name, so equal priorities are at least
/// deterministic; the API leaves their order to the implementation).
#[derive(Default)]
pub(crate) struct TierIndex<'a> {
    per_pod: Vec<[Vec<&'a ClusterPolicy>; 4]>,
}

/// The other end of a flow and its destination port, as one side sees it.
pub(crate) struct FlowEnds {
    pub(crate) other: Endpoint,
    pub(crate) dst: Endpoint,
    pub(crate) port: u16,
    pub(crate) proto: Proto,
}

impl FlowEnds {
    /// As the source sees a flow to `dst`.
    pub(crate) fn outbound(dst: Endpoint, port: u16, proto: Proto) -> Self {
        Self {
            other: dst,
            dst,
            port,
            proto,
        }
    }

    /// As the destination `dst` sees a flow from `src`.
    pub(crate) fn inbound(src: Endpoint, dst: Endpoint, port: u16, proto: Proto) -> Self {
        Self {
            other: src,
            dst,
            port,
            proto,
        }
    }
}

/// What the rules of one tier can do to every flow between a pod and a whole namespace.
enum Bound {
    /// Some rule may accept some flow.
    MayAccept,
    /// Every flow is denied in this tier.
    Stops,
    /// Some flows may reach the next tier.
    Continues,
}

/// How a rule's peers and protocols match the flows between a pod and one namespace.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Reach {
    Never,
    Some,
    All,
}

fn slot(tier: Tier, direction: Direction) -> usize {
    let tier = match tier {
        Tier::Admin => 0,
        Tier::Baseline => 2,
    };
    tier + match direction {
        Direction::Ingress => 0,
        Direction::Egress => 1,
    }
}

fn rules(policy: &ClusterPolicy, direction: Direction) -> &[ClusterRule] {
    match direction {
        Direction::Ingress => &policy.ingress,
        Direction::Egress => &policy.egress,
    }
}

impl<'a> TierIndex<'a> {
    pub(crate) fn new(cluster: &Cluster, policies: &'a [ClusterPolicy]) -> Self {
        if policies.is_empty() {
            return Self::default();
        }
        let mut ordered: Vec<&ClusterPolicy> = policies.iter().collect();
        ordered.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        let per_pod = cluster
            .pods()
            .iter()
            .map(|pod| {
                let mut lists: [Vec<&ClusterPolicy>; 4] = Default::default();
                let labels = cluster.namespace(&pod.namespace).map(|n| &n.labels);
                for policy in &ordered {
                    let applies = match &policy.subject {
                        ClusterPods::Namespaces(namespaces) => {
                            labels.is_some_and(|l| namespaces.matches(l))
                        }
                        ClusterPods::Pods { namespaces, pods } => {
                            labels.is_some_and(|l| namespaces.matches(l))
                                && pods.matches(&pod.labels)
                        }
                    };
                    if !applies {
                        continue;
                    }
                    for direction in [Direction::Ingress, Direction::Egress] {
                        if !rules(policy, direction).is_empty() {
                            lists[slot(policy.tier, direction)].push(*policy);
                        }
                    }
                }
                lists
            })
            .collect();
        Self { per_pod }
    }

    /// `(first, second, priority)` for cluster policies applying to one pod in one tier and
    /// direction with equal priorities.
    pub(crate) fn same_priority_pairs(&self) -> std::collections::BTreeSet<(String, String, u32)> {
        let mut pairs = std::collections::BTreeSet::new();
        for lists in &self.per_pod {
            for list in lists {
                for pair in list.windows(2) {
                    if pair[0].priority == pair[1].priority {
                        pairs.insert((
                            pair[0].name.clone(),
                            pair[1].name.clone(),
                            pair[0].priority,
                        ));
                    }
                }
            }
        }
        pairs
    }

    fn applying(&self, pod: PodId, tier: Tier, direction: Direction) -> &[&'a ClusterPolicy] {
        self.per_pod
            .get(pod.0)
            .map_or(&[], |lists| lists[slot(tier, direction)].as_slice())
    }
}

impl Evaluator<'_> {
    /// The decision of `tier` for one side of a flow: `Some` when an Accept or Deny rule matched
    /// first, `None` when a Pass rule matched first or no rule matched (the next tier decides).
    pub(crate) fn tier_side(
        &self,
        pod: PodId,
        direction: Direction,
        tier: Tier,
        flow: &FlowEnds,
    ) -> Option<Side> {
        let rule = self.first_matching_rule(pod, direction, tier, flow)?;
        match rule.action {
            RuleAction::Accept => Some(Side::AllowedBy(vec![rule.id.clone()])),
            RuleAction::Deny => Some(Side::DeniedBy(vec![rule.id.clone()])),
            RuleAction::Pass => None,
        }
    }

    /// [`tier_side`](Self::tier_side) as a bool: `Some(true)` accepted, `Some(false)` denied.
    pub(crate) fn tier_allows(
        &self,
        pod: PodId,
        direction: Direction,
        tier: Tier,
        flow: &FlowEnds,
    ) -> Option<bool> {
        match self.first_matching_rule(pod, direction, tier, flow)?.action {
            RuleAction::Accept => Some(true),
            RuleAction::Deny => Some(false),
            RuleAction::Pass => None,
        }
    }

    fn first_matching_rule(
        &self,
        pod: PodId,
        direction: Direction,
        tier: Tier,
        flow: &FlowEnds,
    ) -> Option<&ClusterRule> {
        self.tiers
            .applying(pod, tier, direction)
            .iter()
            .flat_map(|policy| rules(policy, direction))
            .find(|rule| self.cluster_rule_matches(rule, flow))
    }

    fn cluster_rule_matches(&self, rule: &ClusterRule, flow: &FlowEnds) -> bool {
        let peer_ok = rule.peers.iter().any(|peer| match peer {
            ClusterPeer::Pods(pods) => match flow.other {
                Endpoint::Pod(id) => self.pods_match(pods, id),
                Endpoint::External(_) => false,
            },
            ClusterPeer::Networks(cidrs) => self
                .address(flow.other)
                .is_some_and(|ip| cidrs.iter().any(|c| c.contains(ip))),
        });
        peer_ok
            && rule.protocols.as_ref().is_none_or(|clauses| {
                clauses.iter().any(|clause| match clause {
                    ProtocolMatch::Ports { proto, lo, hi } => self.port_matches(
                        &PortSpec::Range {
                            proto: *proto,
                            lo: *lo,
                            hi: *hi,
                        },
                        flow.dst,
                        flow.port,
                        flow.proto,
                    ),
                    // A named port is the destination pod's, whatever protocol it serves.
                    ProtocolMatch::Named(name) => self.port_matches(
                        &PortSpec::Named {
                            proto: flow.proto,
                            name: name.clone(),
                        },
                        flow.dst,
                        flow.port,
                        flow.proto,
                    ),
                })
            })
    }

    fn pods_match(&self, pods: &ClusterPods, id: PodId) -> bool {
        let pod = self.cluster().pod(id);
        match pods {
            ClusterPods::Namespaces(namespaces) => {
                self.namespace_matches(namespaces, &pod.namespace)
            }
            ClusterPods::Pods { namespaces, pods } => {
                self.namespace_matches(namespaces, &pod.namespace) && pods.matches(&pod.labels)
            }
        }
    }

    /// False only when no flow between `pod` and any pod of namespace `other` can pass `pod`'s
    /// side in `direction` (a sound over-approximation: true may still end in a denial). The
    /// verifier uses it to skip whole pairs of namespaces before trying pairs of pods.
    pub fn may_allow_namespace(&self, pod: PodId, direction: Direction, other: &str) -> bool {
        match self.tier_bound(pod, direction, Tier::Admin, other) {
            Bound::MayAccept => return true,
            Bound::Stops => return false,
            Bound::Continues => {}
        }
        if self.isolated(pod, direction) {
            return self.namespaced_may_allow(pod, direction, other);
        }
        !matches!(
            self.tier_bound(pod, direction, Tier::Baseline, other),
            Bound::Stops
        )
    }

    fn tier_bound(&self, pod: PodId, direction: Direction, tier: Tier, other: &str) -> Bound {
        let mut some_pass = false;
        for policy in self.tiers.applying(pod, tier, direction) {
            for rule in rules(policy, direction) {
                let reach = self.rule_reach(rule, other);
                match (reach, rule.action) {
                    (Reach::Never, _) => {}
                    (_, RuleAction::Accept) => return Bound::MayAccept,
                    (Reach::Some, RuleAction::Deny) => {}
                    (Reach::Some, RuleAction::Pass) => some_pass = true,
                    (Reach::All, RuleAction::Pass) => return Bound::Continues,
                    (Reach::All, RuleAction::Deny) if some_pass => return Bound::Continues,
                    (Reach::All, RuleAction::Deny) => return Bound::Stops,
                }
            }
        }
        Bound::Continues
    }

    fn rule_reach(&self, rule: &ClusterRule, other: &str) -> Reach {
        let peers = rule
            .peers
            .iter()
            .map(|peer| match peer {
                ClusterPeer::Pods(ClusterPods::Namespaces(namespaces)) => {
                    self.namespace_reach(namespaces, other, None)
                }
                ClusterPeer::Pods(ClusterPods::Pods { namespaces, pods }) => {
                    self.namespace_reach(namespaces, other, Some(pods))
                }
                ClusterPeer::Networks(_) => Reach::Some,
            })
            .max()
            .unwrap_or(Reach::Never);
        match (peers, &rule.protocols) {
            (Reach::All, Some(_)) => Reach::Some,
            (reach, _) => reach,
        }
    }

    fn namespace_reach(
        &self,
        namespaces: &Selector,
        other: &str,
        pods: Option<&Selector>,
    ) -> Reach {
        if !self.namespace_matches(namespaces, other) {
            Reach::Never
        } else if pods.is_none_or(Selector::is_empty) {
            Reach::All
        } else {
            Reach::Some
        }
    }
}
