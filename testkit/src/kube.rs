//! The Kubernetes judges of generated manifests: `kubectl kustomize`, `kubernetes-validate
//! --strict` for core kinds, the real CRD schemas for custom kinds, and a YAML 1.1 reader.
//!
//! All of it runs offline. The CRD schemas are the ones vendored under `../shared/crds` (beside the
//! clone) unless `MLFLOW_GITOPS_CRDS` names another directory; a missing directory fails the test
//! loudly instead of skipping custom kinds.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::tools::{python, python_scripts_dir, venv_tool};

/// The Kubernetes version the schemas are checked against (the oldest k8s-openapi supports).
pub const KUBE_VERSION: &str = "1.33";

/// The directory of CRD schemas: `$MLFLOW_GITOPS_CRDS`, else `shared/crds` beside the workspace.
pub fn crds_dir() -> PathBuf {
    let dir = std::env::var_os("MLFLOW_GITOPS_CRDS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/crds"),
        PathBuf::from,
    );
    assert!(
        dir.join("istio-virtualservice.yaml").is_file(),
        "testkit: no CRD schemas at {} (expected the shared/crds directory beside the clone, \
         or set MLFLOW_GITOPS_CRDS)",
        dir.display()
    );
    dir
}

/// `kubectl kustomize DIR`; panics with kubectl's message when the build fails.
pub fn kustomize(dir: &Path) -> String {
    let output = Command::new(venv_tool("kubectl"))
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("run kubectl kustomize");
    assert!(
        output.status.success(),
        "kubectl kustomize {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("kustomize prints UTF-8")
}

/// What the validators said about a set of files.
#[derive(Debug)]
pub struct Validation {
    /// Documents checked.
    pub checked: usize,
    /// One entry per rejected document: file, kind, name, error.
    pub failures: Vec<Value>,
}

/// Validates every document of `files`: core kinds strictly against Kubernetes' schemas (a kind
/// without a schema is a failure), custom kinds against their CRD with unknown fields refused.
pub fn validate(files: &[PathBuf]) -> Validation {
    let output = Command::new(python())
        .arg(python_scripts_dir().join("validate_manifests.py"))
        .arg("--crds")
        .arg(crds_dir())
        .args(["--kube-version", KUBE_VERSION])
        .args(files)
        .output()
        .expect("run validate_manifests.py");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "validate_manifests.py printed no report ({e}):\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    Validation {
        checked: report["checked"].as_u64().unwrap_or(0) as usize,
        failures: report["failures"].as_array().cloned().unwrap_or_default(),
    }
}

/// Builds `dir` with kustomize and validates the result; panics listing every failure.
/// Returns the number of documents checked.
pub fn assert_valid_kustomization(dir: &Path) -> usize {
    let built = kustomize(dir);
    let scratch = tempfile::tempdir().expect("tempdir");
    let file = scratch.path().join("built.yaml");
    std::fs::write(&file, built).expect("write kustomize output");
    let verdict = validate(&[file]);
    assert!(
        verdict.failures.is_empty(),
        "{} of {} documents rejected in {}:\n{}",
        verdict.failures.len(),
        verdict.checked,
        dir.display(),
        serde_json::to_string_pretty(&verdict.failures).unwrap_or_default()
    );
    assert!(
        verdict.checked > 0,
        "kustomize built nothing from {}",
        dir.display()
    );
    verdict.checked
}

/// Parses YAML text as a YAML 1.1 reader (PyYAML, like go-yaml v2 under kubectl) sees it: one JSON
/// value per document; dates and other non-JSON types appear as `{"$yaml11": TYPE, "value": TEXT}`.
pub fn yaml11_documents(text: &str) -> Vec<Value> {
    let scratch = tempfile::tempdir().expect("tempdir");
    let file = scratch.path().join("doc.yaml");
    std::fs::write(&file, text).expect("write yaml");
    let output = Command::new(python())
        .arg(python_scripts_dir().join("yaml11_load.py"))
        .arg(&file)
        .output()
        .expect("run yaml11_load.py");
    assert!(
        output.status.success(),
        "PyYAML could not read the text:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("yaml11_load.py prints JSON")
}
