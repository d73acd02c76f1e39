//! Reads which model versions an MLflow Model Registry has promoted (stages `Staging`/`Production`
//! and aliases such as `champion`) and where their files really are.
//!
//! ```
//! use registry_reader::{Channel, ModelRegistry, PromotionFilter, SqlRegistry, Stage};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), registry_reader::Error> {
//! // A registry made by MLflow 2.9.2 (committed fixture); any `--backend-store-uri` works here.
//! let uri = concat!("sqlite:///", env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/mlflow-2.9.2.db");
//! let registry = SqlRegistry::connect(uri).await?.with_artifacts_destination("s3://mlflow/artifacts");
//! let promoted = registry.promoted(&PromotionFilter::default()).await?;
//! for v in &promoted.versions {
//!     println!("{} v{} {:?} -> {}", v.name, v.version, v.channels, v.artifact_uri);
//! }
//! let wine_production = promoted
//!     .versions
//!     .iter()
//!     .find(|v| v.name == "wine" && v.channels.contains(&Channel::Stage(Stage::Production)))
//!     .expect("wine is in Production");
//! assert_eq!(wine_production.version, 3, "two versions in Production: the highest serves");
//! assert!(promoted.errors.is_empty());
//!
//! // Cheap to poll: unchanged until the registry changes.
//! assert_eq!(registry.fingerprint().await?, registry.fingerprint().await?);
//! # Ok(()) }
//! ```
//!
//! [`open`] picks [`SqlRegistry`] or [`RestRegistry`] from any URI MLflow accepts.
//!
//! # What it supports
//!
//! - **Backends**: SQLite, MySQL/MariaDB and PostgreSQL, opened from the URI MLflow's
//!   `--backend-store-uri` takes (`sqlite:////abs.db`, `mysql+pymysql://…`, `postgresql://…`),
//!   read-only ([`SqlRegistry`]); or any tracking server over its REST API ([`RestRegistry`]),
//!   with the same answers. Each backend is a cargo feature, all on by default: `sqlite`,
//!   `mysql`, `postgres`, `rest`; a URI whose backend is not built in is an
//!   [`Error::UnsupportedUri`] that names the feature.
//! - **Schemas**: MLflow 1.x (no aliases, no `storage_location`), 2.x, 3.x (logged models,
//!   `workspace` key column since 3.10), detected from the catalog. Soft-deleted versions
//!   (`Deleted_Internal`) and prompts (`mlflow.prompt.is_prompt`) are excluded.
//! - **Channels**: each selected stage goes to the **highest** version in it (MLflow's
//!   `get_latest_versions` rule, when `archive_existing_versions=False` left several there); each
//!   selected alias to the version it points at.
//! - **Locations**: resolved as MLflow's `get_model_version_download_uri` and artifact repositories
//!   do (see [`ModelVersion::artifact_uri`]).
//! - **Bad rows** (NULL source, unknown stage, control characters, oversized strings, unresolvable
//!   references) come back as [`VersionError`]s; the other versions are still returned.
//!
//! Not supported: `mssql`, and `models:/<name>/<stage>` or `@alias` sources (they name no fixed
//! version, so the files could change under a deployment; reported as per-version errors).

#![forbid(unsafe_code)]

mod assemble;
#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod open;
mod registry;
// How registry locations are classified is internal; the fuzz targets and the property tests
// reach it through the `fuzzing` feature.
#[cfg(feature = "fuzzing")]
pub mod resolve;
#[cfg(not(feature = "fuzzing"))]
mod resolve;
#[cfg(feature = "rest")]
mod rest;
mod sql;
mod uri;
mod version;
#[cfg(feature = "rest")]
mod webhooks;

pub use error::Error;
pub use open::open;
pub use registry::{Fingerprint, ModelRegistry};
#[cfg(feature = "rest")]
pub use rest::RestRegistry;
pub use sql::SqlRegistry;
pub use uri::{BackendUri, Kind};
pub use version::{
    AliasSelection, Channel, ModelVersion, Promoted, PromotionFilter, Stage, VersionError,
};
#[cfg(feature = "rest")]
pub use webhooks::{Registered, WebhookSpec, WebhookTest};
