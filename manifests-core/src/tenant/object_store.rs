//! What the in-namespace object stores (SeaweedFS, MinIO) share: a Deployment with its data on
//! a PersistentVolumeClaim at `/data` and `/tmp` as scratch, health probes on the `http` port, a
//! ServiceAccount and a Service.

use k8s_openapi::api::core::v1::{Container, VolumeMount};

use super::spec::TenantSpec;
use super::workload::{Component, claim_volume};
use crate::meta;
use crate::{ManifestSet, Result};

/// One object store: its name, its container (image, args, env, ports), the paths of its
/// readiness and liveness checks, and the ports its Service exposes.
pub(super) struct Store<'a> {
    pub(super) name: &'a str,
    pub(super) container: Container,
    pub(super) ready_path: &'a str,
    pub(super) live_path: &'a str,
    pub(super) service_ports: &'a [(&'a str, i32)],
}

/// The S3 endpoint of the store `name` listening on `port` in `namespace`.
pub(super) fn endpoint(name: &str, port: i32, namespace: &str) -> String {
    format!("http://{name}.{namespace}.svc.cluster.local:{port}")
}

pub(super) fn render(
    spec: &TenantSpec,
    store: Store<'_>,
    size: &str,
    storage_class: Option<&str>,
) -> Result<ManifestSet> {
    let component = Component {
        namespace: &spec.namespace,
        name: store.name,
        component: "object-store",
    };
    let claim = format!("{}-data", store.name);
    let (tmp, tmp_mount) = meta::scratch_volume("tmp", "/tmp", false);
    let container = Container {
        startup_probe: Some(meta::http_probe(store.live_path, 5, 60)),
        readiness_probe: Some(meta::http_probe(store.ready_path, 10, 3)),
        liveness_probe: Some(meta::http_probe(store.live_path, 20, 3)),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "data".into(),
                mount_path: "/data".into(),
                ..Default::default()
            },
            tmp_mount,
        ]),
        ..store.container
    };
    let mut set = ManifestSet::new();
    set.push(&component.service_account())?;
    set.push(&component.claim(&claim, size, storage_class))?;
    set.push(&component.deployment(container, vec![claim_volume("data", &claim), tmp], false))?;
    set.push(&component.service(store.service_ports))?;
    Ok(set)
}
