//! Review branches for gated channels through whole passes: a registry made by MLflow, a bare
//! remote whose hook records push options, and humans who commit and merge with the git CLI.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::Deployment;
use manifests_core::ManifestSet;
use manifests_core::meta::ANNOTATION_PREFIX;
use promotion_sync::{Metrics, PassReport, ReviewState, Settings};
use testkit::databases::Backend;
use testkit::git::GitRemote;
use testkit::mlflow::{ModelSpec, Registry, Scenario, VersionSpec};
use testkit::s3::SeaweedFs;

use super::builder;

const BRANCH: &str = "mlflow-gitops/review/deployments/wine/production";
const PRODUCTION: &str = "deployments/wine/production/deployment.yaml";
const STAGING: &str = "deployments/wine/staging/deployment.yaml";

/// `wine` 1 in Production with versions 2 and 3 registered but not promoted; `iris` 1 in Staging.
fn registry() -> Registry {
    Scenario::new()
        .model(
            ModelSpec::new("wine")
                .version(VersionSpec::logged_model().stage("Production"))
                .version(VersionSpec::logged_model())
                .version(VersionSpec::logged_model()),
        )
        .model(ModelSpec::new("iris").version(VersionSpec::logged_model().stage("Staging")))
        .build(Backend::Sqlite)
}

/// The version a Deployment serves, read back from its annotation.
fn served(remote: &GitRemote, rev: &str, path: &str) -> Option<String> {
    let text = String::from_utf8(remote.show(rev, path)?).unwrap();
    let set = ManifestSet::from_yaml(&text, path).unwrap();
    let deployment: Deployment = set.iter().next().unwrap().decode().unwrap();
    let key = format!("{ANNOTATION_PREFIX}version");
    deployment.metadata.annotations?.get(&key).cloned()
}

fn states(report: &PassReport) -> Vec<(&str, ReviewState)> {
    report
        .reviews
        .iter()
        .map(|r| (r.branch.as_str(), r.state))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gated_changes_wait_on_review_branches_and_human_merges_are_kept() {
    let registry = registry();
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    remote.record_pushes();
    remote.human_commit("README.md", "# platform\n", "by a human");
    let mut settings = Settings::new("qooba");
    settings.review = BTreeSet::from(["production".to_owned()]);
    settings.push_options = vec![
        "merge_request.create".into(),
        "merge_request.target=main".into(),
    ];
    let mut sync = builder(&registry, &bucket, &remote, "w")
        .await
        .settings(settings)
        .build()
        .expect("a reconciler");
    // The dry run says which changes would wait for review, and leaves them out of the diff.
    let plan = sync.plan().await.expect("a plan");
    assert_eq!(plan.changes.len(), 1, "{:?}", plan.changes);
    assert!(plan.changes[0].starts_with("iris staging: new, version 1"));
    assert_eq!(plan.reviews.len(), 1, "{:?}", plan.reviews);
    assert!(
        plan.reviews[0].starts_with(&format!("{BRANCH}: wine production: new, version 1")),
        "{:?}",
        plan.reviews
    );
    assert!(
        plan.added
            .keys()
            .all(|path| !path.starts_with("wine/production/"))
    );
    assert!(plan.added.contains_key("iris/staging/deployment.yaml"));
    let metrics = Metrics::new();
    let mut pass = async || {
        let report = sync.run_once().await;
        metrics.record(&report, std::time::Duration::ZERO);
        report.expect("a pass")
    };

    // Production is gated: it goes to its review branch; iris staging goes to main.
    let first = pass().await;
    let commit = first.commit.as_ref().expect("the ungated change");
    assert_eq!(commit.changes.len(), 1, "{:?}", commit.changes);
    assert!(commit.changes[0].starts_with("iris staging: new, version 1"));
    assert_eq!(states(&first), [(BRANCH, ReviewState::Opened)]);
    assert!(first.reviews[0].changes[0].starts_with("wine production: new, version 1"));
    assert_eq!(
        served(&remote, "main", PRODUCTION),
        None,
        "not on main before review"
    );
    assert_eq!(served(&remote, BRANCH, PRODUCTION).as_deref(), Some("1"));
    let main_head = remote.log()[0].id.clone();
    assert_eq!(
        remote.log_of(BRANCH)[0].parents,
        [main_head],
        "based on main's new head"
    );
    let readme = String::from_utf8(remote.show(BRANCH, "deployments/README.md").unwrap()).unwrap();
    assert!(
        readme.contains("wine") && readme.contains("iris"),
        "{readme}"
    );
    let pushes = remote.pushes();
    let (to_review, to_main): (Vec<_>, Vec<_>) = pushes
        .iter()
        .partition(|p| p.refs.iter().any(|r| r.contains("mlflow-gitops/review/")));
    assert_eq!(to_review.len(), 1);
    assert_eq!(
        to_review[0].options,
        ["merge_request.create", "merge_request.target=main"]
    );
    assert!(to_main.iter().all(|p| p.options.is_empty()), "{to_main:?}");
    assert!(
        metrics
            .render()
            .contains("mlflow_gitops_pending_reviews 1\n")
    );

    // Nothing new: the pending review is looked at again (a merge changes nothing in the
    // registry), and nothing is pushed.
    let pushed = remote.pushes().len();
    let second = pass().await;
    assert!(!second.unchanged_registry);
    assert!(second.commit.is_none());
    assert_eq!(states(&second), [(BRANCH, ReviewState::Pending)]);
    assert_eq!(remote.pushes().len(), pushed);

    // A newer promotion to Production and a staging promotion in the same pass: staging lands on
    // main, the review branch gets one commit on top of its old head.
    let opened = remote.branches("mlflow-gitops/review")[BRANCH].clone();
    registry.client(
        "client.transition_model_version_stage('wine', '2', 'Production', archive_existing_versions=True)\n\
         client.transition_model_version_stage('wine', '3', 'Staging')",
    );
    let third = pass().await;
    let commit = third.commit.as_ref().expect("the staging change");
    assert_eq!(commit.changes.len(), 1, "{:?}", commit.changes);
    assert!(commit.changes[0].starts_with("wine staging: new, version 3"));
    assert_eq!(states(&third), [(BRANCH, ReviewState::Updated)]);
    assert_eq!(served(&remote, "main", STAGING).as_deref(), Some("3"));
    assert_eq!(served(&remote, "main", PRODUCTION), None);
    assert_eq!(served(&remote, BRANCH, PRODUCTION).as_deref(), Some("2"));
    assert_eq!(served(&remote, BRANCH, STAGING).as_deref(), Some("3"));
    let updated = remote.branches("mlflow-gitops/review")[BRANCH].clone();
    assert!(
        remote.is_ancestor(&opened, &updated),
        "updated, never forced"
    );

    // A human commits on main, then merges the review branch: the next pass deletes the branch
    // and commits nothing; the human's commits stay.
    let notes = remote.human_commit("docs/notes.md", "notes\n", "a human's notes");
    let merged = remote.human_merge(BRANCH);
    let fourth = pass().await;
    assert!(fourth.commit.is_none(), "{:?}", fourth.commit);
    assert_eq!(states(&fourth), [(BRANCH, ReviewState::Closed)]);
    assert!(remote.branches("mlflow-gitops/review").is_empty());
    assert_eq!(remote.log()[0].id, merged);
    assert!(remote.is_ancestor(&notes, "main"));
    assert_eq!(served(&remote, "main", PRODUCTION).as_deref(), Some("2"));
    assert!(
        metrics
            .render()
            .contains("mlflow_gitops_pending_reviews 0\n")
    );

    // Nothing pending: the next pass is a clean no-op again.
    assert!(pass().await.unchanged_registry);
    let humans = remote
        .log()
        .iter()
        .filter(|c| c.author == "Test Human")
        .count();
    assert!(humans >= 3, "every human commit is on main");
    remote.fsck();
}
