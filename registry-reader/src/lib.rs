//! Reads which model versions an MLflow Model Registry has promoted (stages `Staging`/`Production`
//! and aliases such as `champion`) and where their files really are.
//!
//! Status: this crate is being built (issue "registry-reader"). It will provide `trait ModelRegistry`
//! with `promoted()` and a cheap `fingerprint()`, `SqlRegistry` over SQLite, MySQL/MariaDB and
//! PostgreSQL opened from MLflow's own `--backend-store-uri` strings, and `RestRegistry` over the MLflow
//! REST API. Artifact URIs are resolved exactly as MLflow's `get_model_version_download_uri` does,
//! following `models:/m-…` logged models and `runs:/…` to the concrete location.
