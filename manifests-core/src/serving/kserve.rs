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
    /// The image the cluster's `kserve-mlserver` ClusterServingRuntime runs (cluster
    /// configuration, not rendered; default this repository's
    /// [`Image::Mlserver`](crate::images::Image::Mlserver)). When it is ours, its package list is
    /// what the environment check compares models with; with another image the check is off.
    pub runtime_image: String,
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
            runtime_image: crate::images::Image::Mlserver.default_reference(),
        }
    }
}

/// `uri` as a directory for the object-store schemes: KServe's storage initializer downloads every
/// key that starts with the URI's path, so `s3://b/m/1` would also fetch version 10's files
/// (`s3://b/m/10/...`) into the model directory.
fn directory_uri(uri: &str) -> String {
    let object_store = ["s3://", "gs://"].iter().any(|s| uri.starts_with(s));
    if object_store && !uri.ends_with('/') {
        format!("{uri}/")
    } else {
        uri.to_owned()
    }
}

/// Schemes KServe's storage initializer downloads from.
const STORAGE_SCHEMES: [&str; 6] = ["s3://", "gs://", "https://", "http://", "pvc://", "hdfs://"];

impl ServingTarget for KServe {
    fn name(&self) -> &str {
        "kserve"
    }

    fn image_packages(&self) -> Option<&str> {
        crate::images::Image::Mlserver
            .is(&self.runtime_image)
            .then_some(crate::images::MLSERVER_PACKAGES)
    }

    fn render(&self, spec: &ServingSpec) -> Result<ManifestSet> {
        spec.check()?;
        if !spec.install.is_empty() {
            return Err(Error::Invalid {
                field: "serving.install".into(),
                reason: "KServe's MLServer pods have no environment step; the runtime image must \
                         hold the model's packages"
                    .into(),
            });
        }
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
                        storage_uri: directory_uri(&spec.model_uri),
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
