//! The scenarios of Kubernetes' netpol e2e suite and cyclonus' cases, re-expressed in our own data
//! (x/y/z × a/b/c, see `common`), each as a truth table over every pod pair.

use crate::common;

use common::{Reachability, e2e_cluster, policies};
use policy_gen::{Endpoint, Evaluator, Proto};

fn ns_of(pod: &str) -> &str {
    pod.split('/').next().unwrap()
}

#[test]
fn no_policies_allow_everything() {
    Reachability::all(true).check(&e2e_cluster(), &[], 80, Proto::Tcp);
}

#[test]
fn default_deny_ingress() {
    let p = policies("metadata: {name: deny, namespace: x}\nspec: {podSelector: {}}\n");
    Reachability::all(true)
        .set(false, |_, to| ns_of(to) == "x")
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn default_deny_all_directions() {
    let p = policies(
        "metadata: {name: deny, namespace: x}\nspec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n",
    );
    Reachability::all(true)
        .set(false, |from, to| ns_of(to) == "x" || ns_of(from) == "x")
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn allow_by_pod_selector_over_default_deny() {
    let p = policies(
        "metadata: {name: deny, namespace: x}\nspec: {podSelector: {}}\n---\n\
         metadata: {name: allow-b-to-a, namespace: x}\nspec:\n  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {pod: b}}}]\n",
    );
    Reachability::all(true)
        .set(false, |_, to| ns_of(to) == "x")
        .set(true, |from, to| from == "x/b" && to == "x/a")
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn ingress_from_all_namespaces_is_not_everything() {
    // `namespaceSelector: {}` = every pod of every namespace; external addresses stay out.
    let p = policies(
        "metadata: {name: all-ns, namespace: x}\nspec:\n  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from: [{namespaceSelector: {}}]\n",
    );
    let cluster = e2e_cluster();
    Reachability::all(true).check(&cluster, &p, 80, Proto::Tcp);
    let evaluator = Evaluator::new(&cluster, &p);
    let outside = Endpoint::External("203.0.113.9".parse().unwrap());
    assert!(
        !evaluator
            .reachable(
                outside,
                Endpoint::Pod(common::pod(&cluster, "x/a")),
                80,
                Proto::Tcp
            )
            .allowed
    );
}

#[test]
fn namespace_selector_only() {
    let p = policies(
        "metadata: {name: from-y, namespace: x}\nspec:\n  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from: [{namespaceSelector: {matchLabels: {ns: y}}}]\n",
    );
    Reachability::all(true)
        .set(false, |from, to| to == "x/a" && ns_of(from) != "y")
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn pod_selector_or_namespace_selector_with_not_in() {
    // Two peers: OR. NotIn on the default name label.
    let p = policies(
        "metadata: {name: or, namespace: x}\nspec:\n  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [y]}]}\n    - podSelector: {matchLabels: {pod: b}}\n",
    );
    Reachability::all(true)
        .set(false, |from, to| to == "x/a" && ns_of(from) == "y")
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn pod_selector_and_namespace_selector() {
    // One peer with both selectors: AND.
    let p = policies(
        "metadata: {name: and, namespace: x}\nspec:\n  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - from:\n    - namespaceSelector: {matchExpressions: [{key: ns, operator: In, values: [y, z]}]}\n      podSelector: {matchLabels: {pod: b}}\n",
    );
    Reachability::all(true)
        .set(false, |_, to| to == "x/a")
        .set(true, |from, to| {
            to == "x/a" && (from == "y/b" || from == "z/b")
        })
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn ports_and_stacked_policies() {
    let deny_but_81 = "metadata: {name: only-81, namespace: x}\nspec:\n  podSelector: {matchLabels: {pod: a}}\n  ingress:\n  - ports: [{port: 81}]\n";
    let p = policies(deny_but_81);
    let blocked = Reachability::all(true).set(false, |_, to| to == "x/a");
    blocked.check(&e2e_cluster(), &p, 80, Proto::Tcp);
    Reachability::all(true).check(&e2e_cluster(), &p, 81, Proto::Tcp);
    // Adding a second policy opening 80 unblocks it: policies are additive.
    let p = policies(&format!(
        "{deny_but_81}---\nmetadata: {{name: also-80, namespace: x}}\nspec:\n  podSelector: {{matchLabels: {{pod: a}}}}\n  ingress:\n  - ports: [{{port: 80}}]\n"
    ));
    Reachability::all(true).check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn allow_all_ingress_with_an_empty_rule() {
    let p = policies(
        "metadata: {name: deny, namespace: x}\nspec: {podSelector: {}}\n---\nmetadata: {name: all, namespace: x}\nspec:\n  podSelector: {}\n  ingress: [{}]\n",
    );
    Reachability::all(true).check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn named_ports_resolve_on_the_destination() {
    let p = policies(
        "metadata: {name: named, namespace: x}\nspec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: serve-80-tcp}]\n",
    );
    Reachability::all(true).check(&e2e_cluster(), &p, 80, Proto::Tcp);
    Reachability::all(true)
        .set(false, |_, to| ns_of(to) == "x")
        .check(&e2e_cluster(), &p, 81, Proto::Tcp);
    // The name exists for UDP too, but the rule's protocol is TCP.
    Reachability::all(true)
        .set(false, |_, to| ns_of(to) == "x")
        .check(&e2e_cluster(), &p, 80, Proto::Udp);
    // A name no container has opens nothing and still isolates.
    let p = policies(
        "metadata: {name: missing, namespace: x}\nspec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: serve-99-tcp}]\n",
    );
    Reachability::all(true)
        .set(false, |_, to| ns_of(to) == "x")
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn egress_on_a_named_port() {
    let p = policies(
        "metadata: {name: egress-named, namespace: x}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n  egress:\n  - ports: [{port: serve-81-tcp}]\n",
    );
    Reachability::all(true)
        .set(false, |from, _| ns_of(from) == "x")
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
    Reachability::all(true).check(&e2e_cluster(), &p, 81, Proto::Tcp);
}

#[test]
fn egress_denial_wins_even_if_the_server_allows() {
    let p = policies(
        "metadata: {name: deny-egress, namespace: x}\nspec: {podSelector: {matchLabels: {pod: a}}, policyTypes: [Egress]}\n---\n\
         metadata: {name: allow-all-in, namespace: y}\nspec:\n  podSelector: {}\n  ingress: [{}]\n",
    );
    Reachability::all(true)
        .set(false, |from, _| from == "x/a")
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn egress_ip_blocks_match_pod_ips_with_except_and_overlap() {
    let p = policies(
        "metadata: {name: cidr, namespace: x}\nspec:\n  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{ipBlock: {cidr: 10.2.0.0/16, except: [10.2.0.2/32]}}]\n",
    );
    Reachability::all(true)
        .set(false, |from, _| from == "x/a")
        .set(true, |from, to| {
            from == "x/a" && (to == "y/a" || to == "y/c")
        })
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
    // An address excepted by one block but allowed by another policy is allowed.
    let p = policies(
        "metadata: {name: cidr, namespace: x}\nspec:\n  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{ipBlock: {cidr: 10.2.0.0/16, except: [10.2.0.2/32]}}]\n---\n\
         metadata: {name: exact, namespace: x}\nspec:\n  podSelector: {matchLabels: {pod: a}}\n  policyTypes: [Egress]\n  egress:\n  - to: [{ipBlock: {cidr: 10.2.0.2/32}}]\n",
    );
    Reachability::all(true)
        .set(false, |from, to| from == "x/a" && ns_of(to) != "y")
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn protocol_only_rules_do_not_open_other_protocols() {
    for (proto_name, proto) in [("SCTP", Proto::Sctp), ("UDP", Proto::Udp)] {
        let p = policies(&format!(
            "metadata: {{name: only, namespace: x}}\nspec:\n  podSelector: {{}}\n  ingress:\n  - ports: [{{protocol: {proto_name}}}]\n"
        ));
        Reachability::all(true).check(&e2e_cluster(), &p, 80, proto);
        Reachability::all(true)
            .set(false, |_, to| ns_of(to) == "x")
            .check(&e2e_cluster(), &p, 80, Proto::Tcp);
    }
}

#[test]
fn end_port_is_inclusive() {
    let p = policies(
        "metadata: {name: range, namespace: x}\nspec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: 79, endPort: 80}]\n",
    );
    Reachability::all(true).check(&e2e_cluster(), &p, 80, Proto::Tcp);
    Reachability::all(true)
        .set(false, |_, to| ns_of(to) == "x")
        .check(&e2e_cluster(), &p, 81, Proto::Tcp);
}

#[test]
fn an_empty_egress_list_without_policy_types_isolates_ingress_only() {
    // policyTypes defaults to [Ingress] plus Egress only when egress is non-empty.
    let p = policies("metadata: {name: odd, namespace: x}\nspec: {podSelector: {}, egress: []}\n");
    Reachability::all(true)
        .set(false, |_, to| ns_of(to) == "x")
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
    // An egress allow written without policyTypes also isolates ingress, allowing nothing in.
    let p = policies(
        "metadata: {name: egress-allow, namespace: x}\nspec:\n  podSelector: {}\n  egress: [{}]\n",
    );
    Reachability::all(true)
        .set(false, |_, to| ns_of(to) == "x")
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn deny_from_other_namespaces_by_pod_selector_peer() {
    let p = policies(
        "metadata: {name: same-ns, namespace: x}\nspec:\n  podSelector: {}\n  ingress:\n  - from: [{podSelector: {}}]\n",
    );
    Reachability::all(true)
        .set(false, |from, to| ns_of(to) == "x" && ns_of(from) != "x")
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn not_in_matches_pods_without_the_key() {
    // apimachinery: NotIn matches an absent key (cyclonus and policy-assistant disagree).
    let p = policies(
        "metadata: {name: notin, namespace: x}\nspec:\n  podSelector: {}\n  ingress:\n  - from: [{podSelector: {matchExpressions: [{key: tier, operator: NotIn, values: [web]}]}}]\n",
    );
    Reachability::all(true)
        .set(false, |from, to| ns_of(to) == "x" && ns_of(from) != "x")
        .check(&e2e_cluster(), &p, 80, Proto::Tcp);
}

#[test]
fn the_api_servers_refusals_are_refused() {
    for (yaml, needle) in [
        (
            "spec:\n  podSelector: {}\n  ingress:\n  - from: [{}]\n",
            "must set",
        ),
        (
            "spec:\n  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]\n",
            "ipBlock",
        ),
        (
            "spec:\n  podSelector: {}\n  ingress:\n  - ports: [{port: http, endPort: 90}]\n",
            "endPort",
        ),
        (
            "spec:\n  podSelector: {}\n  ingress:\n  - from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]\n",
            "strict subset",
        ),
        (
            "spec:\n  podSelector: {}\n  policyTypes: [Ingress, Sideways]\n",
            "policyTypes",
        ),
    ] {
        let doc = format!("metadata: {{name: bad, namespace: x}}\n{yaml}");
        let parsed = manifests_core::yaml::from_documents::<
            k8s_openapi::api::networking::v1::NetworkPolicy,
        >(&doc, "t")
        .unwrap();
        let err = policy_gen::Policy::from_k8s(&parsed[0], "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("x/bad") && err.contains(needle), "{err}");
    }
}
