//! Kubeflow `kubeflow.org/v1alpha1` PodDefault: settings injected into matching notebook pods.

use k8s_openapi::api::core::v1::EnvVar;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube_derive::CustomResource;
use serde::{Deserialize, Serialize};

/// A Kubeflow PodDefault; the notebook UI offers it as a configuration checkbox by its `desc`.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "kubeflow.org",
    version = "v1alpha1",
    kind = "PodDefault",
    namespaced,
    schema = "disabled",
    crates(kube_core = "::kube_core"),
    doc = "A Kubeflow PodDefault (`kubeflow.org/v1alpha1`)."
)]
#[serde(rename_all = "camelCase")]
pub struct PodDefaultSpec {
    /// Pods receiving the settings.
    pub selector: LabelSelector,
    /// Description shown in the notebook UI.
    pub desc: String,
    /// Environment variables added to every container.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<EnvVar>,
}
