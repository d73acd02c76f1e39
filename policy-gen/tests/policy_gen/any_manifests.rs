//! verify() on manifests we did not generate: the seed's hand-written policies with no Namespace
//! objects, every workload kind, a `kind: List` dump, and the tenant rules.

use manifests_core::tenant::{Isolation, TENANT_LABEL};
use manifests_core::{ManifestSet, TenantSpec, tenant_components};
use policy_gen::{
    AppliedRule, Cluster, REPRESENTATIVE_POD, Report, TenantRule, VerifyOptions,
    isolation_policies, verify_with,
};
use serde_json::{Value, json};

const SEED: &str = include_str!("../fixtures/seed-policies.yaml");

/// The seed's six policies for `qooba`, and the same six for a second team.
fn seed_two_teams() -> ManifestSet {
    let mut set = ManifestSet::from_yaml(SEED, "seed-policies.yaml").unwrap();
    set.extend_from_yaml(
        &SEED.replace("qooba", "mlops"),
        "seed-policies.yaml (mlops)",
    )
    .unwrap();
    set
}

fn run(set: &ManifestSet, rule: TenantRule) -> Report {
    let cluster = Cluster::from_manifests(set)
        .unwrap()
        .with_platform(&Isolation::default());
    verify_with(set, &cluster, &VerifyOptions::new().tenants(rule)).unwrap()
}

fn generated_teams(teams: &[&str]) -> ManifestSet {
    let mut set = ManifestSet::new();
    for team in teams {
        let spec = TenantSpec {
            namespace: (*team).into(),
            ..Default::default()
        };
        set.extend(tenant_components(&spec).unwrap()).unwrap();
        set.extend(isolation_policies(&spec).unwrap()).unwrap();
    }
    set
}

#[test]
fn the_seeds_policies_without_namespace_objects_are_reported_broken() {
    let report = run(&seed_two_teams(), TenantRule::Auto);
    // No namespace is labelled, so every non-platform namespace is a tenant.
    assert_eq!(report.tenant_rule, AppliedRule::AllButPlatform, "{report}");
    assert_eq!(report.tenants, ["mlops", "qooba"]);
    assert_eq!(report.representative_pods, ["mlops", "qooba"]);
    // DNS over both protocols: the custom `namespace` label on kube-system matches nothing, and
    // TCP 53 is not even listed.
    for team in ["qooba", "mlops"] {
        for what in ["DNS over UDP 53", "DNS over TCP 53"] {
            let gap = report
                .dns_unreachable
                .iter()
                .find(|g| g.namespace == team && g.what == what)
                .unwrap_or_else(|| panic!("{team} {what} not reported:\n{report}"));
            assert_eq!(gap.example.from, format!("{team}/{REPRESENTATIVE_POD}"));
            assert!(
                matches!(&gap.example.egress, policy_gen::Side::DeniedBy(p) if p.contains(&format!("{team}/deny-egress-all"))),
                "{:?}",
                gap.example
            );
        }
        for what in ["ingress from istio-system", "ingress from kubeflow"] {
            assert!(
                report
                    .ingress_denied
                    .iter()
                    .any(|g| g.namespace == team && g.what == what),
                "{team} {what} not reported:\n{report}"
            );
        }
    }
    // The custom label matches no namespace: a warning naming the policy and the field.
    let unmatched: Vec<(String, String, String)> = report
        .unmatched_selectors
        .iter()
        .map(|u| (u.policy.clone(), u.field.clone(), u.selector.clone()))
        .collect();
    for expected in [
        (
            "qooba/allow-same-namespace",
            "spec.ingress[0].from[0].namespaceSelector",
            "{namespace=qooba}",
        ),
        (
            "qooba/allow-istio-system",
            "spec.ingress[0].from[0].namespaceSelector",
            "{namespace=istio-system}",
        ),
        (
            "mlops/allow-dns",
            "spec.egress[0].to[0].namespaceSelector",
            "{namespace=kube-system}",
        ),
    ] {
        let expected = (
            expected.0.to_owned(),
            expected.1.to_owned(),
            expected.2.to_owned(),
        );
        assert!(
            unmatched.contains(&expected),
            "{expected:?} in {unmatched:?}"
        );
    }
    assert!(report.leaks.is_empty(), "{report}");
    assert!(!report.is_clean());
    let text = report.to_string();
    assert!(text.contains("DNS UNREACHABLE qooba"), "{text}");
    assert!(text.ends_with("warnings"), "{text}");
}

#[test]
fn generated_tenants_are_clean_under_every_tenant_rule() {
    let set = generated_teams(&["team-a", "team-b"]);
    for (rule, applied) in [
        (TenantRule::Auto, AppliedRule::Labelled),
        (TenantRule::Labelled, AppliedRule::Labelled),
        (TenantRule::AllButPlatform, AppliedRule::AllButPlatform),
        (
            TenantRule::Named(vec!["team-a".into(), "team-b".into()]),
            AppliedRule::Named,
        ),
    ] {
        let report = run(&set, rule.clone());
        assert!(report.is_clean(), "{rule:?}: {report}");
        assert_eq!(report.tenant_rule, applied);
        assert_eq!(report.tenants, ["team-a", "team-b"], "{rule:?}");
        assert!(report.unmatched_selectors.is_empty(), "{report}");
        assert!(report.representative_pods.is_empty(), "{report}");
    }
    // The MLflow server is behind the tenant's VirtualService: the gateway must reach it, and a
    // policy that cuts the gateway off is reported.
    let mut cut = ManifestSet::new();
    for manifest in &set {
        if manifest.key().name != "allow-from-system-namespaces" {
            cut.insert(manifest.clone()).unwrap();
        }
    }
    let report = run(&cut, TenantRule::Auto);
    let denied: Vec<(&str, &str)> = report
        .ingress_denied
        .iter()
        .map(|g| (g.namespace.as_str(), g.what.as_str()))
        .collect();
    assert_eq!(
        denied,
        [
            ("team-a", "ingress from istio-system"),
            ("team-a", "ingress from kubeflow"),
            ("team-b", "ingress from istio-system"),
            ("team-b", "ingress from kubeflow"),
        ],
        "{report}"
    );
    assert!(report.ingress_denied[0].example.to.starts_with("team-a/"));
}

#[test]
fn a_named_tenant_that_is_not_in_the_manifests_is_an_error() {
    let set = generated_teams(&["team-a"]);
    let cluster = Cluster::from_manifests(&set).unwrap();
    let err = verify_with(
        &set,
        &cluster,
        &VerifyOptions::new().tenants("team-a,tem-b".parse().unwrap()),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("\"tem-b\"") && err.contains("tenants"),
        "{err}"
    );
}

/// Adds what the API server and kubectl add to an object in `kubectl get -o yaml`.
fn as_dumped(mut object: Value, index: usize) -> Value {
    let metadata = object["metadata"].as_object_mut().unwrap();
    metadata.insert(
        "uid".into(),
        json!(format!("00000000-0000-0000-0000-{index:012}")),
    );
    metadata.insert("resourceVersion".into(), json!(index.to_string()));
    metadata.insert("creationTimestamp".into(), json!("2026-12-01T10:00:00Z"));
    metadata.insert(
        "managedFields".into(),
        json!([{"manager": "kubectl", "operation": "Apply", "apiVersion": "v1"}]),
    );
    object
        .as_object_mut()
        .unwrap()
        .entry("status")
        .or_insert(json!({}));
    object
}

#[test]
fn a_kind_list_dump_verifies_as_the_same_objects_in_separate_files() {
    let mut set = generated_teams(&["team-a", "team-b"]);
    // A running pod as the API server reports it, with its address.
    let pod = json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "mlflow-6d4f9-x2k", "namespace": "team-a",
                     "labels": {"app.kubernetes.io/name": "mlflow", "pod-template-hash": "6d4f9"}},
        "spec": {"containers": [{"name": "mlflow", "image": "mlflow",
                                 "ports": [{"containerPort": 5000, "name": "http"}]}]},
        "status": {"podIP": "10.1.0.7"}
    });
    set.insert(manifests_core::Manifest::from_value(pod).unwrap())
        .unwrap();
    let items: Vec<Value> = set
        .iter()
        .enumerate()
        .map(|(i, m)| as_dumped(m.body().clone(), i))
        .collect();
    let dump = serde_json::to_string(&json!({
        "apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items
    }))
    .unwrap();
    let from_dump = ManifestSet::from_yaml(&dump, "dump.yaml").unwrap();
    assert_eq!(from_dump.len(), set.len());

    let dir = tempfile::tempdir().unwrap();
    let mut from_files = ManifestSet::new();
    for (name, text) in set.files().unwrap() {
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        from_files
            .extend_from_yaml(&std::fs::read_to_string(&path).unwrap(), "file")
            .unwrap();
    }
    let a = run(&from_dump, TenantRule::Auto);
    let b = run(&from_files, TenantRule::Auto);
    assert_eq!(
        serde_json::to_value(&a).unwrap(),
        serde_json::to_value(&b).unwrap()
    );
    assert!(a.is_clean(), "{a}");
    assert_eq!(a.tenants, ["team-a", "team-b"]);

    // The dump's pod is modelled with its address.
    let cluster = Cluster::from_manifests(&from_dump).unwrap();
    let modelled = cluster
        .pods()
        .iter()
        .find(|p| p.name == "mlflow-6d4f9-x2k")
        .unwrap();
    assert_eq!(modelled.ip, Some("10.1.0.7".parse().unwrap()));
    // Policies are namespaced objects too: a List with nothing else still yields namespaces.
    let only_policies = ManifestSet::from_yaml(SEED, "seed").unwrap();
    let cluster = Cluster::from_manifests(&only_policies).unwrap();
    assert!(cluster.namespace("qooba").is_some());
    assert!(
        !cluster
            .namespace("qooba")
            .unwrap()
            .labels
            .contains_key(TENANT_LABEL),
        "nothing invents a tenant label"
    );
}

#[test]
fn workloads_of_every_kind_get_the_pods_their_controllers_make() {
    let text = r#"
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ns, labels: {run: p}}
spec: {containers: [{name: c, image: i, ports: [{containerPort: 9000, protocol: UDP}]}]}
status: {podIP: 10.0.0.9}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: ns}
spec: {serviceName: db, selector: {matchLabels: {app: db}}, template: {metadata: {labels: {app: db}}, spec: {containers: [{name: c, image: i, ports: [{containerPort: 5432}]}]}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: ns}
spec: {selector: {matchLabels: {app: agent}}, template: {metadata: {labels: {app: agent}}, spec: {containers: [{name: c, image: i}]}}}
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: rs, namespace: ns}
spec: {selector: {matchLabels: {app: rs}}, template: {metadata: {labels: {app: rs}}, spec: {containers: [{name: c, image: i}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: train, namespace: ns}
spec: {template: {metadata: {labels: {job: train}}, spec: {restartPolicy: Never, containers: [{name: c, image: i}]}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: ns}
spec: {schedule: "0 0 * * *", jobTemplate: {spec: {template: {metadata: {labels: {job: nightly}}, spec: {restartPolicy: Never, containers: [{name: c, image: i}]}}}}}
---
apiVersion: kubeflow.org/v1
kind: Notebook
metadata: {name: nb, namespace: ns, labels: {access-ml-pipeline: "true"}}
spec: {template: {metadata: {labels: {ignored: "yes"}}, spec: {containers: [{name: nb, image: jupyter}]}}}
---
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: wine, namespace: ns, labels: {team: a}}
spec: {predictor: {labels: {tier: gold}, model: {modelFormat: {name: mlflow}, storageUri: "s3://b/m"}}}
---
apiVersion: v1
kind: Service
metadata: {name: db, namespace: ns}
spec: {selector: {app: db}, ports: [{port: 5432}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: db-ui, namespace: ns}
spec: {hosts: ["*"], gateways: [ns/gw], http: [{route: [{destination: {host: db.ns.svc.cluster.local}}]}]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: internal, namespace: ns}
spec: {hosts: [agent], http: [{route: [{destination: {host: agent}}]}]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny, namespace: empty}
spec: {podSelector: {}}
"#;
    let set = ManifestSet::from_yaml(text, "kinds.yaml").unwrap();
    let cluster = Cluster::from_manifests(&set).unwrap();
    let pod = |name: &str| {
        let id = cluster
            .pods_in("ns")
            .find(|p| cluster.pod(*p).name == name)
            .unwrap_or_else(|| panic!("no pod {name}: {:?}", cluster.pods()));
        (cluster.pod(id), cluster.is_user_facing(id))
    };
    let labels = |pairs: &[(&str, &str)]| -> policy_gen::Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let (p, facing) = pod("p");
    assert_eq!(
        (p.ip, p.ports[0].port, facing),
        (Some("10.0.0.9".parse().unwrap()), 9000, false)
    );
    assert_eq!(p.ports[0].proto, policy_gen::Proto::Udp);
    assert_eq!(pod("db").0.labels, labels(&[("app", "db")]));
    assert!(pod("db").1, "behind a gateway-bound VirtualService");
    assert!(
        !pod("agent").1,
        "a mesh-only VirtualService exposes nothing"
    );
    assert_eq!(pod("rs").0.labels, labels(&[("app", "rs")]));
    assert_eq!(pod("train").0.labels, labels(&[("job", "train")]));
    assert_eq!(pod("nightly").0.labels, labels(&[("job", "nightly")]));
    let (nb, facing) = pod("nb");
    assert_eq!(
        nb.labels,
        labels(&[
            ("access-ml-pipeline", "true"),
            ("notebook-name", "nb"),
            ("statefulset", "nb")
        ])
    );
    assert_eq!(
        (nb.ports[0].name.as_deref(), nb.ports[0].port, facing),
        (Some("notebook-port"), 8888, true)
    );
    let (isvc, facing) = pod("wine-predictor");
    assert_eq!(
        isvc.labels,
        labels(&[
            ("component", "predictor"),
            ("serving.kserve.io/inferenceservice", "wine"),
            ("team", "a"),
            ("tier", "gold")
        ])
    );
    assert_eq!((isvc.ports[0].port, facing), (8080, true));
    // The namespace that holds only a policy gets one representative pod.
    let empty: Vec<_> = cluster.pods_in("empty").collect();
    assert_eq!(empty.len(), 1);
    assert_eq!(cluster.pod(empty[0]).name, REPRESENTATIVE_POD);
    assert_eq!(cluster.representatives().collect::<Vec<_>>(), ["empty"]);

    // A malformed workload names itself.
    let bad = ManifestSet::from_yaml(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: ns}\nspec: {containers: []}\nstatus: {podIP: not-an-ip}\n",
        "bad.yaml",
    )
    .unwrap();
    let err = Cluster::from_manifests(&bad).unwrap_err().to_string();
    assert!(err.contains("ns/bad") && err.contains("not-an-ip"), "{err}");
}

#[test]
fn policy_kinds_it_does_not_evaluate_are_named() {
    let mut set = generated_teams(&["team-a"]);
    set.extend_from_yaml(
        "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: l7, namespace: team-a}\nspec: {}\n",
        "cilium.yaml",
    )
    .unwrap();
    let report = run(&set, TenantRule::Auto);
    assert_eq!(
        report.not_evaluated,
        ["cilium.io/v2 CiliumNetworkPolicy team-a/l7"]
    );
    assert!(report.is_clean() && report.warnings() == 1, "{report}");
}
