//! promotion-sync: whole passes on a generated SQLite registry (2 promoted versions per model,
//! 5 files × 64 KB each, alias `champion` on the top version), mirrored to SeaweedFS and committed
//! to a bare git remote, at 10, 100 and 1,000 promoted versions.
//!
//! Every timed pass builds a fresh `Reconciler` (a new writer opening and fetching its clone, no
//! fingerprint cache), as a one-shot `mlflow-gitops sync` process would; only process start-up
//! (~10 ms) is left out.
//!
//! - cold: empty mirror prefix and empty remote;
//! - warm: nothing changed since the last pass; with and without the work directory's pass cache
//!   (`mlflow-gitops sync` uses it);
//! - one new promotion: one model gets a new version in Production (rows inserted as MLflow would,
//!   its 5 files written) before each timed pass; with the work directory's pass cache and
//!   directory index (as `mlflow-gitops sync`), and without (every directory read back and
//!   re-rendered).
//!
//! Goals (issue 8), against a sequential Python watcher at 1,000: cold ≥ 20× faster than 41–55 s,
//! warm < 150 ms, one new promotion < 300 ms.
//! Run: `cargo bench -p benches --bench pipeline` (`BENCH_LOG=promotion_sync=debug` logs each
//! pass's phases).

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use artifact_store::Resolver;
use criterion::{Criterion, criterion_group, criterion_main};
use gitops_writer::GixWriter;
use manifests_core::MlflowServe;
use promotion_sync::{PassCache, Reconciler, Settings};
use registry_reader::SqlRegistry;
use testkit::databases::Backend;
use testkit::git::GitRemote;
use testkit::mlflow::Registry;
use testkit::s3::{Bucket, SeaweedFs};

fn write_version(root: &Path, model: &str, version: u32) {
    common::write_model_files(
        &root.join(model).join(version.to_string()).join("artifacts"),
        version as usize,
    );
}

fn resolver(bucket: &Bucket<'_>) -> Arc<Resolver> {
    let credentials = bucket.server().credentials();
    Arc::new(
        Resolver::default()
            .with_s3_endpoint(bucket.server().endpoint())
            .with_s3_credentials(&credentials.access_key_id, &credentials.secret_access_key),
    )
}

struct Fixture<'a> {
    registry: Registry,
    storage: tempfile::TempDir,
    bucket: Bucket<'a>,
    runtime: tokio::runtime::Runtime,
    run: AtomicUsize,
    next_version: AtomicU32,
}

impl Fixture<'_> {
    /// One pass as a fresh process would run it; returns its time and whether it committed.
    fn pass(&self, remote: &GitRemote, work: &str, mirror: &str) -> (Duration, bool) {
        self.pass_with(remote, work, mirror, None)
    }

    /// A pass that may use the work directory's pass cache, as `mlflow-gitops sync` does.
    fn pass_with(
        &self,
        remote: &GitRemote,
        work: &str,
        mirror: &str,
        cache: Option<PassCache>,
    ) -> (Duration, bool) {
        self.pass_serving(remote, work, mirror, cache, MlflowServe::default())
    }

    /// A pass serving with `target`.
    fn pass_serving(
        &self,
        remote: &GitRemote,
        work: &str,
        mirror: &str,
        cache: Option<PassCache>,
        target: MlflowServe,
    ) -> (Duration, bool) {
        self.runtime.block_on(async {
            let started = Instant::now();
            let reader = SqlRegistry::connect(&self.registry.backend_store_uri())
                .await
                .unwrap();
            let writer =
                GixWriter::open(&remote.url(), &remote.scratch_path().join(work), "main").unwrap();
            let mut builder = Reconciler::builder(reader, writer, self.bucket.uri(mirror))
                .target(Box::new(target))
                .resolver(resolver(&self.bucket))
                .settings(Settings::new("bench"));
            if let Some(cache) = cache {
                builder = builder.cache(cache);
            }
            let mut sync = builder.build().unwrap();
            let report = sync.run_once().await.unwrap();
            assert!(report.problems.is_empty(), "{:?}", report.problems);
            (started.elapsed(), report.commit.is_some())
        })
    }
}

fn pipeline(c: &mut Criterion) {
    // BENCH_LOG=promotion_sync=debug prints each pass's phases (registry, read_repo, mirror…).
    if let Ok(filter) = std::env::var("BENCH_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    for promoted in [10u32, 100, 1_000] {
        let models = promoted / 2;
        let storage = tempfile::tempdir().unwrap();
        let root = format!("file://{}", storage.path().display());
        let registry = testkit::bulk::bulk_registry_at(Backend::Sqlite, models, 2, &root);
        for m in 0..models {
            for v in 1..=2 {
                write_version(storage.path(), &format!("model-{m:05}"), v);
            }
        }
        let fixture = Fixture {
            registry,
            storage,
            bucket: SeaweedFs::shared().bucket(),
            runtime: tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .unwrap(),
            run: AtomicUsize::new(0),
            next_version: AtomicU32::new(3),
        };
        let mut group = c.benchmark_group(format!("pipeline_{promoted}_promoted"));
        group.sample_size(10);

        group.bench_function("cold", |b| {
            b.iter_custom(|n| {
                (0..n)
                    .map(|_| {
                        let remote = GitRemote::new();
                        let mirror = format!("cold-{}", fixture.run.fetch_add(1, Ordering::SeqCst));
                        let (time, committed) = fixture.pass(&remote, "work", &mirror);
                        assert!(committed);
                        time
                    })
                    .sum()
            })
        });

        let remote = GitRemote::new();
        assert!(
            fixture.pass(&remote, "work", "steady").1,
            "the first pass commits"
        );
        group.bench_function("warm", |b| {
            b.iter_custom(|n| {
                (0..n)
                    .map(|_| {
                        let (time, committed) = fixture.pass(&remote, "work", "steady");
                        assert!(!committed, "nothing changed");
                        time
                    })
                    .sum()
            })
        });

        let cache = || {
            Some(PassCache::new(
                remote.scratch_path().join("last-pass.json"),
                "bench",
            ))
        };
        fixture.pass_with(&remote, "work", "steady", cache());
        group.bench_function("warm_with_pass_cache", |b| {
            b.iter_custom(|n| {
                (0..n)
                    .map(|_| {
                        let (time, committed) =
                            fixture.pass_with(&remote, "work", "steady", cache());
                        assert!(!committed, "nothing changed");
                        time
                    })
                    .sum()
            })
        });

        // With a package index, a fresh process reads every served version's MLmodel and
        // requirements once (what its pods install is not in git): the cost of a restart.
        let installing = MlflowServe {
            package_index: Some("https://pypi.example.com/simple".into()),
            ..MlflowServe::default()
        };
        let installing_remote = GitRemote::new();
        let first = fixture.pass_serving(
            &installing_remote,
            "work",
            "steady",
            None,
            installing.clone(),
        );
        assert!(first.1, "the first pass commits");
        group.bench_function("warm_with_package_index", |b| {
            b.iter_custom(|n| {
                (0..n)
                    .map(|_| {
                        let (time, committed) = fixture.pass_serving(
                            &installing_remote,
                            "work",
                            "steady",
                            None,
                            installing.clone(),
                        );
                        assert!(!committed, "nothing changed");
                        time
                    })
                    .sum()
            })
        });

        // One new promotion, with the work directory's pass cache and directory index (what
        // `mlflow-gitops sync` does) and without (every directory read back and re-rendered).
        for (name, with_cache) in [
            ("one_new_promotion", true),
            ("one_new_promotion_no_cache", false),
        ] {
            group.bench_function(name, |b| {
                b.iter_custom(|n| {
                    (0..n)
                        .map(|_| {
                            let version = fixture.next_version.fetch_add(1, Ordering::SeqCst);
                            write_version(fixture.storage.path(), "model-00000", version);
                            let root = format!("file://{}", fixture.storage.path().display());
                            testkit::bulk::promote_new_version(
                                &fixture.registry,
                                "model-00000",
                                version,
                                &root,
                            );
                            let cache = if with_cache { cache() } else { None };
                            let (time, committed) =
                                fixture.pass_with(&remote, "work", "steady", cache);
                            assert!(committed, "the promotion commits");
                            time
                        })
                        .sum()
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
