//! `s3://` locations (feature `s3`): object_store's S3 client, configured from the environment
//! as MLflow and boto3 read it, one client per bucket.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use object_store::ObjectStore;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};

use crate::{Error, Result};

/// The S3 settings of a resolver and the clients made from them.
#[derive(Default)]
pub(super) struct S3Clients {
    pub(super) endpoint: Option<String>,
    config: Vec<(AmazonS3ConfigKey, String)>,
    clients: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl S3Clients {
    /// The endpoint from `MLFLOW_S3_ENDPOINT_URL`, else `AWS_ENDPOINT_URL`.
    pub(super) fn from_env() -> Self {
        let endpoint = ["MLFLOW_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()));
        Self {
            endpoint,
            ..Self::default()
        }
    }

    /// Sets one option by its object_store name; the value never appears in messages.
    pub(super) fn set_option(&mut self, key: &str, value: String) -> Result<()> {
        let parsed = key
            .parse::<AmazonS3ConfigKey>()
            .map_err(|_| Error::Unsupported {
                uri: "s3://".into(),
                reason: format!("unknown S3 option {key:?}"),
            })?;
        self.config.push((parsed, value));
        Ok(())
    }

    /// Sets the key pair, over the `AWS_*` variables.
    pub(super) fn set_credentials(&mut self, access_key_id: &str, secret_access_key: &str) {
        self.config
            .push((AmazonS3ConfigKey::AccessKeyId, access_key_id.to_owned()));
        self.config.push((
            AmazonS3ConfigKey::SecretAccessKey,
            secret_access_key.to_owned(),
        ));
    }

    /// The client of `bucket` (made on first use); `redacted_uri` names the location in errors.
    pub(super) fn client(
        &self,
        bucket: &str,
        redacted_uri: String,
    ) -> Result<Arc<dyn ObjectStore>> {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = clients.get(bucket) {
            return Ok(Arc::clone(client));
        }
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_virtual_hosted_style_request(false)
            .with_retry(client_retries());
        if std::env::var_os("AWS_REGION").is_none()
            && std::env::var_os("AWS_DEFAULT_REGION").is_none()
        {
            // S3-compatible servers accept any region; boto3 falls back to us-east-1 as well.
            builder = builder.with_region("us-east-1");
        }
        for (key, value) in &self.config {
            builder = builder.with_config(*key, value);
        }
        if let Some(endpoint) = &self.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        let client: Arc<dyn ObjectStore> =
            Arc::new(builder.build().map_err(|source| Error::Open {
                operation: "configure S3 for",
                uri: redacted_uri,
                source,
            })?);
        clients.insert(bucket.to_owned(), Arc::clone(&client));
        Ok(client)
    }
}

/// object_store's own retries, kept short: [`Mirror`](crate::Mirror) retries whole files with its
/// own backoff on top, and with the defaults (10 retries within 3 minutes, under every one of
/// ours) a one-shot pass against a dead server would hang for many minutes before saying so.
fn client_retries() -> object_store::RetryConfig {
    object_store::RetryConfig {
        max_retries: 2,
        retry_timeout: std::time::Duration::from_secs(20),
        ..Default::default()
    }
}
