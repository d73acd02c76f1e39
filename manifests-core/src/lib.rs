//! Typed Kubernetes, Istio and KServe objects for serving MLflow models and provisioning team
//! workspaces, rendered as byte-for-byte deterministic multi-document YAML.
//!
//! ```
//! use manifests_core::{MlflowServe, ServingSpec, ServingTarget};
//!
//! let spec = ServingSpec {
//!     namespace: "qooba".into(),
//!     model: "ElasticnetWineModel2".into(),
//!     version: "3".into(),
//!     channel: "production".into(),
//!     model_uri: "s3://mlflow/models/ElasticnetWineModel2/3".into(),
//!     run_id: None,
//!     source: Some("models:/m-7f3c2a1b".into()),
//!     tags: Default::default(),
//!     install: Vec::new(),
//!     profile: None,
//!     traffic: None,
//! };
//! let set = MlflowServe::default().render(&spec)?;
//! let files: Vec<String> = set.files()?.into_iter().map(|(name, _)| name).collect();
//! assert_eq!(files, ["deployment.yaml", "service.yaml", "virtualservice.yaml"]);
//! // Upper case is lost by sanitizing, so the name carries a hash that keeps it unique.
//! assert!(set.iter().all(|m| m.key().name.starts_with("elasticnetwinemodel2-production--")));
//! # Ok::<(), manifests_core::Error>(())
//! ```
//!
//! What it provides:
//! - [`ManifestSet`]: ordered objects, one per (apiVersion, kind, namespace, name), rendered to
//!   YAML that is byte-identical for equal input and safe for YAML 1.1 readers such as kubectl
//!   (module [`yaml`]).
//! - [`k8s_name`]: valid, deterministic, injective RFC 1035 names for free-text MLflow names.
//! - [`ServingTarget`] with [`MlflowServe`] (Deployment + Service + Istio VirtualService) and
//!   [`KServe`] (InferenceService).
//! - [`TenantSpec`] and [`tenant_components`]: a team's namespace, MLflow server, object store
//!   (SeaweedFS), ingress, notebook PodDefault, promotion daemon and Argo CD Application.
//! - [`crds`]: the Istio, KServe, Kubeflow and Argo CD kinds used, typed.
//! - [`images`]: the images this repository builds, which every default image is one of, and the
//!   serving image's exact package list.
//! - [`kustomization`]: the `kustomization.yaml` listing a directory's files.
//! - `conformance` (feature `conformance`): the suite any [`ServingTarget`] can run.
//!
//! What it does not do: IO of any kind (callers write the files), Secrets with values (only
//! references), NetworkPolicies and AuthorizationPolicies (the `policy-gen` crate), Seldon targets.
//! Kubernetes version: the API shapes are those of k8s-openapi's oldest supported version, 1.33;
//! the final binary picks the k8s-openapi version feature.

#![forbid(unsafe_code)]

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod crds;
mod error;
pub mod images;
mod kustomization;
mod manifest_set;
pub mod meta;
pub mod naming;
mod object_key;
pub mod quantity;
pub mod serving;
pub mod tenant;
pub mod yaml;

pub use error::{Error, Result};
pub use kustomization::{KUSTOMIZATION_FILE, kustomization};
pub use manifest_set::{Manifest, ManifestSet};
pub use naming::{k8s_label, k8s_name};
pub use object_key::ObjectKey;
pub use serving::{KServe, MlflowServe, ServingSpec, ServingTarget, Traffic};
pub use tenant::{TenantSpec, tenant_components};
