//! Picking the registry from the URI, as sqlx's `Any` driver picks a database: embedders and the
//! binary open any MLflow URI the same way.

use crate::{Error, ModelRegistry, SqlRegistry};

/// The registry behind any URI MLflow itself accepts: the REST API of a tracking server for
/// `http(s)://` URLs (feature `rest`), the database for a `--backend-store-uri`
/// (`sqlite:///…`, `mysql[+driver]://…`, `postgresql[+driver]://…`). `artifacts_destination`
/// is the server's `--artifacts-destination`, for `mlflow-artifacts:/` sources.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), registry_reader::Error> {
/// let uri = concat!("sqlite:///", env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mlflow-2.9.2.db");
/// let registry = registry_reader::open(uri, Some("s3://mlflow/artifacts")).await?;
/// let promoted = registry.promoted(&Default::default()).await?;
/// assert!(promoted.versions.iter().any(|v| v.name == "wine"));
/// // A URI no backend takes names the backends it would.
/// let err = registry_reader::open("mssql://u:pw@db/mlflow", None).await.err().unwrap();
/// assert!(err.to_string().contains("***@db") && !err.to_string().contains("pw"));
/// # Ok(()) }
/// ```
pub async fn open(
    uri: &str,
    artifacts_destination: Option<&str>,
) -> Result<Box<dyn ModelRegistry>, Error> {
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return rest(uri, artifacts_destination);
    }
    let mut registry = SqlRegistry::connect(uri).await?;
    if let Some(destination) = artifacts_destination {
        registry = registry.with_artifacts_destination(destination);
    }
    Ok(Box::new(registry))
}

#[cfg(feature = "rest")]
fn rest(uri: &str, artifacts_destination: Option<&str>) -> Result<Box<dyn ModelRegistry>, Error> {
    let mut registry = crate::RestRegistry::new(uri)?;
    if let Some(destination) = artifacts_destination {
        registry = registry.with_artifacts_destination(destination);
    }
    Ok(Box::new(registry))
}

#[cfg(not(feature = "rest"))]
fn rest(uri: &str, _: Option<&str>) -> Result<Box<dyn ModelRegistry>, Error> {
    Err(Error::UnsupportedUri {
        uri: crate::uri::redact(uri),
        reason: "this build has no REST registry: enable registry-reader's `rest` feature".into(),
    })
}
