//! The manifest judges must be able to say no: each rejection below is one a cluster would make.

use std::path::PathBuf;

fn validate_text(text: &str) -> testkit::kube::Validation {
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("x.yaml");
    std::fs::write(&file, text).unwrap();
    testkit::kube::validate(&[file])
}

const GOOD_VS: &str = "apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: a, namespace: b}
spec:
  hosts: ['*']
  http:
  - route:
    - destination: {host: a.b.svc.cluster.local, port: {number: 8080}}
";

#[test]
fn a_valid_custom_resource_passes() {
    let verdict = validate_text(GOOD_VS);
    assert_eq!(
        (verdict.checked, verdict.failures.len()),
        (1, 0),
        "{:?}",
        verdict.failures
    );
}

#[test]
fn unknown_fields_in_custom_resources_are_refused() {
    let verdict = validate_text(&GOOD_VS.replace("hosts:", "hostz:"));
    assert_eq!(verdict.failures.len(), 1, "{:?}", verdict.failures);
}

#[test]
fn removed_apis_and_unknown_kinds_are_refused() {
    let verdict = validate_text(
        "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: a}\nspec: {}\n---\n\
         apiVersion: rbac.istio.io/v1alpha1\nkind: ServiceRole\nmetadata: {name: a}\nspec: {}\n",
    );
    assert_eq!(verdict.failures.len(), 2, "{:?}", verdict.failures);
}

#[test]
fn core_kinds_are_checked_strictly() {
    let verdict = validate_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  portz: []\n---\n\
         apiVersion: v1\nkind: Service\nmetadata: {name: b}\nspec:\n  ports: [{port: '80'}]\n",
    );
    assert_eq!(verdict.failures.len(), 2, "{:?}", verdict.failures);
}

#[test]
fn the_yaml_reader_follows_yaml_1_1() {
    let docs =
        testkit::kube::yaml11_documents("a: yes\nb: 012\nc: 12:30\nd: 2024-01-01\ne: 'on'\n");
    let doc = &docs[0];
    assert_eq!(doc["a"], serde_json::json!(true));
    assert_eq!(doc["b"], serde_json::json!(10));
    assert_eq!(doc["c"], serde_json::json!(750));
    assert_eq!(doc["d"]["$yaml11"], serde_json::json!("date"));
    assert_eq!(doc["e"], serde_json::json!("on"));
}
