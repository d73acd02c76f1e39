//! `mlflow models serve` in a Deployment, a Service, and a VirtualService through the team gateway.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Container, PodSpec, PodTemplateSpec, Service, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use super::profile::Profile;
use super::{S3Access, ServingSpec, ServingTarget, SpecMeta, environment, scaling};
use crate::crds::istio::{
    Destination, HttpMatchRequest, HttpRewrite, HttpRoute, HttpRouteDestination, MirrorPercentage,
    PortSelector, StringMatch, VirtualService, VirtualServiceSpec,
};
use crate::meta::{self, Resources};
use crate::{ManifestSet, Result};

const APP: &str = "mlflow-model";
const PORT: i32 = 8080;

/// Serve with MLflow's own scoring server, loading the model from its mirror.
///
/// The pod reads the mirror directly (`-m s3://…`), so serving does not depend on the tracking
/// server being up; `--env-manager local` means the image must already hold the model's
/// dependencies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct MlflowServe {
    /// Container image with MLflow and the model's libraries (default: this repository's
    /// serving image, [`Image::Serving`](crate::images::Image::Serving) under
    /// [`DEFAULT_PREFIX`](crate::images::DEFAULT_PREFIX)). With that image (under any prefix) the
    /// promotion pass checks every model's recorded needs against its package list; with another
    /// image it cannot.
    pub image: String,
    /// Replicas (default 1).
    pub replicas: i32,
    /// S3 endpoint and credential references.
    pub s3: S3Access,
    /// Requests and limits.
    pub resources: Resources,
    /// Istio gateway the route attaches to, `namespace/name`; default `<namespace>/mlflow-gateway`,
    /// the gateway the tenant bundle declares.
    pub gateway: Option<String>,
    /// Path prefix under which models are routed (default `/serving`).
    pub route_base: String,
    /// How long the model may take to load before the pod is restarted, in seconds (default 600):
    /// the port opens only after the model is downloaded and loaded.
    pub startup_seconds: i32,
    /// The package index (`https://…/simple`, no credentials) the
    /// [environment step](super::environment) installs from. With it, a model whose recorded
    /// needs the image lacks is deployed with that step; without it (the default) such a model's
    /// channel keeps what it served before.
    pub package_index: Option<String>,
}

impl Default for MlflowServe {
    fn default() -> Self {
        Self {
            image: crate::images::Image::Serving.default_reference(),
            replicas: 1,
            s3: S3Access::default(),
            resources: Resources::default(),
            gateway: None,
            route_base: "/serving".into(),
            startup_seconds: 600,
            package_index: None,
        }
    }
}

impl ServingTarget for MlflowServe {
    fn name(&self) -> &str {
        "mlflow-serve"
    }

    fn image_packages(&self) -> Option<&str> {
        self.profile_packages(None)
    }

    fn profile_packages(&self, profile: Option<&Profile>) -> Option<&str> {
        let image = profile
            .and_then(|p| p.image.as_deref())
            .unwrap_or(&self.image);
        crate::images::Image::Serving
            .is(image)
            .then_some(crate::images::SERVING_PACKAGES)
    }

    fn installs_packages(&self) -> bool {
        self.package_index.is_some()
    }

    fn render(&self, spec: &ServingSpec) -> Result<ManifestSet> {
        spec.check()?;
        let profile = spec.profile.as_deref().map(|p| &p.profile);
        let objects = SpecMeta::new(spec);
        let mut set = ManifestSet::new();
        set.push(&self.deployment(spec, &objects, profile)?)?;
        set.push(&self.service(&objects))?;
        set.push(&self.virtual_service(spec, &objects))?;
        let autoscaling = profile.and_then(|p| p.autoscaling.as_ref());
        if let Some(autoscaling) = autoscaling {
            set.push(&scaling::autoscaler(
                objects.metadata(APP, "autoscaler"),
                autoscaling,
            ))?;
        }
        let replicas = profile.and_then(|p| p.replicas).unwrap_or(self.replicas);
        if scaling::least_replicas(replicas, autoscaling) > 1 {
            set.push(&scaling::disruption_budget(
                objects.metadata(APP, "disruption-budget"),
                meta::selector_labels(APP, objects.name()),
            ))?;
        }
        Ok(set)
    }
}

impl MlflowServe {
    fn deployment(
        &self,
        spec: &ServingSpec,
        objects: &SpecMeta,
        profile: Option<&Profile>,
    ) -> Result<Deployment> {
        let name = objects.name();
        let empty = Profile::default();
        let profile = profile.unwrap_or(&empty);
        let image = profile.image.as_ref().unwrap_or(&self.image);
        let (tmp, tmp_mount) = meta::scratch_volume("tmp", "/tmp", false);
        let (shm, shm_mount) = meta::scratch_volume("dshm", "/dev/shm", true);
        let mut env = self.s3.env("serving.s3")?;
        // The root filesystem is read-only: MLflow downloads the model under $HOME and /tmp.
        env.push(meta::env("HOME", "/tmp"));
        let (init_containers, mut volumes, mut mounts) =
            self.environment_step(spec, image, &tmp_mount)?;
        if !init_containers.is_empty() {
            env.push(environment::python_path());
        }
        for var in profile.env_vars() {
            if env.iter().any(|e| e.name == var.name) {
                return Err(crate::Error::Invalid {
                    field: "profile.env".into(),
                    reason: format!("{} is set by mlflow-gitops itself", var.name),
                });
            }
            env.push(var);
        }
        let startup_seconds = profile.startup_seconds.unwrap_or(self.startup_seconds);
        mounts.extend([tmp_mount, shm_mount]);
        volumes.extend([tmp, shm]);
        let period = 10;
        let container = Container {
            name: "model".into(),
            image: Some(image.clone()),
            command: Some(vec!["mlflow".into()]),
            args: Some(
                [
                    "models",
                    "serve",
                    "-m",
                    &spec.model_uri,
                    "-h",
                    "0.0.0.0",
                    "-p",
                    "8080",
                    "--env-manager",
                    "local",
                ]
                .map(str::to_owned)
                .to_vec(),
            ),
            ports: Some(vec![meta::tcp_port("http", PORT)]),
            env: Some(env),
            env_from: profile.env_from_sources(),
            startup_probe: Some(meta::http_probe(
                "/ping",
                period,
                (startup_seconds / period).max(1),
            )),
            readiness_probe: Some(meta::http_probe("/ping", period, 3)),
            liveness_probe: Some(meta::http_probe("/ping", 20, 3)),
            resources: Some(profile.requirements(&self.resources, "serving.profile")?),
            security_context: Some(meta::restricted_container_security()),
            volume_mounts: Some(mounts),
            ..Default::default()
        };
        let selector = meta::selector_labels(APP, name);
        let mut pod_labels = objects.labels(APP, "model-server");
        pod_labels.extend(profile.pod_labels.clone());
        // An autoscaler owns the replica count: a count in git would fight it at every sync.
        let replicas = match profile.autoscaling {
            Some(_) => None,
            None => Some(profile.replicas.unwrap_or(self.replicas)),
        };
        Ok(Deployment {
            metadata: objects.metadata(APP, "model-server"),
            spec: Some(DeploymentSpec {
                replicas,
                selector: LabelSelector {
                    match_labels: Some(selector),
                    ..Default::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(pod_labels),
                        annotations: (!profile.pod_annotations.is_empty())
                            .then(|| profile.pod_annotations.clone()),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        // A model server never talks to the Kubernetes API.
                        automount_service_account_token: Some(false),
                        service_account_name: profile.service_account.clone(),
                        node_selector: profile.node_selector(),
                        tolerations: profile.tolerations(),
                        security_context: Some(meta::restricted_pod_security()),
                        init_containers: (!init_containers.is_empty()).then_some(init_containers),
                        containers: vec![container],
                        volumes: Some(volumes),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// The init container, volume and mount of the environment step, when `spec` needs one.
    fn environment_step(
        &self,
        spec: &ServingSpec,
        image: &str,
        tmp: &VolumeMount,
    ) -> Result<(Vec<Container>, Vec<Volume>, Vec<VolumeMount>)> {
        if spec.install.is_empty() {
            return Ok(Default::default());
        }
        let Some(index) = &self.package_index else {
            return Err(crate::Error::Invalid {
                field: "serving.install".into(),
                reason: "the model needs packages the image lacks, and no package index is set"
                    .into(),
            });
        };
        environment::check_index("serving.packageIndex", index)?;
        let init = environment::init_container(image, index, &spec.install, tmp)?;
        let (volume, _) =
            meta::scratch_volume(environment::VOLUME, environment::MODEL_ENV_DIR, false);
        Ok((vec![init], vec![volume], vec![environment::mount(true)]))
    }

    fn service(&self, objects: &SpecMeta) -> Service {
        Service {
            metadata: objects.metadata(APP, "model-server"),
            spec: Some(ServiceSpec {
                selector: Some(meta::selector_labels(APP, objects.name())),
                ports: Some(vec![ServicePort {
                    name: Some("http".into()),
                    port: PORT,
                    target_port: Some(IntOrString::String("http".into())),
                    protocol: Some("TCP".into()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn virtual_service(&self, spec: &ServingSpec, objects: &SpecMeta) -> VirtualService {
        let gateway = self
            .gateway
            .clone()
            .unwrap_or_else(|| format!("{}/{}", spec.namespace, super::GATEWAY_NAME));
        let destination = |channel: &str| Destination {
            host: format!(
                "{}.{}.svc.cluster.local",
                crate::k8s_name(&spec.model, channel),
                spec.namespace
            ),
            port: Some(PortSelector {
                number: PORT as u32,
            }),
        };
        let (route, mirror) = match &spec.traffic {
            None => (
                vec![HttpRouteDestination {
                    destination: destination(&spec.channel),
                    weight: None,
                }],
                None,
            ),
            Some(traffic) => (
                traffic
                    .split
                    .iter()
                    .map(|backend| HttpRouteDestination {
                        destination: destination(&backend.channel),
                        weight: Some(backend.weight as i32),
                    })
                    .collect(),
                traffic.mirror.as_ref(),
            ),
        };
        let route = HttpRoute {
            name: Some("model".into()),
            matches: vec![HttpMatchRequest {
                uri: Some(StringMatch::Prefix(spec.route_prefix(&self.route_base))),
            }],
            rewrite: Some(HttpRewrite { uri: "/".into() }),
            route,
            mirror: mirror.map(|m| destination(&m.channel)),
            mirror_percentage: mirror.map(|m| MirrorPercentage { value: m.percent }),
            timeout: None,
        };
        VirtualService {
            metadata: objects.metadata(APP, "model-route"),
            spec: VirtualServiceSpec {
                hosts: vec!["*".into()],
                gateways: vec![gateway],
                http: vec![route],
            },
        }
    }
}
