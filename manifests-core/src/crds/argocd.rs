//! Argo CD `argoproj.io/v1alpha1` Application.

use kube_derive::CustomResource;
use serde::{Deserialize, Serialize};

/// An Argo CD Application: keep a namespace in sync with a path of a git repository.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "argoproj.io",
    version = "v1alpha1",
    kind = "Application",
    namespaced,
    schema = "disabled",
    crates(kube_core = "::kube_core"),
    doc = "An Argo CD Application (`argoproj.io/v1alpha1`)."
)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    /// Argo CD project.
    pub project: String,
    /// Where the manifests come from.
    pub source: ApplicationSource,
    /// Where they are applied.
    pub destination: ApplicationDestination,
    /// How syncing happens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_policy: Option<SyncPolicy>,
}

/// A git source.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSource {
    /// Repository URL.
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// Branch, tag or commit.
    pub target_revision: String,
    /// Directory in the repository.
    pub path: String,
}

/// The target cluster and namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationDestination {
    /// API server URL (`https://kubernetes.default.svc` for the local cluster).
    pub server: String,
    /// Namespace.
    pub namespace: String,
}

/// Sync policy.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    /// Automatic sync; `prune` removes what left git (a demoted model's serving objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automated: Option<AutomatedSync>,
    /// Options such as `CreateNamespace=false`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sync_options: Vec<String>,
}

/// Automatic sync settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AutomatedSync {
    /// Delete objects that left git.
    pub prune: bool,
    /// Undo changes made in the cluster by hand.
    pub self_heal: bool,
}
