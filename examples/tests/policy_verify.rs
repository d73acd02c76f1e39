//! `mlflow-gitops policy verify` as a platform engineer runs it: on the seed's hand-written
//! policies, on a `kubectl get -o yaml` dump, and on what `tenant render` writes, with the exit
//! codes scripts depend on.

use std::path::Path;
use std::process::{Command, Output};

const SEED: &str = include_str!("../../policy-gen/tests/fixtures/seed-policies.yaml");

fn mlflow_gitops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"))
        .args(args)
        .output()
        .expect("run mlflow-gitops")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn render(namespace: &str, config: Option<&Path>, out: &Path) {
    let mut args = vec!["tenant", "render", "--namespace", namespace, "--out"];
    let out = out.to_str().unwrap();
    args.push(out);
    let config = config.map(|c| c.to_str().unwrap().to_owned());
    if let Some(config) = &config {
        args.extend(["--config", config]);
    }
    let output = mlflow_gitops(&args);
    assert!(output.status.success(), "{output:?}");
}

#[test]
fn the_seeds_policies_fail_with_the_reasons_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("qooba.yaml"), SEED).unwrap();
    std::fs::write(
        dir.path().join("mlops.yaml"),
        SEED.replace("qooba", "mlops"),
    )
    .unwrap();
    let output = mlflow_gitops(&["policy", "verify", dir.path().to_str().unwrap()]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    for expected in [
        "2 tenants (every namespace but the platform's): mlops, qooba",
        "no workload declared in mlops, qooba",
        "DNS UNREACHABLE qooba: DNS over UDP 53",
        "DNS UNREACHABLE mlops: DNS over TCP 53",
        "INGRESS DENIED qooba: ingress from istio-system",
        "INGRESS DENIED mlops: ingress from kubeflow",
        "warning: SELECTOR MATCHES NO NAMESPACE qooba/allow-dns spec.egress[0].to[0].namespaceSelector {namespace=kube-system}",
        "NOT CLEAN",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    // JSON for scripts, same exit code.
    let output = mlflow_gitops(&["policy", "verify", "--json", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["tenant_rule"], "all_but_platform");
    assert_eq!(report["dns_unreachable"].as_array().unwrap().len(), 4);
    // Naming one tenant judges only it.
    let output = mlflow_gitops(&[
        "policy",
        "verify",
        "--json",
        "--tenants",
        "qooba",
        dir.path().to_str().unwrap(),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["tenants"], serde_json::json!(["qooba"]));
    // A misspelt tenant is a usage error.
    let output = mlflow_gitops(&[
        "policy",
        "verify",
        "--tenants",
        "qoba",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("\"qoba\""));
}

#[test]
fn rendered_tenants_pass_and_strict_asks_for_the_cluster_policy() {
    let dir = tempfile::tempdir().unwrap();
    for team in ["team-a", "team-b"] {
        render(team, None, &dir.path().join(team));
    }
    let path = dir.path().to_str().unwrap();
    let output = mlflow_gitops(&["policy", "verify", path]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(
        text.contains("warning: UNDOABLE team-a can be reached from team-b"),
        "{text}"
    );
    let output = mlflow_gitops(&["policy", "verify", "--strict", path]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));

    // With the ClusterNetworkPolicy rendered, nothing is left to warn about.
    let config = dir.path().join("tenant.yaml");
    std::fs::write(
        &config,
        "isolation:\n  clusterNetworkPolicy: {priority: 100}\n",
    )
    .unwrap();
    let guarded = tempfile::tempdir().unwrap();
    for team in ["team-a", "team-b"] {
        render(team, Some(&config), &guarded.path().join(team));
    }
    assert!(
        guarded
            .path()
            .join("team-a/clusternetworkpolicy.yaml")
            .is_file()
    );
    let output = mlflow_gitops(&[
        "policy",
        "verify",
        "--strict",
        guarded.path().to_str().unwrap(),
    ]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.ends_with("clean\n"), "{text}");
}

#[test]
fn a_cluster_dump_in_one_file_verifies_like_the_same_objects_in_files() {
    let dir = tempfile::tempdir().unwrap();
    let rendered = dir.path().join("rendered");
    render("team-a", None, &rendered);
    render("team-b", None, &dir.path().join("rendered-b"));
    let mut items = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&rendered)
        .unwrap()
        .chain(std::fs::read_dir(dir.path().join("rendered-b")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != "kustomization.yaml")
        .collect();
    files.sort();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for document in
            manifests_core::yaml::from_documents::<serde_json::Value>(&text, "f").unwrap()
        {
            items.push(document);
        }
    }
    let dump = serde_json::json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items});
    let dump_file = dir.path().join("dump.yaml");
    std::fs::write(&dump_file, serde_json::to_string(&dump).unwrap()).unwrap();
    let from_dump = mlflow_gitops(&["policy", "verify", "--json", dump_file.to_str().unwrap()]);
    let from_files = mlflow_gitops(&[
        "policy",
        "verify",
        "--json",
        rendered.to_str().unwrap(),
        dir.path().join("rendered-b").to_str().unwrap(),
    ]);
    assert!(from_dump.status.success(), "{}", stdout(&from_dump));
    assert_eq!(stdout(&from_dump), stdout(&from_files));
}
