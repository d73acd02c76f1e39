//! A process killed at any instant of apply/push leaves valid repositories, and the rerun
//! converges to exactly the tree of an uninterrupted run.
//!
//! The child is this test binary itself, re-run with `CRASH_CHILD` set, so the killed code is
//! the real writer.

use std::process::Command;
use std::time::Duration;

use gitops_writer::{ChangeSet, CommitInfo, GitOpsWriter, GixWriter};
use testkit::git::GitRemote;

fn big_set(version: u32) -> ChangeSet {
    numbered(2000, &format!("version: {version}"))
}

/// `count` files `model-<i>/production/deployment.yaml` whose content starts with `label`.
fn numbered(count: usize, label: &str) -> ChangeSet {
    let mut set = ChangeSet::new("deployments").unwrap();
    for i in 0..count {
        set.insert(
            &format!("model-{i:04}/production/deployment.yaml"),
            format!("{label}\nindex: {i}\n"),
        )
        .unwrap();
    }
    set
}

use crate::common;

fn info() -> CommitInfo {
    common::commit_info("sync")
}

#[test]
fn crash_child() {
    let (Ok(url), Ok(dir)) = (
        std::env::var("CRASH_CHILD_URL"),
        std::env::var("CRASH_CHILD_DIR"),
    ) else {
        return; // only meaningful when run by `killed_anywhere_converges`
    };
    let mut writer = GixWriter::open(&url, dir.as_ref(), "main").unwrap();
    writer.apply(&big_set(2), &info()).unwrap();
    writer.push().unwrap();
}

#[test]
fn killed_anywhere_converges() {
    let remote = GitRemote::new();
    let work = remote.scratch_path().join("work");
    {
        let mut writer = GixWriter::open(&remote.url(), &work, "main").unwrap();
        writer.apply(&big_set(1), &info()).unwrap();
        writer.push().unwrap();
    }
    // Kill points spread over opening, hashing, writing objects and pushing.
    let mut killed_while_running = 0;
    for delay_ms in [5, 20, 40, 80, 120, 200, 300, 450] {
        let mut child = Command::new(std::env::current_exe().unwrap())
            // The child test's path inside this test binary (module `crash`).
            .args(["--exact", "crash::crash_child", "--nocapture"])
            .env("CRASH_CHILD_URL", remote.url())
            .env("CRASH_CHILD_DIR", &work)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            killed_while_running += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        remote.fsck();
    }
    assert!(
        killed_while_running >= 6,
        "only {killed_while_running} of 8 kills hit a running writer"
    );
    // The rerun, in the same work directory, converges.
    let mut writer = GixWriter::open(&remote.url(), &work, "main").unwrap();
    writer.apply(&big_set(2), &info()).unwrap();
    writer.push().unwrap();
    assert_eq!(
        writer.apply(&big_set(2), &info()).unwrap(),
        gitops_writer::Outcome::Unchanged
    );
    assert_eq!(
        remote
            .show("main", "deployments/model-1999/production/deployment.yaml")
            .as_deref(),
        Some(&b"version: 2\nindex: 1999\n"[..])
    );
    assert_eq!(remote.files("main").len(), 2000);
    remote.fsck();
    testkit::git::git(&work.join("repo.git"), &["fsck", "--no-dangling"]);
}

/// What a process killed while creating its private clone leaves: a `repo.git` without `HEAD`,
/// or one with `HEAD` and nothing else. Both are made again; the next run works.
#[test]
fn a_half_made_private_clone_is_made_again() {
    let remote = GitRemote::new();
    remote.human_commit("README.md", "# repo\n", "by a human");
    for (case, files) in [
        ("no-head", &[("config", "[core]\n")][..]),
        ("only-head", &[("HEAD", "ref: refs/heads/main\n")][..]),
    ] {
        let work = remote.scratch_path().join(case);
        let half = work.join("repo.git");
        std::fs::create_dir_all(&half).unwrap();
        for (name, text) in files {
            std::fs::write(half.join(name), text).unwrap();
        }
        let mut writer =
            GixWriter::open(&remote.url(), &work, "main").unwrap_or_else(|e| panic!("{case}: {e}"));
        writer
            .apply(
                &common::change_set("deployments", &[(&format!("{case}.yaml"), "x")]),
                &info(),
            )
            .unwrap();
        writer.push().unwrap();
    }
    assert!(remote.show("main", "deployments/only-head.yaml").is_some());
}

/// git's automatic gc runs during a fetch once loose objects pile up; detached, it deleted loose
/// objects the writer's repository handle still looked for ("object could not be found" on the
/// next pass at 1,000 model versions). Here gc is made due at every fetch.
#[test]
fn automatic_gc_during_a_fetch_never_hides_objects() {
    let remote = GitRemote::new();
    let work = remote.scratch_path().join("w");
    for round in 0..4u32 {
        let mut writer = GixWriter::open(&remote.url(), &work, "main").unwrap();
        if round > 0 {
            assert_eq!(
                writer.current("deployments").unwrap().len(),
                300,
                "round {round}"
            );
        }
        writer
            .apply(&numbered(300, &format!("sync round: {round}")), &info())
            .unwrap();
        writer.push().unwrap();
        testkit::git::git(&work.join("repo.git"), &["config", "gc.auto", "20"]);
    }
    // A long-lived writer, as in the daemon: it never fetches again, and still gets packed.
    let long_lived = remote.scratch_path().join("daemon");
    let mut writer = GixWriter::open(&remote.url(), &long_lived, "main").unwrap();
    testkit::git::git(&long_lived.join("repo.git"), &["config", "gc.auto", "20"]);
    for round in 0..4u32 {
        writer
            .apply(&numbered(300, &format!("daemon round: {round}")), &info())
            .unwrap();
        writer.push().unwrap();
        assert_eq!(writer.current("deployments").unwrap().len(), 300);
    }
    let loose = std::fs::read_dir(long_lived.join("repo.git/objects"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().len() == 2)
        .flat_map(|dir| std::fs::read_dir(dir.unwrap().path()).unwrap())
        .count();
    assert!(
        loose < 300,
        "{loose} loose objects: the daemon's clone is never packed"
    );

    let packs = std::fs::read_dir(work.join("repo.git/objects/pack"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "pack")
        })
        .count();
    assert!(
        packs > 0,
        "git's automatic gc never ran: the test proves nothing"
    );
}
