//! A team's workspace from a [`TenantSpec`]: namespace, MLflow server, object store, ingress,
//! notebook wiring, promotion daemon and Argo CD Application. Credentials only by Secret reference;
//! NetworkPolicies and authorization policies come from `policy-gen`.

mod ingress;
mod minio;
mod mlflow_server;
mod notebooks;
mod object_store;
mod promotion;
mod seaweedfs;
mod spec;
mod workload;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use crate::serving::GATEWAY_NAME;
pub use mlflow_server::tracking_uri;
pub use notebooks::OPT_IN_LABEL;
pub use promotion::kserve_storage_annotations;
pub use spec::{
    Backend, ClusterIsolation, ExternalEgress, GitOps, Ingress, Isolation, MlflowServerSpec,
    Notebooks, S3Secret, Storage, TenantSpec,
};

use crate::meta;
use crate::serving::S3Access;
use crate::{Error, ManifestSet, Result};

/// Label every tenant namespace carries, naming the tenant; policy-gen selects tenants by it.
pub const TENANT_LABEL: &str = "mlflow-gitops.io/tenant";

/// Every object of the team's workspace, in apply order (namespace first).
///
/// ```
/// use manifests_core::{TenantSpec, tenant_components};
/// let spec = TenantSpec { namespace: "qooba".into(), ..Default::default() };
/// let set = tenant_components(&spec)?;
/// assert_eq!(set.iter().next().unwrap().key().kind, "Namespace");
/// assert!(!set.to_yaml()?.contains("secretAccessKey:"), "keys are referenced, never inlined");
/// # Ok::<(), manifests_core::Error>(())
/// ```
pub fn tenant_components(spec: &TenantSpec) -> Result<ManifestSet> {
    if !crate::naming::is_rfc1035_label(&spec.namespace) {
        return Err(Error::Invalid {
            field: "tenant.namespace".into(),
            reason: format!("{:?} is not an RFC 1035 label", spec.namespace),
        });
    }
    let s3 = s3_access(spec);
    let s3_env = s3.env("tenant.storage")?;

    let mut set = ManifestSet::new();
    set.push(&namespace(spec))?;
    match &spec.storage {
        Storage::Seaweedfs {
            image,
            size,
            storage_class,
        } => set.extend(seaweedfs::render(
            spec,
            image,
            size,
            storage_class.as_deref(),
        )?)?,
        Storage::Minio {
            image,
            size,
            storage_class,
        } => set.extend(minio::render(spec, image, size, storage_class.as_deref())?)?,
        Storage::External { .. } => {}
    }
    set.extend(mlflow_server::render(spec, &s3_env)?)?;
    set.extend(ingress::render(spec)?)?;
    if spec.notebooks.enabled {
        set.extend(notebooks::render(spec, &s3_env)?)?;
    }
    if let Some(gitops) = &spec.gitops {
        set.extend(promotion::render(spec, gitops, &s3_env)?)?;
    }
    Ok(set)
}

/// How the team's pods reach its object store (the serving targets use the same).
pub fn s3_access(spec: &TenantSpec) -> S3Access {
    let endpoint_url = match &spec.storage {
        Storage::Seaweedfs { .. } => Some(object_store::endpoint(
            seaweedfs::NAME,
            seaweedfs::PORT,
            &spec.namespace,
        )),
        Storage::Minio { .. } => Some(object_store::endpoint(
            minio::NAME,
            minio::PORT,
            &spec.namespace,
        )),
        Storage::External { endpoint_url, .. } => endpoint_url.clone(),
    };
    S3Access {
        endpoint_url,
        region: region(spec).to_owned(),
        access_key_id: spec.s3_secret.access_key_id(),
        secret_access_key: spec.s3_secret.secret_access_key(),
    }
}

/// The team's MLflow server stores artifacts here (its `--artifacts-destination`); the promotion
/// daemon resolves `mlflow-artifacts:/` sources against it.
pub fn artifacts_destination(spec: &TenantSpec) -> String {
    format!("s3://{}/mlflow", spec.bucket)
}

fn region(spec: &TenantSpec) -> &str {
    match &spec.storage {
        Storage::External { region, .. } => region,
        Storage::Seaweedfs { .. } | Storage::Minio { .. } => "us-east-1",
    }
}

fn namespace(spec: &TenantSpec) -> Namespace {
    let mut labels = BTreeMap::from([
        (TENANT_LABEL.to_owned(), spec.namespace.clone()),
        (
            "app.kubernetes.io/managed-by".to_owned(),
            meta::MANAGED_BY.to_owned(),
        ),
    ]);
    labels.insert(
        "istio-injection".into(),
        if spec.istio_injection {
            "enabled"
        } else {
            "disabled"
        }
        .into(),
    );
    Namespace {
        metadata: ObjectMeta {
            name: Some(spec.namespace.clone()),
            labels: Some(labels),
            ..Default::default()
        },
        ..Default::default()
    }
}
