//! KServe `serving.kserve.io/v1beta1` InferenceService.

use k8s_openapi::api::core::v1::ResourceRequirements;
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
}

/// The predictor: which model, from where, with which identity.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PredictorSpec {
    /// ServiceAccount whose Secret holds the storage credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Replicas kept at the least.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<i32>,
    /// The model.
    pub model: ModelSpec,
}

/// The model to serve.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ModelSpec {
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
}

/// A model format.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ModelFormat {
    /// Format name, e.g. `mlflow`.
    pub name: String,
}
