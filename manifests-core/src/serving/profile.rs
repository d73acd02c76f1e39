//! Serving profiles: the production settings a platform defines once (replicas, resources and
//! devices, autoscaling, image, scheduling, identity, configuration references) and applies to
//! models by name. A profile holds no free text from the registry: a registry tag may only name
//! one.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{
    ConfigMapEnvSource, ConfigMapKeySelector, EnvFromSource, EnvVar, EnvVarSource,
    ResourceRequirements, SecretEnvSource, SecretKeySelector, Toleration,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use serde::{Deserialize, Serialize};

use crate::meta::Resources;
use crate::naming::{is_dns_subdomain, is_label_value, is_qualified_name};
use crate::{Error, Result, quantity};

/// A named profile, as a [`ServingSpec`](super::ServingSpec) carries it: shared, not copied,
/// between the specs it applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedProfile {
    /// The name the platform gave it (a key of `[profiles.*]`).
    pub name: String,
    /// Its settings.
    pub profile: Profile,
}

impl NamedProfile {
    /// `profile` under `name`, checked ([`Profile::check`]); shared for the specs it serves.
    pub fn new(name: impl Into<String>, profile: Profile) -> Result<Arc<NamedProfile>> {
        let name = name.into();
        if !is_label_value(&name) || name.is_empty() {
            return Err(Error::Invalid {
                field: "profiles".into(),
                reason: format!(
                    "profile name {name:?} must be 1-63 characters of [A-Za-z0-9._-] starting and \
                     ending with a letter or digit"
                ),
            });
        }
        profile.check(&format!("profiles.{name}"))?;
        Ok(Arc::new(NamedProfile { name, profile }))
    }
}

/// Production settings for the channels a profile applies to. Every field is optional: what a
/// profile leaves out stays as the serving target sets it, so an empty profile changes nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// Replicas (without `autoscaling`). More than one also gets a PodDisruptionBudget.
    pub replicas: Option<i32>,
    /// The serving image (mlflow-serve only: KServe's image is its ServingRuntime's). With an
    /// image other than this repository's, the environment check is off for these channels.
    pub image: Option<String>,
    /// Requests and limits by resource name, over the target's own: `cpu`, `memory`,
    /// `ephemeral-storage`, or an extended resource such as `nvidia.com/gpu`.
    pub resources: Option<ResourceQuantities>,
    /// Scale between `min` and `max` replicas on a utilization target: a HorizontalPodAutoscaler
    /// for mlflow-serve, KServe's own `minReplicas`/`maxReplicas`/`scaleMetric`.
    pub autoscaling: Option<Autoscaling>,
    /// Nodes the pods may run on, by label.
    pub node_selector: BTreeMap<String, String>,
    /// Taints the pods tolerate (GPU nodes are usually tainted).
    pub tolerations: Vec<TolerationSpec>,
    /// The ServiceAccount the pods run as (for cloud identity, say); its token stays unmounted.
    pub service_account: Option<String>,
    /// Environment variables by name, each read from a Secret's or ConfigMap's key: a profile
    /// never holds a value.
    pub env: BTreeMap<String, KeyRef>,
    /// Whole Secrets or ConfigMaps as environment variables.
    pub env_from: Vec<SourceRef>,
    /// Annotations on the pods (for a sidecar or scraper, say).
    pub pod_annotations: BTreeMap<String, String>,
    /// Labels on the pods (never the `app.kubernetes.io/*` ones selectors use).
    pub pod_labels: BTreeMap<String, String>,
    /// How long the model may take to load before the pod is restarted, in seconds.
    pub startup_seconds: Option<i32>,
}

/// Requests and limits by resource name, as quantities (`"2"`, `"500m"`, `"4Gi"`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResourceQuantities {
    /// What the scheduler reserves.
    pub requests: BTreeMap<String, String>,
    /// What the container may use at most.
    pub limits: BTreeMap<String, String>,
}

/// Horizontal autoscaling: between `min` and `max` replicas, keeping average utilization (of the
/// requests) at the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Autoscaling {
    /// Replicas kept at the least (1 or more: a production model does not scale to zero).
    pub min: i32,
    /// Replicas at the most.
    pub max: i32,
    /// Target average CPU utilization, percent of the request.
    #[serde(default)]
    pub cpu_percent: Option<i32>,
    /// Target average memory utilization, percent of the request.
    #[serde(default)]
    pub memory_percent: Option<i32>,
}

/// A taint the pods tolerate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TolerationSpec {
    /// Taint key (none, with `Exists`: every taint).
    pub key: Option<String>,
    /// `Equal` (default) or `Exists`.
    pub operator: Option<String>,
    /// Taint value, for `Equal`.
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute` (none: every effect).
    pub effect: Option<String>,
    /// For `NoExecute`: how long the pod stays once the taint appears.
    pub toleration_seconds: Option<i64>,
}

/// One key of a Secret or ConfigMap (exactly one of the two).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyRef {
    /// Secret name.
    pub secret: Option<String>,
    /// ConfigMap name.
    pub config_map: Option<String>,
    /// The key.
    pub key: String,
}

/// A whole Secret or ConfigMap (exactly one of the two).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceRef {
    /// Secret name.
    pub secret: Option<String>,
    /// ConfigMap name.
    pub config_map: Option<String>,
}

/// Label keys the generated selectors and annotations own.
const RESERVED_KEY_PREFIXES: [&str; 2] = ["app.kubernetes.io/", crate::meta::ANNOTATION_PREFIX];

/// Resource names Kubernetes itself defines (extended ones are domain-qualified).
const STANDARD_RESOURCES: [&str; 3] = ["cpu", "memory", "ephemeral-storage"];

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Invalid {
        field: field.into(),
        reason: reason.into(),
    }
}

impl Profile {
    /// Refuses what the API server would refuse, naming the field under `at` (`profiles.large`).
    pub fn check(&self, at: &str) -> Result<()> {
        if let Some(replicas) = self.replicas
            && replicas < 0
        {
            return Err(invalid(format!("{at}.replicas"), "may not be negative"));
        }
        if let Some(image) = &self.image
            && (image.is_empty() || image.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(invalid(format!("{at}.image"), "not an image reference"));
        }
        if let Some(resources) = &self.resources {
            resources.check(&format!("{at}.resources"))?;
        }
        if let Some(autoscaling) = &self.autoscaling {
            autoscaling.check(&format!("{at}.autoscaling"))?;
            if self.replicas.is_some() {
                return Err(invalid(
                    format!("{at}.replicas"),
                    "set either replicas or autoscaling, not both",
                ));
            }
        }
        check_labels(&format!("{at}.node_selector"), &self.node_selector, true)?;
        for (i, toleration) in self.tolerations.iter().enumerate() {
            toleration.check(&format!("{at}.tolerations[{i}]"))?;
        }
        if let Some(account) = &self.service_account
            && !is_dns_subdomain(account)
        {
            return Err(invalid(
                format!("{at}.service_account"),
                "not a ServiceAccount name (an RFC 1123 subdomain)",
            ));
        }
        for (name, key) in &self.env {
            if !is_env_name(name) {
                return Err(invalid(
                    format!("{at}.env"),
                    format!("{name:?} is not an environment variable name"),
                ));
            }
            key.check(&format!("{at}.env.{name}"))?;
        }
        for (i, source) in self.env_from.iter().enumerate() {
            one_of(
                &format!("{at}.env_from[{i}]"),
                &source.secret,
                &source.config_map,
            )?;
        }
        check_labels(&format!("{at}.pod_labels"), &self.pod_labels, true)?;
        check_labels(
            &format!("{at}.pod_annotations"),
            &self.pod_annotations,
            false,
        )?;
        if let Some(seconds) = self.startup_seconds
            && seconds < 1
        {
            return Err(invalid(
                format!("{at}.startup_seconds"),
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// `base` with this profile's requests and limits over it, checked as the API server checks a
    /// container (a request above its limit, an extended resource overcommitted).
    pub fn requirements(&self, base: &Resources, at: &str) -> Result<ResourceRequirements> {
        let mut requirements = base.requirements();
        let Some(resources) = &self.resources else {
            return Ok(requirements);
        };
        let requests = requirements.requests.get_or_insert_with(BTreeMap::new);
        for (name, value) in &resources.requests {
            requests.insert(name.clone(), Quantity(value.clone()));
        }
        let limits = requirements.limits.get_or_insert_with(BTreeMap::new);
        for (name, value) in &resources.limits {
            limits.insert(name.clone(), Quantity(value.clone()));
        }
        for (name, request) in requests.iter() {
            let Some(limit) = limits.get(name) else {
                continue;
            };
            let (request, limit) = (quantity::parse(&request.0), quantity::parse(&limit.0));
            if let (Some(request), Some(limit)) = (request, limit)
                && request > limit
            {
                return Err(invalid(
                    format!("{at}.resources"),
                    format!("the {name} request is above its limit"),
                ));
            }
        }
        Ok(requirements)
    }

    /// The environment variables the profile adds, each a Secret or ConfigMap key reference.
    pub fn env_vars(&self) -> Vec<EnvVar> {
        self.env
            .iter()
            .map(|(name, key)| EnvVar {
                name: name.clone(),
                value_from: Some(key.source()),
                ..Default::default()
            })
            .collect()
    }

    /// The Secrets and ConfigMaps the profile adds whole, or None.
    pub fn env_from_sources(&self) -> Option<Vec<EnvFromSource>> {
        (!self.env_from.is_empty()).then(|| {
            self.env_from
                .iter()
                .map(|source| EnvFromSource {
                    secret_ref: source.secret.as_ref().map(|name| SecretEnvSource {
                        name: name.clone(),
                        optional: Some(false),
                    }),
                    config_map_ref: source.config_map.as_ref().map(|name| ConfigMapEnvSource {
                        name: name.clone(),
                        optional: Some(false),
                    }),
                    ..Default::default()
                })
                .collect()
        })
    }

    /// The tolerations, as Kubernetes takes them, or None.
    pub fn tolerations(&self) -> Option<Vec<Toleration>> {
        (!self.tolerations.is_empty()).then(|| {
            self.tolerations
                .iter()
                .map(|t| Toleration {
                    key: t.key.clone(),
                    operator: t.operator.clone(),
                    value: t.value.clone(),
                    effect: t.effect.clone(),
                    toleration_seconds: t.toleration_seconds,
                })
                .collect()
        })
    }

    /// The node selector, or None.
    pub fn node_selector(&self) -> Option<BTreeMap<String, String>> {
        (!self.node_selector.is_empty()).then(|| self.node_selector.clone())
    }
}

impl ResourceQuantities {
    fn check(&self, at: &str) -> Result<()> {
        for (kind, map) in [("requests", &self.requests), ("limits", &self.limits)] {
            for (name, value) in map {
                let field = format!("{at}.{kind}.{name}");
                let standard =
                    STANDARD_RESOURCES.contains(&name.as_str()) || name.starts_with("hugepages-");
                if !standard && !is_extended_resource(name) {
                    return Err(invalid(
                        field,
                        "not a resource name: use cpu, memory, ephemeral-storage, hugepages-<size> \
                         or a domain-qualified extended resource such as nvidia.com/gpu",
                    ));
                }
                if quantity::parse(value).is_none() {
                    return Err(invalid(
                        field,
                        format!("{value:?} is not a Kubernetes quantity (such as 500m, 2 or 4Gi)"),
                    ));
                }
                if !standard && !quantity::is_whole(value) {
                    return Err(invalid(field, "an extended resource is a whole number"));
                }
            }
        }
        for (name, request) in &self.requests {
            if STANDARD_RESOURCES.contains(&name.as_str()) || name.starts_with("hugepages-") {
                continue;
            }
            if self.limits.get(name) != Some(request) {
                return Err(invalid(
                    format!("{at}.limits.{name}"),
                    "an extended resource cannot be overcommitted: set its limit, equal to any \
                     request",
                ));
            }
        }
        Ok(())
    }
}

/// `example.com/name`: a domain-qualified name outside Kubernetes' own domain.
fn is_extended_resource(name: &str) -> bool {
    name.split_once('/').is_some_and(|(domain, _)| {
        domain.contains('.') && !domain.ends_with("kubernetes.io") && is_qualified_name(name)
    })
}

impl Autoscaling {
    fn check(&self, at: &str) -> Result<()> {
        if self.min < 1 || self.max < self.min {
            return Err(invalid(at, "needs 1 <= min <= max"));
        }
        let percents = [self.cpu_percent, self.memory_percent];
        if percents.iter().all(Option::is_none) {
            return Err(invalid(at, "name a target: cpu_percent or memory_percent"));
        }
        if percents.iter().flatten().any(|p| *p < 1) {
            return Err(invalid(at, "a utilization target is at least 1 percent"));
        }
        Ok(())
    }
}

impl TolerationSpec {
    fn check(&self, at: &str) -> Result<()> {
        let exists = match self.operator.as_deref() {
            None | Some("Equal") => false,
            Some("Exists") => true,
            Some(other) => return Err(invalid(at, format!("operator {other:?}: Equal or Exists"))),
        };
        match &self.key {
            Some(key) if !is_qualified_name(key) => {
                return Err(invalid(at, format!("key {key:?} is not a label key")));
            }
            None if !exists => return Err(invalid(at, "a toleration without key needs Exists")),
            _ => {}
        }
        if exists && self.value.as_deref().is_some_and(|v| !v.is_empty()) {
            return Err(invalid(at, "Exists takes no value"));
        }
        if let Some(value) = &self.value
            && !is_label_value(value)
        {
            return Err(invalid(at, format!("value {value:?} is not a label value")));
        }
        match self.effect.as_deref() {
            None | Some("NoSchedule" | "PreferNoSchedule" | "NoExecute") => {}
            Some(other) => return Err(invalid(at, format!("effect {other:?} is no taint effect"))),
        }
        if self.toleration_seconds.is_some() && self.effect.as_deref() != Some("NoExecute") {
            return Err(invalid(at, "toleration_seconds needs effect NoExecute"));
        }
        Ok(())
    }
}

impl KeyRef {
    fn check(&self, at: &str) -> Result<()> {
        one_of(at, &self.secret, &self.config_map)?;
        let key_ok = !self.key.is_empty()
            && self.key.len() <= 253
            && self
                .key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !key_ok {
            return Err(invalid(at, format!("key {:?} is not a data key", self.key)));
        }
        Ok(())
    }

    fn source(&self) -> EnvVarSource {
        EnvVarSource {
            secret_key_ref: self.secret.as_ref().map(|name| SecretKeySelector {
                name: name.clone(),
                key: self.key.clone(),
                optional: Some(false),
            }),
            config_map_key_ref: self.config_map.as_ref().map(|name| ConfigMapKeySelector {
                name: name.clone(),
                key: self.key.clone(),
                optional: Some(false),
            }),
            ..Default::default()
        }
    }
}

/// Exactly one of a Secret and a ConfigMap, by a valid name.
fn one_of(at: &str, secret: &Option<String>, config_map: &Option<String>) -> Result<()> {
    let name = match (secret, config_map) {
        (Some(name), None) | (None, Some(name)) => name,
        _ => return Err(invalid(at, "name exactly one of secret and config_map")),
    };
    if !is_dns_subdomain(name) {
        return Err(invalid(
            at,
            format!("{name:?} is not a Secret or ConfigMap name"),
        ));
    }
    Ok(())
}

/// Keys valid and not ours; for labels, values valid too.
fn check_labels(at: &str, map: &BTreeMap<String, String>, labels: bool) -> Result<()> {
    for (key, value) in map {
        if !is_qualified_name(key) {
            return Err(invalid(
                at,
                format!("{key:?} is not a label or annotation key"),
            ));
        }
        if RESERVED_KEY_PREFIXES.iter().any(|p| key.starts_with(p)) {
            return Err(invalid(
                at,
                format!("{key:?}: mlflow-gitops sets these keys"),
            ));
        }
        if labels && !is_label_value(value) {
            return Err(invalid(at, format!("{value:?} is not a label value")));
        }
    }
    Ok(())
}

/// What Kubernetes accepts as an environment variable name (printable, no `=`), kept to the
/// portable `[A-Za-z_][A-Za-z0-9_.-]*` so every shell and runtime sees it.
fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests;
