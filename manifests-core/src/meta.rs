//! Labels, annotations and the small building blocks every object shares.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, HTTPGetAction,
    PodSecurityContext, Probe, ResourceRequirements, SeccompProfile, SecretKeySelector,
    SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

/// Value of `app.kubernetes.io/managed-by` on everything this workspace generates.
pub const MANAGED_BY: &str = "mlflow-gitops";

/// Annotation prefix for the MLflow facts behind an object (free text lives in annotations, never
/// in names or labels).
pub const ANNOTATION_PREFIX: &str = "mlflow-gitops.io/";

/// The `app.kubernetes.io/*` labels: `name` (what it is), `instance` (which one), `component`,
/// `managed-by`.
pub fn standard_labels(app: &str, instance: &str, component: &str) -> BTreeMap<String, String> {
    [
        ("app.kubernetes.io/name", app),
        ("app.kubernetes.io/instance", instance),
        ("app.kubernetes.io/component", component),
        ("app.kubernetes.io/managed-by", MANAGED_BY),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The labels a selector matches on: the stable subset of [`standard_labels`].
pub fn selector_labels(app: &str, instance: &str) -> BTreeMap<String, String> {
    [
        ("app.kubernetes.io/name", app),
        ("app.kubernetes.io/instance", instance),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Metadata of a namespaced object.
pub fn object_meta(
    name: &str,
    namespace: &str,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..Default::default()
    }
}

/// A reference to one key of a Secret, the only way credentials enter a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretKeyRef {
    /// Secret name (in the object's namespace).
    pub name: String,
    /// Key inside the Secret.
    pub key: String,
}

impl SecretKeyRef {
    /// A reference to `key` of Secret `name`.
    pub fn new(name: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            key: key.into(),
        }
    }

    /// An environment variable whose value the kubelet reads from the Secret.
    pub fn env(&self, variable: &str) -> EnvVar {
        EnvVar {
            name: variable.to_owned(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: self.name.clone(),
                    key: self.key.clone(),
                    optional: Some(false),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// A plain environment variable (never a credential).
pub fn env(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        ..Default::default()
    }
}

/// CPU and memory requests and limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    /// CPU request (default `100m`).
    pub cpu_request: String,
    /// Memory request (default `512Mi`).
    pub memory_request: String,
    /// CPU limit (default none: throttling a model server mid-request helps nobody).
    pub cpu_limit: Option<String>,
    /// Memory limit (default `1Gi`).
    pub memory_limit: String,
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            cpu_request: "100m".into(),
            memory_request: "512Mi".into(),
            cpu_limit: None,
            memory_limit: "1Gi".into(),
        }
    }
}

impl Resources {
    /// As Kubernetes resource requirements.
    pub fn requirements(&self) -> ResourceRequirements {
        let quantity = |s: &str| Quantity(s.to_owned());
        let mut limits = BTreeMap::from([("memory".to_owned(), quantity(&self.memory_limit))]);
        if let Some(cpu) = &self.cpu_limit {
            limits.insert("cpu".into(), quantity(cpu));
        }
        ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), quantity(&self.cpu_request)),
                ("memory".to_owned(), quantity(&self.memory_request)),
            ])),
            limits: Some(limits),
            ..Default::default()
        }
    }
}

/// The UID/GID generated pods run as: any non-root id works for the images used here.
pub const RUN_AS_ID: i64 = 1000;

/// Pod-level security: non-root, the runtime's default seccomp profile, volumes owned by the group.
pub fn restricted_pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS_ID),
        run_as_group: Some(RUN_AS_ID),
        fs_group: Some(RUN_AS_ID),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Container-level security: the "restricted" Pod Security Standard.
pub fn restricted_container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A named TCP container port (probes and Services refer to ports by name).
pub fn tcp_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_owned()),
        container_port: port,
        protocol: Some("TCP".into()),
        ..Default::default()
    }
}

/// An HTTP GET probe on the container port named `http`.
pub fn http_probe(path: &str, period_seconds: i32, failure_threshold: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String("http".into()),
            ..Default::default()
        }),
        period_seconds: Some(period_seconds),
        timeout_seconds: Some(5),
        failure_threshold: Some(failure_threshold),
        ..Default::default()
    }
}

/// A scratch volume (`medium: Memory` for `/dev/shm`) and where it is mounted.
pub fn scratch_volume(name: &str, mount_path: &str, in_memory: bool) -> (Volume, VolumeMount) {
    let volume = Volume {
        name: name.to_owned(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: in_memory.then(|| "Memory".to_owned()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mount = VolumeMount {
        name: name.to_owned(),
        mount_path: mount_path.to_owned(),
        ..Default::default()
    };
    (volume, mount)
}

/// Refuses a URI that carries a password (`scheme://user:secret@host`): a credential in a spec
/// would end up in git. Only the field name is reported, never the URI.
pub fn check_no_credentials(field: &str, uri: &str) -> crate::Result<()> {
    let Some((_, rest)) = uri.split_once("://") else {
        return Ok(());
    };
    // A password may itself hold '/', so the authority cannot be cut at the first '/': what
    // matters is a `user:` (no '/' in it) before an '@'.
    let has_password = rest.split_once('@').is_some_and(|(userinfo, _)| {
        userinfo
            .split_once(':')
            .is_some_and(|(user, _)| !user.contains('/'))
    });
    if has_password {
        return Err(crate::Error::CredentialInUri {
            field: field.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_uris_are_refused_without_echoing_them() {
        let err =
            check_no_credentials("tenant.mlflow.backend", "mysql://u:hunter2@db/x").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        assert!(err.to_string().contains("tenant.mlflow.backend"));
        check_no_credentials("x", "s3://bucket/a@b:c").unwrap();
        check_no_credentials("x", "s3://bucket/models/a:b@c/1").unwrap();
        check_no_credentials("x", "http://u:pa/ss@host").unwrap_err();
        check_no_credentials("x", "http://minio:9000").unwrap();
        check_no_credentials("x", "sqlite:////data/mlflow.db").unwrap();
    }
}
