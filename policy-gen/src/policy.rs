//! NetworkPolicies normalized once for evaluation, with the API server's defaulting and
//! validation applied.

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::cidr::Cidr;
use crate::selector::Selector;
use crate::{Error, Result};

/// A transport protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Proto {
    /// TCP (the default).
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// `TCP`, `UDP`, `SCTP`, as Kubernetes spells them.
impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Tcp => "TCP",
            Self::Udp => "UDP",
            Self::Sctp => "SCTP",
        })
    }
}

impl Proto {
    /// Parses `TCP`, `UDP`, `SCTP`; absent means TCP.
    pub fn parse(text: Option<&str>) -> Result<Self, String> {
        match text.unwrap_or("TCP") {
            "TCP" => Ok(Self::Tcp),
            "UDP" => Ok(Self::Udp),
            "SCTP" => Ok(Self::Sctp),
            other => Err(format!("unknown protocol {other:?}")),
        }
    }
}

/// Which namespaces a pod peer looks in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NsScope {
    /// The policy's own namespace (namespaceSelector absent).
    PolicyNamespace,
    /// Namespaces whose labels match (`{}` = every namespace).
    Matching(Selector),
}

/// One peer of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Peer {
    /// Pods matching `pods` in the namespaces of `namespaces`.
    Pods {
        /// Namespace scope.
        namespaces: NsScope,
        /// Pod selector (absent = `{}` = every pod).
        pods: Selector,
    },
    /// Addresses in `cidr` but in none of `except`; matches pod IPs too (as upstream e2e expects).
    IpBlock {
        /// The block.
        cidr: Cidr,
        /// Holes.
        except: Vec<Cidr>,
    },
}

/// One port clause.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PortSpec {
    /// Every port of a protocol.
    Any(Proto),
    /// Ports `lo..=hi` (a single number is `lo == hi`).
    Range {
        /// Protocol.
        proto: Proto,
        /// First port.
        lo: u16,
        /// Last port (endPort, inclusive).
        hi: u16,
    },
    /// A container port name, resolved on the destination pod.
    Named {
        /// Protocol the rule names (default TCP).
        proto: Proto,
        /// Port name.
        name: String,
    },
}

/// A rule: its peers (None = everything, external addresses included) and ports (None = all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Peers, OR-ed; None when the rule lists none.
    pub peers: Option<Vec<Peer>>,
    /// Ports, OR-ed; None when the rule lists none.
    pub ports: Option<Vec<PortSpec>>,
}

/// A NetworkPolicy ready for evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Pods it applies to (in its namespace).
    pub subject: Selector,
    /// Ingress rules when the policy isolates ingress; None when it does not affect ingress.
    pub ingress: Option<Vec<Rule>>,
    /// Egress rules when the policy isolates egress; None when it does not affect egress.
    pub egress: Option<Vec<Rule>>,
}

impl Policy {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Normalizes a NetworkPolicy, applying the API server's defaults (policyTypes: Ingress, plus
    /// Egress only when `spec.egress` is non-empty; protocol TCP) and refusing what it refuses.
    /// `default_namespace` is used when the object names none.
    pub fn from_k8s(policy: &NetworkPolicy, default_namespace: &str) -> Result<Self> {
        let namespace = policy
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| default_namespace.to_owned());
        let name = policy.metadata.name.clone().unwrap_or_default();
        let id = format!("{namespace}/{name}");
        let invalid = |reason: String| Error::InvalidPolicy {
            policy: id.clone(),
            reason,
        };
        let spec = policy.spec.clone().unwrap_or_default();
        let subject =
            Selector::from_k8s(&spec.pod_selector.unwrap_or_default()).map_err(&invalid)?;
        let ingress_rules = spec.ingress.unwrap_or_default();
        let egress_rules = spec.egress.unwrap_or_default();
        let types = match spec.policy_types {
            Some(types) if !types.is_empty() => types,
            // The len != 0 rule: `egress: []` does not isolate egress.
            _ if !egress_rules.is_empty() => vec!["Ingress".into(), "Egress".into()],
            _ => vec!["Ingress".into()],
        };
        if types.len() > 2 || types.iter().any(|t| t != "Ingress" && t != "Egress") {
            return Err(invalid(format!(
                "policyTypes {types:?}: only Ingress and Egress"
            )));
        }
        let ingress = if types.iter().any(|t| t == "Ingress") {
            Some(
                ingress_rules
                    .iter()
                    .map(|r: &NetworkPolicyIngressRule| rule(r.from.as_deref(), r.ports.as_deref()))
                    .collect::<Result<Vec<_>, String>>()
                    .map_err(&invalid)?,
            )
        } else {
            None
        };
        let egress = if types.iter().any(|t| t == "Egress") {
            Some(
                egress_rules
                    .iter()
                    .map(|r: &NetworkPolicyEgressRule| rule(r.to.as_deref(), r.ports.as_deref()))
                    .collect::<Result<Vec<_>, String>>()
                    .map_err(&invalid)?,
            )
        } else {
            None
        };
        Ok(Self {
            namespace,
            name,
            subject,
            ingress,
            egress,
        })
    }
}

fn rule(
    peers: Option<&[NetworkPolicyPeer]>,
    ports: Option<&[NetworkPolicyPort]>,
) -> Result<Rule, String> {
    let peers = match peers {
        Some(list) if !list.is_empty() => {
            Some(list.iter().map(peer).collect::<Result<Vec<_>, _>>()?)
        }
        _ => None,
    };
    let ports = match ports {
        Some(list) if !list.is_empty() => {
            Some(list.iter().map(port).collect::<Result<Vec<_>, _>>()?)
        }
        _ => None,
    };
    Ok(Rule { peers, ports })
}

fn peer(peer: &NetworkPolicyPeer) -> Result<Peer, String> {
    match (&peer.ip_block, &peer.namespace_selector, &peer.pod_selector) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            Err("a peer with ipBlock may not also select namespaces or pods".into())
        }
        (Some(block), None, None) => {
            let cidr: Cidr = block.cidr.parse()?;
            let except = block
                .except
                .iter()
                .flatten()
                .map(|e| {
                    let hole: Cidr = e.parse()?;
                    if cidr.strictly_contains(&hole) {
                        Ok(hole)
                    } else {
                        Err(format!("except {hole} is not a strict subset of {cidr}"))
                    }
                })
                .collect::<Result<Vec<_>, String>>()?;
            Ok(Peer::IpBlock { cidr, except })
        }
        (None, None, None) => {
            Err("a peer must set podSelector, namespaceSelector or ipBlock".into())
        }
        (None, namespaces, pods) => Ok(Peer::Pods {
            namespaces: match namespaces {
                None => NsScope::PolicyNamespace,
                Some(selector) => NsScope::Matching(Selector::from_k8s(selector)?),
            },
            pods: match pods {
                None => Selector::everything(),
                Some(selector) => Selector::from_k8s(selector)?,
            },
        }),
    }
}

fn port(port: &NetworkPolicyPort) -> Result<PortSpec, String> {
    let proto = Proto::parse(port.protocol.as_deref())?;
    match (&port.port, port.end_port) {
        (None, None) => Ok(PortSpec::Any(proto)),
        (None, Some(_)) => Err("endPort needs a numeric port".into()),
        (Some(IntOrString::String(_)), Some(_)) => {
            Err("endPort may not follow a named port".into())
        }
        (Some(IntOrString::String(name)), None) => Ok(PortSpec::Named {
            proto,
            name: name.clone(),
        }),
        (Some(IntOrString::Int(number)), end) => {
            let lo = u16::try_from(*number)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("port {number} is out of range"))?;
            let hi = match end {
                None => lo,
                Some(end) => u16::try_from(end)
                    .ok()
                    .filter(|e| *e >= lo)
                    .ok_or_else(|| format!("endPort {end} must be >= port {lo} and <= 65535"))?,
            };
            Ok(PortSpec::Range { proto, lo, hi })
        }
    }
}
