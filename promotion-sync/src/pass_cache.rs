//! What lets a one-shot process skip a pass like the daemon does: the fingerprint of the last
//! clean pass and the remote head it left, kept in the work directory.
//!
//! It is a cache, not state: deleting it only costs one full pass. It is trusted only when the
//! registry's fingerprint, the caller's configuration identity and the remote branch head all
//! equal what was recorded, so a human commit, another writer or a changed flag makes a full pass.

use std::path::PathBuf;

use registry_reader::Fingerprint;
use serde::{Deserialize, Serialize};

/// Where the cache lives and what configuration it belongs to.
#[derive(Clone, Debug)]
pub struct PassCache {
    path: PathBuf,
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
    pub fn new(path: impl Into<PathBuf>, identity: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            identity: identity.into(),
        }
    }

    /// True when the last clean pass recorded exactly this fingerprint and head.
    pub(crate) fn matches(&self, fingerprint: &Fingerprint, head: Option<&str>) -> bool {
        let (Some(head), Ok(text)) = (head, std::fs::read(&self.path)) else {
            return false;
        };
        serde_json::from_slice::<Entry>(&text)
            .is_ok_and(|entry| entry == self.entry(fingerprint, head))
    }

    /// Records a clean pass; a failure to write only means the next pass runs in full.
    pub(crate) fn record(&self, fingerprint: &Fingerprint, head: &str) {
        let temp = self.path.with_extension("tmp");
        let written = serde_json::to_vec(&self.entry(fingerprint, head))
            .map_err(std::io::Error::other)
            .and_then(|bytes| std::fs::write(&temp, bytes))
            .and_then(|()| std::fs::rename(&temp, &self.path));
        if let Err(error) = written {
            tracing::warn!(path = %self.path.display(), %error, "cannot record the pass cache");
        }
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
