//! What lets a one-shot process work like the daemon does, kept in the work directory:
//!
//! - the fingerprint of the last clean pass and the remote head it left, to skip a pass when
//!   neither changed;
//! - an index of the published deployment directories (their files' blob ids, what each serves
//!   and the key of what it was rendered from), so a pass after one promotion neither reads nor
//!   re-renders the directories that did not change.
//!
//! It is a cache, not state: deleting it only costs one full pass. The first part is trusted only
//! when the registry's fingerprint, the caller's configuration identity and the remote branch head
//! all equal what was recorded, so a human commit, another writer or a changed flag makes a full
//! pass. The index is keyed by content: an entry counts only for a directory that holds exactly
//! its blobs, under the same configuration identity.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gitops_writer::{BlobId, Content, FileContent};
use registry_reader::Fingerprint;
use serde::{Deserialize, Serialize};

use crate::layout::{CurrentDir, Deployed, RenderKey};

/// Where the cache lives and what configuration it belongs to.
#[derive(Clone, Debug)]
pub struct PassCache {
    path: PathBuf,
    /// The hash of the configuration identity ("" when it could not be hashed: never trusted).
    identity: String,
}

#[derive(Serialize, Deserialize, PartialEq, Eq)]
struct Entry {
    fingerprint: String,
    identity: String,
    head: String,
}

impl PassCache {
    /// A cache in `path` for the configuration named by `identity` (anything that changes the
    /// output: flags, target settings, program version).
    ///
    /// Only a hash of `identity` is written, so it may hold anything that shapes the output,
    /// URIs with credentials included.
    pub fn new(path: impl Into<PathBuf>, identity: impl AsRef<str>) -> Self {
        let identity = BlobId::of(identity.as_ref().as_bytes())
            .map(|id| id.to_string())
            // Only crafted SHA-1 collisions fail to hash: such an identity never matches.
            .unwrap_or_default();
        Self {
            path: path.into(),
            identity,
        }
    }

    /// True when the last clean pass recorded exactly this fingerprint and head.
    pub(crate) fn matches(&self, fingerprint: &Fingerprint, head: Option<&str>) -> bool {
        let (Some(head), Ok(text)) = (head, std::fs::read(&self.path)) else {
            return false;
        };
        if self.identity.is_empty() {
            return false;
        }
        serde_json::from_slice::<Entry>(&text)
            .is_ok_and(|entry| entry == self.entry(fingerprint, head))
    }

    /// Records a clean pass; a failure to write only means the next pass runs in full.
    pub(crate) fn record(&self, fingerprint: &Fingerprint, head: &str) {
        write_json(&self.path, &self.entry(fingerprint, head));
    }

    /// The directory index, when there is one for this configuration.
    pub(crate) fn load_dirs(&self) -> Option<BTreeMap<String, CurrentDir>> {
        let text = std::fs::read(self.dirs_path()).ok()?;
        let index: DirIndex = serde_json::from_slice(&text).ok()?;
        if index.identity != self.identity || self.identity.is_empty() {
            return None;
        }
        Some(
            index
                .dirs
                .into_iter()
                .filter_map(|(dir, entry)| Some((dir, entry.into_current()?)))
                .collect(),
        )
    }

    /// Records the published directories whose render key is known and whose files are all in
    /// the repository; a failure to write only means the next process reads them from git.
    pub(crate) fn record_dirs(&self, dirs: &BTreeMap<String, CurrentDir>) {
        let index = DirIndex {
            identity: self.identity.clone(),
            dirs: dirs
                .iter()
                .filter_map(|(dir, current)| Some((dir.clone(), IndexedDir::of(current)?)))
                .collect(),
        };
        write_json(&self.dirs_path(), &index);
    }

    fn dirs_path(&self) -> PathBuf {
        self.path.with_extension("dirs.json")
    }

    /// Forgets the last pass (before a pass that may change the repository).
    pub(crate) fn clear(&self) {
        let _ = std::fs::remove_file(&self.path);
    }

    fn entry(&self, fingerprint: &Fingerprint, head: &str) -> Entry {
        Entry {
            fingerprint: fingerprint.0.iter().map(|b| format!("{b:02x}")).collect(),
            identity: self.identity.clone(),
            head: head.to_owned(),
        }
    }
}

/// The directory index as stored.
#[derive(Serialize, Deserialize)]
struct DirIndex {
    identity: String,
    dirs: BTreeMap<String, IndexedDir>,
}

/// One directory: its files' blob ids (all regular files, as the reconciler writes them), the
/// key of its render inputs and what it serves.
#[derive(Serialize, Deserialize)]
struct IndexedDir {
    files: BTreeMap<String, String>,
    rendered_from: String,
    model: String,
    channel: String,
    version: String,
    run_id: Option<String>,
    model_uri: String,
}

impl IndexedDir {
    fn of(current: &CurrentDir) -> Option<IndexedDir> {
        let (Some(deployed), Some(key)) = (&current.deployed, current.rendered_from) else {
            return None;
        };
        let files = current
            .files
            .iter()
            .map(|(name, file)| match file {
                FileContent {
                    content: Content::Blob(id),
                    mode: gitops_writer::FileMode::Regular,
                } => Some((name.clone(), id.to_string())),
                _ => None,
            })
            .collect::<Option<_>>()?;
        Some(IndexedDir {
            files,
            rendered_from: key.0.to_string(),
            model: deployed.model.clone(),
            channel: deployed.channel.clone(),
            version: deployed.version.clone(),
            run_id: deployed.run_id.clone(),
            model_uri: deployed.model_uri.clone(),
        })
    }

    fn into_current(self) -> Option<CurrentDir> {
        let files = self
            .files
            .into_iter()
            .map(|(name, id)| Some((name, FileContent::blob(id.parse::<BlobId>().ok()?))))
            .collect::<Option<_>>()?;
        Some(CurrentDir {
            deployed: Some(Deployed {
                model: self.model,
                channel: self.channel,
                version: self.version,
                run_id: self.run_id,
                model_uri: self.model_uri,
            }),
            files,
            rendered_from: Some(RenderKey(self.rendered_from.parse().ok()?)),
        })
    }
}

/// Writes `value` as JSON to `path` through a temporary file, so a reader never sees half of it;
/// a failure is logged, never fatal (the cache only saves work).
fn write_json(path: &Path, value: &impl Serialize) {
    let temp = path.with_extension("tmp");
    let written = serde_json::to_vec(value)
        .map_err(std::io::Error::other)
        .and_then(|bytes| std::fs::write(&temp, bytes))
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(error) = written {
        tracing::warn!(path = %path.display(), %error, "cannot record the pass cache");
    }
}
