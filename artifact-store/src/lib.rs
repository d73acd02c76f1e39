//! Copies a model version's whole artifact directory to an object store, verified file by file.
//!
//! Status: this crate is being built (issue "artifact-store"). It will resolve URIs (`file://`, plain
//! paths, `s3://`, `memory://`, `mlflow-artifacts:/` with a configured root) to `object_store` stores
//! and mirror recursively with bounded concurrency, writing a completion manifest (paths, sizes,
//! sha256) last, so that a mirror is complete only when that manifest exists and matches.
