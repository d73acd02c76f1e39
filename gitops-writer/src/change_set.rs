//! What the managed subtree must contain after a commit.

use std::collections::BTreeMap;

use bytes::Bytes;

use crate::path::validate;
use crate::{BlobId, Error};

/// The file mode git records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FileMode {
    /// A regular file (100644).
    #[default]
    Regular,
    /// An executable file (100755).
    Executable,
}

/// What a file holds: new bytes, or a blob the repository already has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// The bytes, shared: a caller that keeps its rendered files and the writer that keeps the
    /// last change set hold one copy between them.
    Bytes(Bytes),
    /// An existing blob, kept by id: neither read nor held in memory (a caller that knows a
    /// file is unchanged need not keep its bytes).
    Blob(BlobId),
}

/// One file's content and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileContent {
    /// The content.
    pub content: Content,
    /// The mode.
    pub mode: FileMode,
}

impl FileContent {
    /// A regular file holding `bytes`.
    pub fn bytes(bytes: impl Into<Bytes>) -> FileContent {
        FileContent {
            content: Content::Bytes(bytes.into()),
            mode: FileMode::Regular,
        }
    }

    /// A regular file holding the existing blob `id`.
    pub fn blob(id: BlobId) -> FileContent {
        FileContent {
            content: Content::Blob(id),
            mode: FileMode::Regular,
        }
    }
}

/// The complete desired content of one subtree (`prefix`) of the repository: after `apply`, the
/// subtree holds exactly these files; everything outside it is untouched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    prefix: String,
    files: BTreeMap<String, FileContent>,
}

impl ChangeSet {
    /// An empty change set for `prefix` (e.g. `deployments`): applied as is, it empties the subtree.
    pub fn new(prefix: &str) -> Result<ChangeSet, Error> {
        let prefix = prefix.trim_end_matches('/');
        validate(prefix)?;
        Ok(ChangeSet {
            prefix: prefix.to_owned(),
            files: BTreeMap::new(),
        })
    }

    /// Adds (or replaces) a regular file at `path`, relative to the prefix.
    pub fn insert(&mut self, path: &str, bytes: impl Into<Bytes>) -> Result<&mut ChangeSet, Error> {
        self.insert_with_mode(path, bytes, FileMode::Regular)
    }

    /// Adds (or replaces) a file with an explicit mode.
    pub fn insert_with_mode(
        &mut self,
        path: &str,
        bytes: impl Into<Bytes>,
        mode: FileMode,
    ) -> Result<&mut ChangeSet, Error> {
        self.insert_file(
            path,
            FileContent {
                content: Content::Bytes(bytes.into()),
                mode,
            },
        )
    }

    /// Adds (or replaces) a file holding a blob the repository already has (listed by
    /// [`GitOpsWriter::current_blobs`](crate::GitOpsWriter::current_blobs), or written by an
    /// earlier commit of this writer); applying fails with [`Error::MissingBlob`] otherwise.
    pub fn insert_blob(
        &mut self,
        path: &str,
        id: BlobId,
        mode: FileMode,
    ) -> Result<&mut ChangeSet, Error> {
        self.insert_file(
            path,
            FileContent {
                content: Content::Blob(id),
                mode,
            },
        )
    }

    /// Adds (or replaces) a file.
    pub fn insert_file(&mut self, path: &str, file: FileContent) -> Result<&mut ChangeSet, Error> {
        validate(path)?;
        // A file and a directory cannot share a name in a git tree.
        let as_dir = format!("{path}/");
        if self
            .files
            .range(as_dir.clone()..)
            .next()
            .is_some_and(|(p, _)| p.starts_with(&as_dir))
            || ancestors(path).any(|a| self.files.contains_key(a))
        {
            return Err(Error::InvalidPath {
                path: path.to_owned(),
                reason: "a file and a directory would share this name",
            });
        }
        self.files.insert(path.to_owned(), file);
        Ok(self)
    }

    /// The managed prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The files, by path relative to the prefix.
    pub fn files(&self) -> &BTreeMap<String, FileContent> {
        &self.files
    }
}

/// `a/b/c` → `a/b`, `a`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_unsafe_and_conflicting_paths() {
        assert!(ChangeSet::new("../up").is_err());
        assert!(ChangeSet::new("/abs").is_err());
        let mut set = ChangeSet::new("deployments/").unwrap();
        assert_eq!(set.prefix(), "deployments");
        set.insert("wine/production/deployment.yaml", "a").unwrap();
        assert!(
            set.insert("wine/production", "x").is_err(),
            "file over a directory"
        );
        assert!(
            set.insert("wine/production/deployment.yaml/x", "x")
                .is_err(),
            "directory over a file"
        );
        assert!(set.insert("../escape.yaml", "x").is_err());
        assert_eq!(set.files().len(), 1);
    }
}
