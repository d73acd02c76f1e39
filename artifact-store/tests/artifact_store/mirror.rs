//! Mirroring against the real SeaweedFS S3 server: trees, reruns, interruptions, conflicts,
//! credentials, and injected faults.

use crate::common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use artifact_store::{
    CompletionManifest, Error, Location, MANIFEST_NAME, Mirror, Progress, Resolver, Side,
    collect_garbage, is_complete,
};
use common::failing::Failing;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use testkit::s3::SeaweedFs;

fn local(dir: &std::path::Path) -> Location {
    Resolver::default().resolve(dir.to_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_model_tree_round_trips_through_s3() {
    let bucket = SeaweedFs::shared().bucket();
    let resolver = common::s3_resolver(&bucket);
    let model = tempfile::tempdir().unwrap();
    let files = common::write_model(model.path(), 1, true);

    let dst = resolver.resolve(&bucket.uri("models/wine/3")).unwrap();
    let report = Mirror::new()
        .mirror(&local(model.path()), &dst)
        .await
        .unwrap();
    assert_eq!(
        (report.files, report.uploaded, report.skipped),
        (files.len(), files.len(), 0)
    );
    assert_eq!(
        report.bytes,
        files.values().map(|c| c.len() as u64).sum::<u64>()
    );
    assert!(is_complete(&dst).await.unwrap());

    // What S3 holds, read by another client (rclone): every file, byte for byte, plus the manifest.
    let listed: Vec<String> = bucket
        .list("models/wine/3")
        .into_iter()
        .map(|o| o.path)
        .collect();
    let mut expected: Vec<String> = files
        .keys()
        .cloned()
        .chain([MANIFEST_NAME.to_owned()])
        .collect();
    expected.sort();
    assert_eq!(listed, expected);
    for (path, content) in &files {
        assert_eq!(
            &bucket.get(&format!("models/wine/3/{path}")).unwrap(),
            content,
            "{path}"
        );
    }

    // Back to local disk: the same tree.
    let back = tempfile::tempdir().unwrap();
    Mirror::new()
        .mirror(&dst, &local(back.path()))
        .await
        .unwrap();
    for (path, content) in &files {
        assert_eq!(
            &std::fs::read(back.path().join(path)).unwrap(),
            content,
            "{path}"
        );
    }

    // A rerun finds it complete and copies nothing.
    let again = Mirror::new()
        .mirror(&local(model.path()), &dst)
        .await
        .unwrap();
    assert!(again.already_complete);
    assert_eq!(again.uploaded, 0);
}

#[tokio::test]
async fn interrupted_copies_converge_to_the_uninterrupted_result() {
    let bucket = SeaweedFs::shared().bucket();
    let resolver = common::s3_resolver(&bucket);
    let model = tempfile::tempdir().unwrap();
    common::write_model(model.path(), 2, true);
    let src = local(model.path());

    let reference = resolver.resolve(&bucket.uri("reference")).unwrap();
    Mirror::new().mirror(&src, &reference).await.unwrap();
    let expected = CompletionManifest::read(&reference).await.unwrap().unwrap();

    let dst = resolver.resolve(&bucket.uri("interrupted")).unwrap();
    let mirror = Mirror::new().with_concurrency(3);
    // Drop the copy at growing points in time, like a killed daemon; sometimes it finishes.
    for cut_ms in [1u64, 5, 15, 40, 90, 200, 400] {
        let run =
            tokio::time::timeout(Duration::from_millis(cut_ms), mirror.mirror(&src, &dst)).await;
        if let Some(manifest) = CompletionManifest::read(&dst).await.unwrap() {
            // Whenever a manifest exists, every file it lists is really there and right.
            assert_eq!(manifest, expected, "manifest after a cut at {cut_ms} ms");
            for (path, entry) in &manifest.files {
                let object = bucket.get(&format!("interrupted/{path}")).unwrap();
                assert_eq!(
                    object.len() as u64,
                    entry.size,
                    "{path} after a cut at {cut_ms} ms"
                );
            }
        } else {
            assert!(run.is_err(), "an uninterrupted run must leave a manifest");
        }
    }
    let last = mirror.mirror(&src, &dst).await.unwrap();
    assert_eq!(
        CompletionManifest::read(&dst).await.unwrap().unwrap(),
        expected
    );
    let names = |prefix: &str| -> Vec<(String, u64)> {
        bucket
            .list(prefix)
            .into_iter()
            .map(|o| (o.path, o.size))
            .collect()
    };
    assert_eq!(names("interrupted"), names("reference"));
    assert!(last.uploaded <= expected.files.len());
}

#[tokio::test]
async fn a_rerun_copies_only_what_is_missing_or_different() {
    let bucket = SeaweedFs::shared().bucket();
    let resolver = common::s3_resolver(&bucket);
    let model = tempfile::tempdir().unwrap();
    let files = common::write_model(model.path(), 3, false);
    let dst = resolver.resolve(&bucket.uri("m/1")).unwrap();
    // A crashed earlier run left two right files, one wrong one of the same size, one stray, and
    // no manifest; a sibling mirror must not be touched.
    bucket.put("m/1/MLmodel", &files["MLmodel"]);
    bucket.put("m/1/conda.yaml", &files["conda.yaml"]);
    let mut wrong = files["model.pkl"].clone();
    wrong[0] ^= 0xff;
    bucket.put("m/1/model.pkl", &wrong);
    bucket.put("m/1/stray.tmp", b"left over");
    bucket.put("m/10/MLmodel", b"another version");

    let report = Mirror::new()
        .mirror(&local(model.path()), &dst)
        .await
        .unwrap();
    assert_eq!(report.skipped, 2, "{report:?}");
    assert_eq!(report.uploaded, files.len() - 2);
    assert_eq!(report.deleted, 1);
    assert_eq!(bucket.get("m/1/model.pkl").unwrap(), files["model.pkl"]);
    assert!(bucket.get("m/1/stray.tmp").is_none());
    assert_eq!(bucket.get("m/10/MLmodel").unwrap(), b"another version");
}

#[tokio::test]
async fn a_complete_mirror_with_other_content_is_a_conflict() {
    let bucket = SeaweedFs::shared().bucket();
    let resolver = common::s3_resolver(&bucket);
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    common::write_model(a.path(), 4, false);
    common::write_model(b.path(), 5, false);
    let dst = resolver.resolve(&bucket.uri("m/7")).unwrap();
    Mirror::new().mirror(&local(a.path()), &dst).await.unwrap();
    let before = bucket.get("m/7/model.pkl").unwrap();

    let err = Mirror::new()
        .mirror(&local(b.path()), &dst)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert!(err.to_string().contains(&bucket.uri("m/7")), "{err}");
    assert_eq!(
        bucket.get("m/7/model.pkl").unwrap(),
        before,
        "never overwritten"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_a_clear_error_without_the_secret() {
    let bucket = SeaweedFs::shared().bucket();
    let secret = "definitely-not-the-secret-0123456789";
    let resolver = Resolver::default()
        .with_s3_endpoint(bucket.server().endpoint())
        .with_s3_option(
            "aws_access_key_id",
            bucket.server().credentials().access_key_id.clone(),
        )
        .unwrap()
        .with_s3_option("aws_secret_access_key", secret)
        .unwrap();
    let model = tempfile::tempdir().unwrap();
    common::write_model(model.path(), 6, false);
    let dst = resolver.resolve(&bucket.uri("m/1")).unwrap();
    let started = std::time::Instant::now();
    let err = Mirror::new()
        .mirror(&local(model.path()), &dst)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&bucket.uri("m/1")), "{message}");
    assert!(
        message.contains("SignatureDoesNotMatch")
            || message.contains("denied")
            || message.contains("403"),
        "{message}"
    );
    assert!(!message.contains(secret), "{message}");
    // Refused credentials are not retried.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

fn failing_location(
    inner: Arc<dyn ObjectStore>,
    fail: impl Fn(usize, &str) -> bool + Send + Sync + 'static,
) -> (Location, Arc<Failing>) {
    let store = Arc::new(Failing::new(inner, fail));
    (
        Location::new(store.clone(), Path::from("m/1"), "failing://m/1"),
        store,
    )
}

#[tokio::test]
async fn transient_failures_are_retried_with_backoff() {
    let bucket = SeaweedFs::shared().bucket();
    let s3 = common::s3_resolver(&bucket)
        .resolve(&bucket.uri(""))
        .unwrap();
    let model = tempfile::tempdir().unwrap();
    let files = common::write_model(model.path(), 7, true);
    // Every third request to the destination fails once.
    let (dst, store) = failing_location(s3.store().clone(), |n, _| n % 3 == 0);
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let mirror = Mirror::new()
        .with_retries(5, Duration::from_millis(10))
        .with_progress(Arc::new(move |p: &Progress| {
            sink.lock().unwrap().push(p.clone())
        }));
    let report = mirror.mirror(&local(model.path()), &dst).await.unwrap();
    assert_eq!(report.uploaded, files.len());
    let retries = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, Progress::Retrying { .. }))
        .count();
    assert!(
        retries > 0 && store.requests() > files.len(),
        "{retries} retries, {} requests",
        store.requests()
    );
    for (path, content) in &files {
        assert_eq!(
            &bucket.get(&format!("m/1/{path}")).unwrap(),
            content,
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_store_failure_names_the_end_of_the_copy_it_happened_at() {
    // A source whose nth request fails: every failure is the source's, whichever request it is,
    // so a caller can skip that version instead of failing the pass for every other one.
    let source: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    for i in 0..4 {
        source
            .put(
                &Path::from(format!("m/1/file-{i}")),
                vec![i as u8; 10].into(),
            )
            .await
            .unwrap();
    }
    let mut failed = 0;
    for nth in 1.. {
        let (src, _) = failing_location(source.clone(), move |n, _| n == nth);
        let dst = Location::new(Arc::new(InMemory::new()), Path::from("m/1"), "memory://m/1");
        match Mirror::new()
            .with_retries(0, Duration::ZERO)
            .mirror(&src, &dst)
            .await
        {
            Ok(_) => break,
            Err(err) => {
                assert_eq!(err.side(), Some(Side::Source), "request {nth}: {err}");
                failed += 1;
            }
        }
    }
    assert!(
        failed >= 5,
        "the list and each of the 4 reads can fail: {failed}"
    );
}

#[tokio::test]
async fn no_manifest_is_ever_written_over_partial_data() {
    let model = tempfile::tempdir().unwrap();
    let files = common::write_model(model.path(), 8, false);
    for nth in 1..=files.len() + 2 {
        let memory: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        // The nth request fails for good (no retries): the mirror must fail and stay incomplete.
        let (dst, _) = failing_location(memory.clone(), move |n, _| n == nth);
        let result = Mirror::new()
            .with_retries(0, Duration::ZERO)
            .mirror(&local(model.path()), &dst)
            .await;
        let complete = is_complete(&Location::new(memory, Path::from("m/1"), "memory://m/1"))
            .await
            .unwrap();
        let err = result.expect_err("a failing request went unnoticed");
        assert_eq!(err.side(), Some(Side::Destination), "request {nth}: {err}");
        assert!(
            !complete,
            "a manifest was written although request {nth} failed"
        );
    }
}

#[tokio::test]
async fn uris_resolve_as_mlflow_writes_them() {
    let root = tempfile::tempdir().unwrap();
    let model_dir = root.path().join("1/models/m-abc/artifacts");
    let files = common::write_model(&model_dir, 9, false);
    let resolver =
        Resolver::default().with_artifacts_destination(format!("file://{}", root.path().display()));
    let src = resolver
        .resolve("mlflow-artifacts:/1/models/m-abc/artifacts")
        .unwrap();
    let dst = resolver.resolve("memory://mirror/m/1").unwrap();
    let report = Mirror::new().mirror(&src, &dst).await.unwrap();
    assert_eq!(report.files, files.len());

    // A source that does not exist lists no files, and resolving it creates nothing.
    let missing = root.path().join("no/such/model");
    let err = Mirror::new()
        .mirror(&local(&missing), &dst)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmptySource { .. }), "{err}");
    assert!(
        !root.path().join("no").exists(),
        "resolving or listing a source created directories"
    );
    // Relative paths with `.` and `..` resolve as a shell would.
    let relative = Resolver::default().resolve("./a/../b").unwrap();
    let here = std::env::current_dir().unwrap().join("b");
    assert_eq!(
        format!("/{}", relative.prefix()),
        here.display().to_string()
    );

    let empty = tempfile::tempdir().unwrap();
    let err = Mirror::new()
        .mirror(&local(empty.path()), &dst)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmptySource { .. }), "{err}");
    for bad in ["gs://b/x", "hdfs://n/x", "mlflow-artifacts:/x"] {
        let err = Resolver::default().resolve(bad).unwrap_err();
        assert!(err.to_string().starts_with(bad), "{err}");
    }
}

#[tokio::test]
async fn garbage_collection_keeps_referenced_and_newest_mirrors() {
    let resolver = Resolver::default();
    let model = tempfile::tempdir().unwrap();
    common::write_model(model.path(), 10, false);
    let root = resolver.resolve("memory://mirrors").unwrap();
    for version in 1..=5 {
        let dst = resolver
            .resolve(&format!("memory://mirrors/wine/{version}"))
            .unwrap();
        Mirror::new()
            .mirror(&local(model.path()), &dst)
            .await
            .unwrap();
    }
    let referenced = BTreeSet::from(["wine/2".to_owned()]);
    let report = collect_garbage(&root, &referenced, 1).await.unwrap();
    assert_eq!(report.removed, ["wine/4", "wine/3", "wine/1"]);
    for (version, kept) in [(1, false), (2, true), (3, false), (4, false), (5, true)] {
        let dst = resolver
            .resolve(&format!("memory://mirrors/wine/{version}"))
            .unwrap();
        assert_eq!(is_complete(&dst).await.unwrap(), kept, "version {version}");
    }
}
