//! ClusterNetworkPolicies (`policy.networking.k8s.io/v1alpha2`) normalized once for evaluation,
//! refusing what the CRD's schema refuses.
//!
//! Semantics, from the API's type comments: the Admin tier decides first; within a tier,
//! policies are checked by ascending priority and each policy's rules in written order; the
//! first rule matching the flow decides: `Accept` and `Deny` are final for every tier, `Pass`
//! skips the rest of the tier. Then NetworkPolicies decide for the pods they isolate; then the
//! Baseline tier for the others; then the default allow.

use manifests_core::crds::network_policy_api::{
    ClusterNetworkPolicy, ClusterNetworkPolicySpec, ClusterPeer as K8sPeer, NamespacedPods,
    ProtocolMatch as K8sProtocol, RuleAction, Tier,
};

use crate::cidr::Cidr;
use crate::policy::Proto;
use crate::selector::Selector;
use crate::{Error, Result};

/// Which pods a cluster policy applies to, or which pods a peer selects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterPods {
    /// Every pod of the matching namespaces.
    Namespaces(Selector),
    /// Matching pods of matching namespaces.
    Pods {
        /// Namespaces.
        namespaces: Selector,
        /// Pods inside them.
        pods: Selector,
    },
}

/// One peer of a cluster rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterPeer {
    /// Pods, by namespace and pod labels.
    Pods(ClusterPods),
    /// Addresses (pod addresses included) in any of the CIDRs.
    Networks(Vec<Cidr>),
}

/// One protocol clause of a cluster rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtocolMatch {
    /// Ports `lo..=hi` of a protocol.
    Ports {
        /// Protocol.
        proto: Proto,
        /// First port.
        lo: u16,
        /// Last port.
        hi: u16,
    },
    /// A container port name on the destination pod.
    Named(String),
}

/// One rule, ready for evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterRule {
    /// `ClusterNetworkPolicy <name> <direction> rule <n or name>`, for reports.
    pub id: String,
    /// What a match does.
    pub action: RuleAction,
    /// Peers, OR-ed.
    pub peers: Vec<ClusterPeer>,
    /// Protocol clauses, OR-ed; None: every port of every protocol.
    pub protocols: Option<Vec<ProtocolMatch>>,
}

/// A ClusterNetworkPolicy ready for evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterPolicy {
    /// Name.
    pub name: String,
    /// Tier.
    pub tier: Tier,
    /// Priority within the tier (lower first).
    pub priority: u32,
    /// The pods it applies to.
    pub subject: ClusterPods,
    /// Ingress rules in order (empty: does not affect ingress).
    pub ingress: Vec<ClusterRule>,
    /// Egress rules in order (empty: does not affect egress).
    pub egress: Vec<ClusterRule>,
}

impl ClusterPolicy {
    /// Normalizes a ClusterNetworkPolicy, refusing what its CRD schema refuses (priority over
    /// 1000, a peer or protocol clause with no field or several, an empty peer list, a port range
    /// whose start is not below its end, a malformed CIDR).
    pub fn from_k8s(policy: &ClusterNetworkPolicy) -> Result<Self> {
        let name = policy.metadata.name.clone().unwrap_or_default();
        let invalid = |reason: String| Error::InvalidPolicy {
            policy: format!("ClusterNetworkPolicy {name}"),
            reason,
        };
        let spec = &policy.spec;
        if spec.priority > 1000 {
            return Err(invalid(format!("priority {} is over 1000", spec.priority)));
        }
        let subject = subject(spec).map_err(|e| invalid(format!("subject: {e}")))?;
        let ingress = spec
            .ingress
            .iter()
            .enumerate()
            .map(|(index, r)| RawRule {
                direction: "ingress",
                index,
                name: &r.name,
                action: r.action,
                peers: &r.from,
                protocols: &r.protocols,
                networks_allowed: false,
            })
            .map(|raw| raw.read(&name).map_err(&invalid))
            .collect::<Result<Vec<_>>>()?;
        let egress = spec
            .egress
            .iter()
            .enumerate()
            .map(|(index, r)| RawRule {
                direction: "egress",
                index,
                name: &r.name,
                action: r.action,
                peers: &r.to,
                protocols: &r.protocols,
                networks_allowed: true,
            })
            .map(|raw| raw.read(&name).map_err(&invalid))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            name,
            tier: spec.tier,
            priority: spec.priority,
            subject,
            ingress,
            egress,
        })
    }
}

/// The subject: exactly one of namespaces and pods.
fn subject(spec: &ClusterNetworkPolicySpec) -> Result<ClusterPods, String> {
    match (&spec.subject.namespaces, &spec.subject.pods) {
        (Some(namespaces), None) => Ok(ClusterPods::Namespaces(Selector::from_k8s(namespaces)?)),
        (None, Some(pods)) => namespaced_pods(pods),
        _ => Err("must set exactly one of namespaces and pods".into()),
    }
}

/// One ingress or egress rule as the API object holds it.
struct RawRule<'a> {
    direction: &'a str,
    index: usize,
    name: &'a Option<String>,
    action: RuleAction,
    peers: &'a [K8sPeer],
    protocols: &'a Option<Vec<K8sProtocol>>,
    /// Only egress peers may be networks (the CRD's rule).
    networks_allowed: bool,
}

impl RawRule<'_> {
    /// The rule, checked as the CRD checks it; an error names the rule (`ingress[0]: …`).
    fn read(self, policy: &str) -> Result<ClusterRule, String> {
        let label = self.name.clone().unwrap_or_else(|| self.index.to_string());
        let at = format!("{}[{}]", self.direction, self.index);
        let fail = |reason: String| format!("{at}: {reason}");
        if self.peers.is_empty() {
            return Err(fail("a rule needs at least one peer".into()));
        }
        let peers = self
            .peers
            .iter()
            .map(|p| peer(p, self.networks_allowed))
            .collect::<Result<Vec<_>, String>>()
            .map_err(fail)?;
        let protocols = match self.protocols {
            None => None,
            Some(list) if list.is_empty() => {
                return Err(fail("protocols, when set, needs at least one item".into()));
            }
            Some(list) => Some(
                list.iter()
                    .map(protocol)
                    .collect::<Result<Vec<_>, String>>()
                    .map_err(fail)?,
            ),
        };
        Ok(ClusterRule {
            id: format!(
                "ClusterNetworkPolicy {policy} {} rule {label}",
                self.direction
            ),
            action: self.action,
            peers,
            protocols,
        })
    }
}

fn namespaced_pods(pods: &NamespacedPods) -> Result<ClusterPods, String> {
    Ok(ClusterPods::Pods {
        namespaces: Selector::from_k8s(&pods.namespace_selector)?,
        pods: Selector::from_k8s(&pods.pod_selector)?,
    })
}

fn peer(peer: &K8sPeer, networks_allowed: bool) -> Result<ClusterPeer, String> {
    match (&peer.namespaces, &peer.pods, &peer.networks) {
        (Some(namespaces), None, None) => Ok(ClusterPeer::Pods(ClusterPods::Namespaces(
            Selector::from_k8s(namespaces)?,
        ))),
        (None, Some(pods), None) => Ok(ClusterPeer::Pods(namespaced_pods(pods)?)),
        (None, None, Some(_)) if !networks_allowed => {
            Err("networks peers are valid in egress rules only".into())
        }
        (None, None, Some(cidrs)) if cidrs.is_empty() => {
            Err("networks needs at least one CIDR".into())
        }
        (None, None, Some(cidrs)) => Ok(ClusterPeer::Networks(
            cidrs
                .iter()
                .map(|c| c.parse())
                .collect::<Result<Vec<Cidr>, String>>()?,
        )),
        _ => Err("a peer must set exactly one of namespaces, pods and networks".into()),
    }
}

fn protocol(clause: &K8sProtocol) -> Result<ProtocolMatch, String> {
    let ports = |proto: Proto, m: &manifests_core::crds::network_policy_api::PortMatch| {
        let port = &m.destination_port;
        match (port.number, &port.range) {
            (Some(0), None) => Err("port 0 is out of range".to_owned()),
            (Some(n), None) => Ok(ProtocolMatch::Ports {
                proto,
                lo: n,
                hi: n,
            }),
            (None, Some(range)) if range.start == 0 || range.start >= range.end => Err(format!(
                "range {}-{}: start must be at least 1 and below end",
                range.start, range.end
            )),
            (None, Some(range)) => Ok(ProtocolMatch::Ports {
                proto,
                lo: range.start,
                hi: range.end,
            }),
            _ => Err("destinationPort must set exactly one of number and range".to_owned()),
        }
    };
    match (
        &clause.tcp,
        &clause.udp,
        &clause.sctp,
        &clause.destination_named_port,
    ) {
        (Some(m), None, None, None) => ports(Proto::Tcp, m),
        (None, Some(m), None, None) => ports(Proto::Udp, m),
        (None, None, Some(m), None) => ports(Proto::Sctp, m),
        (None, None, None, Some(name)) if !name.is_empty() => {
            Ok(ProtocolMatch::Named(name.clone()))
        }
        _ => Err(
            "a protocol clause must set exactly one of tcp, udp, sctp and destinationNamedPort"
                .into(),
        ),
    }
}
