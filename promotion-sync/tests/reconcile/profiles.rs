//! Serving profiles through whole passes: a registry made by MLflow whose tags name profiles, a
//! glob rule, and the pass cache and work-directory index of fresh processes seeing every change
//! of configuration (and nothing else).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use k8s_openapi::api::apps::v1::Deployment;
use manifests_core::ManifestSet;
use manifests_core::serving::Profile;
use promotion_sync::{ProfileRule, ServingConfig, Settings};
use testkit::git::GitRemote;
use testkit::s3::SeaweedFs;

use super::{FreshProcess, seed_registry};

/// `large` with `replicas`, applied by a rule to the models matching `ir*`.
fn config(replicas: i32) -> ServingConfig {
    let large = Profile {
        replicas: Some(replicas),
        ..Default::default()
    };
    let rule = ProfileRule {
        models: "ir*".into(),
        channels: None,
        profile: "large".into(),
    };
    ServingConfig::new(
        BTreeMap::from([("large".into(), large)]),
        vec![rule],
        Vec::new(),
    )
    .unwrap()
}

fn replicas(remote: &GitRemote, path: &str) -> Option<i32> {
    let text = String::from_utf8(remote.show("main", path).expect("the file")).unwrap();
    let set = ManifestSet::from_yaml(&text, path).unwrap();
    let deployment: Deployment = set.iter().next().unwrap().decode().unwrap();
    deployment.spec.unwrap().replicas
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_change_re_renders_only_its_channels_and_an_unchanged_config_is_a_no_op() {
    let registry = seed_registry();
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let cache_file = remote.scratch_path().join("last-pass.json");
    let renders = Arc::new(AtomicUsize::new(0));
    // Each pass is a fresh process with the same flags: only the serving configuration differs.
    let process = |serving: ServingConfig| {
        let fresh = FreshProcess {
            registry: &registry,
            bucket: &bucket,
            remote: &remote,
            renders: &renders,
            cache_file: &cache_file,
        };
        let mut settings = Settings::new("qooba");
        settings.serving = serving;
        async move { fresh.start("the same flags", settings).await }
    };
    let rendered = || renders.load(Ordering::SeqCst);
    let iris = "deployments/iris/staging/deployment.yaml";

    let first = process(config(2)).await.run_once().await.unwrap();
    assert_eq!(rendered(), 3);
    let commit = first.commit.expect("a first commit");
    assert!(
        commit
            .changes
            .iter()
            .any(|c| c.starts_with("iris staging: new, version 1 (run ")
                && c.ends_with(", profile large")),
        "{:?}",
        commit.changes
    );
    assert_eq!(replicas(&remote, iris), Some(2));
    assert!(
        remote
            .show("main", "deployments/iris/staging/poddisruptionbudget.yaml")
            .is_some()
    );
    let readme = String::from_utf8(remote.show("main", "deployments/README.md").unwrap()).unwrap();
    assert!(readme.contains("| profile | traffic |"), "{readme}");

    let same = process(config(2)).await.run_once().await.unwrap();
    assert!(same.unchanged_registry, "the same configuration is a no-op");
    assert_eq!(rendered(), 0);

    let changed = process(config(3)).await.run_once().await.unwrap();
    assert!(
        !changed.unchanged_registry,
        "a changed profile is no clean pass"
    );
    assert_eq!(rendered(), 1, "only the channel the profile applies to");
    let commit = changed.commit.expect("one commit");
    assert_eq!(commit.modified, [iris]);
    assert_eq!(
        commit.changes,
        ["iris staging: version 1 re-rendered, profile large"]
    );
    assert_eq!(replicas(&remote, iris), Some(3));
    let again = process(config(3)).await.run_once().await.unwrap();
    assert!(again.unchanged_registry);

    // The registered model's tag names a profile: both of its channels take it.
    registry.client(
        "client.set_registered_model_tag('ElasticnetWineModel2', 'mlflow-gitops.profile', 'large')",
    );
    let tagged = process(config(3)).await.run_once().await.unwrap();
    assert_eq!(rendered(), 2);
    let mut changes = tagged
        .commit
        .expect("the tag changes the wine model")
        .changes;
    changes.sort();
    assert_eq!(
        changes,
        [
            "ElasticnetWineModel2 champion: profile none → large",
            "ElasticnetWineModel2 production: profile none → large",
        ]
    );

    // A version tag naming a profile nobody defined: reported with the tag, the channel kept.
    registry.client("client.set_model_version_tag('iris', '1', 'mlflow-gitops.profile', 'huge')");
    let refused = process(config(3)).await.run_once().await.unwrap();
    assert!(refused.commit.is_none(), "{:?}", refused.commit);
    let problem = &refused.problems[0];
    assert_eq!((problem.model.as_str(), problem.version), ("iris", Some(1)));
    assert!(
        problem.reason.contains("mlflow-gitops.profile=huge"),
        "{problem}"
    );
    assert_eq!(problem.kept, ["staging"]);
    assert_eq!(replicas(&remote, iris), Some(3));
}
