//! From URIs to stores: a [`Location`] is a store plus a key prefix inside it.

#[cfg(feature = "s3")]
mod s3;

use std::fmt;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use crate::{Error, Result};

/// A directory-like place in an object store: the store and the key prefix under it.
#[derive(Clone)]
pub struct Location {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    uri: String,
    local: bool,
}

impl Location {
    /// A location in a store the caller built (any `object_store` backend, or a decorated one).
    /// `uri` is only used in messages; pass it without credentials.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: Path, uri: impl Into<String>) -> Self {
        Self {
            store,
            prefix,
            uri: redact(&uri.into()),
            local: false,
        }
    }

    /// The directory on this machine, for a location on the local file system (a plain path or
    /// `file://` URI resolved by [`Resolver`]), with `.` and `..` already resolved by name: what a
    /// caller checks against the directories it allows reading from.
    pub fn local_path(&self) -> Option<std::path::PathBuf> {
        self.local
            .then(|| std::path::Path::new("/").join(self.prefix.as_ref()))
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The key prefix.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// The URI, without userinfo.
    pub fn uri(&self) -> &str {
        &self.uri
    }

    /// The key of `relative` under the prefix.
    pub fn key(&self, relative: &Path) -> Path {
        self.prefix.parts().chain(relative.parts()).collect()
    }

    /// The same store, one level deeper: `child("iris")` of `s3://b/models` is `s3://b/models/iris`.
    pub fn child(&self, segment: &str) -> Location {
        Location {
            store: Arc::clone(&self.store),
            prefix: self.prefix.clone().join(segment),
            uri: format!("{}/{}", self.uri.trim_end_matches('/'), segment),
            local: self.local,
        }
    }

    /// The message form of `relative` under this location.
    /// The bytes of the file at `relative` under this location; None when there is none. A
    /// failed read names the file and counts as the destination's (what is read is a mirror).
    pub async fn read(&self, relative: &str) -> Result<Option<bytes::Bytes>> {
        let relative = Path::from(relative);
        let uri = self.uri_of(&relative);
        let failed = |source| Error::Store {
            operation: "get",
            uri: uri.clone(),
            side: crate::Side::Destination,
            source,
        };
        match self.store().get(&self.key(&relative)).await {
            Ok(found) => Ok(Some(found.bytes().await.map_err(failed)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(failed(source)),
        }
    }

    pub(crate) fn uri_of(&self, relative: &Path) -> String {
        format!("{}/{}", self.uri.trim_end_matches('/'), relative)
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Location").field(&self.uri).finish()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.uri)
    }
}

/// Opens URIs as [`Location`]s, reusing one client per bucket.
///
/// - plain paths and `file://` URIs: the local file system (a destination directory is created);
/// - `s3://bucket/prefix` (feature `s3`, on by default): S3 with the usual `AWS_*` variables for
///   credentials and region, and the
///   endpoint from `MLFLOW_S3_ENDPOINT_URL` or `AWS_ENDPOINT_URL` (path-style; plain http allowed
///   when the endpoint says http), as MLflow and boto3 read them;
/// - `memory://prefix`: one in-memory store per resolver (for tests and embedding);
/// - `mlflow-artifacts:/path`: relative to the tracking server's `--artifacts-destination`, which
///   must be configured with [`with_artifacts_destination`](Self::with_artifacts_destination).
///
/// Other schemes (`gs://`, `az://`, `hdfs://`, …) are refused with a clear error.
#[derive(Default)]
pub struct Resolver {
    artifacts_destination: Option<String>,
    #[cfg(feature = "s3")]
    s3: s3::S3Clients,
    memory: Arc<InMemory>,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Resolver");
        #[cfg(feature = "s3")]
        debug.field("endpoint", &self.s3.endpoint);
        debug
            .field("artifacts_destination", &self.artifacts_destination)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// A resolver reading the S3 endpoint from `MLFLOW_S3_ENDPOINT_URL`, else `AWS_ENDPOINT_URL`.
    pub fn from_env() -> Self {
        Self {
            #[cfg(feature = "s3")]
            s3: s3::S3Clients::from_env(),
            ..Self::default()
        }
    }

    /// Sets the S3 endpoint explicitly (overrides the environment).
    #[cfg(feature = "s3")]
    pub fn with_s3_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.s3.endpoint = Some(endpoint.into());
        self
    }

    /// Sets one S3 option by its object_store name (`aws_access_key_id`, `aws_secret_access_key`,
    /// `aws_region`, …), over what the environment says. For services that get credentials from
    /// their own secret store; the value never appears in messages.
    #[cfg(feature = "s3")]
    pub fn with_s3_option(mut self, key: &str, value: impl Into<String>) -> Result<Self> {
        self.s3.set_option(key, value.into())?;
        Ok(self)
    }

    /// Sets the S3 key pair explicitly, over the `AWS_*` variables (for services whose own secret
    /// store holds it); the secret never appears in messages.
    #[cfg(feature = "s3")]
    pub fn with_s3_credentials(mut self, access_key_id: &str, secret_access_key: &str) -> Self {
        self.s3.set_credentials(access_key_id, secret_access_key);
        self
    }

    /// The MLflow server's `--artifacts-destination`, needed for `mlflow-artifacts:/` URIs.
    pub fn with_artifacts_destination(mut self, uri: impl Into<String>) -> Self {
        self.artifacts_destination = Some(uri.into());
        self
    }

    /// Opens `uri`.
    pub fn resolve(&self, uri: &str) -> Result<Location> {
        if has_userinfo(uri) {
            // Nothing here reads credentials from a URI, and a store's own parse errors would
            // quote them back in full.
            return Err(Error::Unsupported {
                uri: redact(uri),
                reason: "credentials in the URI are not used: give them by environment (AWS_*) \
                         or a Secret"
                    .into(),
            });
        }
        if let Some(rest) = uri.strip_prefix("mlflow-artifacts:") {
            // `mlflow-artifacts://host:port/path` names a server; only the path maps to the root.
            let path = match rest.strip_prefix("//") {
                Some(authority_and_path) => authority_and_path
                    .split_once('/')
                    .map_or("", |(_, path)| path),
                None => rest.trim_start_matches('/'),
            };
            let root = self
                .artifacts_destination
                .as_deref()
                .ok_or_else(|| Error::Unsupported {
                    uri: redact(uri),
                    reason: "mlflow-artifacts URIs need the server's artifacts destination \
                             (--artifacts-destination)"
                        .into(),
                })?;
            return self.resolve(&format!("{}/{}", root.trim_end_matches('/'), path));
        }
        if let Some(rest) = uri.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() || bucket.contains('@') {
                return Err(Error::Unsupported {
                    uri: redact(uri),
                    reason: "expected s3://bucket/prefix, credentials come from AWS_* variables"
                        .into(),
                });
            }
            let store = self.s3_client(bucket, uri)?;
            return Ok(Location::new(store, parse_prefix(prefix, uri)?, uri));
        }
        if let Some(prefix) = uri.strip_prefix("memory://") {
            let store: Arc<dyn ObjectStore> = self.memory.clone();
            return Ok(Location::new(store, parse_prefix(prefix, uri)?, uri));
        }
        let path = match uri.strip_prefix("file://") {
            Some(rest) => rest,
            None if uri.contains("://") || uri.starts_with("mlflow-artifacts:") => {
                return Err(Error::Unsupported {
                    uri: redact(uri),
                    reason:
                        "known schemes: file://, plain paths, s3://, memory://, mlflow-artifacts:/"
                            .into(),
                });
            }
            None => uri,
        };
        local(path, uri)
    }

    #[cfg(feature = "s3")]
    fn s3_client(&self, bucket: &str, uri: &str) -> Result<Arc<dyn ObjectStore>> {
        self.s3.client(bucket, redact(uri))
    }

    #[cfg(not(feature = "s3"))]
    fn s3_client(&self, _bucket: &str, uri: &str) -> Result<Arc<dyn ObjectStore>> {
        Err(Error::Unsupported {
            uri: redact(uri),
            reason: "this build has no S3 client: turn on artifact-store's `s3` feature".into(),
        })
    }
}

/// A local directory as a key prefix under `/`: nothing is created or required to exist when the
/// URI is resolved (a source that does not exist lists no files; a destination's directories
/// appear with its first file).
fn local(path: &str, uri: &str) -> Result<Location> {
    let unsupported = |reason: String| Error::Unsupported {
        uri: redact(uri),
        reason,
    };
    let absolute = if std::path::Path::new(path).is_absolute() {
        std::path::PathBuf::from(path)
    } else {
        std::env::current_dir()
            .map_err(|e| unsupported(format!("no working directory: {e}")))?
            .join(path)
    };
    // `.` and `..` resolved by name, as a shell user means them (no symlink is followed).
    let mut normal = std::path::PathBuf::from("/");
    for component in absolute.components() {
        match component {
            std::path::Component::ParentDir => {
                normal.pop();
            }
            std::path::Component::Normal(part) => normal.push(part),
            _ => {}
        }
    }
    let text = normal
        .to_str()
        .ok_or_else(|| unsupported("the path is not UTF-8".into()))?;
    let prefix = parse_prefix(text, uri)?;
    let mut location = Location::new(Arc::new(LocalFileSystem::new()), prefix, uri);
    location.local = true;
    Ok(location)
}

fn parse_prefix(prefix: &str, uri: &str) -> Result<Path> {
    Path::parse(prefix.trim_matches('/')).map_err(|e| Error::Unsupported {
        uri: redact(uri),
        reason: format!("invalid key prefix: {e}"),
    })
}

/// The workspace's one redaction rule (crate `redaction`).
pub(crate) use redaction::{has_userinfo, uri as redact};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlflow_artifacts_need_a_root_and_map_onto_it() {
        let resolver = Resolver::default();
        let err = resolver
            .resolve("mlflow-artifacts:/1/m-1/artifacts")
            .unwrap_err();
        assert!(err.to_string().contains("--artifacts-destination"), "{err}");
        let resolver = Resolver::default().with_artifacts_destination("memory://root");
        let loc = resolver
            .resolve("mlflow-artifacts://mlflow:5000/1/m-1/artifacts")
            .unwrap();
        assert_eq!(loc.prefix().as_ref(), "root/1/m-1/artifacts");
    }

    #[test]
    fn credentials_in_uris_are_refused_without_being_shown() {
        // Found by the `uri` fuzz target: object_store's path error quoted the userinfo.
        for uri in [
            "memory://:Pw7sentinel@.\u{1}root",
            "s3://AKIA:Pw7sentinel@bucket/x",
            "file://u:Pw7sentinel@host/tmp/x",
        ] {
            let err = Resolver::default().resolve(uri).unwrap_err().to_string();
            assert!(!err.contains("Pw7sentinel"), "{err}");
            assert!(err.contains("credentials in the URI"), "{err}");
        }
        assert!(Resolver::default().resolve("memory://root/a@b").is_ok());
    }

    #[test]
    fn unknown_schemes_are_refused_by_name() {
        let err = Resolver::default().resolve("gs://bucket/x").unwrap_err();
        assert!(err.to_string().starts_with("gs://bucket/x"), "{err}");
    }
}
