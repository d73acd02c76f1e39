//! ClusterNetworkPolicy: the tiers' semantics on the upstream e2e model, and the tenant policy
//! that holds when tenants delete their own NetworkPolicies.

use crate::common;

use common::{Reachability, e2e_cluster, policies};
use manifests_core::crds::network_policy_api::ClusterNetworkPolicy;
use manifests_core::tenant::{ClusterIsolation, Isolation};
use manifests_core::{ManifestSet, TenantSpec, tenant_components};
use policy_gen::{
    Cluster, ClusterPolicy, Endpoint, Evaluator, Policy, Proto, Side, TenantRule, VerifyOptions,
    cluster_policy_name, isolation_policies, verify_with,
};

fn ns_of(pod: &str) -> &str {
    pod.split('/').next().unwrap()
}

fn cluster_policies(yaml: &str) -> Vec<ClusterPolicy> {
    manifests_core::yaml::from_documents::<ClusterNetworkPolicy>(yaml, "test cluster policies")
        .unwrap()
        .iter()
        .map(|p| ClusterPolicy::from_k8s(p).unwrap())
        .collect()
}

fn check(expected: &Reachability, nps: &[Policy], cnps: &[ClusterPolicy], port: u16, proto: Proto) {
    expected.check_with(&e2e_cluster(), nps, cnps, port, proto);
}

const DENY_X_FROM_Y_ADMIN: &str = "
apiVersion: policy.networking.k8s.io/v1alpha2
kind: ClusterNetworkPolicy
metadata: {name: deny-x-from-y}
spec:
  tier: Admin
  priority: 10
  subject: {namespaces: {matchLabels: {ns: x}}}
  ingress:
  - {name: from-y, action: Deny, from: [{namespaces: {matchLabels: {ns: y}}}]}
";

#[test]
fn an_admin_deny_wins_over_a_namespaced_allow() {
    // x allows everything by NetworkPolicy; the Admin tier still denies y -> x.
    let allow_all = policies(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: allow-all, namespace: x}\n\
         spec: {podSelector: {}, ingress: [{}]}\n",
    );
    let expected =
        Reachability::all(true).set(false, |from, to| ns_of(from) == "y" && ns_of(to) == "x");
    let cnps = cluster_policies(DENY_X_FROM_Y_ADMIN);
    check(&expected, &allow_all, &cnps, 80, Proto::Tcp);
    check(&expected, &[], &cnps, 81, Proto::Tcp);
}

#[test]
fn an_admin_accept_wins_over_a_namespaced_default_deny() {
    let deny = policies(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: x}\n\
         spec: {podSelector: {}, policyTypes: [Ingress]}\n",
    );
    let accept = cluster_policies(
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: accept}\n\
         spec:\n  tier: Admin\n  priority: 5\n  subject: {pods: {namespaceSelector: {matchLabels: {ns: x}}, podSelector: {matchLabels: {pod: a}}}}\n\
         \x20 ingress:\n  - {action: Accept, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {pod: b}}}}], protocols: [{tcp: {destinationPort: {number: 80}}}]}\n",
    );
    // Into x only b pods reach x/a, on TCP 80 only; everything else into x is denied.
    let expected = Reachability::all(true)
        .set(false, |_, to| ns_of(to) == "x")
        .set(true, |from, to| to == "x/a" && from.ends_with("/b"));
    check(&expected, &deny, &accept, 80, Proto::Tcp);
    let on_81 = Reachability::all(true).set(false, |_, to| ns_of(to) == "x");
    check(&on_81, &deny, &accept, 81, Proto::Tcp);
}

#[test]
fn pass_hands_over_to_network_policies_and_the_baseline_applies_only_to_pods_they_do_not_isolate() {
    // Admin: pass everything from x itself, deny everything else into x and y.
    // Baseline: deny all ingress to x, y and z. NetworkPolicy: y/a allows all ingress.
    let cnps = cluster_policies(
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: admin}\n\
         spec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {matchExpressions: [{key: ns, operator: In, values: [x, y]}]}}\n\
         \x20 ingress:\n  - {name: own, action: Pass, from: [{namespaces: {matchLabels: {ns: x}}}]}\n  - {name: rest, action: Deny, from: [{namespaces: {}}]}\n\
         ---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: baseline}\n\
         spec:\n  tier: Baseline\n  priority: 1\n  subject: {namespaces: {}}\n  ingress:\n  - {action: Deny, from: [{namespaces: {}}]}\n",
    );
    let nps = policies(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: open-a, namespace: y}\n\
         spec: {podSelector: {matchLabels: {pod: a}}, ingress: [{}]}\n",
    );
    // Only x's pods get past the Admin tier into x and y; there, y/a is isolated by its
    // NetworkPolicy (which allows), every other pod falls to the Baseline deny. z: Baseline.
    let expected = Reachability::all(false).set(true, |from, to| ns_of(from) == "x" && to == "y/a");
    check(&expected, &nps, &cnps, 80, Proto::Tcp);
}

#[test]
fn priorities_then_rule_order_decide() {
    let cnps = cluster_policies(
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: later}\n\
         spec:\n  tier: Admin\n  priority: 20\n  subject: {namespaces: {matchLabels: {ns: z}}}\n  ingress:\n  - {action: Accept, from: [{namespaces: {}}]}\n\
         ---\napiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: earlier}\n\
         spec:\n  tier: Admin\n  priority: 10\n  subject: {namespaces: {matchLabels: {ns: z}}}\n\
         \x20 ingress:\n  - {action: Accept, from: [{pods: {namespaceSelector: {}, podSelector: {matchLabels: {pod: c}}}}]}\n  - {action: Deny, from: [{namespaces: {}}]}\n",
    );
    let deny_z = policies(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: z}\n\
         spec: {podSelector: {}, policyTypes: [Ingress]}\n",
    );
    let expected = Reachability::all(true)
        .set(false, |_, to| ns_of(to) == "z")
        .set(true, |from, to| ns_of(to) == "z" && from.ends_with("/c"));
    check(&expected, &deny_z, &cnps, 80, Proto::Tcp);
    // The verdict names the deciding rule.
    let cluster = e2e_cluster();
    let evaluator = Evaluator::with_cluster_policies(&cluster, &deny_z, &cnps);
    let verdict = evaluator.reachable(
        Endpoint::Pod(common::pod(&cluster, "x/a")),
        Endpoint::Pod(common::pod(&cluster, "z/b")),
        80,
        Proto::Tcp,
    );
    assert_eq!(
        verdict.ingress,
        Side::DeniedBy(vec!["ClusterNetworkPolicy earlier ingress rule 1".into()])
    );
}

#[test]
fn verify_sees_flows_a_pass_lets_through_before_a_deny_of_everything() {
    // Only y/a passes the Admin tier into x; everything else into x is denied. verify() rules
    // out pairs of namespaces before trying pods, and must not rule out y -> x.
    let yaml = "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: x}\n\
         spec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {matchLabels: {ns: x}}}\n\
         \x20 ingress:\n  - {action: Pass, from: [{pods: {namespaceSelector: {matchLabels: {ns: \"y\"}}, podSelector: {matchLabels: {pod: a}}}}]}\n\
         \x20 - {action: Deny, from: [{namespaces: {}}]}\n";
    let set = ManifestSet::from_yaml(yaml, "x.yaml").unwrap();
    let report = policy_gen::verify(&set, &e2e_cluster()).unwrap();
    assert!(report.reaches("y", "x"), "{report}");
    assert!(
        !report.reaches("z", "x") && !report.reaches("x", "x"),
        "{report}"
    );
    let expected = Reachability::all(true).set(false, |from, to| ns_of(to) == "x" && from != "y/a");
    check(&expected, &[], &cluster_policies(yaml), 80, Proto::Tcp);
}

#[test]
fn protocols_ranges_named_ports_and_networks_match_as_specified() {
    let cnps = cluster_policies(
        "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: egress}\n\
         spec:\n  tier: Admin\n  priority: 1\n  subject: {namespaces: {matchLabels: {ns: x}}}\n\
         \x20 egress:\n  - {action: Accept, to: [{networks: [10.2.0.1/32]}], protocols: [{tcp: {destinationPort: {range: {start: 79, end: 80}}}}]}\n\
         \x20 - {action: Accept, to: [{namespaces: {matchLabels: {ns: z}}}], protocols: [{destinationNamedPort: serve-81-tcp}, {udp: {destinationPort: {number: 80}}}]}\n\
         \x20 - {action: Deny, to: [{namespaces: {}}]}\n",
    );
    let from_x_only = |allowed: &dyn Fn(&str) -> bool| {
        Reachability::all(true).set(false, |from, to| ns_of(from) == "x" && !allowed(to))
    };
    // TCP 80: only y/a (10.2.0.1, the networks peer matches a pod address).
    check(&from_x_only(&|to| to == "y/a"), &[], &cnps, 80, Proto::Tcp);
    // TCP 81: z by the named port.
    check(
        &from_x_only(&|to| ns_of(to) == "z"),
        &[],
        &cnps,
        81,
        Proto::Tcp,
    );
    // UDP 80: z.
    check(
        &from_x_only(&|to| ns_of(to) == "z"),
        &[],
        &cnps,
        80,
        Proto::Udp,
    );
    // SCTP 80: nothing.
    check(&from_x_only(&|_| false), &[], &cnps, 80, Proto::Sctp);
}

#[test]
fn what_the_crd_refuses_is_refused() {
    for (bad, why) in [
        (
            "spec: {tier: Admin, priority: 1001, subject: {namespaces: {}}}",
            "priority",
        ),
        (
            "spec: {tier: Admin, priority: 1, subject: {namespaces: {}, pods: {podSelector: {}}}}",
            "exactly one",
        ),
        (
            "spec: {tier: Admin, priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{networks: [10.0.0.0/8]}]}]}",
            "egress rules only",
        ),
        (
            "spec: {tier: Admin, priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{namespaces: {}}], protocols: [{tcp: {destinationPort: {range: {start: 90, end: 80}}}}]}]}",
            "below end",
        ),
        (
            "spec: {tier: Admin, priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: []}]}",
            "at least one peer",
        ),
    ] {
        let yaml = format!(
            "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: bad}}\n{bad}\n"
        );
        let policy: ClusterNetworkPolicy = manifests_core::yaml::from_documents(&yaml, "bad")
            .unwrap()
            .remove(0);
        let err = ClusterPolicy::from_k8s(&policy).unwrap_err().to_string();
        assert!(
            err.contains("ClusterNetworkPolicy bad") && err.contains(why),
            "{bad}: {err}"
        );
    }
    // An experimental peer the evaluator does not model fails to decode instead of being ignored.
    let nodes = "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {name: n}\n\
                 spec: {tier: Admin, priority: 1, subject: {namespaces: {}}, egress: [{action: Deny, to: [{nodes: {}}]}]}\n";
    assert!(manifests_core::yaml::from_documents::<ClusterNetworkPolicy>(nodes, "nodes").is_err());
}

fn tenant(ns: &str, cluster_policy: bool) -> TenantSpec {
    let mut spec = TenantSpec {
        namespace: ns.into(),
        ..Default::default()
    };
    if cluster_policy {
        spec.isolation.cluster_network_policy = Some(ClusterIsolation::default());
    }
    spec
}

fn teams(cluster_policy: bool) -> ManifestSet {
    let mut set = ManifestSet::new();
    for team in ["team-a", "team-b", "team-c"] {
        let spec = tenant(team, cluster_policy);
        set.extend(tenant_components(&spec).unwrap()).unwrap();
        set.extend(isolation_policies(&spec).unwrap()).unwrap();
    }
    set
}

fn without_network_policies_of(set: &ManifestSet, namespaces: &[&str]) -> ManifestSet {
    let mut kept = ManifestSet::new();
    for manifest in set {
        let key = manifest.key();
        let deleted = key.kind == "NetworkPolicy"
            && namespaces.contains(&key.namespace.as_deref().unwrap_or_default());
        if !deleted {
            kept.insert(manifest.clone()).unwrap();
        }
    }
    kept
}

fn report(set: &ManifestSet) -> policy_gen::Report {
    let cluster = Cluster::from_manifests(set)
        .unwrap()
        .with_platform(&Isolation::default());
    verify_with(
        set,
        &cluster,
        &VerifyOptions::new().tenants(TenantRule::Labelled),
    )
    .unwrap()
}

#[test]
fn the_tenant_cluster_policy_holds_when_tenants_delete_their_network_policies() {
    // Without it: deleting the NetworkPolicies of two tenants opens them to each other, and
    // verify warns beforehand that isolation rests on the tenants.
    let plain = teams(false);
    let before = report(&plain);
    assert!(before.is_clean(), "{before}");
    assert_eq!(before.undoable_isolation.len(), 3, "{before}");
    assert_eq!(
        before.undoable_isolation[0].reached_by,
        ["team-b", "team-c"]
    );
    let opened = report(&without_network_policies_of(&plain, &["team-a", "team-b"]));
    assert!(
        opened.reaches("team-a", "team-b") && opened.reaches("team-b", "team-a"),
        "{opened}"
    );
    assert!(!opened.leaks.is_empty());

    // With it: still clean (DNS, gateway and kubeflow pass through to the NetworkPolicies), no
    // warning, and no cross-tenant path whatever the tenants delete.
    let guarded = teams(true);
    let before = report(&guarded);
    assert!(before.is_clean() && before.warnings() == 0, "{before}");
    for deleted in [
        &["team-a"][..],
        &["team-a", "team-b"],
        &["team-a", "team-b", "team-c"],
    ] {
        let after = report(&without_network_policies_of(&guarded, deleted));
        assert!(after.leaks.is_empty(), "{deleted:?}: {after}");
        for a in ["team-a", "team-b", "team-c"] {
            for b in ["team-a", "team-b", "team-c"] {
                assert_eq!(
                    after.reaches(a, b),
                    a == b,
                    "{a} -> {b} after deleting {deleted:?}"
                );
            }
        }
        // The tenant still reaches DNS and the platform (its policies are gone: all of it).
        assert!(after.reaches("team-a", "kube-system") && after.reaches("istio-system", "team-a"));
        assert!(
            after.dns_unreachable.is_empty() && after.ingress_denied.is_empty(),
            "{after}"
        );
    }
    // A namespace outside the tenants and the platform is cut off from the tenant too.
    let mut with_other = guarded.clone();
    with_other
        .extend_from_yaml(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n\
             spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: w, image: w}]}}}\n",
            "shop.yaml",
        )
        .unwrap();
    let after = report(&without_network_policies_of(&with_other, &["team-a"]));
    assert!(
        !after.reaches("shop", "team-a") && !after.reaches("team-a", "shop"),
        "{after}"
    );
}

#[test]
fn the_tenant_cluster_policy_passes_its_crd_schema() {
    let mut spec = tenant("team-a", true);
    spec.isolation.cluster_network_policy = Some(ClusterIsolation { priority: 250 });
    let set = isolation_policies(&spec).unwrap();
    let cnp = set
        .iter()
        .find(|m| m.key().kind == "ClusterNetworkPolicy")
        .unwrap();
    assert_eq!(cnp.key().name, cluster_policy_name("team-a"));
    assert_eq!(cnp.key().namespace, None, "cluster-scoped");
    assert_eq!(cnp.body()["spec"]["priority"], 250);
    assert_eq!(common::assert_valid(&set), set.len());
    // The typed object reads back into the evaluator's form.
    let policy = ClusterPolicy::from_k8s(&cnp.decode().unwrap()).unwrap();
    assert_eq!((policy.ingress.len(), policy.egress.len()), (2, 2));

    spec.isolation.cluster_network_policy = Some(ClusterIsolation { priority: 1001 });
    let err = isolation_policies(&spec).unwrap_err().to_string();
    assert!(err.contains("clusterNetworkPolicy.priority"), "{err}");
}
