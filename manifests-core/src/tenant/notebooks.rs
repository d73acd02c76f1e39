//! Notebook wiring: a PodDefault that gives notebooks the tracking URI and S3 access.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::EnvVar;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use super::mlflow_server;
use super::spec::TenantSpec;
use super::workload::Component;
use crate::crds::kubeflow::{PodDefault, PodDefaultSpec};
use crate::meta;
use crate::{ManifestSet, Result};

/// The pod label that opts a notebook in (the notebook UI sets it from the PodDefault's checkbox).
pub const OPT_IN_LABEL: &str = "mlflow-gitops.io/mlflow-access";

pub(crate) fn render(spec: &TenantSpec, s3_env: &[EnvVar]) -> Result<ManifestSet> {
    let component = Component {
        namespace: &spec.namespace,
        name: "mlflow-access",
        component: "notebooks",
    };
    let mut env = vec![meta::env(
        "MLFLOW_TRACKING_URI",
        &mlflow_server::tracking_uri(&spec.namespace),
    )];
    env.extend_from_slice(s3_env);
    let pod_default = PodDefault {
        metadata: component.metadata("mlflow-access"),
        spec: PodDefaultSpec {
            selector: LabelSelector {
                match_labels: Some(BTreeMap::from([(OPT_IN_LABEL.into(), "true".into())])),
                ..Default::default()
            },
            desc: "MLflow tracking server and model store of this namespace".into(),
            env,
        },
    };
    let mut set = ManifestSet::new();
    set.push(&pod_default)?;
    Ok(set)
}
