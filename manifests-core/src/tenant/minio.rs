//! A MinIO for the team, when it has no external bucket.

use k8s_openapi::api::core::v1::{Container, EnvVar};

use super::object_store::{self, Store};
use super::spec::TenantSpec;
use crate::meta;
use crate::{ManifestSet, Result};

/// Name of MinIO's Deployment, Service and ServiceAccount.
pub const NAME: &str = "minio";
/// S3 API port.
pub const PORT: i32 = 9000;

pub(crate) fn render(
    spec: &TenantSpec,
    image: &str,
    size: &str,
    storage_class: Option<&str>,
) -> Result<ManifestSet> {
    // MinIO's root user is the team's S3 key pair, so one Secret serves server and clients.
    let env: Vec<EnvVar> = vec![
        spec.s3_secret.access_key_id().env("MINIO_ROOT_USER"),
        spec.s3_secret
            .secret_access_key()
            .env("MINIO_ROOT_PASSWORD"),
        meta::env("HOME", "/tmp"),
    ];
    let args = [
        "server",
        "/data",
        "--address",
        ":9000",
        "--console-address",
        ":9001",
    ];
    let container = Container {
        name: "minio".into(),
        image: Some(image.to_owned()),
        args: Some(args.map(str::to_owned).to_vec()),
        ports: Some(vec![
            meta::tcp_port("http", PORT),
            meta::tcp_port("console", 9001),
        ]),
        env: Some(env),
        ..Default::default()
    };
    let store = Store {
        name: NAME,
        container,
        ready_path: "/minio/health/ready",
        live_path: "/minio/health/live",
        service_ports: &[("http", PORT), ("console", 9001)],
    };
    object_store::render(spec, store, size, storage_class)
}
