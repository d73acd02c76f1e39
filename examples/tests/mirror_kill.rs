//! `mlflow-gitops mirror` killed (SIGKILL) at growing instants: every rerun converges to exactly
//! what an uninterrupted copy makes, and a completion manifest never stands over partial data.

use std::process::{Command, Stdio};
use std::time::Duration;

use testkit::s3::{Bucket, SeaweedFs};

fn write_tree(dir: &std::path::Path) {
    for i in 0..24 {
        let path = dir.join(format!("part-{}/file-{i}.bin", i % 4));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, vec![i as u8; 64 * 1024 + i]).unwrap();
    }
    // Two files large enough for multipart uploads.
    for i in 0..2 {
        std::fs::write(
            dir.join(format!("weights-{i}.bin")),
            vec![7 + i as u8; 12 * 1024 * 1024],
        )
        .unwrap();
    }
    std::fs::write(dir.join("MLmodel"), "flavors: {}\n").unwrap();
}

fn mirror(bucket: &Bucket<'_>, src: &std::path::Path, prefix: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"));
    command
        .arg("mirror")
        .arg(src)
        .arg(bucket.uri(prefix))
        .envs(bucket.env())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn listing(bucket: &Bucket<'_>, prefix: &str) -> Vec<(String, u64)> {
    bucket
        .list(prefix)
        .into_iter()
        .map(|o| (o.path, o.size))
        .collect()
}

#[test]
fn killed_copies_converge_and_never_complete_over_partial_data() {
    let bucket = SeaweedFs::shared().bucket();
    let src = tempfile::tempdir().unwrap();
    write_tree(src.path());
    assert!(
        mirror(&bucket, src.path(), "reference")
            .status()
            .unwrap()
            .success()
    );
    let reference = listing(&bucket, "reference");
    let manifest = bucket.get("reference/.mlflow-gitops-mirror.json").unwrap();

    let mut kills = 0;
    for delay_ms in [5u64, 20, 60, 120, 200, 300, 450, 700, 1000, 1500] {
        let mut child = mirror(&bucket, src.path(), "killed").spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
        if let Some(written) = bucket.get("killed/.mlflow-gitops-mirror.json") {
            assert_eq!(
                written, manifest,
                "a manifest after a kill at {delay_ms} ms"
            );
            assert_eq!(
                listing(&bucket, "killed"),
                reference,
                "a complete mirror after a kill at {delay_ms} ms"
            );
        }
    }
    assert!(
        kills >= 3,
        "only {kills} runs were killed mid-copy: the delays need tuning"
    );
    assert!(
        mirror(&bucket, src.path(), "killed")
            .status()
            .unwrap()
            .success()
    );
    assert_eq!(listing(&bucket, "killed"), reference);
    assert_eq!(
        bucket.get("killed/.mlflow-gitops-mirror.json").unwrap(),
        manifest
    );
}
