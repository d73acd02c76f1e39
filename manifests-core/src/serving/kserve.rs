//! A KServe InferenceService (`modelFormat: mlflow`, protocol v2, served by MLServer).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::profile::Profile;
use super::{ServingSpec, ServingTarget, SpecMeta, scaling};
use crate::crds::kserve::{
    CanarySpec, InferenceService, InferenceServiceSpec, ModelFormat, ModelSpec, PredictorSpec,
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
        let empty = Profile::default();
        let profile = spec.profile.as_deref().map_or(&empty, |p| &p.profile);
        refuse_what_kserve_cannot_express(profile)?;
        let objects = SpecMeta::new(spec);
        let mut metadata = objects.metadata("mlflow-model", "inference-service");
        if let Some(mode) = &self.deployment_mode {
            metadata
                .annotations
                .get_or_insert_with(BTreeMap::new)
                .insert("serving.kserve.io/deploymentMode".into(), mode.clone());
        }
        let mut predictor = self.predictor(&spec.model_uri, profile)?;
        let replicas = profile.replicas.unwrap_or(self.min_replicas);
        if profile.replicas.is_some() {
            predictor.max_replicas = Some(replicas);
        }
        if let Some(scaling) = &profile.autoscaling {
            predictor.min_replicas = Some(scaling.min);
            predictor.max_replicas = Some(scaling.max);
            let (metric, target) = match (scaling.cpu_percent, scaling.memory_percent) {
                (Some(cpu), None) => ("cpu", cpu),
                (None, Some(memory)) => ("memory", memory),
                _ => {
                    return Err(Error::Invalid {
                        field: "profile.autoscaling".into(),
                        reason: "KServe scales on one metric: set cpu_percent or memory_percent"
                            .into(),
                    });
                }
            };
            predictor.scale_metric = Some(metric.into());
            predictor.scale_target = Some(target);
        }
        let canary = self.canaries(spec, profile)?;
        let service = InferenceService {
            metadata,
            spec: InferenceServiceSpec { predictor, canary },
        };
        let mut set = ManifestSet::new();
        set.push(&service)?;
        if scaling::least_replicas(replicas, profile.autoscaling.as_ref()) > 1 {
            let selector =
                BTreeMap::from([(PREDICTOR_POD_LABEL.to_owned(), objects.name().into())]);
            set.push(&scaling::disruption_budget(
                objects.metadata("mlflow-model", "disruption-budget"),
                selector,
            ))?;
        }
        Ok(set)
    }
}

/// The label KServe puts on every pod of an InferenceService (`constants.InferenceServicePodLabelKey`).
const PREDICTOR_POD_LABEL: &str = "serving.kserve.io/inferenceservice";

/// The profile settings an InferenceService has no place for.
fn refuse_what_kserve_cannot_express(profile: &Profile) -> Result<()> {
    let refused = if profile.image.is_some() {
        "image: KServe runs the image of its ClusterServingRuntime; set it there"
    } else if profile.startup_seconds.is_some() {
        "startup_seconds: KServe's ServingRuntime defines the model server's probes"
    } else {
        return Ok(());
    };
    Err(Error::Invalid {
        field: "profile".into(),
        reason: format!("not for the kserve target: {refused}"),
    })
}

impl KServe {
    /// The predictor serving the model at `model_uri` with `profile`'s settings.
    fn predictor(&self, model_uri: &str, profile: &Profile) -> Result<PredictorSpec> {
        if !STORAGE_SCHEMES.iter().any(|s| model_uri.starts_with(s)) {
            return Err(Error::Invalid {
                field: "serving.model_uri".into(),
                reason: format!(
                    "KServe downloads only {}; mirror the model there first",
                    STORAGE_SCHEMES.join(", ")
                ),
            });
        }
        let env = profile.env_vars();
        Ok(PredictorSpec {
            service_account_name: Some(
                profile
                    .service_account
                    .clone()
                    .unwrap_or_else(|| self.service_account.clone()),
            ),
            min_replicas: Some(profile.replicas.unwrap_or(self.min_replicas)),
            annotations: (!profile.pod_annotations.is_empty())
                .then(|| profile.pod_annotations.clone()),
            labels: (!profile.pod_labels.is_empty()).then(|| profile.pod_labels.clone()),
            node_selector: profile.node_selector(),
            tolerations: profile.tolerations(),
            model: ModelSpec {
                name: None,
                model_format: ModelFormat {
                    name: "mlflow".into(),
                },
                // MLServer's MLflow runtime speaks only the v2 (Open Inference) protocol.
                protocol_version: Some("v2".into()),
                storage_uri: directory_uri(model_uri),
                resources: Some(profile.requirements(&self.resources, "serving.profile")?),
                env: (!env.is_empty()).then_some(env),
                env_from: profile.env_from_sources(),
            },
            ..Default::default()
        })
    }

    /// The other channels' shares of this channel's requests, as `spec.canary` predictors (with
    /// this channel's profile: they serve its endpoint). KServe splits only in Standard mode and
    /// has no mirror: those are refused, not dropped.
    fn canaries(&self, spec: &ServingSpec, profile: &Profile) -> Result<Vec<CanarySpec>> {
        let Some(traffic) = &spec.traffic else {
            return Ok(Vec::new());
        };
        let refuse = |reason: &str| {
            Err(Error::Invalid {
                field: "traffic".into(),
                reason: reason.into(),
            })
        };
        if traffic.mirror.is_some() {
            return refuse(
                "KServe's InferenceService cannot mirror requests; drop the mirror or serve with \
                 the mlflow-serve target",
            );
        }
        let standard = matches!(
            self.deployment_mode.as_deref(),
            Some("Standard" | "RawDeployment")
        );
        let others: Vec<_> = traffic
            .split
            .iter()
            .filter(|b| b.channel != spec.channel)
            .collect();
        if !others.is_empty() && !standard {
            return refuse(
                "KServe splits requests between predictors (spec.canary) only in Standard mode: \
                 set the kserve deployment mode to Standard (Knative's canaryTrafficPercent \
                 splits between revisions of one predictor, not between channels)",
            );
        }
        let fixed = scaling::least_replicas(
            profile.replicas.unwrap_or(self.min_replicas),
            profile.autoscaling.as_ref(),
        );
        others
            .into_iter()
            .map(|backend| {
                let mut predictor = self.predictor(&backend.model_uri, profile)?;
                let name = format!("{}-{}", spec.channel, backend.channel);
                predictor.name = Some(crate::k8s_name(&spec.model, &name));
                // The canary's schema requires the container's name: KServe's own.
                predictor.model.name = Some("kserve-container".into());
                // KServe's canaries run a fixed number of replicas.
                predictor.min_replicas = Some(fixed);
                Ok(CanarySpec {
                    predictor,
                    traffic_percent: backend.weight as i32,
                })
            })
            .collect()
    }
}
