//! The reconcile pass on real components: a registry made by MLflow, SeaweedFS for the mirror,
//! a bare git remote.

mod ha;
mod profiles;
mod review;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use artifact_store::{Resolver, is_complete};
use gitops_writer::GixWriter;
use manifests_core::{ManifestSet, MlflowServe, ServingSpec, ServingTarget};
use promotion_sync::{Reconciler, ReconcilerBuilder, Settings};
use registry_reader::SqlRegistry;
use testkit::databases::Backend;
use testkit::git::GitRemote;
use testkit::mlflow::{ModelSpec, Registry, Scenario, SourceSpec, VersionSpec};
use testkit::s3::{Bucket, SeaweedFs};

fn resolver(bucket: &Bucket<'_>) -> Arc<Resolver> {
    let credentials = bucket.server().credentials();
    Arc::new(
        Resolver::default()
            .with_s3_endpoint(bucket.server().endpoint())
            .with_s3_credentials(&credentials.access_key_id, &credentials.secret_access_key),
    )
}

async fn reconciler(
    registry: &Registry,
    bucket: &Bucket<'_>,
    remote: &GitRemote,
    work: &str,
) -> Reconciler<SqlRegistry, GixWriter> {
    builder(registry, bucket, remote, work)
        .await
        .build()
        .expect("a reconciler")
}

/// A reconciler on the work directory `w` that remembers clean passes in `cache`.
async fn cached_reconciler(
    registry: &Registry,
    bucket: &Bucket<'_>,
    remote: &GitRemote,
    cache: promotion_sync::PassCache,
) -> Reconciler<SqlRegistry, GixWriter> {
    let builder = builder(registry, bucket, remote, "w").await;
    builder.cache(cache).build().expect("a reconciler")
}

/// A reconciler of the seed's team on the bucket's `models` mirror, serving with MlflowServe
/// unless the caller sets another target.
async fn builder(
    registry: &Registry,
    bucket: &Bucket<'_>,
    remote: &GitRemote,
    work: &str,
) -> ReconcilerBuilder<SqlRegistry, GixWriter> {
    let reader = SqlRegistry::connect(&registry.backend_store_uri())
        .await
        .unwrap();
    let writer = GixWriter::open(&remote.url(), &remote.scratch_path().join(work), "main").unwrap();
    Reconciler::builder(reader, writer, bucket.uri("models"))
        .resolver(resolver(bucket))
        .settings(Settings::new("qooba"))
}

fn seed_registry() -> Registry {
    Scenario::new()
        .model(
            ModelSpec::new("ElasticnetWineModel2").version(
                VersionSpec::logged_model()
                    .stage("Production")
                    .alias("champion"),
            ),
        )
        .model(
            ModelSpec::new("iris").version(VersionSpec::new(SourceSpec::RunsUri).stage("Staging")),
        )
        .model(ModelSpec::new("unpromoted").version(VersionSpec::logged_model()))
        .build(Backend::Sqlite)
}

fn files_under(remote: &GitRemote, prefix: &str) -> Vec<String> {
    remote
        .files("main")
        .into_iter()
        .filter(|f| f.starts_with(prefix))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_mirrors_renders_commits_and_pushes_then_converges() {
    let registry = seed_registry();
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    remote.human_commit("README.md", "# platform repo\n", "by a human");
    let mut sync = reconciler(&registry, &bucket, &remote, "w1").await;

    let report = sync.run_once().await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.deployments, 3, "production, champion, staging");
    assert_eq!(
        report.mirrored.len(),
        2,
        "one mirror per version, shared by its channels"
    );
    let commit = report.commit.as_ref().expect("a commit");
    assert_eq!(report.pushed.as_deref(), Some(commit.id.as_str()));
    assert_eq!(commit.changes.len(), 3, "{:?}", commit.changes);

    let files = files_under(&remote, "deployments/");
    for expected in [
        "deployments/kustomization.yaml",
        "deployments/README.md",
        "deployments/iris/staging/deployment.yaml",
        "deployments/iris/staging/kustomization.yaml",
        "deployments/iris/staging/service.yaml",
        "deployments/iris/staging/virtualservice.yaml",
    ] {
        assert!(
            files.contains(&expected.to_owned()),
            "{expected} missing from {files:?}"
        );
    }
    assert!(
        files
            .iter()
            .any(|f| f.contains("/champion/deployment.yaml"))
    );
    assert!(!files.iter().any(|f| f.contains("unpromoted")));
    assert_eq!(
        remote.show("main", "README.md").unwrap(),
        b"# platform repo\n",
        "outside the prefix"
    );
    let log = remote.log();
    assert_eq!(log[0].subject, "mlflow-gitops: 3 changes in deployments/");

    // Every manifest points at a complete mirror.
    let deployment = String::from_utf8(
        remote
            .show("main", "deployments/iris/staging/deployment.yaml")
            .unwrap(),
    )
    .unwrap();
    let mirror_uri = bucket.uri("models/iris/1");
    assert!(deployment.contains(&mirror_uri), "{deployment}");
    assert!(
        is_complete(&resolver(&bucket).resolve(&mirror_uri).unwrap())
            .await
            .unwrap()
    );

    // kustomize builds the whole prefix and every object validates.
    let checkout = remote.export("main", "deployments/");
    assert_eq!(
        testkit::kube::assert_valid_kustomization(&checkout.path().join("deployments")),
        9
    );

    // Same registry: the fingerprint short-circuits; a fresh process makes no commit either.
    assert!(sync.run_once().await.unwrap().unchanged_registry);
    drop(sync);
    let mut fresh = reconciler(&registry, &bucket, &remote, "w1").await;
    let again = fresh.run_once().await.unwrap();
    assert!(
        again.commit.is_none() && again.mirrored.is_empty(),
        "{again:?}"
    );
    assert_eq!(remote.log().len(), log.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demotion_removes_the_channel_in_the_next_commit() {
    let registry = seed_registry();
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let mut sync = reconciler(&registry, &bucket, &remote, "w").await;
    sync.run_once().await.unwrap();

    registry.client("client.transition_model_version_stage('iris', '1', 'Archived')");
    let report = sync.run_once().await.unwrap();
    let commit = report.commit.expect("a commit");
    assert_eq!(commit.changes, ["iris staging: removed (was 1)"]);
    assert!(
        commit
            .removed
            .iter()
            .all(|p| p.starts_with("deployments/iris/staging/")),
        "{:?}",
        commit.removed
    );
    assert!(files_under(&remote, "deployments/iris").is_empty());
    let index = String::from_utf8(
        remote
            .show("main", "deployments/kustomization.yaml")
            .unwrap(),
    )
    .unwrap();
    assert!(!index.contains("iris"), "{index}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_version_is_reported_the_rest_sync_and_its_channel_keeps_serving() {
    let mut registry = seed_registry();
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let mut sync = reconciler(&registry, &bucket, &remote, "w").await;
    sync.run_once().await.unwrap();
    let before = remote
        .show("main", "deployments/iris/staging/deployment.yaml")
        .unwrap();

    // A new Staging version whose files do not exist, and a new good model.
    registry.extend(
        &Scenario::new()
            .model(
                ModelSpec::new("iris").version(
                    VersionSpec::new(SourceSpec::Explicit {
                        uri: "/nonexistent/model".into(),
                    })
                    .stage("Staging")
                    .archive_existing(),
                ),
            )
            .model(ModelSpec::new("wine").version(VersionSpec::logged_model().stage("Production"))),
    );
    let report = sync.run_once().await.unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let problem = &report.problems[0];
    assert_eq!((problem.model.as_str(), problem.version), ("iris", Some(2)));
    assert_eq!(problem.kept, ["staging"], "{problem}");
    assert!(problem.reason.contains("/nonexistent/model"), "{problem}");
    // The good model landed; iris staging still serves version 1.
    assert!(files_under(&remote, "deployments/wine/production/").len() >= 3);
    assert_eq!(
        remote
            .show("main", "deployments/iris/staging/deployment.yaml")
            .unwrap(),
        before
    );
    let message = remote.git_remote(&["log", "-1", "--format=%B", "main"]);
    assert!(
        message.contains("Kept as they were (1 problem):"),
        "{message}"
    );
    assert!(
        message.contains("wine production: new, version 1"),
        "{message}"
    );
    // The problem keeps the pass from being cached: the next poll tries again.
    assert!(!sync.run_once().await.unwrap().unchanged_registry);
}

/// A model directory as MLflow saves a scikit-learn model, saved with scikit-learn
/// `sklearn_version` and needing `requirements`.
fn saved_model(dir: &std::path::Path, sklearn_version: &str, requirements: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let mlmodel = format!(
        "artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.sklearn\n    python_version: 3.11.7\n  sklearn:\n    pickled_model: model.pkl\n    sklearn_version: {sklearn_version}\nmlflow_version: 3.17.2\n"
    );
    std::fs::write(dir.join("MLmodel"), mlmodel).unwrap();
    std::fs::write(dir.join("requirements.txt"), requirements).unwrap();
    std::fs::write(dir.join("model.pkl"), b"not a real pickle").unwrap();
    dir.display().to_string()
}

/// The serving image's package list is checked before any manifest changes: a version that
/// needs a package the image lacks, or was saved with another scikit-learn, is a problem naming
/// model, version and packages, and its channel keeps what it served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_the_serving_image_cannot_serve_keeps_its_channel() {
    let mut registry = seed_registry();
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let mut sync = reconciler(&registry, &bucket, &remote, "w").await;
    let first = sync.run_once().await.unwrap();
    assert!(first.problems.is_empty(), "{:?}", first.problems);
    let before = remote
        .show("main", "deployments/iris/staging/deployment.yaml")
        .unwrap();

    let models = tempfile::tempdir().unwrap();
    let needs_lightgbm = saved_model(
        &models.path().join("iris-2"),
        "1.9.1",
        "mlflow==3.17.2\nscikit-learn==1.9.1\nlightgbm==4.6.0\n",
    );
    let old_sklearn = saved_model(&models.path().join("wine-1"), "1.7.2", "mlflow==3.17.2\n");
    let fine = saved_model(
        &models.path().join("fine-1"),
        "1.9.3",
        "mlflow\nscikit-learn\n",
    );
    registry.extend(
        &Scenario::new()
            .model(
                ModelSpec::new("iris").version(
                    VersionSpec::new(SourceSpec::Explicit {
                        uri: needs_lightgbm,
                    })
                    .stage("Staging")
                    .archive_existing(),
                ),
            )
            .model(ModelSpec::new("wine").version(
                VersionSpec::new(SourceSpec::Explicit { uri: old_sklearn }).stage("Production"),
            ))
            .model(
                ModelSpec::new("fine").version(
                    VersionSpec::new(SourceSpec::Explicit { uri: fine }).stage("Production"),
                ),
            ),
    );
    let report = sync.run_once().await.unwrap();
    let mut problems = report.problems.clone();
    problems.sort_by(|a, b| a.model.cmp(&b.model));
    assert_eq!(problems.len(), 2, "{problems:?}");
    let (iris, wine) = (&problems[0], &problems[1]);
    assert_eq!((iris.model.as_str(), iris.version), ("iris", Some(2)));
    assert!(
        iris.reason.contains("lightgbm==4.6.0, not in the image"),
        "{iris}"
    );
    assert_eq!(iris.kept, ["staging"], "{iris}");
    assert_eq!((wine.model.as_str(), wine.version), ("wine", Some(1)));
    assert!(
        wine.reason
            .contains("saved with scikit-learn 1.7.2, the image has 1.9.1"),
        "{wine}"
    );
    assert!(wine.kept.is_empty(), "nothing served wine before: {wine}");
    // iris staging still serves version 1, wine is not deployed, the fine model is.
    assert_eq!(
        remote
            .show("main", "deployments/iris/staging/deployment.yaml")
            .unwrap(),
        before
    );
    assert!(files_under(&remote, "deployments/wine/").is_empty());
    assert!(!files_under(&remote, "deployments/fine/production/").is_empty());
}

/// With a package index, a version whose missing packages can be installed is deployed with the
/// environment step (the missing package, and its flavor library at the version it was saved
/// with); one that names something no index holds (a URL) still keeps its channel. The next
/// pass, with the mirror committed, renders the same step: nothing flaps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_package_index_missing_packages_are_installed_at_start() {
    let models = tempfile::tempdir().unwrap();
    let needs_toolz = saved_model(
        &models.path().join("toolz-1"),
        "1.8.0",
        "mlflow==3.17.2\nscikit-learn==1.8.0\ntoolz==1.0.0\n",
    );
    let needs_url = saved_model(
        &models.path().join("url-1"),
        "1.9.1",
        "mlflow==3.17.2\nhttps://example.com/private.whl\n",
    );
    let registry =
        Scenario::new()
            .model(ModelSpec::new("toolz").version(
                VersionSpec::new(SourceSpec::Explicit { uri: needs_toolz }).stage("Production"),
            ))
            .model(ModelSpec::new("url").version(
                VersionSpec::new(SourceSpec::Explicit { uri: needs_url }).stage("Production"),
            ))
            .build(Backend::Sqlite);
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let target = MlflowServe {
        package_index: Some("https://pypi.example.com/simple".into()),
        ..MlflowServe::default()
    };
    let mut sync = builder(&registry, &bucket, &remote, "w")
        .await
        .target(Box::new(target.clone()))
        .build()
        .unwrap();
    let report = sync.run_once().await.unwrap();
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].model, "url");
    assert!(
        report.problems[0].reason.contains("private.whl"),
        "{}",
        report.problems[0]
    );
    let text = remote
        .show("main", "deployments/toolz/production/deployment.yaml")
        .unwrap();
    let deployment: serde_json::Value = serde_saphyr::from_slice(&text).unwrap();
    let init = &deployment["spec"]["template"]["spec"]["initContainers"][0];
    let args: Vec<&str> = init["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[3..], ["toolz==1.0.0", "scikit-learn==1.8.0"], "{init}");
    assert!(files_under(&remote, "deployments/url/").is_empty());

    // A fresh process (no remembered checks) on the committed state: the same files.
    let mut again = builder(&registry, &bucket, &remote, "w2")
        .await
        .target(Box::new(target))
        .build()
        .unwrap();
    let second = again.run_once().await.unwrap();
    assert!(second.commit.is_none(), "{second:?}");
    let third = sync.run_once().await.unwrap();
    assert!(third.commit.is_none(), "{third:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_writes_nothing() {
    let registry = seed_registry();
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let mut sync = reconciler(&registry, &bucket, &remote, "w").await;
    let plan = sync.plan().await.unwrap();
    assert_eq!(plan.to_mirror.len(), 2);
    assert!(
        plan.added.contains_key("iris/staging/deployment.yaml"),
        "{:?}",
        plan.added.keys()
    );
    assert!(plan.modified.is_empty() && plan.removed.is_empty());
    assert!(bucket.list("models").is_empty(), "nothing mirrored");
    assert!(remote.log().is_empty(), "nothing committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pass_cache_skips_only_what_nobody_changed() {
    let registry = seed_registry();
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let cache_file = remote.scratch_path().join("last-pass.json");
    let cached = |identity: &str| promotion_sync::PassCache::new(&cache_file, identity);

    let mut first = cached_reconciler(&registry, &bucket, &remote, cached("a")).await;
    assert!(first.run_once().await.unwrap().commit.is_some());
    drop(first);

    // A fresh process: same registry, same remote head, same configuration: nothing to do.
    let mut again = cached_reconciler(&registry, &bucket, &remote, cached("a")).await;
    assert!(again.run_once().await.unwrap().unchanged_registry);
    drop(again);

    // Another configuration must not trust it.
    let mut other = cached_reconciler(&registry, &bucket, &remote, cached("b")).await;
    let report = other.run_once().await.unwrap();
    assert!(!report.unchanged_registry && report.commit.is_none());
    drop(other);

    // A human commit moves the head: a full pass (which finds nothing to change in the prefix).
    remote.human_commit("notes.txt", "hello\n", "a human");
    let mut after_human = cached_reconciler(&registry, &bucket, &remote, cached("b")).await;
    let report = after_human.run_once().await.unwrap();
    assert!(!report.unchanged_registry && report.commit.is_none());
    drop(after_human);

    // A registry change: a full pass that commits.
    registry.client("client.transition_model_version_stage('iris', '1', 'Archived')");
    let mut after_change = cached_reconciler(&registry, &bucket, &remote, cached("b")).await;
    assert!(after_change.run_once().await.unwrap().commit.is_some());
    drop(after_change);
    let mut settled = cached_reconciler(&registry, &bucket, &remote, cached("b")).await;
    assert!(settled.run_once().await.unwrap().unchanged_registry);
}

/// The daemon keeps what it published in memory instead of reading the repository back: after a
/// tag change, a new promotion and a human commit that moves the branch under it, its result is
/// exactly what a fresh process computes from the registry and the remote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_running_reconciler_agrees_with_a_fresh_one() {
    let mut registry = seed_registry();
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let mut daemon = reconciler(&registry, &bucket, &remote, "daemon").await;
    daemon.run_once().await.unwrap();

    registry.client("client.set_model_version_tag('iris', '1', 'owner', 'team: a')");
    let tagged = daemon.run_once().await.unwrap();
    let commit = tagged.commit.expect("the tag changes the manifests");
    assert_eq!(commit.modified.len(), 3, "{:?}", commit.modified);
    assert!(
        commit
            .modified
            .iter()
            .all(|p| p.starts_with("deployments/iris/staging/")),
        "{:?}",
        commit.modified
    );

    remote.human_commit("platform/notes.md", "hands off\n", "a human moves main");
    registry
        .extend(&Scenario::new().model(
            ModelSpec::new("wine").version(VersionSpec::logged_model().stage("Production")),
        ));
    let report = daemon.run_once().await.unwrap();
    let changes = report.commit.expect("a commit").changes;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(
        changes[0].starts_with("wine production: new, version 1"),
        "{changes:?}"
    );
    assert!(remote.show("main", "platform/notes.md").is_some());

    let mut fresh = reconciler(&registry, &bucket, &remote, "fresh").await;
    let again = fresh.run_once().await.unwrap();
    assert!(
        again.commit.is_none(),
        "a fresh process would change {:?}",
        again.commit
    );
    assert_eq!(again.deployments, report.deployments);
}

/// Counts the directories a reconciler renders (the real target does the rendering).
struct Counting {
    inner: MlflowServe,
    renders: Arc<AtomicUsize>,
}

impl ServingTarget for Counting {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn render(&self, spec: &ServingSpec) -> manifests_core::Result<ManifestSet> {
        self.renders.fetch_add(1, Ordering::SeqCst);
        self.inner.render(spec)
    }
}

/// What a test needs to start a fresh process on the same work directory, whose target counts
/// its renders.
#[derive(Clone, Copy)]
struct FreshProcess<'a> {
    registry: &'a Registry,
    bucket: &'a Bucket<'a>,
    remote: &'a GitRemote,
    renders: &'a Arc<AtomicUsize>,
    cache_file: &'a std::path::Path,
}

impl FreshProcess<'_> {
    /// A reconciler with `settings` and the pass cache of configuration `identity`; the render
    /// count starts at zero (construction renders the target's probe).
    async fn start(self, identity: &str, settings: Settings) -> Reconciler<SqlRegistry, GixWriter> {
        let target = Counting {
            inner: MlflowServe::default(),
            renders: Arc::clone(self.renders),
        };
        let sync = builder(self.registry, self.bucket, self.remote, "w")
            .await
            .target(Box::new(target))
            .settings(settings)
            .cache(promotion_sync::PassCache::new(self.cache_file, identity))
            .build()
            .expect("a reconciler");
        self.renders.store(0, Ordering::SeqCst);
        sync
    }
}

/// A fresh process with the work directory's index renders only the directories whose inputs
/// changed, and still repairs a directory someone edited; a lost or foreign index costs a full
/// render, never a wrong commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_process_renders_only_what_changed() {
    let registry = seed_registry();
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let cache_file = remote.scratch_path().join("last-pass.json");
    let index_file = remote.scratch_path().join("last-pass.dirs.json");
    let renders = Arc::new(AtomicUsize::new(0));
    let process = |identity: &'static str| {
        let fresh = FreshProcess {
            registry: &registry,
            bucket: &bucket,
            remote: &remote,
            renders: &renders,
            cache_file: &cache_file,
        };
        async move { fresh.start(identity, Settings::new("qooba")).await }
    };
    let rendered = || renders.load(Ordering::SeqCst);

    let first = process("a").await.run_once().await.unwrap();
    assert_eq!(first.deployments, 3);
    assert_eq!(rendered(), 3);
    assert!(index_file.is_file(), "the index is recorded");

    registry.client("client.set_model_version_tag('iris', '1', 'owner', 'team-a')");
    let report = process("a").await.run_once().await.unwrap();
    assert_eq!(rendered(), 1, "only iris/staging changed");
    let commit = report.commit.expect("the tag changes iris's manifests");
    assert!(
        commit
            .modified
            .iter()
            .all(|p| p.starts_with("deployments/iris/staging/") || p == "deployments/README.md"),
        "{:?}",
        commit.modified
    );

    // Someone edits one file of an unchanged directory: that directory no longer holds the
    // indexed blobs, so it is read, re-rendered and restored.
    let edited = files_under(&remote, "deployments/")
        .into_iter()
        .find(|p| p.ends_with("/production/deployment.yaml"))
        .expect("the wine model serves production");
    let pristine = remote.show("main", &edited).unwrap();
    remote.human_commit(&edited, "kind: Edited\n", "a human edits a manifest");
    let report = process("a").await.run_once().await.unwrap();
    assert_eq!(rendered(), 1, "only the edited directory");
    let commit = report.commit.expect("the edit is repaired");
    assert_eq!(commit.modified, std::slice::from_ref(&edited));
    assert_eq!(remote.show("main", &edited).unwrap(), pristine);

    // Another configuration: the index still says what each directory was rendered from, so
    // only what changed renders; then a damaged index: full renders.
    registry.client("client.set_model_version_tag('iris', '1', 'owner', 'team-c')");
    let report = process("b").await.run_once().await.unwrap();
    assert_eq!(
        rendered(),
        1,
        "render keys, not the configuration's name, decide"
    );
    assert!(report.commit.is_some());
    std::fs::write(&index_file, b"{ not json").unwrap();
    registry.client("client.set_model_version_tag('iris', '1', 'owner', 'team-d')");
    let report = process("b").await.run_once().await.unwrap();
    assert_eq!(rendered(), 3, "a damaged index is not trusted");
    assert!(report.commit.is_some());

    // What the index-driven passes left is what a fresh process without any index computes.
    let mut fresh = reconciler(&registry, &bucket, &remote, "fresh").await;
    let again = fresh.run_once().await.unwrap();
    assert!(again.commit.is_none(), "{:?}", again.commit);
}

/// A serving target that refuses one model name: here, the one of the reconciler's probe.
struct Picky(MlflowServe);

impl ServingTarget for Picky {
    fn name(&self) -> &str {
        "picky"
    }

    fn render(&self, spec: &ServingSpec) -> manifests_core::Result<ManifestSet> {
        if spec.model == "Probe Model" {
            return Err(manifests_core::Error::Invalid {
                field: "model".into(),
                reason: "not served by this target".into(),
            });
        }
        self.0.render(spec)
    }
}

/// The probe that keys the work directory's index is a sample rendering; a target that cannot
/// render it still syncs (only its index is never shared between processes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_cannot_render_the_probe_still_syncs() {
    let registry = seed_registry();
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    // A failed probe is not fatal: the helper's `expect` would fail otherwise.
    let mut sync = builder(&registry, &bucket, &remote, "w")
        .await
        .target(Box::new(Picky(MlflowServe::default())))
        .build()
        .expect("a reconciler");
    let report = sync.run_once().await.unwrap();
    assert_eq!(report.deployments, 3);
    assert!(report.commit.is_some() && report.problems.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commit_messages_link_each_served_version_in_the_mlflow_ui_when_configured() {
    let registry = seed_registry();
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let mut settings = Settings::new("qooba");
    settings.mlflow_ui_url = Some("https://mlflow.example.com/".into());
    let mut sync = builder(&registry, &bucket, &remote, "w")
        .await
        .settings(settings.clone())
        .build()
        .unwrap();
    sync.run_once().await.unwrap();
    let message = remote.git_remote(&["log", "-1", "--format=%B", "main"]);
    for link in [
        "https://mlflow.example.com/#/models/ElasticnetWineModel2/versions/1",
        "https://mlflow.example.com/#/models/iris/versions/1",
    ] {
        assert!(
            message.contains(&format!("\n  {link}\n")),
            "{link}:\n{message}"
        );
    }

    // A URL with credentials would be written into every commit: refused, naming the setting.
    for bad in ["https://user:pw@mlflow.example.com", "mlflow.example.com"] {
        settings.mlflow_ui_url = Some(bad.into());
        let err = builder(&registry, &bucket, &remote, "w2")
            .await
            .settings(settings.clone())
            .build()
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mlflow_ui_url") && !err.contains("pw"),
            "{err}"
        );
    }
}
