//! Kubernetes network-policy-api `policy.networking.k8s.io/v1alpha2` ClusterNetworkPolicy
//! (release v0.2.0): cluster-scoped policies in an Admin tier, evaluated before any namespaced
//! NetworkPolicy, and a Baseline tier evaluated after them.
//!
//! Why this API and not its predecessor AdminNetworkPolicy (v1alpha1): v0.2.0 replaced
//! AdminNetworkPolicy and BaselineAdminNetworkPolicy with this one kind, and it is the API the
//! project's maintained implementations now track (Calico 3.32, kube-network-policies,
//! Kube-OVN). The fields modelled are the standard channel's; the experimental peers (`nodes`,
//! `domainNames`) are not, so a policy using them fails to decode instead of being half-read.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube_derive::CustomResource;
use serde::{Deserialize, Serialize};

/// A cluster-wide network policy: which pods it applies to, at which tier and priority, and its
/// ordered ingress and egress rules.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "policy.networking.k8s.io",
    version = "v1alpha2",
    kind = "ClusterNetworkPolicy",
    schema = "disabled",
    crates(kube_core = "::kube_core"),
    doc = "A ClusterNetworkPolicy (`policy.networking.k8s.io/v1alpha2`)."
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterNetworkPolicySpec {
    /// `Admin` (decides before namespaced policies; tenants cannot override it) or `Baseline`
    /// (applies only to pods no NetworkPolicy isolates).
    pub tier: Tier,
    /// 0–1000; lower values are checked first within the tier.
    pub priority: u32,
    /// The pods this policy applies to.
    pub subject: ClusterSubject,
    /// Rules for traffic into the subject pods, first match wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<ClusterIngressRule>,
    /// Rules for traffic out of the subject pods, first match wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<ClusterEgressRule>,
}

/// The tier of a [`ClusterNetworkPolicy`].
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    /// Before NetworkPolicies.
    Admin,
    /// After NetworkPolicies, for pods none of them isolates.
    Baseline,
}

/// What a matching rule does.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleAction {
    /// Allow; no later policy of any tier is consulted.
    Accept,
    /// Drop; no later policy of any tier is consulted.
    Deny,
    /// Skip the rest of this tier and let the next tier decide.
    Pass,
}

/// Exactly one of the fields is set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterSubject {
    /// Every pod of the matching namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<LabelSelector>,
    /// Matching pods of matching namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<NamespacedPods>,
}

/// Pods selected by labels inside namespaces selected by labels.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespacedPods {
    /// Namespaces (`{}` or absent: every namespace).
    #[serde(default)]
    pub namespace_selector: LabelSelector,
    /// Pods inside them.
    pub pod_selector: LabelSelector,
}

/// One ingress rule.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterIngressRule {
    /// A name shown in reports (at most 100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What a match does.
    pub action: RuleAction,
    /// Sources, OR-ed (at least one).
    pub from: Vec<ClusterPeer>,
    /// Destination ports, OR-ed; absent: any port of any protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocols: Option<Vec<ProtocolMatch>>,
}

/// One egress rule.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterEgressRule {
    /// A name shown in reports (at most 100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What a match does.
    pub action: RuleAction,
    /// Destinations, OR-ed (at least one).
    pub to: Vec<ClusterPeer>,
    /// Destination ports, OR-ed; absent: any port of any protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocols: Option<Vec<ProtocolMatch>>,
}

/// A peer: exactly one field set. `networks` is valid in egress rules only.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterPeer {
    /// Every pod of the matching namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<LabelSelector>,
    /// Matching pods of matching namespaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<NamespacedPods>,
    /// CIDRs (pod addresses inside them match too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub networks: Option<Vec<String>>,
}

/// One protocol clause: exactly one field set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProtocolMatch {
    /// TCP destination ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<PortMatch>,
    /// UDP destination ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<PortMatch>,
    /// SCTP destination ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sctp: Option<PortMatch>,
    /// A container port name on the destination pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_named_port: Option<String>,
}

/// Ports of one protocol.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortMatch {
    /// The port or range.
    pub destination_port: DestinationPort,
}

/// A port number or an inclusive range: exactly one field set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationPort {
    /// One port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<u16>,
    /// `start..=end`, `start < end`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<PortRange>,
}

/// An inclusive port range.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PortRange {
    /// First port.
    pub start: u16,
    /// Last port.
    pub end: u16,
}
