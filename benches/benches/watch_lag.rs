//! promotion-sync: watch-mode lag from a promotion to the pushed commit, with 1,000 promoted
//! versions (the registry of `pipeline`), and the process's resident memory afterwards.
//!
//! The daemon runs in-process (`promotion_sync::watch`, 2 s interval, early wake on the SQLite
//! file as `mlflow-gitops watch` does). Each sample promotes a new version (rows and files, as
//! in `pipeline`) and waits until the remote has the commit.
//!
//! Goals (issue 8): lag p50 < 1 s; daemon resident memory < 30 MB with 1,000 versions (the
//! figure printed here includes the benchmark harness and the test servers' clients).
//! Run: `cargo bench -p benches --bench watch_lag`.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use artifact_store::Resolver;
use criterion::{Criterion, criterion_group, criterion_main};
use gitops_writer::GixWriter;
use manifests_core::MlflowServe;
use promotion_sync::{Metrics, Reconciler, Settings, WatchOptions};
use registry_reader::SqlRegistry;
use testkit::databases::Backend;
use testkit::git::GitRemote;
use testkit::s3::SeaweedFs;

const PROMOTED: u32 = 1_000;

fn resident_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

fn watch_lag(c: &mut Criterion) {
    let storage = tempfile::tempdir().unwrap();
    let root = format!("file://{}", storage.path().display());
    let models = PROMOTED / 2;
    let registry = testkit::bulk::bulk_registry_at(Backend::Sqlite, models, 2, &root);
    for m in 0..models {
        for v in 1..=2u32 {
            let dir = storage
                .path()
                .join(format!("model-{m:05}"))
                .join(v.to_string())
                .join("artifacts");
            common::write_model_files(&dir, v as usize);
        }
    }
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let credentials = bucket.server().credentials();
    let resolver = Arc::new(
        Resolver::default()
            .with_s3_endpoint(bucket.server().endpoint())
            .with_s3_credentials(&credentials.access_key_id, &credentials.secret_access_key),
    );
    let uri = registry.backend_store_uri();
    let db_file = PathBuf::from(uri.strip_prefix("sqlite:///").expect("a SQLite registry"));

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    // The git writer holds gix handles that stay on one thread: the daemon gets its own.
    let daemon = std::thread::spawn({
        let resolver = Arc::clone(&resolver);
        let mirror = bucket.uri("mirror");
        let url = remote.url();
        let work = remote.scratch_path().join("work");
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let reader = SqlRegistry::connect(&uri).await.unwrap();
                let writer = GixWriter::open(&url, &work, "main").unwrap();
                let mut sync = Reconciler::builder(reader, writer, mirror)
                    .target(Box::new(MlflowServe::default()))
                    .resolver(resolver)
                    .settings(Settings::new("bench"))
                    .build()
                    .unwrap();
                let options = WatchOptions {
                    wake_file: Some(db_file),
                    ..Default::default()
                };
                let metrics = Metrics::new();
                promotion_sync::watch(
                    &mut sync,
                    &options,
                    &metrics,
                    async {
                        stopped.await.ok();
                    },
                    |r| {
                        if let Err(e) = r {
                            eprintln!("pass failed: {e}");
                        }
                    },
                )
                .await;
            });
        }
    });
    let commits = |remote: &GitRemote| remote.log().len();
    let deadline = Instant::now() + Duration::from_secs(300);
    while commits(&remote) == 0 {
        assert!(Instant::now() < deadline, "the first pass did not land");
        std::thread::sleep(Duration::from_millis(100));
    }

    let mut version = 3u32;
    let mut group = c.benchmark_group("watch_1000_promoted");
    group.sample_size(10);
    group.bench_function("promotion_to_pushed_commit", |b| {
        b.iter_custom(|n| {
            (0..n)
                .map(|_| {
                    let dir = storage
                        .path()
                        .join("model-00000")
                        .join(version.to_string())
                        .join("artifacts");
                    common::write_model_files(&dir, version as usize);
                    let before = commits(&remote);
                    let started = Instant::now();
                    testkit::bulk::promote_new_version(&registry, "model-00000", version, &root);
                    version += 1;
                    while commits(&remote) == before {
                        assert!(
                            started.elapsed() < Duration::from_secs(60),
                            "the promotion did not land"
                        );
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    started.elapsed()
                })
                .sum()
        })
    });
    group.finish();
    eprintln!("resident memory after the runs: {:.1} MB", resident_mb());
    let _ = stop.send(());
    daemon.join().unwrap();
}

criterion_group!(benches, watch_lag);
criterion_main!(benches);
