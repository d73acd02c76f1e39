//! Properties of the evaluator and of the generated isolation, over random clusters and policies.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector, LabelSelectorRequirement, ObjectMeta,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use manifests_core::crds::network_policy_api::{
    ClusterEgressRule, ClusterIngressRule, ClusterNetworkPolicy, ClusterNetworkPolicySpec,
    ClusterPeer, ClusterSubject, DestinationPort, NamespacedPods, PortMatch, PortRange,
    ProtocolMatch, RuleAction, Tier,
};
use manifests_core::tenant::{ClusterIsolation, Isolation, TENANT_LABEL};
use manifests_core::{ManifestSet, TenantSpec};
use policy_gen::{
    Cluster, ClusterPolicy, ContainerPort, Direction, Endpoint, Evaluator, Pod, PodId, Policy,
    Proto, isolation_policies, verify,
};
use proptest::prelude::*;

const PROBES: [(u16, Proto); 4] = [
    (80, Proto::Tcp),
    (81, Proto::Tcp),
    (53, Proto::Udp),
    (80, Proto::Sctp),
];
const EXTERNAL: [&str; 2] = ["10.9.0.1", "203.0.113.5"];

/// A rule's peers and ports, as the Kubernetes object holds them.
type RuleParts = (
    Option<Vec<NetworkPolicyPeer>>,
    Option<Vec<NetworkPolicyPort>>,
);

/// One probe of the reference: who, to whom, on what.
#[derive(Clone, Copy)]
struct RefFlow {
    src: Endpoint,
    dst: Endpoint,
    port: u16,
    proto: Proto,
}

// ---------- random clusters ----------

fn labels_strategy() -> impl Strategy<Value = BTreeMap<String, String>> {
    (
        prop::option::of(prop::sample::select(vec!["x", "y"])),
        prop::option::of(prop::sample::select(vec!["web", "db"])),
    )
        .prop_map(|(app, tier)| {
            let mut labels = BTreeMap::new();
            if let Some(app) = app {
                labels.insert("app".to_owned(), app.to_owned());
            }
            if let Some(tier) = tier {
                labels.insert("tier".to_owned(), tier.to_owned());
            }
            labels
        })
}

fn cluster_strategy() -> impl Strategy<Value = Cluster> {
    (
        prop::collection::vec(prop::option::of(prop::sample::select(vec!["a", "b"])), 3),
        prop::collection::vec((labels_strategy(), any::<bool>()), 6),
    )
        .prop_map(|(ns_env, pods)| {
            let mut cluster = Cluster::new();
            for (n, env) in ns_env.iter().enumerate() {
                let labels = env
                    .map(|e| BTreeMap::from([("env".to_owned(), e.to_owned())]))
                    .unwrap_or_default();
                cluster.add_namespace(&format!("n{n}"), labels);
            }
            for (i, (labels, dns)) in pods.into_iter().enumerate() {
                let mut ports = vec![ContainerPort {
                    name: Some("http".into()),
                    port: 80,
                    proto: Proto::Tcp,
                }];
                if dns {
                    ports.push(ContainerPort {
                        name: Some("dns".into()),
                        port: 53,
                        proto: Proto::Udp,
                    });
                }
                cluster.add_pod(Pod {
                    namespace: format!("n{}", i / 2),
                    name: format!("p{i}"),
                    labels,
                    ip: Some(IpAddr::V4(Ipv4Addr::new(
                        10,
                        (i / 2) as u8,
                        0,
                        (i % 2) as u8 + 1,
                    ))),
                    ports,
                });
            }
            cluster
        })
}

// ---------- random policies (Kubernetes objects, as a user would write them) ----------

fn selector_strategy() -> impl Strategy<Value = LabelSelector> {
    prop_oneof![
        Just(LabelSelector::default()),
        prop::sample::select(vec!["x", "y"]).prop_map(|v| LabelSelector {
            match_labels: Some(BTreeMap::from([("app".to_owned(), v.to_owned())])),
            ..Default::default()
        }),
        (
            prop::sample::select(vec!["In", "NotIn", "Exists", "DoesNotExist"]),
            prop::sample::select(vec!["tier", "env"])
        )
            .prop_map(|(op, key)| {
                LabelSelector {
                    match_expressions: Some(vec![LabelSelectorRequirement {
                        key: key.into(),
                        operator: op.into(),
                        values: matches!(op, "In" | "NotIn")
                            .then(|| vec!["web".to_owned(), "a".to_owned()]),
                    }]),
                    ..Default::default()
                }
            }),
    ]
}

fn peer_strategy() -> impl Strategy<Value = NetworkPolicyPeer> {
    prop_oneof![
        selector_strategy().prop_map(|s| NetworkPolicyPeer {
            pod_selector: Some(s),
            ..Default::default()
        }),
        selector_strategy().prop_map(|s| NetworkPolicyPeer {
            namespace_selector: Some(s),
            ..Default::default()
        }),
        (selector_strategy(), selector_strategy()).prop_map(|(n, p)| NetworkPolicyPeer {
            namespace_selector: Some(n),
            pod_selector: Some(p),
            ..Default::default()
        }),
        (0u8..3, any::<bool>()).prop_map(|(n, hole)| NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: format!("10.{n}.0.0/16"),
                except: hole.then(|| vec![format!("10.{n}.0.1/32")]),
            }),
            ..Default::default()
        }),
        Just(NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: "0.0.0.0/0".into(),
                except: None
            }),
            ..Default::default()
        }),
    ]
}

fn port_strategy() -> impl Strategy<Value = NetworkPolicyPort> {
    let p = |protocol: Option<&str>, port: Option<IntOrString>, end_port: Option<i32>| {
        NetworkPolicyPort {
            protocol: protocol.map(str::to_owned),
            port,
            end_port,
        }
    };
    prop::sample::select(vec![
        p(None, Some(IntOrString::Int(80)), None),
        p(Some("UDP"), Some(IntOrString::Int(53)), None),
        p(None, Some(IntOrString::String("http".into())), None),
        p(Some("UDP"), Some(IntOrString::String("dns".into())), None),
        p(Some("UDP"), Some(IntOrString::String("http".into())), None),
        p(Some("TCP"), Some(IntOrString::Int(79)), Some(81)),
        p(Some("SCTP"), None, None),
        p(Some("TCP"), None, None),
    ])
}

fn rule_parts() -> impl Strategy<Value = RuleParts> {
    (
        prop::option::of(prop::collection::vec(peer_strategy(), 0..3)),
        prop::option::of(prop::collection::vec(port_strategy(), 0..3)),
    )
}

fn policy_strategy() -> impl Strategy<Value = NetworkPolicy> {
    (
        0u8..3,
        0u32..1000,
        selector_strategy(),
        prop::option::of(prop::sample::select(vec![
            vec!["Ingress"],
            vec!["Egress"],
            vec!["Ingress", "Egress"],
            vec![],
        ])),
        prop::option::of(prop::collection::vec(rule_parts(), 0..3)),
        prop::option::of(prop::collection::vec(rule_parts(), 0..3)),
    )
        .prop_map(|(ns, id, subject, types, ingress, egress)| NetworkPolicy {
            metadata: ObjectMeta {
                name: Some(format!("p{id}")),
                namespace: Some(format!("n{ns}")),
                ..Default::default()
            },
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(subject),
                policy_types: types.map(|t| t.into_iter().map(str::to_owned).collect()),
                ingress: ingress.map(|rules| {
                    rules
                        .into_iter()
                        .map(|(from, ports)| NetworkPolicyIngressRule { from, ports })
                        .collect()
                }),
                egress: egress.map(|rules| {
                    rules
                        .into_iter()
                        .map(|(to, ports)| NetworkPolicyEgressRule { to, ports })
                        .collect()
                }),
            }),
        })
}

// ---------- the brute-force reference, written straight from the API documentation ----------

fn ref_selector(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v))
        && selector.match_expressions.iter().flatten().all(|e| {
            let values = e.values.clone().unwrap_or_default();
            match e.operator.as_str() {
                "In" => labels.get(&e.key).is_some_and(|v| values.contains(v)),
                "NotIn" => !labels.get(&e.key).is_some_and(|v| values.contains(v)),
                "Exists" => labels.contains_key(&e.key),
                _ => !labels.contains_key(&e.key),
            }
        })
}

fn ref_in_cidr(ip: IpAddr, cidr: &str) -> bool {
    let (net, bits) = cidr.split_once('/').unwrap();
    let (IpAddr::V4(ip), Ok(net), Ok(bits)) = (ip, net.parse::<Ipv4Addr>(), bits.parse::<u32>())
    else {
        return false;
    };
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    u32::from(ip) & mask == u32::from(net) & mask
}

fn ref_endpoint_ip(cluster: &Cluster, e: Endpoint) -> Option<IpAddr> {
    match e {
        Endpoint::Pod(p) => cluster.pod(p).ip,
        Endpoint::External(ip) => Some(ip),
    }
}

/// A side under the tiers: the first Admin rule matching, else the NetworkPolicies isolating
/// the pod, else the first Baseline rule matching, else allowed.
fn ref_side(
    cluster: &Cluster,
    policies: &[NetworkPolicy],
    cluster_policies: &[ClusterNetworkPolicy],
    pod: PodId,
    egress: bool,
    flow: &RefFlow,
) -> bool {
    ref_tier(cluster, cluster_policies, Tier::Admin, pod, egress, flow)
        .or_else(|| ref_np_side(cluster, policies, pod, egress, flow))
        .or_else(|| ref_tier(cluster, cluster_policies, Tier::Baseline, pod, egress, flow))
        .unwrap_or(true)
}

fn ref_ns_labels(cluster: &Cluster, pod: PodId) -> &BTreeMap<String, String> {
    &cluster
        .namespace(&cluster.pod(pod).namespace)
        .unwrap()
        .labels
}

fn ref_pods(cluster: &Cluster, pods: &ClusterPeer, pod: PodId) -> bool {
    match (&pods.namespaces, &pods.pods) {
        (Some(ns), None) => ref_selector(ns, ref_ns_labels(cluster, pod)),
        (None, Some(p)) => {
            ref_selector(&p.namespace_selector, ref_ns_labels(cluster, pod))
                && ref_selector(&p.pod_selector, &cluster.pod(pod).labels)
        }
        _ => false,
    }
}

/// A cluster rule's action, peers and protocols, as the object holds them.
type RefClusterRule<'a> = (
    RuleAction,
    &'a Vec<ClusterPeer>,
    &'a Option<Vec<ProtocolMatch>>,
);

/// Some(allowed) when a rule of `tier` decides (Accept or Deny), None on Pass or no match.
fn ref_tier(
    cluster: &Cluster,
    cluster_policies: &[ClusterNetworkPolicy],
    tier: Tier,
    pod: PodId,
    egress: bool,
    flow: &RefFlow,
) -> Option<bool> {
    let other = if egress { flow.dst } else { flow.src };
    let mut applying: Vec<&ClusterNetworkPolicy> = cluster_policies
        .iter()
        .filter(|p| p.spec.tier == tier)
        .filter(|p| {
            let subject = ClusterPeer {
                namespaces: p.spec.subject.namespaces.clone(),
                pods: p.spec.subject.pods.clone(),
                networks: None,
            };
            ref_pods(cluster, &subject, pod)
        })
        .collect();
    applying.sort_by_key(|p| (p.spec.priority, p.metadata.name.clone()));
    for policy in applying {
        let rules: Vec<RefClusterRule<'_>> = if egress {
            policy
                .spec
                .egress
                .iter()
                .map(|r| (r.action, &r.to, &r.protocols))
                .collect()
        } else {
            policy
                .spec
                .ingress
                .iter()
                .map(|r| (r.action, &r.from, &r.protocols))
                .collect()
        };
        for (action, peers, protocols) in rules {
            let peer_ok = peers.iter().any(|peer| match &peer.networks {
                Some(cidrs) => ref_endpoint_ip(cluster, other)
                    .is_some_and(|ip| cidrs.iter().any(|c| ref_in_cidr(ip, c))),
                None => matches!(other, Endpoint::Pod(o) if ref_pods(cluster, peer, o)),
            });
            let in_range = |m: &PortMatch, proto: Proto| {
                proto == flow.proto
                    && match (&m.destination_port.number, &m.destination_port.range) {
                        (Some(n), _) => *n == flow.port,
                        (None, Some(r)) => r.start <= flow.port && flow.port <= r.end,
                        (None, None) => false,
                    }
            };
            let proto_ok = protocols.as_ref().is_none_or(|list| {
                list.iter().any(|m| match m {
                    ProtocolMatch { tcp: Some(t), .. } => in_range(t, Proto::Tcp),
                    ProtocolMatch { udp: Some(u), .. } => in_range(u, Proto::Udp),
                    ProtocolMatch { sctp: Some(s), .. } => in_range(s, Proto::Sctp),
                    ProtocolMatch {
                        destination_named_port: Some(name),
                        ..
                    } => matches!(flow.dst, Endpoint::Pod(d) if cluster.pod(d).ports.iter().any(|c| {
                        c.name.as_deref() == Some(name) && c.port == flow.port && c.proto == flow.proto
                    })),
                    _ => false,
                })
            });
            if peer_ok && proto_ok {
                return match action {
                    RuleAction::Accept => Some(true),
                    RuleAction::Deny => Some(false),
                    RuleAction::Pass => None,
                };
            }
        }
    }
    None
}

/// None when no NetworkPolicy isolates the pod in that direction, else whether one allows.
fn ref_np_side(
    cluster: &Cluster,
    policies: &[NetworkPolicy],
    pod: PodId,
    egress: bool,
    flow: &RefFlow,
) -> Option<bool> {
    let RefFlow {
        src,
        dst,
        port,
        proto,
    } = *flow;
    let other = if egress { dst } else { src };
    let me = cluster.pod(pod);
    let mut isolated = false;
    for p in policies {
        let spec = p.spec.clone().unwrap_or_default();
        if p.metadata.namespace.as_deref() != Some(me.namespace.as_str())
            || !ref_selector(&spec.pod_selector.clone().unwrap_or_default(), &me.labels)
        {
            continue;
        }
        let egress_rules = spec.egress.clone().unwrap_or_default();
        let types: Vec<String> = match &spec.policy_types {
            Some(t) if !t.is_empty() => t.clone(),
            _ if !egress_rules.is_empty() => vec!["Ingress".into(), "Egress".into()],
            _ => vec!["Ingress".into()],
        };
        if !types
            .iter()
            .any(|t| t == if egress { "Egress" } else { "Ingress" })
        {
            continue;
        }
        isolated = true;
        let rules: Vec<RuleParts> = if egress {
            egress_rules.into_iter().map(|r| (r.to, r.ports)).collect()
        } else {
            spec.ingress
                .unwrap_or_default()
                .into_iter()
                .map(|r| (r.from, r.ports))
                .collect()
        };
        for (peers, ports) in rules {
            let peer_ok = peers.as_ref().is_none_or(|v| v.is_empty())
                || peers.iter().flatten().any(|peer| {
                    if let Some(block) = &peer.ip_block {
                        return ref_endpoint_ip(cluster, other).is_some_and(|ip| {
                            ref_in_cidr(ip, &block.cidr)
                                && !block.except.iter().flatten().any(|e| ref_in_cidr(ip, e))
                        });
                    }
                    let Endpoint::Pod(o) = other else {
                        return false;
                    };
                    let o = cluster.pod(o);
                    let ns_ok = match &peer.namespace_selector {
                        None => Some(o.namespace.as_str()) == p.metadata.namespace.as_deref(),
                        Some(sel) => {
                            ref_selector(sel, &cluster.namespace(&o.namespace).unwrap().labels)
                        }
                    };
                    ns_ok
                        && peer
                            .pod_selector
                            .as_ref()
                            .is_none_or(|sel| ref_selector(sel, &o.labels))
                });
            let port_ok = ports.as_ref().is_none_or(|v| v.is_empty())
                || ports.iter().flatten().any(|pp| {
                    let pproto = match pp.protocol.as_deref().unwrap_or("TCP") {
                        "UDP" => Proto::Udp,
                        "SCTP" => Proto::Sctp,
                        _ => Proto::Tcp,
                    };
                    pproto == proto
                        && match &pp.port {
                            None => true,
                            Some(IntOrString::Int(n)) => {
                                (*n as u16..=pp.end_port.unwrap_or(*n) as u16).contains(&port)
                            }
                            Some(IntOrString::String(name)) => match dst {
                                Endpoint::Pod(d) => cluster.pod(d).ports.iter().any(|c| {
                                    c.name.as_deref() == Some(name)
                                        && c.port == port
                                        && c.proto == proto
                                }),
                                Endpoint::External(_) => false,
                            },
                        }
                });
            if peer_ok && port_ok {
                return Some(true);
            }
        }
    }
    isolated.then_some(false)
}

fn ref_allowed(
    cluster: &Cluster,
    policies: &[NetworkPolicy],
    cluster_policies: &[ClusterNetworkPolicy],
    src: Endpoint,
    dst: Endpoint,
    port: u16,
    proto: Proto,
) -> bool {
    if src == dst {
        return true;
    }
    let flow = RefFlow {
        src,
        dst,
        port,
        proto,
    };
    let egress = match src {
        Endpoint::Pod(p) => ref_side(cluster, policies, cluster_policies, p, true, &flow),
        Endpoint::External(_) => true,
    };
    let ingress = match dst {
        Endpoint::Pod(p) => ref_side(cluster, policies, cluster_policies, p, false, &flow),
        Endpoint::External(_) => true,
    };
    egress && ingress
}

fn endpoints(cluster: &Cluster) -> Vec<Endpoint> {
    (0..cluster.pods().len())
        .map(|i| Endpoint::Pod(PodId(i)))
        .chain(
            EXTERNAL
                .iter()
                .map(|ip| Endpoint::External(ip.parse().unwrap())),
        )
        .collect()
}

fn normalized(policies: &[NetworkPolicy]) -> Option<Vec<Policy>> {
    // Random objects may be ones the API server refuses (an empty peer, say); skip those cases.
    policies
        .iter()
        .map(|p| Policy::from_k8s(p, "n0").ok())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_evaluator_agrees_with_the_brute_force_reference(
        cluster in cluster_strategy(),
        policies in prop::collection::vec(policy_strategy(), 0..5),
    ) {
        let Some(normal) = normalized(&policies) else { return Ok(()) };
        let evaluator = Evaluator::new(&cluster, &normal);
        for src in endpoints(&cluster) {
            for dst in endpoints(&cluster) {
                for (port, proto) in PROBES {
                    let ours = evaluator.reachable(src, dst, port, proto).allowed;
                    let reference = ref_allowed(&cluster, &policies, &[], src, dst, port, proto);
                    prop_assert_eq!(ours, reference, "{:?} -> {:?} {:?}/{}", src, dst, proto, port);
                }
            }
        }
    }

    #[test]
    fn without_policies_everything_is_reachable(cluster in cluster_strategy()) {
        let evaluator = Evaluator::new(&cluster, &[]);
        for src in endpoints(&cluster) {
            for dst in endpoints(&cluster) {
                for (port, proto) in PROBES {
                    prop_assert!(evaluator.reachable(src, dst, port, proto).allowed);
                }
            }
        }
    }

    /// Adding a policy only removes flows whose source it newly egress-isolates or whose
    /// destination it newly ingress-isolates; so a policy over already-isolated pods never removes
    /// a connection in that direction.
    #[test]
    fn adding_a_policy_removes_only_what_it_newly_isolates(
        cluster in cluster_strategy(),
        policies in prop::collection::vec(policy_strategy(), 0..4),
        added in policy_strategy(),
    ) {
        let Some(before) = normalized(&policies) else { return Ok(()) };
        let Some(extra) = normalized(std::slice::from_ref(&added)) else { return Ok(()) };
        let mut after = before.clone();
        after.extend(extra);
        let old = Evaluator::new(&cluster, &before);
        let new = Evaluator::new(&cluster, &after);
        for src in endpoints(&cluster) {
            for dst in endpoints(&cluster) {
                for (port, proto) in PROBES {
                    if old.reachable(src, dst, port, proto).allowed && !new.reachable(src, dst, port, proto).allowed {
                        let newly = |e: Endpoint, d: Direction| matches!(e, Endpoint::Pod(p) if !old.isolated(p, d) && new.isolated(p, d));
                        prop_assert!(newly(src, Direction::Egress) || newly(dst, Direction::Ingress),
                            "{:?} -> {:?} {:?}/{} lost without new isolation", src, dst, proto, port);
                    }
                }
            }
        }
    }

    #[test]
    fn generated_tenants_never_reach_each_other_and_keep_dns(
        tenants in 1usize..5,
        pods in prop::collection::vec((labels_strategy(), 0u8..5), 1..12),
    ) {
        let mut manifests = ManifestSet::new();
        let mut cluster = Cluster::new().with_platform(&Isolation::default());
        for t in 0..tenants {
            let ns = format!("team-{t}");
            manifests.extend(isolation_policies(&TenantSpec { namespace: ns.clone(), ..Default::default() }).unwrap()).unwrap();
            cluster.add_namespace(&ns, BTreeMap::from([(TENANT_LABEL.to_owned(), ns.clone())]));
        }
        for (i, (labels, t)) in pods.into_iter().enumerate() {
            cluster.add_pod(Pod {
                namespace: format!("team-{}", t as usize % tenants),
                name: format!("pod-{i}"),
                labels,
                ip: None,
                ports: vec![ContainerPort { name: Some("http".into()), port: 8080, proto: Proto::Tcp }],
            });
        }
        let report = verify(&manifests, &cluster).unwrap();
        prop_assert!(report.leaks.is_empty(), "{}", report);
        prop_assert!(report.missing_default_deny.is_empty(), "{}", report);
        let policies: Vec<Policy> = manifests.iter().filter(|m| m.key().kind == "NetworkPolicy")
            .map(|m| Policy::from_k8s(&m.decode().unwrap(), "x").unwrap()).collect();
        let evaluator = Evaluator::new(&cluster, &policies);
        let dns = cluster.pods_in("kube-system").next().unwrap();
        for t in 0..tenants {
            for pod in cluster.pods_in(&format!("team-{t}")) {
                for proto in [Proto::Udp, Proto::Tcp] {
                    prop_assert!(evaluator.reachable(Endpoint::Pod(pod), Endpoint::Pod(dns), 53, proto).allowed);
                }
            }
        }
    }
}

// ---------- ClusterNetworkPolicies ----------

fn cluster_peer_strategy() -> impl Strategy<Value = ClusterPeer> {
    prop_oneof![
        selector_strategy().prop_map(|s| ClusterPeer {
            namespaces: Some(s),
            ..Default::default()
        }),
        (selector_strategy(), selector_strategy()).prop_map(|(n, p)| ClusterPeer {
            pods: Some(NamespacedPods {
                namespace_selector: n,
                pod_selector: p,
            }),
            ..Default::default()
        }),
        (0u8..3).prop_map(|n| ClusterPeer {
            networks: Some(vec![format!("10.{n}.0.0/16")]),
            ..Default::default()
        }),
    ]
}

fn protocol_strategy() -> impl Strategy<Value = ProtocolMatch> {
    let port = |number: Option<u16>, range: Option<(u16, u16)>| PortMatch {
        destination_port: DestinationPort {
            number,
            range: range.map(|(start, end)| PortRange { start, end }),
        },
    };
    prop::sample::select(vec![
        ProtocolMatch {
            tcp: Some(port(Some(80), None)),
            ..Default::default()
        },
        ProtocolMatch {
            tcp: Some(port(None, Some((79, 81)))),
            ..Default::default()
        },
        ProtocolMatch {
            udp: Some(port(Some(53), None)),
            ..Default::default()
        },
        ProtocolMatch {
            sctp: Some(port(Some(80), None)),
            ..Default::default()
        },
        ProtocolMatch {
            destination_named_port: Some("http".into()),
            ..Default::default()
        },
        ProtocolMatch {
            destination_named_port: Some("dns".into()),
            ..Default::default()
        },
    ])
}

type ClusterRuleParts = (
    RuleAction,
    Vec<ClusterPeer>,
    Option<Vec<ProtocolMatch>>,
    bool,
);

fn cluster_rule_strategy() -> impl Strategy<Value = ClusterRuleParts> {
    (
        prop::sample::select(vec![RuleAction::Accept, RuleAction::Deny, RuleAction::Pass]),
        prop::collection::vec(cluster_peer_strategy(), 1..3),
        prop::option::of(prop::collection::vec(protocol_strategy(), 1..3)),
        any::<bool>(),
    )
}

fn cluster_policy_strategy() -> impl Strategy<Value = ClusterNetworkPolicy> {
    (
        prop::sample::select(vec![Tier::Admin, Tier::Baseline]),
        0u32..3,
        0u32..1000,
        prop_oneof![
            selector_strategy().prop_map(|s| ClusterSubject {
                namespaces: Some(s),
                pods: None
            }),
            (selector_strategy(), selector_strategy()).prop_map(|(n, p)| ClusterSubject {
                namespaces: None,
                pods: Some(NamespacedPods {
                    namespace_selector: n,
                    pod_selector: p
                })
            }),
        ],
        prop::collection::vec(cluster_rule_strategy(), 0..4),
    )
        .prop_map(|(tier, priority, id, subject, rules)| {
            let mut spec = ClusterNetworkPolicySpec {
                tier,
                priority,
                subject,
                ingress: Vec::new(),
                egress: Vec::new(),
            };
            for (action, peers, protocols, egress) in rules {
                if egress {
                    spec.egress.push(ClusterEgressRule {
                        name: None,
                        action,
                        to: peers,
                        protocols,
                    });
                } else {
                    // networks peers are egress-only.
                    let from: Vec<ClusterPeer> =
                        peers.into_iter().filter(|p| p.networks.is_none()).collect();
                    if !from.is_empty() {
                        spec.ingress.push(ClusterIngressRule {
                            name: None,
                            action,
                            from,
                            protocols,
                        });
                    }
                }
            }
            ClusterNetworkPolicy::new(&format!("c{id}"), spec)
        })
}

fn normalized_cluster(policies: &[ClusterNetworkPolicy]) -> Vec<ClusterPolicy> {
    policies
        .iter()
        .map(|p| ClusterPolicy::from_k8s(p).expect("the strategy makes valid policies"))
        .collect()
}

fn manifests_of(
    policies: &[NetworkPolicy],
    cluster_policies: &[ClusterNetworkPolicy],
) -> Option<ManifestSet> {
    let mut set = ManifestSet::new();
    for p in policies {
        set.push(p).ok()?;
    }
    for p in cluster_policies {
        set.push(p).ok()?;
    }
    Some(set)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_tiers_agree_with_the_brute_force_reference(
        cluster in cluster_strategy(),
        policies in prop::collection::vec(policy_strategy(), 0..4),
        cluster_policies in prop::collection::vec(cluster_policy_strategy(), 0..4),
    ) {
        let Some(normal) = normalized(&policies) else { return Ok(()) };
        let tiers = normalized_cluster(&cluster_policies);
        let evaluator = Evaluator::with_cluster_policies(&cluster, &normal, &tiers);
        for src in endpoints(&cluster) {
            for dst in endpoints(&cluster) {
                for (port, proto) in PROBES {
                    let ours = evaluator.reachable(src, dst, port, proto);
                    let reference = ref_allowed(&cluster, &policies, &cluster_policies, src, dst, port, proto);
                    prop_assert_eq!(ours.allowed, reference, "{:?} -> {:?} {:?}/{}: {:?}", src, dst, proto, port, ours);
                    prop_assert_eq!(evaluator.allows(src, dst, port, proto), reference, "allows() {:?} -> {:?}", src, dst);
                }
            }
        }
    }

    /// verify() skips pairs of namespaces it can rule out before trying pods: its matrix must
    /// still equal the one found by trying every pair of pods on every port they serve.
    #[test]
    fn the_matrix_equals_trying_every_pair_of_pods(
        cluster in cluster_strategy(),
        policies in prop::collection::vec(policy_strategy(), 0..4),
        cluster_policies in prop::collection::vec(cluster_policy_strategy(), 0..4),
    ) {
        let Some(normal) = normalized(&policies) else { return Ok(()) };
        let Some(set) = manifests_of(&policies, &cluster_policies) else { return Ok(()) };
        let report = verify(&set, &cluster).unwrap();
        let tiers = normalized_cluster(&cluster_policies);
        let evaluator = Evaluator::with_cluster_policies(&cluster, &normal, &tiers);
        for from in cluster.namespaces() {
            for to in cluster.namespaces() {
                let brute = cluster.pods_in(&from.name).any(|s| cluster.pods_in(&to.name).any(|d| {
                    s != d && cluster.pod(d).ports.iter().any(|p| {
                        evaluator.reachable(Endpoint::Pod(s), Endpoint::Pod(d), p.port, p.proto).allowed
                    })
                }));
                prop_assert_eq!(report.reaches(&from.name, &to.name), brute, "{} -> {}", from.name, to.name);
            }
        }
    }

    /// With the tenant ClusterNetworkPolicy, whatever NetworkPolicies tenants add to their
    /// namespaces or delete from them, no pod of one tenant reaches a pod of another.
    #[test]
    fn tenants_cannot_undo_the_cluster_policy(
        tenants in 2usize..4,
        pods in prop::collection::vec((labels_strategy(), 0u8..4), 2..10),
        added in prop::collection::vec(policy_strategy(), 0..4),
        kept in prop::collection::vec(any::<bool>(), 24),
    ) {
        let mut manifests = ManifestSet::new();
        let mut cluster = Cluster::new().with_platform(&Isolation::default());
        for t in 0..tenants {
            let ns = format!("n{t}");
            let mut spec = TenantSpec { namespace: ns.clone(), ..Default::default() };
            spec.isolation.cluster_network_policy = Some(ClusterIsolation::default());
            manifests.extend(isolation_policies(&spec).unwrap()).unwrap();
            cluster.add_namespace(&ns, BTreeMap::from([(TENANT_LABEL.to_owned(), ns.clone())]));
        }
        for (i, (labels, t)) in pods.into_iter().enumerate() {
            cluster.add_pod(Pod {
                namespace: format!("n{}", t as usize % tenants),
                name: format!("pod-{i}"),
                labels,
                ip: Some(IpAddr::V4(Ipv4Addr::new(10, t % tenants as u8, 0, i as u8 + 1))),
                ports: vec![ContainerPort { name: Some("http".into()), port: 80, proto: Proto::Tcp }],
            });
        }
        // The tenants' edits: some generated NetworkPolicies deleted, random ones added (the
        // strategy puts them in n0..n2, all tenant or unknown namespaces).
        let mut network: Vec<NetworkPolicy> = manifests
            .iter()
            .filter(|m| m.key().kind == "NetworkPolicy")
            .map(|m| m.decode().unwrap())
            .enumerate()
            .filter(|(i, _)| kept[i % kept.len()])
            .map(|(_, p)| p)
            .collect();
        network.extend(added);
        let Some(normal) = normalized(&network) else { return Ok(()) };
        let cluster_policies: Vec<ClusterPolicy> = manifests
            .iter()
            .filter(|m| m.key().kind == "ClusterNetworkPolicy")
            .map(|m| ClusterPolicy::from_k8s(&m.decode().unwrap()).unwrap())
            .collect();
        let evaluator = Evaluator::with_cluster_policies(&cluster, &normal, &cluster_policies);
        for (s, src) in cluster.pods().iter().enumerate() {
            for (d, dst) in cluster.pods().iter().enumerate() {
                let tenant = |ns: &str| (0..tenants).any(|t| ns == format!("n{t}"));
                let cross = src.namespace != dst.namespace && tenant(&src.namespace) && tenant(&dst.namespace);
                if !cross { continue; }
                for (port, proto) in PROBES {
                    prop_assert!(!evaluator.reachable(Endpoint::Pod(PodId(s)), Endpoint::Pod(PodId(d)), port, proto).allowed,
                        "{}/{} -> {}/{} {:?}/{}", src.namespace, src.name, dst.namespace, dst.name, proto, port);
                }
            }
        }
    }
}
