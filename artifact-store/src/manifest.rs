//! The completion manifest: written last, it is what makes a mirror complete.

use std::collections::BTreeMap;

use object_store::ObjectStoreExt;
use object_store::path::Path;
use serde::{Deserialize, Serialize};

use crate::{Error, Location, Result, Side};

/// File name of the manifest at the top of a mirror. Consumers that download the whole prefix
/// (KServe, Seldon) get it too; it is small and harmless next to `MLmodel`.
pub const MANIFEST_NAME: &str = ".mlflow-gitops-mirror.json";

/// One mirrored file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Size in bytes.
    pub size: u64,
    /// Hex sha256 of the content.
    pub sha256: String,
}

/// What a complete mirror holds: every file's size and sha256, by path relative to the mirror.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletionManifest {
    /// Format version (1).
    pub format: u32,
    /// The files, sorted by path.
    pub files: BTreeMap<String, FileEntry>,
}

impl CompletionManifest {
    /// A manifest of `files`.
    pub fn new(files: BTreeMap<String, FileEntry>) -> Self {
        Self { format: 1, files }
    }

    /// Total bytes.
    pub fn bytes(&self) -> u64 {
        self.files.values().map(|f| f.size).sum()
    }

    /// The manifest at the top of `location`, if there is one.
    pub async fn read(location: &Location) -> Result<Option<Self>> {
        let uri = location.uri_of(&Path::from(MANIFEST_NAME));
        match location.read(MANIFEST_NAME).await? {
            Some(bytes) => {
                let manifest: Self =
                    serde_json::from_slice(&bytes).map_err(|e| Error::BadManifest {
                        uri: uri.clone(),
                        reason: e.to_string(),
                    })?;
                if manifest.format != 1 {
                    return Err(Error::BadManifest {
                        uri,
                        reason: format!("format {} is newer than this build", manifest.format),
                    });
                }
                Ok(Some(manifest))
            }
            None => Ok(None),
        }
    }

    /// Writes the manifest at the top of `location`.
    pub(crate) async fn write(&self, location: &Location) -> Result<()> {
        let body = serde_json::to_vec_pretty(self).expect("a manifest always serializes");
        location
            .store()
            .put(&location.key(&Path::from(MANIFEST_NAME)), body.into())
            .await
            .map_err(|source| Error::Store {
                operation: "put",
                uri: location.uri_of(&Path::from(MANIFEST_NAME)),
                side: Side::Destination,
                source,
            })?;
        Ok(())
    }

    /// The first difference from `other`, for conflict messages.
    pub fn first_difference(&self, other: &Self) -> Option<String> {
        for (path, entry) in &self.files {
            match other.files.get(path) {
                None => return Some(format!("{path} missing")),
                Some(o) if o.size != entry.size => {
                    return Some(format!("{path}: {} bytes vs {}", o.size, entry.size));
                }
                Some(o) if o.sha256 != entry.sha256 => {
                    return Some(format!("{path}: content differs"));
                }
                Some(_) => {}
            }
        }
        other
            .files
            .keys()
            .find(|p| !self.files.contains_key(*p))
            .map(|p| format!("{p} is extra"))
    }
}
