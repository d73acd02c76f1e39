//! SeaweedFS for the team, when it has no external bucket: the default object store (MinIO's
//! community images are no longer published; see `images/README.md`).
//!
//! One `weed server` process runs the master, volume, filer and S3 gateway. Only the S3 gateway
//! listens beyond the pod's loopback: the filer answers without credentials, so it must not be
//! reachable from other pods. The gateway's one identity is the team's S3 key pair, read from the
//! Secret as environment variables (SeaweedFS takes `AWS_ACCESS_KEY_ID` and
//! `AWS_SECRET_ACCESS_KEY` as its admin identity); anonymous requests are refused.

use k8s_openapi::api::core::v1::Container;

use super::object_store::{self, Store};
use super::spec::TenantSpec;
use crate::meta;
use crate::{ManifestSet, Result};

/// Name of the object store's Deployment, Service and ServiceAccount.
pub const NAME: &str = "seaweedfs";
/// S3 API port.
pub const PORT: i32 = 8333;

pub(crate) fn render(
    spec: &TenantSpec,
    image: &str,
    size: &str,
    storage_class: Option<&str>,
) -> Result<ManifestSet> {
    let env = vec![
        spec.s3_secret.access_key_id().env("AWS_ACCESS_KEY_ID"),
        spec.s3_secret
            .secret_access_key()
            .env("AWS_SECRET_ACCESS_KEY"),
    ];
    let args = [
        "server",
        "-dir=/data",
        // Master, volume server and filer talk over the pod's loopback only.
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        "-filer",
        "-s3",
        "-s3.ip.bind=0.0.0.0",
        "-s3.port=8333",
        // Not S3: the Iceberg and Lance catalogs stay off.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
    ];
    let container = Container {
        name: "seaweedfs".into(),
        image: Some(image.to_owned()),
        args: Some(args.map(str::to_owned).to_vec()),
        ports: Some(vec![meta::tcp_port("http", PORT)]),
        env: Some(env),
        ..Default::default()
    };
    let store = Store {
        name: NAME,
        container,
        ready_path: "/healthz",
        live_path: "/healthz",
        service_ports: &[("http", PORT)],
    };
    object_store::render(spec, store, size, storage_class)
}
