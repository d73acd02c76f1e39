//! The policies that isolate one tenant: NetworkPolicies (L3/L4) and Istio's mTLS and
//! authorization (L7, identity). Both layers are needed: NetworkPolicy cannot see headers, and a
//! pod without a sidecar bypasses Istio.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use manifests_core::crds::istio::{
    AuthorizationPolicy, AuthorizationPolicySpec, Condition, MutualTls, PeerAuthentication,
    PeerAuthenticationSpec, Rule, RuleFrom, Source,
};
use manifests_core::crds::network_policy_api::{
    ClusterEgressRule, ClusterIngressRule, ClusterNetworkPolicy, ClusterNetworkPolicySpec,
    ClusterPeer, ClusterSubject, RuleAction, Tier,
};
use manifests_core::meta::{object_meta, standard_labels};
use manifests_core::naming::is_rfc1035_label;
use manifests_core::tenant::{ClusterIsolation, ExternalEgress, Isolation};
use manifests_core::{ManifestSet, TenantSpec};

use crate::cidr::Cidr;
use crate::cluster::NAME_LABEL;
use crate::{Error, Result};

/// Name of the generated AuthorizationPolicy.
pub const AUTHORIZATION_POLICY: &str = "tenant-access";

/// Every isolation object for the tenant, in a stable order.
///
/// NetworkPolicies, each with explicit `policyTypes` and `podSelector: {}` (pod labels cannot
/// escape them): `default-deny` (both directions); `allow-same-namespace`; ingress from and egress
/// to the system namespaces, matched by `kubernetes.io/metadata.name` (set by the API server, so it
/// cannot be claimed by relabelling another namespace); DNS over UDP and TCP 53 to the DNS pods
/// only; one egress policy per configured external CIDR. Istio: PeerAuthentication STRICT (without
/// mTLS no principal can be checked) and an ALLOW AuthorizationPolicy that honours the user header
/// only on requests whose mTLS identity is a trusted principal (the ingress gateway), plus
/// same-namespace traffic. With `isolation.clusterNetworkPolicy` set, also a ClusterNetworkPolicy
/// in the Admin tier that tenants cannot delete (see [`cluster_policy_name`]).
pub fn isolation_policies(spec: &TenantSpec) -> Result<ManifestSet> {
    let ns = spec.namespace.as_str();
    if !is_rfc1035_label(ns) {
        return Err(Error::InvalidSpec {
            field: "tenant.namespace".into(),
            reason: format!("{ns:?} is not an RFC 1035 label"),
        });
    }
    let iso = &spec.isolation;
    let mut set = ManifestSet::new();
    for policy in in_namespace_policies(ns, iso) {
        set.push(&policy)?;
    }
    for (i, egress) in iso.egress.iter().enumerate() {
        set.push(&allowed_egress(ns, i, egress)?)?;
    }
    set.push(&peer_authentication(ns))?;
    set.push(&authorization_policy(spec))?;
    if let Some(cluster) = &iso.cluster_network_policy {
        set.push(&cluster_network_policy(spec, cluster)?)?;
    }
    Ok(set)
}

/// Default deny, then what every tenant needs: its own namespace, the system namespaces (both
/// ways) and DNS.
fn in_namespace_policies(ns: &str, iso: &Isolation) -> Vec<NetworkPolicy> {
    let mut policies = vec![
        network_policy(ns, "default-deny", &["Ingress", "Egress"], vec![], vec![]),
        network_policy(
            ns,
            "allow-same-namespace",
            &["Ingress", "Egress"],
            vec![ingress_from(vec![same_namespace()], None)],
            vec![egress_to(vec![same_namespace()], None)],
        ),
    ];
    if !iso.system_namespaces.is_empty() {
        let system = namespaces_named(&iso.system_namespaces);
        policies.push(network_policy(
            ns,
            "allow-from-system-namespaces",
            &["Ingress"],
            vec![ingress_from(vec![system.clone()], None)],
            vec![],
        ));
        policies.push(network_policy(
            ns,
            "allow-to-system-namespaces",
            &["Egress"],
            vec![],
            vec![egress_to(vec![system], None)],
        ));
    }
    // One peer with both selectors: the DNS pods IN the DNS namespace (two peers would open every
    // pod of kube-system and every kube-dns-labelled pod anywhere).
    let dns_peer = NetworkPolicyPeer {
        namespace_selector: Some(names_selector(std::slice::from_ref(&iso.dns_namespace))),
        pod_selector: Some(LabelSelector {
            match_labels: Some(iso.dns_pod_labels.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    policies.push(network_policy(
        ns,
        "allow-dns",
        &["Egress"],
        vec![],
        vec![egress_to(
            vec![dns_peer],
            Some(vec![port("UDP", 53), port("TCP", 53)]),
        )],
    ));
    policies
}

/// The policy for the tenant's `i`th allowed external destination; its CIDR and exceptions
/// are checked, each error naming its field.
fn allowed_egress(ns: &str, i: usize, egress: &ExternalEgress) -> Result<NetworkPolicy> {
    let field = format!("tenant.isolation.egress[{i}]");
    if !is_rfc1035_label(&egress.name) {
        return Err(Error::InvalidSpec {
            field: format!("{field}.name"),
            reason: format!("{:?} is not an RFC 1035 label", egress.name),
        });
    }
    let cidr: Cidr = egress.cidr.parse().map_err(|reason| Error::InvalidSpec {
        field: format!("{field}.cidr"),
        reason,
    })?;
    for hole in &egress.except {
        let parsed: Cidr = hole.parse().map_err(|reason| Error::InvalidSpec {
            field: format!("{field}.except"),
            reason,
        })?;
        if !cidr.strictly_contains(&parsed) {
            return Err(Error::InvalidSpec {
                field: format!("{field}.except"),
                reason: format!("{hole} is not a strict subset of {cidr}"),
            });
        }
    }
    let peer = NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: egress.cidr.clone(),
            except: (!egress.except.is_empty()).then(|| egress.except.clone()),
        }),
        ..Default::default()
    };
    let ports = (!egress.ports.is_empty()).then(|| {
        egress
            .ports
            .iter()
            .map(|p| port("TCP", i32::from(*p)))
            .collect()
    });
    Ok(network_policy(
        ns,
        &format!("allow-egress-{}", egress.name),
        &["Egress"],
        vec![],
        vec![egress_to(vec![peer], ports)],
    ))
}

/// Name of the tenant's ClusterNetworkPolicy (cluster-scoped, so it carries the namespace).
pub fn cluster_policy_name(namespace: &str) -> String {
    format!("tenant-{namespace}")
}

/// Admin tier, one policy per tenant: traffic with the tenant's own namespace, the system
/// namespaces and the DNS namespace is passed on to the namespaced NetworkPolicies (which stay
/// the fine-grained rules); traffic with any other namespace's pods is denied, in both
/// directions, whatever NetworkPolicies the tenant adds or deletes. External addresses are not
/// pods, so they too are left to the NetworkPolicies.
fn cluster_network_policy(
    spec: &TenantSpec,
    settings: &ClusterIsolation,
) -> Result<ClusterNetworkPolicy> {
    let ns = spec.namespace.as_str();
    let iso = &spec.isolation;
    if settings.priority > 1000 {
        return Err(Error::InvalidSpec {
            field: "tenant.isolation.clusterNetworkPolicy.priority".into(),
            reason: format!("{} is over 1000", settings.priority),
        });
    }
    let mut trusted: Vec<String> = vec![ns.to_owned()];
    for name in iso.system_namespaces.iter().chain([&iso.dns_namespace]) {
        if !trusted.contains(name) {
            trusted.push(name.clone());
        }
    }
    let peer = |selector: LabelSelector| ClusterPeer {
        namespaces: Some(selector),
        ..Default::default()
    };
    let everyone = || vec![peer(LabelSelector::default())];
    let own_and_platform = || vec![peer(names_selector(&trusted))];
    Ok(ClusterNetworkPolicy {
        metadata: ObjectMeta {
            name: Some(cluster_policy_name(ns)),
            labels: Some(standard_labels(
                "tenant-isolation",
                ns,
                "cluster-network-policy",
            )),
            ..Default::default()
        },
        spec: ClusterNetworkPolicySpec {
            tier: Tier::Admin,
            priority: settings.priority,
            subject: ClusterSubject {
                namespaces: Some(names_selector(std::slice::from_ref(&spec.namespace))),
                pods: None,
            },
            ingress: vec![
                ClusterIngressRule {
                    name: Some("own-and-platform-namespaces".into()),
                    action: RuleAction::Pass,
                    from: own_and_platform(),
                    protocols: None,
                },
                ClusterIngressRule {
                    name: Some("every-other-namespace".into()),
                    action: RuleAction::Deny,
                    from: everyone(),
                    protocols: None,
                },
            ],
            egress: vec![
                ClusterEgressRule {
                    name: Some("own-and-platform-namespaces".into()),
                    action: RuleAction::Pass,
                    to: own_and_platform(),
                    protocols: None,
                },
                ClusterEgressRule {
                    name: Some("every-other-namespace".into()),
                    action: RuleAction::Deny,
                    to: everyone(),
                    protocols: None,
                },
            ],
        },
    })
}

fn network_policy(
    ns: &str,
    name: &str,
    types: &[&str],
    ingress: Vec<NetworkPolicyIngressRule>,
    egress: Vec<NetworkPolicyEgressRule>,
) -> NetworkPolicy {
    NetworkPolicy {
        metadata: object_meta(
            name,
            ns,
            standard_labels("tenant-isolation", ns, "network-policy"),
            BTreeMap::new(),
        ),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector::default()),
            // Explicit types: with implicit ones, removing the last egress rule would silently
            // lift egress isolation.
            policy_types: Some(types.iter().map(|t| (*t).to_owned()).collect()),
            ingress: types.contains(&"Ingress").then_some(ingress),
            egress: types.contains(&"Egress").then_some(egress),
        }),
    }
}

fn ingress_from(
    from: Vec<NetworkPolicyPeer>,
    ports: Option<Vec<NetworkPolicyPort>>,
) -> NetworkPolicyIngressRule {
    NetworkPolicyIngressRule {
        from: Some(from),
        ports,
    }
}

fn egress_to(
    to: Vec<NetworkPolicyPeer>,
    ports: Option<Vec<NetworkPolicyPort>>,
) -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: Some(to),
        ports,
    }
}

fn same_namespace() -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector::default()),
        ..Default::default()
    }
}

fn namespaces_named(names: &[String]) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(names_selector(names)),
        ..Default::default()
    }
}

/// Namespaces by the name label the API server sets (a custom label could be claimed by anyone
/// allowed to label a namespace).
fn names_selector(names: &[String]) -> LabelSelector {
    LabelSelector {
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: NAME_LABEL.into(),
            operator: "In".into(),
            values: Some(names.to_vec()),
        }]),
        ..Default::default()
    }
}

fn port(protocol: &str, number: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        protocol: Some(protocol.into()),
        port: Some(IntOrString::Int(number)),
        end_port: None,
    }
}

fn peer_authentication(ns: &str) -> PeerAuthentication {
    PeerAuthentication {
        metadata: object_meta(
            "default",
            ns,
            standard_labels("tenant-isolation", ns, "mtls"),
            BTreeMap::new(),
        ),
        spec: PeerAuthenticationSpec {
            selector: None,
            mtls: MutualTls {
                mode: "STRICT".into(),
            },
        },
    }
}

fn authorization_policy(spec: &TenantSpec) -> AuthorizationPolicy {
    let ns = spec.namespace.as_str();
    let iso = &spec.isolation;
    let mut gateway_rule = Rule {
        from: vec![RuleFrom {
            source: Source {
                principals: iso.trusted_principals.clone(),
                ..Default::default()
            },
        }],
        ..Default::default()
    };
    if !iso.owners.is_empty() {
        gateway_rule.when.push(Condition {
            key: format!("request.headers[{}]", iso.user_header),
            values: iso.owners.clone(),
            not_values: vec![],
        });
    }
    let same_namespace_rule = Rule {
        from: vec![RuleFrom {
            source: Source {
                namespaces: vec![ns.to_owned()],
                ..Default::default()
            },
        }],
        ..Default::default()
    };
    AuthorizationPolicy {
        metadata: object_meta(
            AUTHORIZATION_POLICY,
            ns,
            standard_labels("tenant-isolation", ns, "authorization"),
            BTreeMap::new(),
        ),
        spec: AuthorizationPolicySpec {
            selector: None,
            action: Some("ALLOW".into()),
            rules: vec![gateway_rule, same_namespace_rule],
        },
    }
}
