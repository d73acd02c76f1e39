//! Two replicas of the daemon on one registry and one remote, with no leader election (two pods
//! of one Deployment): every promotion is committed once, no commit undoes the other replica's,
//! human commits stay, and the review branch of a gated channel only moves forward.
//!
//! The promotions are version tags set through a real `mlflow server` (tags are rendered into
//! the manifests): their values only grow, so an undo is seen exactly, as a value going down.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};

use gitops_writer::GixWriter;
use k8s_openapi::api::apps::v1::Deployment;
use manifests_core::ManifestSet;
use manifests_core::meta::ANNOTATION_PREFIX;
use promotion_sync::{Reconciler, Settings};
use registry_reader::SqlRegistry;
use testkit::databases::Backend;
use testkit::git::GitRemote;
use testkit::mlflow::Scenario;
use testkit::mlflow_server::MlflowServer;
use testkit::s3::{Bucket, SeaweedFs};

use super::builder;

const BRANCH: &str = "mlflow-gitops/review/deployments/wine/production";
const CHAMPION: &str = "deployments/wine/champion/deployment.yaml";
const PRODUCTION: &str = "deployments/wine/production/deployment.yaml";

/// The `step` tag a Deployment was rendered with, read back from its annotation.
fn step(remote: &GitRemote, rev: &str, path: &str) -> Option<u64> {
    let text = String::from_utf8(remote.show(rev, path)?).unwrap();
    let set = ManifestSet::from_yaml(&text, path).unwrap();
    let deployment: Deployment = set.iter().next().unwrap().decode().unwrap();
    let tags = deployment
        .metadata
        .annotations?
        .get(&format!("{ANNOTATION_PREFIX}tags"))?
        .clone();
    let tags: std::collections::BTreeMap<String, String> = serde_json::from_str(&tags).unwrap();
    tags.get("step")?.parse().ok()
}

/// The steps of `path` along the first-parent history of `rev`, at the bot's commits that hold
/// it (not the target's history below a review branch's merges), oldest first.
fn steps_along(remote: &GitRemote, rev: &str, path: &str) -> Vec<u64> {
    remote
        .first_parent_commits(rev, "mlflow-gitops")
        .iter()
        .filter_map(|id| step(remote, id, path))
        .collect()
}

fn set_step(server: &MlflowServer, step: u64) {
    server.set_version_tag("wine", 1, "step", &step.to_string());
}

async fn replica(
    registry: &testkit::mlflow::Registry,
    bucket: &Bucket<'_>,
    remote: &GitRemote,
    work: &str,
) -> Reconciler<SqlRegistry, GixWriter> {
    let mut settings = Settings::new("qooba");
    settings.review = BTreeSet::from(["production".to_owned()]);
    builder(registry, bucket, remote, work)
        .await
        .settings(settings)
        .build()
        .expect("a reconciler")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_commit_each_change_once_and_never_undo_each_other() {
    let registry = Scenario::stepped_wine().build(Backend::Sqlite);
    let server = MlflowServer::start(&registry);
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    remote.human_commit("README.md", "# platform\n", "by a human");
    let mut a = replica(&registry, &bucket, &remote, "a").await;
    let mut b = replica(&registry, &bucket, &remote, "b").await;

    // Lockstep: each promotion, then both replicas' passes at the same time.
    const STEPS: u64 = 100;
    let mut human = None;
    for i in 1..=STEPS {
        set_step(&server, i);
        let (ra, rb) = tokio::join!(a.run_once(), b.run_once());
        let (ra, rb) = (ra.expect("replica a"), rb.expect("replica b"));
        // Both may report a commit only when they made the very same one (same tree, parent,
        // time and message: one object), which the remote then holds once.
        if let (Some(ca), Some(cb)) = (&ra.commit, &rb.commit) {
            assert_eq!(ca.id, cb.id, "step {i}: two different commits");
        }
        assert_eq!(step(&remote, "main", CHAMPION), Some(i), "step {i} on main");
        assert_eq!(
            step(&remote, BRANCH, PRODUCTION),
            Some(i),
            "step {i} under review"
        );
        if i == STEPS / 2 {
            human = Some(remote.human_commit("docs/notes.md", "notes\n", "a human's notes"));
        }
    }
    let main_steps = steps_along(&remote, "main", CHAMPION);
    assert_eq!(
        main_steps,
        (1..=STEPS).collect::<Vec<_>>(),
        "one commit per promotion, in order"
    );
    let review_steps = steps_along(&remote, BRANCH, PRODUCTION);
    assert_eq!(
        review_steps,
        (1..=STEPS).collect::<Vec<_>>(),
        "the review branch only moves forward"
    );
    assert_eq!(
        step(&remote, "main", PRODUCTION),
        None,
        "nobody merged production"
    );

    // Free running: promotions every few milliseconds while both replicas pass as fast as they
    // can; each replica's reads race the other's pushes.
    let done = AtomicBool::new(false);
    let mut last = STEPS;
    let extra = 50;
    let racing = async {
        let run = async |r: &mut Reconciler<SqlRegistry, GixWriter>| {
            while !done.load(Ordering::SeqCst) {
                r.run_once().await.expect("a pass");
            }
        };
        tokio::join!(run(&mut a), run(&mut b));
    };
    let promote = async {
        for i in STEPS + 1..=STEPS + extra {
            tokio::task::block_in_place(|| set_step(&server, i));
            last = i;
            tokio::time::sleep(std::time::Duration::from_millis(15)).await;
        }
        done.store(true, Ordering::SeqCst);
    };
    tokio::join!(racing, promote);
    a.run_once().await.expect("a settles");
    b.run_once().await.expect("b settles");
    assert_eq!(step(&remote, "main", CHAMPION), Some(last));
    assert_eq!(step(&remote, BRANCH, PRODUCTION), Some(last));
    for (rev, path) in [("main", CHAMPION), (BRANCH, PRODUCTION)] {
        let steps = steps_along(&remote, rev, path);
        assert!(
            steps.windows(2).all(|w| w[0] < w[1]),
            "{rev}: a commit undid another, or repeated it: {steps:?}"
        );
    }
    assert!(remote.is_ancestor(&human.expect("the human committed"), "main"));
    remote.fsck();
}
