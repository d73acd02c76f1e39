//! A KServe InferenceService (`modelFormat: mlflow`, protocol v2, served by MLServer).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ServingSpec, ServingTarget};
use crate::crds::kserve::{
    InferenceService, InferenceServiceSpec, ModelFormat, ModelSpec, PredictorSpec,
};
use crate::meta::Resources;
use crate::{Error, ManifestSet, Result};

/// Serve with KServe. KServe creates the Deployment, Service and routing itself.
///
/// The storage credentials come from the ServiceAccount named here, whose Secret carries the
/// `serving.kserve.io/s3-*` annotations; the tenant bundle declares both. MLServer does not install
/// the model's `requirements.txt`: the runtime image (or an `environment.tar.gz` in the mirror)
/// must hold its libraries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct KServe {
    /// ServiceAccount with the storage Secret (default `mlflow-s3-sa`).
    pub service_account: String,
    /// Requests and limits.
    pub resources: Resources,
    /// `serving.kserve.io/deploymentMode` (`Standard`/`RawDeployment` or `Knative`/`Serverless`);
    /// none keeps the cluster's default. It cannot be changed on an existing InferenceService.
    pub deployment_mode: Option<String>,
    /// Replicas kept at the least (default 1: a production model should not scale to zero).
    pub min_replicas: i32,
}

/// The ServiceAccount name the KServe target uses by default.
pub const DEFAULT_SERVICE_ACCOUNT: &str = "mlflow-s3-sa";

impl Default for KServe {
    fn default() -> Self {
        Self {
            service_account: DEFAULT_SERVICE_ACCOUNT.into(),
            resources: Resources::default(),
            deployment_mode: None,
            min_replicas: 1,
        }
    }
}

/// Schemes KServe's storage initializer downloads from.
const STORAGE_SCHEMES: [&str; 6] = ["s3://", "gs://", "https://", "http://", "pvc://", "hdfs://"];

impl ServingTarget for KServe {
    fn name(&self) -> &str {
        "kserve"
    }

    fn render(&self, spec: &ServingSpec) -> Result<ManifestSet> {
        spec.check()?;
        if !STORAGE_SCHEMES
            .iter()
            .any(|s| spec.model_uri.starts_with(s))
        {
            return Err(Error::Invalid {
                field: "serving.model_uri".into(),
                reason: format!(
                    "KServe downloads only {}; mirror the model there first",
                    STORAGE_SCHEMES.join(", ")
                ),
            });
        }
        let mut metadata = spec.metadata("mlflow-model", "inference-service");
        if let Some(mode) = &self.deployment_mode {
            metadata
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .insert("serving.kserve.io/deploymentMode".into(), mode.clone());
        }
        let service = InferenceService {
            metadata,
            spec: InferenceServiceSpec {
                predictor: PredictorSpec {
                    service_account_name: Some(self.service_account.clone()),
                    min_replicas: Some(self.min_replicas),
                    model: ModelSpec {
                        model_format: ModelFormat {
                            name: "mlflow".into(),
                        },
                        // MLServer's MLflow runtime speaks only the v2 (Open Inference) protocol.
                        protocol_version: Some("v2".into()),
                        storage_uri: spec.model_uri.clone(),
                        resources: Some(self.resources.requirements()),
                    },
                },
            },
        };
        let mut set = ManifestSet::new();
        set.push(&service)?;
        Ok(set)
    }
}
