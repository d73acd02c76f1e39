//! A MinIO for the team, when it has no external bucket.

use k8s_openapi::api::core::v1::{Container, EnvVar, VolumeMount};

use super::spec::TenantSpec;
use super::workload::{Component, claim_volume};
use crate::meta;
use crate::{ManifestSet, Result};

/// Name of MinIO's Deployment, Service and ServiceAccount.
pub const NAME: &str = "minio";
/// S3 API port.
pub const PORT: i32 = 9000;

/// The S3 endpoint of the team's MinIO.
pub fn endpoint(namespace: &str) -> String {
    format!("http://{NAME}.{namespace}.svc.cluster.local:{PORT}")
}

pub(crate) fn render(
    spec: &TenantSpec,
    image: &str,
    size: &str,
    storage_class: Option<&str>,
) -> Result<ManifestSet> {
    let component = Component {
        namespace: &spec.namespace,
        name: NAME,
        component: "object-store",
    };
    let claim = "minio-data";
    let (tmp, tmp_mount) = meta::scratch_volume("tmp", "/tmp", false);
    // MinIO's root user is the team's S3 key pair, so one Secret serves server and clients.
    let env: Vec<EnvVar> = vec![
        spec.s3_secret.access_key_id().env("MINIO_ROOT_USER"),
        spec.s3_secret
            .secret_access_key()
            .env("MINIO_ROOT_PASSWORD"),
        meta::env("HOME", "/tmp"),
    ];
    let container = Container {
        name: "minio".into(),
        image: Some(image.to_owned()),
        args: Some(
            [
                "server",
                "/data",
                "--address",
                ":9000",
                "--console-address",
                ":9001",
            ]
            .map(str::to_owned)
            .to_vec(),
        ),
        ports: Some(vec![
            meta::tcp_port("http", PORT),
            meta::tcp_port("console", 9001),
        ]),
        env: Some(env),
        startup_probe: Some(meta::http_probe("/minio/health/live", 5, 60)),
        readiness_probe: Some(meta::http_probe("/minio/health/ready", 10, 3)),
        liveness_probe: Some(meta::http_probe("/minio/health/live", 20, 3)),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "data".into(),
                mount_path: "/data".into(),
                ..Default::default()
            },
            tmp_mount,
        ]),
        ..Default::default()
    };
    let mut set = ManifestSet::new();
    set.push(&component.service_account())?;
    set.push(&component.claim(claim, size, storage_class))?;
    set.push(&component.deployment(container, vec![claim_volume("data", claim), tmp], false))?;
    set.push(&component.service(&[("http", PORT), ("console", 9001)]))?;
    Ok(set)
}
