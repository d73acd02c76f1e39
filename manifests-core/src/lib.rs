//! Typed Kubernetes, Istio and KServe objects for serving MLflow models and provisioning team
//! workspaces, rendered as byte-for-byte deterministic multi-document YAML.

pub mod crds;
mod error;
mod manifest_set;
pub mod meta;
pub mod naming;
pub mod serving;
pub mod tenant;
pub mod yaml;

pub use error::{Error, Result};
pub use manifest_set::{Manifest, ManifestSet, ObjectKey};
pub use naming::{k8s_label, k8s_name};
pub use serving::{KServe, MlflowServe, ServingSpec, ServingTarget};
pub use tenant::{TenantSpec, tenant_components};
