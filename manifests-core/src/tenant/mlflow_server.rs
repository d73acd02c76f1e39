//! The team's MLflow tracking server and model registry.

use k8s_openapi::api::core::v1::{Container, VolumeMount};

use super::spec::{Backend, TenantSpec};
use super::workload::{Component, claim_volume};
use crate::meta::{self, SecretKeyRef};
use crate::{ManifestSet, Result};

/// Name of the server's Deployment, Service and ServiceAccount.
pub const NAME: &str = "mlflow";
/// Port of the tracking server.
pub const PORT: i32 = 5000;

/// The URL pods of the namespace reach the tracking server at.
pub fn tracking_uri(namespace: &str) -> String {
    format!("http://{NAME}.{namespace}.svc.cluster.local:{PORT}")
}

/// The `Host` headers the server accepts (its DNS-rebinding guard refuses any other): the
/// in-cluster service names with and without the port, the configured external hosts, localhost.
fn allowed_hosts(spec: &TenantSpec) -> Vec<String> {
    let ns = &spec.namespace;
    let mut hosts: Vec<String> = [
        NAME.to_owned(),
        format!("{NAME}.{ns}"),
        format!("{NAME}.{ns}.svc"),
        format!("{NAME}.{ns}.svc.cluster.local"),
    ]
    .into_iter()
    .flat_map(|h| [format!("{h}:{PORT}"), h])
    .collect();
    hosts.extend(spec.mlflow.allowed_hosts.iter().cloned());
    hosts.push("localhost".into());
    hosts
}

/// What MLflow needs to deliver webhooks to the daemon (MLflow 3.17, `mlflow/webhooks/`): plain
/// http to an in-cluster Service (by default https only), private addresses (by default every
/// address the name resolves to must be public, which refuses any Service), and one encryption key
/// for stored webhook secrets on every worker (by default each worker makes its own, and the
/// deliveries of the others fail).
fn webhook_env(secret: &str) -> [k8s_openapi::api::core::v1::EnvVar; 3] {
    [
        meta::env("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https"),
        meta::env("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true"),
        SecretKeyRef::new(secret, "encryption-key").env("MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY"),
    ]
}

pub(crate) fn render(
    spec: &TenantSpec,
    s3_env: &[k8s_openapi::api::core::v1::EnvVar],
) -> Result<ManifestSet> {
    let ns = spec.namespace.as_str();
    let component = Component {
        namespace: ns,
        name: NAME,
        component: "tracking-server",
    };
    let mut set = ManifestSet::new();
    set.push(&component.service_account())?;

    let mut env = s3_env.to_vec();
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    let backend_uri = match &spec.mlflow.backend {
        Backend::Sqlite {
            size,
            storage_class,
        } => {
            let claim = "mlflow-db";
            set.push(&component.claim(claim, size, storage_class.as_deref()))?;
            volumes.push(claim_volume("db", claim));
            mounts.push(VolumeMount {
                name: "db".into(),
                mount_path: "/mlflow".into(),
                ..Default::default()
            });
            "sqlite:////mlflow/mlflow.db".to_owned()
        }
        Backend::Database { uri } => {
            // The kubelet expands $(VAR) in args, so the password never appears in the manifest.
            env.push(SecretKeyRef::env(uri, "MLFLOW_BACKEND_STORE_URI"));
            "$(MLFLOW_BACKEND_STORE_URI)".to_owned()
        }
    };
    let (tmp, tmp_mount) = meta::scratch_volume("tmp", "/tmp", false);
    volumes.push(tmp);
    mounts.push(tmp_mount);
    env.push(meta::env("HOME", "/tmp"));
    if let Some(secret) = spec.gitops.as_ref().and_then(|g| g.webhook_secret.as_ref()) {
        env.extend(webhook_env(secret));
    }

    let hosts = allowed_hosts(spec);

    let artifacts = super::artifacts_destination(spec);
    let args = [
        "server",
        "--host",
        "0.0.0.0",
        "--port",
        "5000",
        "--backend-store-uri",
        &backend_uri,
        "--artifacts-destination",
        &artifacts,
        "--serve-artifacts",
        "--allowed-hosts",
        &hosts.join(","),
    ]
    .map(str::to_owned)
    .to_vec();
    let container = Container {
        name: "mlflow".into(),
        image: Some(spec.mlflow.image.clone()),
        command: Some(vec!["mlflow".into()]),
        args: Some(args),
        ports: Some(vec![meta::tcp_port("http", PORT)]),
        env: Some(env),
        startup_probe: Some(meta::http_probe("/health", 5, 60)),
        readiness_probe: Some(meta::http_probe("/health", 10, 3)),
        liveness_probe: Some(meta::http_probe("/health", 20, 3)),
        resources: Some(spec.mlflow.resources.requirements()),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    set.push(&component.deployment(container, volumes, false))?;
    set.push(&component.service(&[("http", PORT)]))?;
    Ok(set)
}
