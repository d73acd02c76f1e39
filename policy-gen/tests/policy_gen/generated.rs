//! The generated policies on real judges, and what verify() says about them and about the seed's.

use crate::common;

use std::collections::BTreeMap;

use manifests_core::tenant::{ExternalEgress, Isolation, TENANT_LABEL};
use manifests_core::{ManifestSet, TenantSpec, tenant_components};
use policy_gen::{
    Cluster, Direction, Endpoint, Evaluator, Pod, Policy, Proto, isolation_policies, verify,
};

fn spec(ns: &str) -> TenantSpec {
    TenantSpec {
        namespace: ns.into(),
        isolation: Isolation {
            owners: vec!["alice@example.com".into()],
            egress: vec![ExternalEgress {
                name: "s3".into(),
                cidr: "203.0.113.0/24".into(),
                except: vec!["203.0.113.128/25".into()],
                ports: vec![443],
            }],
            ..Default::default()
        },
        ..Default::default()
    }
}

fn two_teams() -> (ManifestSet, Cluster) {
    let mut set = ManifestSet::new();
    for team in ["team-a", "team-b"] {
        set.extend(tenant_components(&spec(team)).unwrap()).unwrap();
        set.extend(isolation_policies(&spec(team)).unwrap())
            .unwrap();
    }
    let cluster = Cluster::from_manifests(&set)
        .unwrap()
        .with_platform(&Isolation::default());
    (set, cluster)
}

#[test]
fn generated_policies_pass_strict_schemas_and_the_crds() {
    let set = isolation_policies(&spec("team-a")).unwrap();
    assert_eq!(common::assert_valid(&set), set.len());
}

#[test]
fn two_generated_tenants_are_isolated_and_still_work() {
    let (set, cluster) = two_teams();
    let report = verify(&set, &cluster).unwrap();
    assert!(report.is_clean(), "{report}");
    assert_eq!(report.tenants, ["team-a", "team-b"]);
    assert!(!report.reaches("team-a", "team-b") && !report.reaches("team-b", "team-a"));
    assert!(report.reaches("team-a", "team-a"), "same namespace");
    assert!(
        report.reaches("istio-system", "team-a"),
        "the ingress gateway gets in"
    );
    assert!(report.reaches("team-a", "kubeflow"));
    // DNS over UDP and TCP, to the DNS pods only.
    let policies: Vec<Policy> = set
        .iter()
        .filter(|m| m.key().kind == "NetworkPolicy")
        .map(|m| Policy::from_k8s(&m.decode().unwrap(), "x").unwrap())
        .collect();
    let evaluator = Evaluator::new(&cluster, &policies);
    let mlflow = cluster
        .pods_in("team-a")
        .find(|p| cluster.pod(*p).name == "mlflow")
        .unwrap();
    let dns = cluster.pods_in("kube-system").next().unwrap();
    for proto in [Proto::Udp, Proto::Tcp] {
        let verdict = evaluator.reachable(Endpoint::Pod(mlflow), Endpoint::Pod(dns), 53, proto);
        assert!(verdict.allowed, "{proto:?}: {verdict:?}");
    }
    assert!(
        !evaluator
            .reachable(Endpoint::Pod(mlflow), Endpoint::Pod(dns), 8080, Proto::Tcp)
            .allowed
    );
    // External egress: the named CIDR minus its except, on 443 only.
    let s3 = Endpoint::External("203.0.113.10".parse().unwrap());
    let hole = Endpoint::External("203.0.113.200".parse().unwrap());
    assert!(
        evaluator
            .reachable(Endpoint::Pod(mlflow), s3, 443, Proto::Tcp)
            .allowed
    );
    assert!(
        !evaluator
            .reachable(Endpoint::Pod(mlflow), s3, 80, Proto::Tcp)
            .allowed
    );
    assert!(
        !evaluator
            .reachable(Endpoint::Pod(mlflow), hole, 443, Proto::Tcp)
            .allowed
    );
    // Every verdict names its policies.
    let denied = evaluator.reachable(
        Endpoint::Pod(mlflow),
        Endpoint::Pod(cluster.pods_in("team-b").next().unwrap()),
        5000,
        Proto::Tcp,
    );
    assert!(
        matches!(&denied.egress, policy_gen::Side::DeniedBy(p) if p.contains(&"team-a/default-deny".to_owned())),
        "{denied:?}"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["matrix"]["team-a"]["team-b"], serde_json::json!(false));
}

#[test]
fn a_namespace_claiming_a_system_label_gets_nothing() {
    let (set, mut cluster) = two_teams();
    // Anyone who can label a namespace can claim `namespace: kubeflow`; not the API server's name label.
    cluster.add_namespace(
        "intruder",
        BTreeMap::from([("namespace".to_owned(), "kubeflow".to_owned())]),
    );
    cluster.add_pod(Pod {
        namespace: "intruder".into(),
        name: "x".into(),
        labels: Default::default(),
        ip: None,
        ports: vec![],
    });
    let report = verify(&set, &cluster).unwrap();
    assert!(!report.reaches("intruder", "team-a"));
}

#[test]
fn the_seeds_six_policies_leak_and_break_dns() {
    let seed = ManifestSet::from_yaml(
        include_str!("../fixtures/seed-policies.yaml"),
        "seed-policies.yaml",
    )
    .unwrap();
    let mut cluster = Cluster::new().with_platform(&Isolation::default());
    for team in ["qooba", "other"] {
        cluster.add_namespace(
            team,
            BTreeMap::from([(TENANT_LABEL.to_owned(), team.to_owned())]),
        );
        cluster.add_pod(Pod {
            namespace: team.into(),
            name: "notebook".into(),
            labels: Default::default(),
            ip: None,
            ports: vec![],
        });
        cluster.add_pod(Pod {
            namespace: team.into(),
            name: "mlflow".into(),
            labels: Default::default(),
            ip: None,
            ports: vec![],
        });
    }
    let report = verify(&seed, &cluster).unwrap();
    // Nothing sets the custom `namespace` label: the team's own pods cannot talk to each other,
    // the ingress gateway cannot reach them, and DNS (in kube-system) is unreachable.
    assert!(!report.reaches("qooba", "qooba"), "{report}");
    assert!(!report.reaches("istio-system", "qooba"), "{report}");
    assert!(!report.reaches("qooba", "kube-system"), "{report}");
    // The other team has no policy at all: qooba's pods cannot reach it, but it reaches qooba? No:
    // qooba denies all ingress. The other team is open to every namespace, and has no default deny.
    assert!(report.reaches("istio-system", "other"));
    assert!(
        report
            .missing_default_deny
            .iter()
            .any(|m| m.namespace == "other" && m.direction == Direction::Ingress)
    );
    assert!(!report.is_clean());

    // With the label set by hand, DNS works over UDP only: TCP 53 (large answers) stays blocked.
    cluster.add_namespace(
        "kube-system",
        BTreeMap::from([("namespace".to_owned(), "kube-system".to_owned())]),
    );
    cluster.add_namespace(
        "qooba",
        BTreeMap::from([("namespace".to_owned(), "qooba".to_owned())]),
    );
    let policies: Vec<Policy> = seed
        .iter()
        .map(|m| Policy::from_k8s(&m.decode().unwrap(), "qooba").unwrap())
        .collect();
    let evaluator = Evaluator::new(&cluster, &policies);
    let notebook = cluster.pods_in("qooba").next().unwrap();
    let dns = cluster.pods_in("kube-system").next().unwrap();
    assert!(
        evaluator
            .reachable(Endpoint::Pod(notebook), Endpoint::Pod(dns), 53, Proto::Udp)
            .allowed
    );
    assert!(
        !evaluator
            .reachable(Endpoint::Pod(notebook), Endpoint::Pod(dns), 53, Proto::Tcp)
            .allowed
    );
}

#[test]
fn header_trust_without_a_principal_is_reported() {
    let seed_like = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: ns-owner, namespace: qooba}\n\
                     spec:\n  action: ALLOW\n  rules:\n  - when:\n    - key: request.headers[kubeflow-userid]\n      values: [alice@example.com]\n";
    let set = ManifestSet::from_yaml(seed_like, "ap.yaml").unwrap();
    let report = verify(&set, &Cluster::new()).unwrap();
    assert_eq!(report.header_trust_without_principal.len(), 1, "{report}");
    assert_eq!(
        report.header_trust_without_principal[0].policy,
        "qooba/ns-owner"
    );
    // The generated one requires the gateway's principal.
    let generated = isolation_policies(&spec("qooba")).unwrap();
    assert!(
        verify(&generated, &Cluster::new())
            .unwrap()
            .header_trust_without_principal
            .is_empty()
    );
}

#[test]
fn bad_isolation_settings_name_the_field() {
    let mut bad = spec("team-a");
    bad.isolation.egress[0].cidr = "203.0.113.0/99".into();
    let err = isolation_policies(&bad).unwrap_err().to_string();
    assert!(err.contains("tenant.isolation.egress[0].cidr"), "{err}");
    let mut bad = spec("team-a");
    bad.isolation.egress[0].except = vec!["198.51.100.0/24".into()];
    let err = isolation_policies(&bad).unwrap_err().to_string();
    assert!(err.contains("tenant.isolation.egress[0].except"), "{err}");
}
