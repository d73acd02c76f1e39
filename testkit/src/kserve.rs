//! The predictor pod KServe (v0.20, Standard mode) makes of an InferenceService with
//! `modelFormat: mlflow`, for [`Pod`](crate::pod::Pod) to run: what KServe's controller and pod
//! webhook add, read from their code (kserve/kserve, `pkg/apis/serving/v1beta1/
//! inference_service_defaults.go` `SetMlServerDefaults`, `config/runtimes/kserve-mlserver.yaml`,
//! `pkg/webhook/admission/pod/storage_initializer_injector.go`, `pkg/credentials/
//! service_account_credentials.go` and `pkg/credentials/s3/`):
//!
//! - the `kserve-container` runs the `kserve-mlserver` runtime's image with its environment
//!   (`MLSERVER_MODEL_IMPLEMENTATION` from the `modelClass` label, `mlserver_mlflow.MLflowRuntime`
//!   for the mlflow format; HTTP 8080, gRPC 9000) plus `MLSERVER_MODEL_NAME` (the
//!   InferenceService's name) and `MLSERVER_MODEL_URI` (`/mnt/models`);
//! - a `storage-initializer` init container downloads `storageUri` into `/mnt/models` (an emptyDir
//!   the model server mounts read-only), with the S3 environment KServe derives from the Secrets
//!   the predictor's ServiceAccount lists: the keys by `secretKeyRef`, and `S3_ENDPOINT`,
//!   `AWS_ENDPOINT_URL`, `S3_USE_HTTPS`, `AWS_DEFAULT_REGION`, ... from the **Secret's**
//!   `serving.kserve.io/s3-*` annotations or data keys. The ServiceAccount's own annotations count
//!   only with an IRSA role (`eks.amazonaws.com/role-arn`), which this emulation refuses.
//!
//! Anything else the InferenceService asks for (another format, containers, a transformer, a
//! canary) is an error naming it, never approximated.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::pod::Secrets;

/// Where KServe puts the model (`constants.DefaultModelLocalMountPath`).
pub const MODEL_DIR: &str = "/mnt/models";

/// The images the cluster's KServe configuration names.
#[derive(Clone, Debug)]
pub struct Runtime {
    /// The `kserve-mlserver` ClusterServingRuntime's image.
    pub mlserver_image: String,
    /// `inferenceservice-config`'s `storageInitializer.image`.
    pub storage_initializer_image: String,
}

/// Secrets' `metadata.annotations`, by Secret name (their data is a [`Secrets`]).
pub type SecretAnnotations = BTreeMap<String, BTreeMap<String, String>>;

/// The predictor pod's spec for `isvc`, with `account` (the ServiceAccount it names) and the
/// Secrets it lists (`secrets` for their data, `annotations` for their annotations).
pub fn predictor_pod(
    isvc: &Value,
    account: &Value,
    secrets: &Secrets,
    annotations: &SecretAnnotations,
    runtime: &Runtime,
) -> Result<Value, String> {
    let name = isvc["metadata"]["name"]
        .as_str()
        .ok_or("the InferenceService has no name")?;
    let predictor = &isvc["spec"]["predictor"];
    // A canary is a second predictor pod; this builds the main predictor's only.
    for unsupported in ["containers", "transformer", "explainer", "canary"] {
        if predictor.get(unsupported).is_some() || isvc["spec"].get(unsupported).is_some() {
            return Err(format!("{name}: {unsupported} is not emulated"));
        }
    }
    let model = &predictor["model"];
    if model["modelFormat"]["name"] != "mlflow" {
        return Err(format!(
            "{name}: modelFormat {} is not the mlflow format kserve-mlserver serves here",
            model["modelFormat"]
        ));
    }
    if model["protocolVersion"] != "v2" {
        return Err(format!(
            "{name}: MLServer's MLflow runtime speaks v2 only, not {}",
            model["protocolVersion"]
        ));
    }
    let storage_uri = model["storageUri"]
        .as_str()
        .ok_or_else(|| format!("{name}: no storageUri"))?;
    let env = storage_env(predictor, account, secrets, annotations)?;
    let models = |read_only: bool| json!({"name": "kserve-provision-location", "mountPath": MODEL_DIR, "readOnly": read_only});
    let runtime_security = json!({
        "allowPrivilegeEscalation": false,
        "privileged": false,
        "runAsNonRoot": true,
        "capabilities": {"drop": ["ALL"]},
    });
    Ok(json!({
        "serviceAccountName": account["metadata"]["name"],
        "initContainers": [{
            "name": "storage-initializer",
            "image": runtime.storage_initializer_image,
            "args": [storage_uri, MODEL_DIR],
            "env": env,
            "volumeMounts": [models(false)],
        }],
        "containers": [{
            "name": "kserve-container",
            "image": runtime.mlserver_image,
            "env": [
                {"name": "MLSERVER_MODEL_IMPLEMENTATION", "value": "mlserver_mlflow.MLflowRuntime"},
                {"name": "MLSERVER_HTTP_PORT", "value": "8080"},
                {"name": "MLSERVER_GRPC_PORT", "value": "9000"},
                {"name": "MLSERVER_MODEL_NAME", "value": name},
                {"name": "MLSERVER_MODEL_URI", "value": MODEL_DIR},
            ],
            "ports": [{"name": "http1", "containerPort": 8080, "protocol": "TCP"}],
            "resources": model.get("resources").cloned().unwrap_or(Value::Null),
            "securityContext": runtime_security,
            "volumeMounts": [models(true)],
        }],
        "volumes": [{"name": "kserve-provision-location", "emptyDir": {}}],
    }))
}

/// The storage initializer's S3 environment, as KServe's credential builder makes it.
fn storage_env(
    predictor: &Value,
    account: &Value,
    secrets: &Secrets,
    annotations: &SecretAnnotations,
) -> Result<Vec<Value>, String> {
    let wanted = predictor["serviceAccountName"]
        .as_str()
        .unwrap_or("default");
    if account["metadata"]["name"] != wanted {
        return Err(format!(
            "the predictor runs as ServiceAccount {wanted}, not {}",
            account["metadata"]["name"]
        ));
    }
    if account["metadata"]["annotations"]
        .get("eks.amazonaws.com/role-arn")
        .is_some()
    {
        return Err(format!("{wanted}: IRSA is not emulated"));
    }
    let mut env = Vec::new();
    for secret in account["secrets"].as_array().into_iter().flatten() {
        let secret = secret["name"].as_str().unwrap_or_default();
        let data = secrets.get(secret).ok_or_else(|| {
            format!("ServiceAccount {wanted} lists Secret {secret}, which does not exist")
        })?;
        // Only a Secret holding the S3 secret key is read as S3 credentials
        // (`mountSecretCredential`, with the shipped ConfigMap's key names).
        if !data.contains_key("AWS_SECRET_ACCESS_KEY") {
            continue;
        }
        for key in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            env.push(
                json!({"name": key, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}),
            );
        }
        let none = BTreeMap::new();
        env.extend(s3_env(annotations.get(secret).unwrap_or(&none), data));
    }
    Ok(env)
}

/// `BuildS3EnvVars`: each setting from the Secret's annotation, else its data key (the
/// cluster-wide defaults of `inferenceservice-config` are empty here).
fn s3_env(annotations: &BTreeMap<String, String>, data: &BTreeMap<String, String>) -> Vec<Value> {
    let setting = |annotation: &str, key: &str| {
        annotations
            .get(&format!("serving.kserve.io/{annotation}"))
            .or_else(|| data.get(key))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let var = |name: &str, value: &str| json!({"name": name, "value": value});
    let mut env = Vec::new();
    if let Some(endpoint) = setting("s3-endpoint", "S3_ENDPOINT") {
        let lower = endpoint.to_ascii_lowercase();
        let (https, host, url) = if lower.starts_with("https://") {
            ("1".to_owned(), endpoint[8..].to_owned(), endpoint.clone())
        } else if lower.starts_with("http://") {
            ("0".to_owned(), endpoint[7..].to_owned(), endpoint.clone())
        } else {
            let https = setting("s3-usehttps", "S3_USE_HTTPS").unwrap_or_default();
            let scheme = if https == "0" { "http" } else { "https" };
            (https, endpoint.clone(), format!("{scheme}://{endpoint}"))
        };
        if !https.is_empty() {
            env.push(var("S3_USE_HTTPS", &https));
        }
        env.push(var("S3_ENDPOINT", &host));
        env.push(var("AWS_ENDPOINT_URL", &url));
    }
    for (annotation, key, name) in [
        ("s3-verifyssl", "S3_VERIFY_SSL", "S3_VERIFY_SSL"),
        (
            "s3-useanoncredential",
            "awsAnonymousCredential",
            "awsAnonymousCredential",
        ),
        ("s3-region", "AWS_DEFAULT_REGION", "AWS_DEFAULT_REGION"),
        (
            "s3-usevirtualbucket",
            "S3_USER_VIRTUAL_BUCKET",
            "S3_USER_VIRTUAL_BUCKET",
        ),
        ("s3-useaccelerate", "S3_USE_ACCELERATE", "S3_USE_ACCELERATE"),
        ("s3-cabundle", "AWS_CA_BUNDLE", "AWS_CA_BUNDLE"),
    ] {
        if let Some(value) = setting(annotation, key) {
            env.push(var(name, &value));
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_comes_from_the_secret_not_the_service_account() {
        let account = json!({
            "metadata": {"name": "sa", "annotations": {"serving.kserve.io/s3-endpoint": "ignored:1"}},
            "secrets": [{"name": "keys"}],
        });
        let secrets: Secrets = [(
            "keys".to_owned(),
            [("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into(),
        )]
        .into();
        let predictor = json!({"serviceAccountName": "sa"});
        let names = |env: Vec<Value>| -> Vec<String> {
            env.iter()
                .map(|v| {
                    format!(
                        "{}={}",
                        v["name"].as_str().unwrap(),
                        v["value"].as_str().unwrap_or("ref")
                    )
                })
                .collect()
        };
        let bare = storage_env(&predictor, &account, &secrets, &BTreeMap::new()).unwrap();
        assert_eq!(
            names(bare),
            ["AWS_ACCESS_KEY_ID=ref", "AWS_SECRET_ACCESS_KEY=ref"]
        );
        let annotations: SecretAnnotations = [(
            "keys".to_owned(),
            [
                ("serving.kserve.io/s3-endpoint", "store:8333"),
                ("serving.kserve.io/s3-usehttps", "0"),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .into(),
        )]
        .into();
        let annotated = storage_env(&predictor, &account, &secrets, &annotations).unwrap();
        assert_eq!(
            names(annotated)[2..],
            [
                "S3_USE_HTTPS=0",
                "S3_ENDPOINT=store:8333",
                "AWS_ENDPOINT_URL=http://store:8333"
            ]
        );
    }
}
