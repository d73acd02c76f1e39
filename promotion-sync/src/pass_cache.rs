//! What lets a one-shot process work like the daemon does, kept in the work directory:
//!
//! - the fingerprint of the last clean pass and the remote head it left, to skip a pass when
//!   neither changed;
//! - an index of the published deployment directories (their files' blob ids, what each serves
//!   and the key of what it was rendered from), so a pass after one promotion neither reads nor
//!   re-renders the directories that did not change.
//!
//! It is a cache, not state: deleting it only costs one full pass. The first part is trusted only
//! when the registry's fingerprint, the configuration identity (the caller's, and the serving
//! profiles and splits) and the remote branch head all equal what was recorded, so a human
//! commit, another writer or a changed flag makes a full pass. The index is keyed by content: an
//! entry counts only for a directory that holds exactly its blobs, and its render key names
//! every render input (the target's probe and the whole serving spec, profile included), so it
//! holds across configurations: after a profile changes, only the channels it serves re-render.

use std::borrow::Cow;
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

    /// This cache, for a configuration that also holds `more` (what the reconciler adds to the
    /// caller's identity: the serving profiles and splits).
    pub(crate) fn with_identity(mut self, more: &str) -> Self {
        if !self.identity.is_empty() {
            let both = format!("{}\n{more}", self.identity);
            self.identity = BlobId::of(both.as_bytes())
                .map(|id| id.to_string())
                .unwrap_or_default();
        }
        self
    }

    /// The directory index, when there is one in a format this program reads.
    pub(crate) fn load_dirs(&self) -> Option<BTreeMap<String, CurrentDir>> {
        let text = std::fs::read(self.dirs_path()).ok()?;
        let index: DirIndex = serde_json::from_slice(&text).ok()?;
        if index.format != INDEX_FORMAT {
            return None;
        }
        Some(
            index
                .dirs
                .into_iter()
                .map(|(dir, entry)| (dir.into_owned(), entry.into_current()))
                .collect(),
        )
    }

    /// Records the published directories whose render key is known and whose files are all in
    /// the repository; a failure to write only means the next process reads them from git.
    /// Written from borrowed views, streamed: the daemon writes it after every commit.
    pub(crate) fn record_dirs(&self, dirs: &BTreeMap<String, CurrentDir>) {
        let index = DirIndex {
            format: Cow::Borrowed(INDEX_FORMAT),
            dirs: dirs
                .iter()
                .filter_map(|(dir, current)| {
                    Some((Cow::Borrowed(dir.as_str()), IndexedDir::of(current)?))
                })
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

/// The directory index's format: an index written in another is not read.
const INDEX_FORMAT: &str = "directory index 2";

/// The directory index as stored.
#[derive(Serialize, Deserialize)]
struct DirIndex<'a> {
    format: Cow<'a, str>,
    dirs: BTreeMap<Cow<'a, str>, IndexedDir<'a>>,
}

/// One directory: its files' blob ids (all regular files, as the reconciler writes them), the
/// key of its render inputs and what it serves.
#[derive(Serialize, Deserialize)]
struct IndexedDir<'a> {
    files: BTreeMap<Cow<'a, str>, Hex>,
    rendered_from: Hex,
    model: Cow<'a, str>,
    channel: Cow<'a, str>,
    version: Cow<'a, str>,
    run_id: Option<Cow<'a, str>>,
    model_uri: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    profile: Option<Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    traffic: Option<Cow<'a, str>>,
}

impl<'a> IndexedDir<'a> {
    fn of(current: &'a CurrentDir) -> Option<IndexedDir<'a>> {
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
                } => Some((Cow::Borrowed(name), Hex(*id))),
                _ => None,
            })
            .collect::<Option<_>>()?;
        Some(IndexedDir {
            files,
            rendered_from: Hex(key.0),
            model: Cow::Borrowed(&deployed.model),
            channel: Cow::Borrowed(&deployed.channel),
            version: Cow::Borrowed(&deployed.version),
            run_id: deployed.run_id.as_deref().map(Cow::Borrowed),
            model_uri: Cow::Borrowed(&deployed.model_uri),
            profile: deployed.profile.as_deref().map(Cow::Borrowed),
            traffic: deployed.traffic.as_deref().map(Cow::Borrowed),
        })
    }

    fn into_current(self) -> CurrentDir {
        CurrentDir {
            deployed: Some(Deployed {
                model: self.model.into_owned(),
                channel: self.channel.into_owned(),
                version: self.version.into_owned(),
                run_id: self.run_id.map(Cow::into_owned),
                model_uri: self.model_uri.into_owned(),
                profile: self.profile.map(Cow::into_owned),
                traffic: self.traffic.map(Cow::into_owned),
            }),
            files: self
                .files
                .into_iter()
                .map(|(name, id)| (name.into_owned(), FileContent::blob(id.0)))
                .collect(),
            rendered_from: Some(RenderKey(self.rendered_from.0)),
        }
    }
}

/// A blob id written as its 40 hexadecimal digits, without building the string.
struct Hex(BlobId);

impl Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Hex, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        text.parse().map(Hex).map_err(serde::de::Error::custom)
    }
}

/// Writes `value` as JSON to `path` through a temporary file, so a reader never sees half of it;
/// a failure is logged, never fatal (the cache only saves work).
fn write_json(path: &Path, value: &impl Serialize) {
    let temp = path.with_extension("tmp");
    let written = std::fs::File::create(&temp)
        .and_then(|file| {
            let mut out = std::io::BufWriter::new(file);
            serde_json::to_writer(&mut out, value).map_err(std::io::Error::other)?;
            // No fsync: after a crash a torn file fails to parse and is not trusted.
            std::io::Write::flush(&mut out)
        })
        .and_then(|()| std::fs::rename(&temp, path));
    if let Err(error) = written {
        tracing::warn!(path = %path.display(), %error, "cannot record the pass cache");
    }
}
