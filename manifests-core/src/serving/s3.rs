//! How pods reach the S3 store: endpoint by value, credentials by Secret reference.

use k8s_openapi::api::core::v1::EnvVar;
use serde::{Deserialize, Serialize};

use crate::Result;
use crate::meta::{self, SecretKeyRef};

/// Access to the S3 store holding the mirrors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct S3Access {
    /// Endpoint of an S3-compatible server, e.g. `http://minio.team-a.svc.cluster.local:9000`;
    /// none for AWS S3 itself. Must not carry credentials.
    pub endpoint_url: Option<String>,
    /// Region (default `us-east-1`, which S3-compatible servers accept).
    pub region: String,
    /// The access key id (default Secret `mlflow-s3`, key `AWS_ACCESS_KEY_ID`).
    pub access_key_id: SecretKeyRef,
    /// The secret access key (default Secret `mlflow-s3`, key `AWS_SECRET_ACCESS_KEY`).
    pub secret_access_key: SecretKeyRef,
}

/// The Secret the defaults refer to; the tenant bundle's ServiceAccount lists it for KServe.
pub const DEFAULT_S3_SECRET: &str = "mlflow-s3";

impl Default for S3Access {
    fn default() -> Self {
        Self {
            endpoint_url: None,
            region: "us-east-1".into(),
            access_key_id: SecretKeyRef::new(DEFAULT_S3_SECRET, "AWS_ACCESS_KEY_ID"),
            secret_access_key: SecretKeyRef::new(DEFAULT_S3_SECRET, "AWS_SECRET_ACCESS_KEY"),
        }
    }
}

impl S3Access {
    /// The environment MLflow and boto3 read: endpoint and region by value, keys by secretKeyRef.
    pub fn env(&self, field: &str) -> Result<Vec<EnvVar>> {
        let mut env = Vec::new();
        if let Some(endpoint) = &self.endpoint_url {
            meta::check_no_credentials(&format!("{field}.endpointUrl"), endpoint)?;
            env.push(meta::env("MLFLOW_S3_ENDPOINT_URL", endpoint));
            env.push(meta::env("AWS_ENDPOINT_URL", endpoint));
        }
        env.push(meta::env("AWS_DEFAULT_REGION", &self.region));
        env.push(self.access_key_id.env("AWS_ACCESS_KEY_ID"));
        env.push(self.secret_access_key.env("AWS_SECRET_ACCESS_KEY"));
        Ok(env)
    }
}
