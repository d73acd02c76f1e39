//! The writer compares the managed subtree by tree ids and walks only directories that differ.
//! This checks it against the plainest oracle, a comparison of the two file lists, on random pairs
//! of subtrees whose paths collide on purpose (a file in one becomes a directory in the other,
//! names that git sorts differently from their bytes), and checks git agrees with the result.

use std::collections::BTreeMap;

use gitops_writer::{BlobId, ChangeSet, FileMode, GitOpsWriter, GixWriter, Outcome};
use proptest::prelude::*;
use proptest::test_runner::Config;
use testkit::git::GitRemote;

use crate::common;

/// path → (content, executable).
type Files = BTreeMap<String, (String, bool)>;

/// Few names, so that sets overlap and collide: `a` and `a.b`, `a-b`, `a0` sort around `a/`.
fn files() -> impl Strategy<Value = Files> {
    let name = prop::sample::select(vec!["a", "a.b", "a-b", "a0", "b"]);
    let path = prop::collection::vec(name, 1..=3).prop_map(|parts| parts.join("/"));
    let file = (prop::sample::select(vec!["x", "y", "z\n"]), any::<bool>());
    prop::collection::vec((path, file), 0..12).prop_map(|entries| {
        let mut files = Files::new();
        for (path, (content, exec)) in entries {
            // Keep only what a change set accepts: no file where another file's directory is.
            let clashes = files
                .keys()
                .any(|p| p.starts_with(&format!("{path}/")) || path.starts_with(&format!("{p}/")));
            if !clashes {
                files.insert(path, (content.to_owned(), exec));
            }
        }
        files
    })
}

fn change_set(files: &Files) -> ChangeSet {
    let regular: Vec<(&str, &str)> = files
        .iter()
        .filter(|(_, (_, exec))| !exec)
        .map(|(path, (content, _))| (path.as_str(), content.as_str()))
        .collect();
    let mut set = common::change_set("deployments", &regular);
    for (path, (content, _)) in files.iter().filter(|(_, (_, exec))| *exec) {
        set.insert_with_mode(path, content.clone(), FileMode::Executable)
            .unwrap();
    }
    set
}

/// What the plain comparison of file lists says `apply` must report.
fn expected(old: &Files, new: &Files) -> Outcome {
    let full = |p: &String| format!("deployments/{p}");
    let added: Vec<String> = new
        .keys()
        .filter(|p| !old.contains_key(*p))
        .map(full)
        .collect();
    let modified: Vec<String> = new
        .iter()
        .filter(|(p, v)| old.get(*p).is_some_and(|o| o != *v))
        .map(|(p, _)| full(p))
        .collect();
    let removed: Vec<String> = old
        .keys()
        .filter(|p| !new.contains_key(*p))
        .map(full)
        .collect();
    if added.is_empty() && modified.is_empty() && removed.is_empty() {
        return Outcome::Unchanged;
    }
    Outcome::Committed {
        id: String::new(),
        added,
        modified,
        removed,
    }
}

/// `git ls-tree -r` of the prefix: path → (mode, blob id).
fn listed(remote: &GitRemote) -> BTreeMap<String, (String, String)> {
    remote
        .git_remote(&["ls-tree", "-r", "main", "deployments/"])
        .lines()
        .map(|line| {
            let (meta, path) = line.split_once('\t').unwrap();
            let mut meta = meta.split(' ');
            let mode = meta.next().unwrap().to_owned();
            let id = meta.nth(1).unwrap().to_owned();
            (path.to_owned(), (mode, id))
        })
        .collect()
}

proptest! {
    #![proptest_config(Config::with_cases(40))]

    #[test]
    fn the_tree_diff_agrees_with_the_file_lists(old in files(), new in files()) {
        let remote = GitRemote::new();
        // A file outside the prefix must survive both commits.
        remote.human_commit("README.md", "kept\n", "initial");
        let work = remote.scratch_path().join("w");
        let mut writer = GixWriter::open(&remote.url(), &work, "main").unwrap();
        writer.apply(&change_set(&old), &common::commit_info("old")).unwrap();
        writer.push().unwrap();

        let outcome = writer.apply(&change_set(&new), &common::commit_info("new")).unwrap();
        let outcome = match outcome {
            Outcome::Committed { added, modified, removed, .. } => {
                Outcome::Committed { id: String::new(), added, modified, removed }
            }
            unchanged => unchanged,
        };
        prop_assert_eq!(outcome, expected(&old, &new));
        writer.push().unwrap();

        let want: BTreeMap<String, (String, String)> = new
            .iter()
            .map(|(path, (content, exec))| {
                let mode = if *exec { "100755" } else { "100644" };
                let id = BlobId::of(content.as_bytes()).unwrap().to_string();
                (format!("deployments/{path}"), (mode.to_owned(), id))
            })
            .collect();
        prop_assert_eq!(listed(&remote), want);
        prop_assert_eq!(remote.show("main", "README.md"), Some(b"kept\n".to_vec()));
        // Sorted, well-formed trees (fsck --strict checks the order git requires).
        remote.fsck();
        // A fresh writer builds the very same tree: nothing to commit.
        drop(writer);
        let mut fresh = GixWriter::open(&remote.url(), &work, "main").unwrap();
        prop_assert_eq!(
            fresh.apply(&change_set(&new), &common::commit_info("again")).unwrap(),
            Outcome::Unchanged
        );
    }
}
