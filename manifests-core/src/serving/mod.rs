//! Serving one promoted model version: the spec, the target trait and its implementations.

pub mod environment;
mod kserve;
mod mlflow_serve;
pub mod profile;
mod s3;
mod scaling;
pub mod traffic;

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use kserve::{DEFAULT_SERVICE_ACCOUNT, KServe};
pub use mlflow_serve::MlflowServe;
pub use profile::{NamedProfile, Profile};
pub use s3::{DEFAULT_S3_SECRET, S3Access};
pub use traffic::Traffic;

/// Name of the team's Istio Gateway: the tenant bundle creates it, and model routes attach to
/// it unless a target names another.
pub const GATEWAY_NAME: &str = "mlflow-gateway";

use crate::meta::{self, ANNOTATION_PREFIX};
use crate::{ManifestSet, Result, k8s_label, k8s_name};

/// One model version to serve on one channel (a stage such as `production`, or an alias such as
/// `champion`). Every string here may be free text from the registry; none of it can change the
/// structure of the generated objects.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServingSpec {
    /// Namespace the objects go to (the team's).
    pub namespace: String,
    /// MLflow registered model name, as the registry spells it.
    pub model: String,
    /// MLflow model version.
    pub version: String,
    /// Channel: a lower-case stage name or an alias.
    pub channel: String,
    /// URI of the complete mirror of the version's artifacts, e.g. `s3://models/iris/3`.
    pub model_uri: String,
    /// The MLflow run that produced the version, if any.
    pub run_id: Option<String>,
    /// The version's `source` as MLflow recorded it (for people; never dereferenced).
    pub source: Option<String>,
    /// The version's tags.
    pub tags: BTreeMap<String, String>,
    /// Packages the pod installs before serving (the [`environment`] step), because the model
    /// needs them and the serving image lacks them; empty for a model the image serves as it is.
    pub install: Vec<String>,
    /// The platform's [`Profile`] for this channel, by name; None serves it with the target's own
    /// settings.
    pub profile: Option<Arc<NamedProfile>>,
    /// How this channel's endpoint shares its requests with the model's other channels; None
    /// serves them all itself.
    pub traffic: Option<Traffic>,
}

impl ServingSpec {
    /// The name every object of this (model, channel) carries: [`k8s_name`].
    pub fn name(&self) -> String {
        k8s_name(&self.model, &self.channel)
    }

    /// The HTTP path prefix a gateway routes to this model: `<base>/<namespace>/<model>/<channel>/`,
    /// with model and channel as [`k8s_label`]s so the path needs no escaping.
    pub fn route_prefix(&self, base: &str) -> String {
        format!(
            "{}/{}/{}/{}/",
            base.trim_end_matches('/'),
            self.namespace,
            k8s_label(&self.model),
            k8s_label(&self.channel)
        )
    }

    /// The MLflow facts as annotations (free text is safe there; names and labels only hold
    /// sanitized values).
    pub fn annotations(&self) -> BTreeMap<String, String> {
        let mut annotations = BTreeMap::new();
        let mut put = |key: &str, value: &str| {
            annotations.insert(format!("{ANNOTATION_PREFIX}{key}"), value.to_owned());
        };
        put("model", &self.model);
        put("version", &self.version);
        put("channel", &self.channel);
        put("model-uri", &self.model_uri);
        if let Some(run_id) = &self.run_id {
            put("run-id", run_id);
        }
        if let Some(source) = &self.source {
            put("source", source);
        }
        if let Some(profile) = &self.profile {
            put("profile", &profile.name);
        }
        if let Some(traffic) = &self.traffic {
            put("traffic", &traffic.to_string());
        }
        if !self.tags.is_empty() {
            // One JSON annotation: tag keys are free text and not valid annotation keys.
            let tags = serde_json::to_string(&self.tags).unwrap_or_default();
            put("tags", &tags);
        }
        annotations
    }

    /// Labels: the `app.kubernetes.io/*` set, plus the version when it is a valid label value.
    pub fn labels(&self, app: &str, component: &str) -> BTreeMap<String, String> {
        SpecMeta::new(self).labels(app, component)
    }

    /// Metadata for one of this spec's objects.
    pub fn metadata(&self, app: &str, component: &str) -> ObjectMeta {
        SpecMeta::new(self).metadata(app, component)
    }

    fn check(&self) -> Result<()> {
        if !crate::naming::is_rfc1035_label(&self.namespace) {
            return Err(crate::Error::Invalid {
                field: "serving.namespace".into(),
                reason: format!("{:?} is not an RFC 1035 label", self.namespace),
            });
        }
        meta::check_no_credentials("serving.model_uri", &self.model_uri)
    }
}

/// What every object of one spec carries, worked out once per render: the name (a hash for
/// free-text model names) and the annotations (the tags as JSON) are the same on each object.
pub(crate) struct SpecMeta<'a> {
    spec: &'a ServingSpec,
    name: String,
    annotations: BTreeMap<String, String>,
}

impl<'a> SpecMeta<'a> {
    pub(crate) fn new(spec: &'a ServingSpec) -> Self {
        Self {
            spec,
            name: spec.name(),
            annotations: spec.annotations(),
        }
    }

    /// [`ServingSpec::name`].
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// [`ServingSpec::labels`].
    pub(crate) fn labels(&self, app: &str, component: &str) -> BTreeMap<String, String> {
        let mut labels = meta::standard_labels(app, &self.name, component);
        if crate::naming::is_label_value(&self.spec.version) {
            labels.insert(
                "app.kubernetes.io/version".into(),
                self.spec.version.clone(),
            );
        }
        labels
    }

    /// [`ServingSpec::metadata`].
    pub(crate) fn metadata(&self, app: &str, component: &str) -> ObjectMeta {
        meta::object_meta(
            &self.name,
            &self.spec.namespace,
            self.labels(app, component),
            self.annotations.clone(),
        )
    }
}

/// How a promoted model version is served: a pure function from the spec to the objects.
///
/// Object-safe, so a service can plug its own target (`Box<dyn ServingTarget>`).
pub trait ServingTarget: Send + Sync {
    /// Short name for logs and the CLI (`mlflow-serve`, `kserve`).
    fn name(&self) -> &str;

    /// The objects serving `spec`, in a stable order.
    fn render(&self, spec: &ServingSpec) -> Result<ManifestSet>;

    /// The exact Python package list (`name==version` lines) of the image the pods run, when the
    /// target knows it: the promotion pass checks each model's `MLmodel` and `requirements.txt`
    /// against it before any manifest for the model changes. None (the default) skips the check.
    fn image_packages(&self) -> Option<&str> {
        None
    }

    /// The package list of the image a channel with `profile` runs ([`image_packages`] without
    /// one). The default: none when the profile names its own image, which the target cannot know.
    ///
    /// [`image_packages`]: ServingTarget::image_packages
    fn profile_packages(&self, profile: Option<&Profile>) -> Option<&str> {
        match profile.and_then(|p| p.image.as_ref()) {
            Some(_) => None,
            None => self.image_packages(),
        }
    }

    /// Whether this target renders the [`environment`] step for a spec whose
    /// [`install`](ServingSpec::install) is not empty (false, the default: such a spec is an
    /// error, and the promotion pass keeps the channel on what it served before instead).
    fn installs_packages(&self) -> bool {
        false
    }
}
