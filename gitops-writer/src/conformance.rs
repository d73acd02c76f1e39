//! The conformance suite every [`GitOpsWriter`] must pass, as library code (feature
//! `conformance`), in the shape of object_store's `integration` module: one public function per
//! property, each run against a real bare repository and judged through the `git` CLI, never
//! through the writer under test.
//!
//! An implementation passes when [`run_all`] returns; each check panics with what it saw
//! otherwise. A check is given a fresh remote and calls `open(remote_url, work_dir)` for every
//! writer it needs (a second process on the same remote is a second call).
//!
//! ```no_run
//! # fn main() -> Result<(), gitops_writer::Error> {
//! use gitops_writer::{GixWriter, conformance};
//!
//! conformance::run_all(&mut |url: &str, work: &std::path::Path| GixWriter::open(url, work, "main").unwrap());
//! # Ok(()) }
//! ```

use std::path::Path;

use testkit::git::GitRemote;

use crate::{ChangeSet, CommitInfo, FileMode, GitOpsWriter, Outcome, Signature};

/// Opens a writer on the remote at `url` (a `file://` URL) for the `main` branch, with its work
/// directory at `work_dir`.
pub type Open<'a, W> = dyn FnMut(&str, &Path) -> W + 'a;

/// Every check, each on its own fresh remote.
pub fn run_all<W: GitOpsWriter>(open: &mut Open<'_, W>) {
    no_change_makes_no_commit(open);
    files_not_in_the_set_are_pruned(open);
    files_outside_the_prefix_are_untouched(open);
    a_file_may_become_a_directory_and_back(open);
    executable_bits_are_kept(open);
    a_rejected_push_is_retried_without_force(open);
}

fn info(message: &str) -> CommitInfo {
    let someone = Signature {
        name: "conformance".into(),
        email: "conformance@localhost".into(),
    };
    CommitInfo {
        author: someone.clone(),
        committer: someone,
        message: message.into(),
    }
}

fn set(files: &[(&str, &str)]) -> ChangeSet {
    let mut set = ChangeSet::new("deployments").expect("a valid prefix");
    for (path, text) in files {
        set.insert(path, text.to_string()).expect("a valid path");
    }
    set
}

fn writer<W>(open: &mut Open<'_, W>, remote: &GitRemote, name: &str) -> W {
    open(&remote.url(), &remote.scratch_path().join(name))
}

/// Applies `files` and pushes; returns whether a commit was made.
fn publish<W: GitOpsWriter>(writer: &mut W, files: &[(&str, &str)], message: &str) -> bool {
    let outcome = writer
        .apply(&set(files), &info(message))
        .expect("apply succeeds");
    writer.push().expect("push succeeds");
    matches!(outcome, Outcome::Committed { .. })
}

fn text(remote: &GitRemote, path: &str) -> Option<String> {
    remote
        .show("main", path)
        .map(|bytes| String::from_utf8(bytes).expect("UTF-8 test content"))
}

/// Applying the set the subtree already holds commits nothing, in the same process or a new one.
pub fn no_change_makes_no_commit<W: GitOpsWriter>(open: &mut Open<'_, W>) {
    let remote = GitRemote::new();
    let mut first = writer(open, &remote, "first");
    let files = [("wine/production/deployment.yaml", "replicas: 1\n")];
    assert!(
        publish(&mut first, &files, "deploy"),
        "the first apply commits"
    );
    assert!(
        !publish(&mut first, &files, "again"),
        "the same set commits nothing"
    );
    drop(first);
    let mut fresh = writer(open, &remote, "fresh");
    assert!(
        !publish(&mut fresh, &files, "again"),
        "nor does a new writer"
    );
    assert_eq!(remote.log().len(), 1, "one commit on the remote");
    remote.fsck();
}

/// A file of the subtree that the set no longer holds is removed, in the same commit as the
/// rest of the change.
pub fn files_not_in_the_set_are_pruned<W: GitOpsWriter>(open: &mut Open<'_, W>) {
    let remote = GitRemote::new();
    let mut w = writer(open, &remote, "w");
    publish(
        &mut w,
        &[
            ("wine/production/a.yaml", "a\n"),
            ("iris/staging/b.yaml", "b\n"),
        ],
        "two",
    );
    assert!(publish(
        &mut w,
        &[("wine/production/a.yaml", "a2\n")],
        "one"
    ));
    assert_eq!(remote.files("main"), ["deployments/wine/production/a.yaml"]);
    assert_eq!(
        text(&remote, "deployments/wine/production/a.yaml").as_deref(),
        Some("a2\n")
    );
    assert_eq!(remote.log().len(), 2, "one commit per change");
    remote.fsck();
}

/// Files outside the prefix, written by people before and between passes, keep their content.
pub fn files_outside_the_prefix_are_untouched<W: GitOpsWriter>(open: &mut Open<'_, W>) {
    let remote = GitRemote::new();
    remote.human_commit("README.md", "# platform\n", "readme");
    remote.human_commit("deployments-other/app.yaml", "other\n", "a sibling prefix");
    let mut w = writer(open, &remote, "w");
    publish(&mut w, &[("wine/production/a.yaml", "a\n")], "deploy");
    remote.human_commit("apps/app.yaml", "app\n", "a human, between passes");
    drop(w);
    let mut w = writer(open, &remote, "w");
    publish(&mut w, &[], "remove everything managed");
    assert_eq!(
        remote.files("main"),
        ["README.md", "apps/app.yaml", "deployments-other/app.yaml"]
    );
    assert_eq!(text(&remote, "README.md").as_deref(), Some("# platform\n"));
    remote.fsck();
}

/// A path that was a file may become a directory, and a directory a file.
pub fn a_file_may_become_a_directory_and_back<W: GitOpsWriter>(open: &mut Open<'_, W>) {
    let remote = GitRemote::new();
    let mut w = writer(open, &remote, "w");
    publish(&mut w, &[("wine", "a file\n")], "file");
    publish(&mut w, &[("wine/production/a.yaml", "a\n")], "directory");
    assert_eq!(remote.files("main"), ["deployments/wine/production/a.yaml"]);
    publish(&mut w, &[("wine", "a file again\n")], "file again");
    assert_eq!(remote.files("main"), ["deployments/wine"]);
    assert_eq!(
        text(&remote, "deployments/wine").as_deref(),
        Some("a file again\n")
    );
    remote.fsck();
}

/// A file's executable bit is written as git's mode 100755, and a mode change alone commits.
pub fn executable_bits_are_kept<W: GitOpsWriter>(open: &mut Open<'_, W>) {
    let remote = GitRemote::new();
    let mut w = writer(open, &remote, "w");
    let mut files = ChangeSet::new("deployments").expect("a valid prefix");
    files
        .insert_with_mode("hooks/check.sh", "#!/bin/sh\n", FileMode::Executable)
        .expect("a valid path");
    files
        .insert("hooks/README", "hooks\n")
        .expect("a valid path");
    w.apply(&files, &info("modes")).expect("apply");
    w.push().expect("push");
    let modes = remote.git_remote(&["ls-tree", "-r", "main"]);
    assert!(
        modes.contains("100755 blob") && modes.contains("\tdeployments/hooks/check.sh"),
        "{modes}"
    );
    assert!(modes.contains("100644 blob"), "{modes}");
    let mut plain = ChangeSet::new("deployments").expect("a valid prefix");
    plain
        .insert("hooks/check.sh", "#!/bin/sh\n")
        .expect("a valid path");
    plain
        .insert("hooks/README", "hooks\n")
        .expect("a valid path");
    let outcome = w.apply(&plain, &info("not executable")).expect("apply");
    assert!(
        matches!(outcome, Outcome::Committed { .. }),
        "a mode change is a change"
    );
    w.push().expect("push");
    let modes = remote.git_remote(&["ls-tree", "-r", "main"]);
    assert!(!modes.contains("100755"), "{modes}");
    remote.fsck();
}

/// A push rejected because someone else pushed first is retried on their commit, never forced:
/// both commits are in the remote's history.
pub fn a_rejected_push_is_retried_without_force<W: GitOpsWriter>(open: &mut Open<'_, W>) {
    let remote = GitRemote::new();
    remote.human_commit("README.md", "start\n", "start");
    let mut w = writer(open, &remote, "w");
    // The writer has fetched; a human pushes before the writer's push.
    let human = remote.human_commit("NOTES.md", "human\n", "human");
    w.apply(&set(&[("wine/production/a.yaml", "a\n")]), &info("deploy"))
        .expect("apply");
    let report = w.push().expect("the push lands after a retry");
    assert!(report.pushed.is_some(), "{report:?}");
    remote.git_remote(&["merge-base", "--is-ancestor", &human, "main"]);
    assert_eq!(
        remote.files("main"),
        [
            "NOTES.md",
            "README.md",
            "deployments/wine/production/a.yaml"
        ]
    );
    let subjects: Vec<String> = remote.log().into_iter().map(|c| c.subject).collect();
    assert_eq!(
        subjects,
        ["deploy", "human", "start"],
        "linear, nothing lost"
    );
    remote.fsck();
}
