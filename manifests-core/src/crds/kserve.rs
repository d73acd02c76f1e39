//! KServe `serving.kserve.io/v1beta1` InferenceService.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvFromSource, EnvVar, ResourceRequirements, Toleration};
use kube_derive::CustomResource;
use serde::{Deserialize, Serialize};

/// A KServe InferenceService serving one model from object storage.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[kube(
    group = "serving.kserve.io",
    version = "v1beta1",
    kind = "InferenceService",
    namespaced,
    schema = "disabled",
    crates(kube_core = "::kube_core"),
    doc = "A KServe InferenceService (`serving.kserve.io/v1beta1`)."
)]
#[serde(rename_all = "camelCase")]
pub struct InferenceServiceSpec {
    /// The predictor component.
    pub predictor: PredictorSpec,
    /// Other predictors taking a share of the requests (Standard mode, KServe 0.20).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub canary: Vec<CanarySpec>,
}

/// A predictor that takes a share of an InferenceService's requests.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct CanarySpec {
    /// The predictor; its `name` names its Deployment and Service.
    pub predictor: PredictorSpec,
    /// Percent of the requests (the canaries' sum at most 100; 0 is a dark launch).
    pub traffic_percent: i32,
}

/// The predictor: which model, from where, with which identity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PredictorSpec {
    /// Name (a canary's names its Deployment and Service).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// ServiceAccount whose Secret holds the storage credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Replicas kept at the least.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    /// Replicas at the most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<i32>,
    /// What the autoscaler watches: `cpu`, `memory`, `concurrency` or `rps`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_metric: Option<String>,
    /// The metric's target (percent of the request for `cpu` and `memory`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_target: Option<i32>,
    /// Annotations on the predictor's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Labels on the predictor's pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Nodes the pods may run on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Taints the pods tolerate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// The model.
    pub model: ModelSpec,
}

/// The model to serve.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ModelSpec {
    /// The container's name (a canary's schema requires one; KServe's own is `kserve-container`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Format, picking the serving runtime (`mlflow` selects MLServer).
    pub model_format: ModelFormat,
    /// Inference protocol: MLServer's MLflow runtime speaks only `v2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// Prefix holding the whole MLflow model directory (`MLmodel` at its top).
    pub storage_uri: String,
    /// Requests and limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Environment variables of the model server (Secret and ConfigMap references only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    /// Whole Secrets or ConfigMaps as environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env_from: Option<Vec<EnvFromSource>>,
}

/// A model format.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ModelFormat {
    /// Format name, e.g. `mlflow`.
    pub name: String,
}
