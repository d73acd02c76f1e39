//! artifact-store: 1,000 model directories (5 files × 64 KB, one nested folder) from local disk to
//! SeaweedFS, side by side in one run with `rclone copy` of the same tree to the same server, and
//! with a sequential one-file-at-a-time loop.
//!
//! Goals (issue 5): within 1.25× of rclone; ≥ 20× faster than sequential.
//!
//! On 127.0.0.1 a request costs ~2 ms of CPU shared by client and server on 2 cores, so no
//! concurrency can beat sequential by much there. The round trip of a real S3 endpoint is what
//! concurrency hides, so the sequential comparison also runs with 10 ms and 20 ms added to every
//! request (object_store's ThrottledStore in front of the same SeaweedFS).
//! Run: `cargo bench -p benches --bench mirror`. Every iteration writes to a fresh prefix, so
//! nothing is skipped as already mirrored.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use std::sync::Arc;

use artifact_store::{Location, Mirror, Resolver};
use criterion::{Criterion, criterion_group, criterion_main};
use futures::StreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path as StorePath;
use object_store::throttle::{ThrottleConfig, ThrottledStore};
use testkit::s3::{Bucket, SeaweedFs};

const MODELS: usize = 1_000;
/// Files in flight, for us and for rclone alike.
const CONCURRENCY: usize = 32;

fn write_tree(root: &Path, models: usize) {
    for m in 0..models {
        common::write_model_files(&root.join(format!("model-{m:04}")), m * 7);
    }
}

fn resolver(bucket: &Bucket<'_>) -> Resolver {
    let credentials = bucket.server().credentials();
    Resolver::default()
        .with_s3_endpoint(bucket.server().endpoint())
        .with_s3_credentials(&credentials.access_key_id, &credentials.secret_access_key)
}

struct Setup<'a> {
    bucket: Bucket<'a>,
    resolver: Resolver,
    tree: tempfile::TempDir,
    small_tree: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    run: AtomicUsize,
}

impl Setup<'_> {
    fn fresh(&self, kind: &str) -> String {
        format!("{kind}-{}", self.run.fetch_add(1, Ordering::SeqCst))
    }

    fn local(&self, dir: &Path) -> Location {
        self.resolver.resolve(dir.to_str().unwrap()).unwrap()
    }
}

/// A fresh destination prefix, optionally behind a simulated round trip per request.
fn destination(setup: &Setup<'_>, kind: &str, rtt: Option<Duration>) -> Location {
    let uri = setup.bucket.uri(&setup.fresh(kind));
    let direct = setup.resolver.resolve(&uri).unwrap();
    let Some(wait) = rtt else { return direct };
    let config = ThrottleConfig {
        wait_put_per_call: wait,
        wait_get_per_call: wait,
        wait_list_per_call: wait,
        wait_delete_per_call: wait,
        ..Default::default()
    };
    let store = Arc::new(ThrottledStore::new(direct.store().clone(), config));
    Location::new(store, direct.prefix().clone(), uri)
}

fn ours_whole_tree(setup: &Setup<'_>, tree: &Path, rtt: Option<Duration>) -> Duration {
    let dst = destination(setup, "ours", rtt);
    let src = setup.local(tree);
    let started = Instant::now();
    setup
        .runtime
        .block_on(
            Mirror::new()
                .with_concurrency(CONCURRENCY)
                .mirror(&src, &dst),
        )
        .unwrap();
    started.elapsed()
}

/// The reconciler's shape: one verified mirror (with its manifest) per model version.
fn ours_per_model(setup: &Setup<'_>) -> Duration {
    let prefix = setup.fresh("per-model");
    let jobs: Vec<(Location, Location)> = (0..MODELS)
        .map(|m| {
            let name = format!("model-{m:04}");
            let src = setup.local(&setup.tree.path().join(&name));
            let dst = setup
                .resolver
                .resolve(&setup.bucket.uri(&format!("{prefix}/{name}/1")))
                .unwrap();
            (src, dst)
        })
        .collect();
    let mirror = Mirror::new().with_concurrency(5);
    let started = Instant::now();
    setup.runtime.block_on(async {
        futures::stream::iter(jobs.iter())
            .map(|(src, dst)| mirror.mirror(src, dst))
            .buffer_unordered(CONCURRENCY / 5)
            .for_each(|r| async move {
                r.unwrap();
            })
            .await
    });
    started.elapsed()
}

fn rclone(setup: &Setup<'_>, tree: &Path) -> Duration {
    let target = format!("s3:{}/{}", setup.bucket.name(), setup.fresh("rclone"));
    let started = Instant::now();
    let status = setup
        .bucket
        .server()
        .rclone_command()
        .arg("copy")
        .arg(tree)
        .arg(&target)
        .args([
            "--transfers",
            &CONCURRENCY.to_string(),
            "--checkers",
            &CONCURRENCY.to_string(),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    started.elapsed()
}

/// The seed's way: one file at a time, each read and put before the next.
fn sequential(setup: &Setup<'_>, tree: &Path, rtt: Option<Duration>) -> Duration {
    let dst = destination(setup, "sequential", rtt);
    let files: Vec<PathBuf> = walk(tree);
    let started = Instant::now();
    setup.runtime.block_on(async {
        for file in &files {
            let relative = file.strip_prefix(tree).unwrap().to_str().unwrap();
            let key = dst.key(&StorePath::parse(relative).unwrap());
            let bytes = std::fs::read(file).unwrap();
            dst.store().put(&key, bytes.into()).await.unwrap();
        }
    });
    started.elapsed()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

fn mirror(c: &mut Criterion) {
    let bucket = SeaweedFs::shared().bucket();
    let setup = Setup {
        resolver: resolver(&bucket),
        bucket,
        tree: tempfile::tempdir().unwrap(),
        small_tree: tempfile::tempdir().unwrap(),
        runtime: tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap(),
        run: AtomicUsize::new(0),
    };
    write_tree(setup.tree.path(), MODELS);
    write_tree(setup.small_tree.path(), MODELS / 10);

    let mut group = c.benchmark_group("mirror_1000_models");
    group.sample_size(10);
    group.bench_function("artifact_store_whole_tree", |b| {
        b.iter_custom(|n| {
            (0..n)
                .map(|_| ours_whole_tree(&setup, setup.tree.path(), None))
                .sum()
        })
    });
    group.bench_function("artifact_store_per_model", |b| {
        b.iter_custom(|n| (0..n).map(|_| ours_per_model(&setup)).sum())
    });
    group.bench_function("rclone_copy", |b| {
        b.iter_custom(|n| (0..n).map(|_| rclone(&setup, setup.tree.path())).sum())
    });
    group.finish();

    // Sequential copying of 5,000 files takes minutes per sample: compared on a tenth of the tree.
    let mut group = c.benchmark_group("mirror_100_models");
    group.sample_size(10);
    let rtt = |ms| Some(Duration::from_millis(ms));
    for (name, delay) in [("", None), ("_10ms_rtt", rtt(10)), ("_20ms_rtt", rtt(20))] {
        group.bench_function(format!("artifact_store_whole_tree{name}"), |b| {
            b.iter_custom(|n| {
                (0..n)
                    .map(|_| ours_whole_tree(&setup, setup.small_tree.path(), delay))
                    .sum()
            })
        });
        group.bench_function(format!("sequential{name}"), |b| {
            b.iter_custom(|n| {
                (0..n)
                    .map(|_| sequential(&setup, setup.small_tree.path(), delay))
                    .sum()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, mirror);
criterion_main!(benches);
