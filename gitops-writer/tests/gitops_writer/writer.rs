//! `GixWriter` on real repositories: a bare remote, humans committing with the `git` CLI, and
//! everything read back with `git log`, `git show` and `git fsck`.

use std::path::Path;
use std::time::Duration;

use gitops_writer::{
    BlobId, ChangeSet, Error, FileMode, GitCli, GitOpsWriter, GixWriter, Outcome, Pushed, Transport,
};
use testkit::git::GitRemote;

use crate::common;

use common::{change_set as set, commit_info as info};

fn writer(remote: &GitRemote, name: &str) -> GixWriter {
    GixWriter::open(&remote.url(), &remote.scratch_path().join(name), "main").expect("open writer")
}

fn show(remote: &GitRemote, path: &str) -> Option<String> {
    remote
        .show("main", path)
        .map(|b| String::from_utf8(b).unwrap())
}

#[test]
fn unchanged_set_gives_no_commit() {
    let remote = GitRemote::new();
    remote.human_commit("README.md", "# deploy repo\n", "initial");
    let mut w = writer(&remote, "w");
    let files = set(
        "deployments",
        &[
            ("wine/production/deployment.yaml", "kind: Deployment\n"),
            ("kustomization.yaml", "resources: []\n"),
        ],
    );

    let Outcome::Committed {
        added,
        modified,
        removed,
        id,
    } = w.apply(&files, &info("add wine")).unwrap()
    else {
        panic!("first apply must commit");
    };
    assert_eq!(
        added,
        vec![
            "deployments/kustomization.yaml",
            "deployments/wine/production/deployment.yaml"
        ]
    );
    assert!(modified.is_empty() && removed.is_empty());
    assert_eq!(w.push().unwrap().pushed.as_deref(), Some(id.as_str()));

    assert_eq!(w.apply(&files, &info("again")).unwrap(), Outcome::Unchanged);
    assert_eq!(w.push().unwrap().pushed, None, "nothing to push");
    let log = remote.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0].subject, "add wine");
    assert_eq!(log[0].author, "mlflow-gitops");
    assert_eq!(
        show(&remote, "README.md").as_deref(),
        Some("# deploy repo\n")
    );
    remote.fsck();
}

#[test]
fn added_modified_removed_are_exact() {
    let remote = GitRemote::new();
    let mut w = writer(&remote, "w");
    w.apply(
        &set(
            "deployments",
            &[("a.yaml", "a"), ("b/b.yaml", "b"), ("c/c.yaml", "c")],
        ),
        &info("one"),
    )
    .unwrap();
    w.push().unwrap();

    let second = set(
        "deployments",
        &[("a.yaml", "a"), ("b/b.yaml", "b2"), ("d/d.yaml", "d")],
    );
    let Outcome::Committed {
        added,
        modified,
        removed,
        ..
    } = w.apply(&second, &info("two")).unwrap()
    else {
        panic!("must commit");
    };
    assert_eq!(added, vec!["deployments/d/d.yaml"]);
    assert_eq!(modified, vec!["deployments/b/b.yaml"]);
    assert_eq!(removed, vec!["deployments/c/c.yaml"]);
    w.push().unwrap();
    assert_eq!(
        remote.files("main"),
        vec![
            "deployments/a.yaml",
            "deployments/b/b.yaml",
            "deployments/d/d.yaml"
        ]
    );
    assert_eq!(show(&remote, "deployments/b/b.yaml").as_deref(), Some("b2"));
    let dirs = remote.git_remote(&["ls-tree", "-r", "-d", "--name-only", "main"]);
    assert_eq!(
        dirs.lines().collect::<Vec<_>>(),
        vec!["deployments", "deployments/b", "deployments/d"],
        "no empty tree left"
    );
    // git's own view of the last commit agrees.
    let stat = remote.git_remote(&["show", "--name-status", "--format=", "main"]);
    assert_eq!(
        stat.lines().collect::<Vec<_>>(),
        vec![
            "M\tdeployments/b/b.yaml",
            "D\tdeployments/c/c.yaml",
            "A\tdeployments/d/d.yaml"
        ]
    );
    remote.fsck();
}

#[test]
fn files_outside_the_prefix_survive() {
    let remote = GitRemote::new();
    remote.human_commit("README.md", "readme\n", "readme");
    remote.human_commit(
        "deployments-extra/keep.yaml",
        "sibling with a shared name prefix\n",
        "sibling",
    );
    remote.human_commit("apps/other/app.yaml", "other app\n", "other");
    remote.human_commit(
        "deployments/hand-written.yaml",
        "inside the managed prefix\n",
        "hand",
    );
    let before: Vec<(String, Option<String>)> = [
        "README.md",
        "deployments-extra/keep.yaml",
        "apps/other/app.yaml",
    ]
    .iter()
    .map(|p| (p.to_string(), show(&remote, p)))
    .collect();

    let mut w = writer(&remote, "w");
    w.apply(&set("deployments", &[("m/x.yaml", "x")]), &info("managed"))
        .unwrap();
    w.push().unwrap();
    for (path, content) in before {
        assert_eq!(show(&remote, &path), content, "{path} must not change");
    }
    // The prefix is owned whole: a file there that the change set does not list is removed.
    assert_eq!(show(&remote, "deployments/hand-written.yaml"), None);

    // An empty change set empties the prefix, and nothing else.
    w.apply(&ChangeSet::new("deployments").unwrap(), &info("empty"))
        .unwrap();
    w.push().unwrap();
    assert_eq!(
        remote.files("main"),
        vec![
            "README.md",
            "apps/other/app.yaml",
            "deployments-extra/keep.yaml"
        ]
    );
    remote.fsck();
}

#[test]
fn two_writers_and_a_human_all_land_without_force() {
    let remote = GitRemote::new();
    remote.human_commit("README.md", "start\n", "start");
    let mut a = writer(&remote, "a");
    let mut b = writer(&remote, "b").with_retries(5, Duration::from_millis(10));

    a.apply(&set("team-a", &[("m.yaml", "a1")]), &info("team a"))
        .unwrap();
    a.push().unwrap();
    let human = remote.human_commit("NOTES.md", "human edit\n", "human");
    // b still builds on the head it fetched at open: its first push is rejected, then it fetches,
    // re-applies on the new head and lands.
    b.apply(&set("team-b", &[("m.yaml", "b1")]), &info("team b"))
        .unwrap();
    let report = b.push().unwrap();
    assert_eq!(report.attempts, 2, "{report:?}");

    assert_eq!(
        remote.files("main"),
        vec!["NOTES.md", "README.md", "team-a/m.yaml", "team-b/m.yaml"]
    );
    let subjects: Vec<String> = remote.log().into_iter().map(|c| c.subject).collect();
    assert_eq!(
        subjects,
        vec!["team b", "human", "team a", "start"],
        "linear, nothing lost"
    );
    remote.git_remote(&["merge-base", "--is-ancestor", &human, "main"]);
    remote.fsck();
}

#[test]
fn paths_that_escape_the_prefix_are_refused() {
    let mut files = ChangeSet::new("deployments").unwrap();
    for bad in ["../x.yaml", "/etc/x", "a/../../x", ".git/config", "a//b"] {
        assert!(
            matches!(files.insert(bad, "x"), Err(Error::InvalidPath { .. })),
            "{bad}"
        );
    }
    assert!(ChangeSet::new("..").is_err());
    assert!(ChangeSet::new("/").is_err());
}

#[test]
fn one_writer_per_work_dir() {
    let remote = GitRemote::new();
    let _first = writer(&remote, "w");
    let err = GixWriter::open(&remote.url(), &remote.scratch_path().join("w"), "main").unwrap_err();
    assert!(matches!(err, Error::Busy { .. }), "{err}");
}

/// A lock that outlives its holder for a moment (a child being started by another thread holds a
/// copy of its descriptor until it executes) is waited for, not reported as busy.
#[test]
fn a_lock_released_a_moment_later_is_waited_for() {
    let remote = GitRemote::new();
    drop(writer(&remote, "w"));
    let lock_path = remote.scratch_path().join("w").join("mlflow-gitops.lock");
    let held = std::fs::File::open(&lock_path).unwrap();
    held.lock().unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        drop(held);
    });
    let reopened = GixWriter::open(&remote.url(), &remote.scratch_path().join("w"), "main");
    release.join().unwrap();
    assert!(reopened.is_ok(), "{:?}", reopened.err());
}

/// Rejects the first `n` pushes as if another writer had moved the branch (fault injection).
struct Rejecting {
    inner: GitCli,
    rejections_left: std::sync::atomic::AtomicU32,
}

impl Transport for Rejecting {
    fn fetch(&self, git_dir: &Path, branch: &str) -> Result<bool, Error> {
        self.inner.fetch(git_dir, branch)
    }
    fn push(
        &self,
        git_dir: &Path,
        commit: &str,
        branch: &str,
        options: &[String],
    ) -> Result<Pushed, Error> {
        use std::sync::atomic::Ordering;
        if self.rejections_left.load(Ordering::SeqCst) > 0 {
            self.rejections_left.fetch_sub(1, Ordering::SeqCst);
            return Ok(Pushed::RejectedNonFastForward);
        }
        self.inner.push(git_dir, commit, branch, options)
    }
    fn fetch_prefix(
        &self,
        git_dir: &Path,
        prefix: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, Error> {
        self.inner.fetch_prefix(git_dir, prefix)
    }
    fn delete(&self, git_dir: &Path, branch: &str, expected: &str) -> Result<Pushed, Error> {
        self.inner.delete(git_dir, branch, expected)
    }
    fn remote(&self) -> &str {
        self.inner.remote()
    }
}

#[test]
fn rejected_pushes_retry_then_give_up() {
    let remote = GitRemote::new();
    let rejecting = |n: u32| Rejecting {
        inner: GitCli::new(&remote.url()).unwrap(),
        rejections_left: n.into(),
    };

    let mut patient =
        GixWriter::with_transport(rejecting(2), &remote.scratch_path().join("p"), "main")
            .unwrap()
            .with_retries(3, Duration::from_millis(5));
    patient.apply(&set("d", &[("x", "1")]), &info("x")).unwrap();
    assert_eq!(patient.push().unwrap().attempts, 3);
    assert_eq!(remote.log().len(), 1);
    drop(patient);

    let mut impatient =
        GixWriter::with_transport(rejecting(10), &remote.scratch_path().join("i"), "main")
            .unwrap()
            .with_retries(3, Duration::from_millis(5));
    impatient
        .apply(&set("d", &[("x", "2")]), &info("y"))
        .unwrap();
    let err = impatient.push().unwrap_err();
    assert!(matches!(err, Error::Contended { attempts: 3, .. }), "{err}");
    assert_eq!(remote.log().len(), 1, "nothing landed, nothing forced");
}

#[test]
fn unreachable_remote_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = GixWriter::open(
        "file:///nonexistent/remote.git",
        &dir.path().join("w"),
        "main",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("/nonexistent/remote.git"), "{err}");
}

#[test]
fn current_reads_the_managed_subtree_as_the_remote_holds_it() {
    let remote = GitRemote::new();
    let mut w = writer(&remote, "w");
    assert!(
        w.current("deployments").unwrap().is_empty(),
        "no branch yet"
    );
    remote.human_commit(
        "deployments/wine/production/deployment.yaml",
        "kind: Deployment\n",
        "by hand",
    );
    remote.human_commit("other/file.txt", "outside\n", "outside the prefix");
    w.fetch().unwrap();
    let files = w.current("deployments").unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(
        files["wine/production/deployment.yaml"],
        b"kind: Deployment\n"
    );
    // After our own push, current() is what we pushed.
    w.apply(
        &set(
            "deployments",
            &[("iris/staging/service.yaml", "kind: Service\n")],
        ),
        &info("replace"),
    )
    .unwrap();
    w.push().unwrap();
    let files = w.current("deployments").unwrap();
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["iris/staging/service.yaml"]
    );
}

/// Loose objects in the private clone (files under `objects/xx/`).
fn loose_objects(work: &Path) -> usize {
    std::fs::read_dir(work.join("repo.git/objects"))
        .unwrap()
        .map(|d| d.unwrap().path())
        .filter(|d| d.file_name().is_some_and(|n| n.len() == 2))
        .map(|d| std::fs::read_dir(d).unwrap().count())
        .sum()
}

/// Every tree of the work directory's packs lies before every blob, as in git's own packs.
fn assert_trees_before_blobs(work: &Path) {
    let pack_dir = work.join("repo.git/objects/pack");
    for entry in std::fs::read_dir(&pack_dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "idx") {
            continue;
        }
        let listing = testkit::git::git(&pack_dir, &["verify-pack", "-v", path.to_str().unwrap()]);
        // `<id> <type> <size> <size-in-pack> <offset>` per object.
        let offsets = |kind: &str| -> Vec<u64> {
            listing
                .lines()
                .map(|l| l.split_whitespace().collect::<Vec<_>>())
                .filter(|f| f.len() >= 5 && f[1] == kind)
                .map(|f| f[4].parse().unwrap())
                .collect()
        };
        let (trees, blobs) = (offsets("tree"), offsets("blob"));
        assert!(!trees.is_empty() && !blobs.is_empty(), "{listing}");
        assert!(
            trees.iter().max() < blobs.iter().min(),
            "a tree after a blob in {}",
            path.display()
        );
    }
}

#[test]
fn a_large_commit_is_written_as_one_pack_and_a_small_one_loose() {
    let remote = GitRemote::new();
    let work = remote.scratch_path().join("w");
    let mut w = writer(&remote, "w");
    // 600 files in 200 directories; every third file has the same bytes as another.
    let contents: Vec<(String, String)> = (0..600)
        .map(|i| {
            (
                format!("model-{}/stage-{}/file-{i}.yaml", i % 20, i % 10),
                format!("kind: ConfigMap\nindex: {}\n", i - i % 3),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = contents
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let files = set("deployments", &refs);
    w.apply(&files, &info("many")).unwrap();
    assert_eq!(loose_objects(&work), 0, "written as a pack");
    assert_trees_before_blobs(&work);
    w.push().unwrap();
    remote.fsck();
    for (path, content) in &contents {
        assert_eq!(
            show(&remote, &format!("deployments/{path}")).as_deref(),
            Some(content.as_str()),
            "{path}"
        );
    }
    drop(w);
    let mut fresh = writer(&remote, "fresh");
    let read = fresh.current("deployments").unwrap();
    assert_eq!(read.len(), contents.len());
    assert!(
        contents
            .iter()
            .all(|(p, c)| read.get(p).map(Vec::as_slice) == Some(c.as_bytes()))
    );

    // One changed file: a blob, 4 trees (file's dir, its parent, the prefix, the root), a commit.
    let mut one = files.clone();
    one.insert("model-1/stage-1/file-1.yaml", "changed\n")
        .unwrap();
    let fresh_work = remote.scratch_path().join("fresh");
    let loose_before = loose_objects(&fresh_work);
    fresh.apply(&one, &info("one")).unwrap();
    assert_eq!(loose_objects(&fresh_work) - loose_before, 6);
    fresh.push().unwrap();
    remote.fsck();
    assert_eq!(
        show(&remote, "deployments/model-1/stage-1/file-1.yaml").as_deref(),
        Some("changed\n")
    );
}

/// A file kept by blob id is committed without its bytes: ids come from `current_blobs`, agree
/// with git and `BlobId::of`, may be moved to another path, and an id the repository does not hold
/// is refused before anything is written.
#[test]
fn files_kept_by_blob_id() {
    let remote = GitRemote::new();
    let mut w = writer(&remote, "w");
    let files = set(
        "deployments",
        &[
            ("wine/production/deployment.yaml", "kind: Deployment\n"),
            ("wine/production/service.yaml", "kind: Service\n"),
        ],
    );
    w.apply(&files, &info("add wine")).unwrap();
    w.push().unwrap();

    let blobs = w.current_blobs("deployments").unwrap();
    let (id, mode) = blobs["wine/production/deployment.yaml"];
    assert_eq!(mode, FileMode::Regular);
    assert_eq!(id, BlobId::of(b"kind: Deployment\n").unwrap());
    let from_git = remote.git_remote(&[
        "rev-parse",
        "main:deployments/wine/production/deployment.yaml",
    ]);
    assert_eq!(id.to_string(), from_git.trim());
    assert_eq!(w.read_blob(id).unwrap(), b"kind: Deployment\n");
    assert_eq!(id.to_string().parse::<BlobId>().unwrap(), id);
    assert!(matches!(
        "xyz".parse::<BlobId>(),
        Err(Error::InvalidBlobId { .. })
    ));

    // The same content kept by id is no change at all.
    let mut kept = ChangeSet::new("deployments").unwrap();
    for (path, (id, mode)) in &blobs {
        kept.insert_blob(path, *id, *mode).unwrap();
    }
    assert_eq!(w.apply(&kept, &info("same")).unwrap(), Outcome::Unchanged);

    // Moved to a new path by id, next to new bytes.
    let mut moved = ChangeSet::new("deployments").unwrap();
    moved
        .insert_blob("wine/staging/deployment.yaml", id, FileMode::Regular)
        .unwrap()
        .insert("wine/staging/service.yaml", "kind: Service\nspec: {}\n")
        .unwrap();
    let Outcome::Committed { added, removed, .. } = w.apply(&moved, &info("move")).unwrap() else {
        panic!("a move commits");
    };
    assert_eq!(
        added,
        [
            "deployments/wine/staging/deployment.yaml",
            "deployments/wine/staging/service.yaml"
        ]
    );
    assert_eq!(removed.len(), 2);
    w.push().unwrap();
    assert_eq!(
        show(&remote, "deployments/wine/staging/deployment.yaml").as_deref(),
        Some("kind: Deployment\n")
    );

    // An id nobody wrote: refused, the remote keeps its head.
    let head = remote.git_remote(&["rev-parse", "main"]);
    let mut missing = ChangeSet::new("deployments").unwrap();
    let unknown = BlobId::of(b"never written\n").unwrap();
    missing
        .insert_blob("wine/canary/deployment.yaml", unknown, FileMode::Regular)
        .unwrap();
    match w.apply(&missing, &info("missing")) {
        Err(Error::MissingBlob { path, id }) => {
            assert_eq!(path, "wine/canary/deployment.yaml");
            assert_eq!(id, unknown.to_string());
        }
        other => panic!("expected MissingBlob, got {other:?}"),
    }
    assert_eq!(w.push().unwrap().pushed, None);
    assert_eq!(remote.git_remote(&["rev-parse", "main"]), head);
    remote.fsck();
}
