//! The dry run: what a pass would write, as a diff of the managed prefix, without copying or
//! committing anything.

use std::collections::BTreeMap;

use gitops_writer::{BlobId, Content, FileContent, FileMode, GitOpsWriter};

use crate::Result;
use crate::layout::Files;
use crate::report::Plan;

/// The files `desired` adds, changes and removes against `current` (the prefix's blobs), with
/// their texts read from `writer` where the repository holds them.
pub(crate) fn diff(
    writer: &mut impl GitOpsWriter,
    desired: &Files,
    current: &BTreeMap<String, (BlobId, FileMode)>,
    plan: &mut Plan,
) -> Result<()> {
    for (path, file) in desired {
        let new = match &file.content {
            Content::Bytes(bytes) => BlobId::of(bytes)?,
            Content::Blob(id) => *id,
        };
        match current.get(path) {
            None => {
                plan.added.insert(path.clone(), text(writer, file)?);
            }
            Some((old, _)) if *old != new => {
                let old = text(writer, &FileContent::blob(*old))?;
                plan.modified
                    .insert(path.clone(), (old, text(writer, file)?));
            }
            Some(_) => {}
        }
    }
    for (path, (old, _)) in current {
        if !desired.contains_key(path) {
            let old = text(writer, &FileContent::blob(*old))?;
            plan.removed.insert(path.clone(), old);
        }
    }
    Ok(())
}

/// A file's text, for showing it in a plan.
fn text(writer: &mut impl GitOpsWriter, file: &FileContent) -> Result<String> {
    let bytes = match &file.content {
        Content::Bytes(bytes) => bytes.to_vec(),
        Content::Blob(id) => writer.read_blob(*id)?,
    };
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use gitops_writer::{ChangeSet, CommitInfo, GixWriter, Signature};
    use testkit::git::GitRemote;

    use super::*;

    #[test]
    fn a_plan_shows_added_changed_and_removed_files_with_their_texts() {
        let remote = GitRemote::new();
        let mut writer =
            GixWriter::open(&remote.url(), &remote.scratch_path().join("w"), "main").unwrap();
        let mut change = ChangeSet::new("deployments").unwrap();
        change
            .insert("wine/production/deployment.yaml", "v: 1\n")
            .unwrap();
        change
            .insert("wine/staging/deployment.yaml", "v: 2\n")
            .unwrap();
        change.insert("README.md", "# index\n").unwrap();
        let someone = Signature {
            name: "t".into(),
            email: "t@localhost".into(),
        };
        let info = CommitInfo {
            author: someone.clone(),
            committer: someone,
            message: "seed".into(),
        };
        writer.apply(&change, &info).unwrap();
        // What the plan compares with is the remote's head.
        writer.push().unwrap();
        let current = writer.current_blobs("deployments").unwrap();
        let kept = current["README.md"].0;

        let desired: Files = [
            ("README.md", FileContent::blob(kept)),
            (
                "wine/production/deployment.yaml",
                FileContent::bytes("v: 3\n"),
            ),
            (
                "wine/champion/deployment.yaml",
                FileContent::bytes("v: 3\n"),
            ),
        ]
        .into_iter()
        .map(|(path, file)| (path.to_owned(), file))
        .collect();
        let mut plan = Plan::default();
        diff(&mut writer, &desired, &current, &mut plan).unwrap();

        assert_eq!(
            plan.added,
            BTreeMap::from([(
                "wine/champion/deployment.yaml".to_owned(),
                "v: 3\n".to_owned()
            )])
        );
        assert_eq!(
            plan.modified,
            BTreeMap::from([(
                "wine/production/deployment.yaml".to_owned(),
                ("v: 1\n".to_owned(), "v: 3\n".to_owned())
            )])
        );
        assert_eq!(
            plan.removed,
            BTreeMap::from([(
                "wine/staging/deployment.yaml".to_owned(),
                "v: 2\n".to_owned()
            )])
        );
    }
}
