//! Two `watch` processes on one registry and one remote, as two replicas of the Deployment
//! would run them (no leader election), with Production gated: 100 promotions, each waited for,
//! make exactly 100 commits on main and 100 on the review branch, none undoing another, and a
//! human's commit in between is kept.
//!
//! The promotions are version tags set through a real `mlflow server` on the registry MLflow
//! made (tags are rendered into the manifests); their values only grow, so an undo shows as a
//! value going down.

mod common;

use std::process::{Child, Stdio};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use manifests_core::ManifestSet;
use manifests_core::meta::ANNOTATION_PREFIX;
use testkit::databases::Backend;
use testkit::git::GitRemote;
use testkit::mlflow::Scenario;
use testkit::mlflow_server::MlflowServer;

const BRANCH: &str = "mlflow-gitops/review/deployments/wine/production";
const CHAMPION: &str = "deployments/wine/champion/deployment.yaml";
const PRODUCTION: &str = "deployments/wine/production/deployment.yaml";

/// The `step` tag the Deployment at `rev:path` was rendered with.
fn step(remote: &GitRemote, rev: &str, path: &str) -> Option<u64> {
    let text = String::from_utf8(remote.show(rev, path)?).ok()?;
    let set = ManifestSet::from_yaml(&text, path).ok()?;
    let deployment: Deployment = set.iter().next()?.decode().ok()?;
    let key = format!("{ANNOTATION_PREFIX}tags");
    let tags = deployment.metadata.annotations?.get(&key)?.clone();
    let tags: std::collections::BTreeMap<String, String> = serde_json::from_str(&tags).ok()?;
    tags.get("step")?.parse().ok()
}

struct Replicas(Vec<Child>);

impl Drop for Replicas {
    fn drop(&mut self) {
        for child in &mut self.0 {
            common::terminate(child);
            let _ = child.wait();
        }
    }
}

#[test]
fn two_watch_processes_commit_each_promotion_once() {
    let registry = Scenario::stepped_wine().build(Backend::Sqlite);
    let server = MlflowServer::start(&registry);
    let remote = GitRemote::new();
    remote.human_commit("README.md", "# platform\n", "by a human");
    let scratch = tempfile::tempdir().unwrap();
    let replica = |name: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"))
            .args(["watch", "--registry", &registry.backend_store_uri()])
            .args(["--repo", &remote.url(), "--push", "--review", "production"])
            .args(["--interval", "100ms", "--listen", "127.0.0.1:0"])
            .arg("--mirror")
            .arg(scratch.path().join("mirror"))
            .arg("--work-dir")
            .arg(scratch.path().join(name))
            // The scenario's model files live in its own scratch directory, not beside the
            // database, and nobody else writes this registry.
            .arg("--source-root")
            .arg("/")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let _replicas = Replicas(vec![replica("a"), replica("b")]);

    const STEPS: u64 = 100;
    let mut human = None;
    for i in 1..=STEPS {
        server.set_version_tag("wine", 1, "step", &i.to_string());
        common::wait_for(&format!("step {i}"), Duration::from_secs(60), || {
            step(&remote, "main", CHAMPION) == Some(i)
                && step(&remote, BRANCH, PRODUCTION) == Some(i)
        });
        if i == STEPS / 2 {
            human =
                Some(remote.human_commit_retrying("docs/notes.md", "notes\n", "a human's notes"));
        }
    }
    // Let both replicas take another look: nothing more may be committed.
    std::thread::sleep(Duration::from_millis(500));
    let along = |rev: &str, path: &str| -> Vec<u64> {
        remote
            .first_parent_commits(rev, "mlflow-gitops")
            .iter()
            .filter_map(|id| step(&remote, id, path))
            .collect()
    };
    let all: Vec<u64> = (1..=STEPS).collect();
    assert_eq!(
        along("main", CHAMPION),
        all,
        "one commit per promotion on main, in order"
    );
    assert_eq!(
        along(BRANCH, PRODUCTION),
        all,
        "one per promotion on the review branch"
    );
    assert_eq!(
        step(&remote, "main", PRODUCTION),
        None,
        "nobody merged production"
    );
    assert!(remote.is_ancestor(&human.expect("a human commit"), "main"));
    remote.fsck();
}
