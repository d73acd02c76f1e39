//! Golden files for the seed's scenario, reviewed by hand once and kept as tests.
//!
//! Regenerate after an intended change with
//! `UPDATE_GOLDEN=1 cargo test -p manifests-core --test manifests_core golden` and review the diff.

use crate::common;

use std::path::{Path, PathBuf};

use manifests_core::tenant::GitOps;
use manifests_core::{
    KServe, ManifestSet, MlflowServe, ServingTarget, TenantSpec, tenant_components,
};

fn golden_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Compares (or, with UPDATE_GOLDEN=1, rewrites) the files of `set` against `tests/golden/<name>/`,
/// then has kustomize and the validators judge the directory.
fn check_golden(name: &str, set: &ManifestSet) {
    let dir = golden_dir(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        common::write_kustomization(set, &dir);
    }
    let scratch = tempfile::tempdir().unwrap();
    let names = common::write_kustomization(set, scratch.path());
    let mut expected: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 once", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    expected.sort();
    let mut actual: Vec<String> = names
        .into_iter()
        .chain(["kustomization.yaml".into()])
        .collect();
    actual.sort();
    assert_eq!(actual, expected, "files of {name}");
    for file in &actual {
        let want = std::fs::read_to_string(dir.join(file)).unwrap();
        let got = std::fs::read_to_string(scratch.path().join(file)).unwrap();
        assert_eq!(got, want, "{name}/{file} differs from the golden file");
    }
    testkit::kube::assert_valid_kustomization(&dir);
}

fn serving_set(target: &dyn ServingTarget) -> ManifestSet {
    let mut set = ManifestSet::new();
    for channel in ["production", "champion"] {
        set.extend(target.render(&common::seed_spec(channel)).unwrap())
            .unwrap();
    }
    set
}

#[test]
fn seed_scenario_served_by_mlflow() {
    let target = MlflowServe {
        s3: manifests_core::tenant::s3_access(&qooba()),
        ..Default::default()
    };
    check_golden("qooba-mlflow-serve", &serving_set(&target));
}

#[test]
fn seed_scenario_served_by_kserve() {
    check_golden("qooba-kserve", &serving_set(&KServe::default()));
}

fn qooba() -> TenantSpec {
    TenantSpec {
        namespace: "qooba".into(),
        gitops: Some(GitOps {
            repo_url: "ssh://git@git.example.com/platform/models.git".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[test]
fn seed_team_workspace() {
    check_golden("qooba-tenant", &tenant_components(&qooba()).unwrap());
}
