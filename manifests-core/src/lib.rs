//! Typed Kubernetes, Istio and KServe objects for serving MLflow models and provisioning team
//! workspaces, rendered as byte-for-byte deterministic multi-document YAML.
//!
//! Status: this crate is being built (issue "manifests-core"). It will provide `ManifestSet`,
//! `k8s_name()` (valid, deterministic, injective Kubernetes names for free-text MLflow names), the
//! `ServingTarget` trait with `MlflowServe` and `KServe`, and `TenantSpec` with its components.
//! It performs no IO.
