//! Copies a model version's whole artifact directory to an object store, verified file by file.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), artifact_store::Error> {
//! use artifact_store::{Mirror, Resolver, is_complete};
//!
//! let model = tempfile::tempdir().unwrap();
//! std::fs::write(model.path().join("MLmodel"), "flavors: {}\n").unwrap();
//! std::fs::create_dir(model.path().join("data")).unwrap();
//! std::fs::write(model.path().join("data/model.pkl"), [0u8; 1024]).unwrap();
//!
//! let resolver = Resolver::from_env();
//! let src = resolver.resolve(model.path().to_str().unwrap())?;
//! let dst = resolver.resolve("memory://models/iris/3")?;
//! let report = Mirror::new().mirror(&src, &dst).await?;
//! assert_eq!((report.files, report.uploaded), (2, 2));
//! assert!(is_complete(&dst).await?);
//!
//! // A second run finds the mirror complete and writes nothing.
//! assert!(Mirror::new().mirror(&src, &dst).await?.already_complete);
//! # Ok(()) }
//! ```
//!
//! What it provides:
//! - [`Resolver`]: URIs to stores (`file://` and plain paths, `s3://` with MLflow's endpoint and
//!   `AWS_*` variables, `memory://`, `mlflow-artifacts:/` under a configured root).
//! - [`Mirror`]: recursive copy with bounded concurrency, multipart uploads for large files (memory
//!   bounded by part size), a sha256 of every file, a completion manifest written last, retries of
//!   transient failures with backoff, a progress hook.
//! - [`is_complete`]: the one-request check for the reconciler's fast path.
//! - [`collect_garbage`]: optional removal of unreferenced mirrors, keeping the newest N per model.
//!
//! Guarantees: a mirror is complete only when its manifest exists, and the manifest is written
//! after every file; a rerun after a crash copies only what is missing or different; a complete
//! mirror with other content is a [`Error::Conflict`], never overwritten; nothing outside the
//! destination prefix is written or deleted.
//!
//! Not supported: `gs://`, `az://` and `hdfs://` (object_store has them behind features this
//! workspace does not build), server-side copies between two locations of one store.

#![forbid(unsafe_code)]

mod copy;
mod error;
mod gc;
mod location;
mod manifest;
mod mirror;
mod progress;

pub use error::{Error, Result, Side};
pub use gc::{GcReport, collect_garbage};
pub use location::{Location, Resolver};
pub use manifest::{CompletionManifest, FileEntry, MANIFEST_NAME};
pub use mirror::{Mirror, MirrorReport, is_complete};
pub use progress::{Progress, ProgressHook};
