//! A real `mlflow server` (the pinned MLflow) on a registry built by [`Scenario`](crate::mlflow::Scenario).

use std::time::Duration;

use crate::mlflow::Registry;
use crate::process::{Guarded, free_port, http, log_tail, wait_ready};
use crate::tools::venv_tool;

/// A tracking server on 127.0.0.1 serving a registry's database; stopped on drop.
pub struct MlflowServer {
    url: String,
    _process: Guarded,
    _dir: tempfile::TempDir,
}

impl MlflowServer {
    /// Starts `mlflow server` on `registry`'s backend store, with its artifacts destination, and
    /// waits until `/health` answers.
    pub fn start(registry: &Registry) -> MlflowServer {
        Self::start_with_env(registry, &[])
    }

    /// Like [`start`](Self::start), with webhooks able to reach a receiver on 127.0.0.1 over
    /// plain http, and a fixed secret-encryption key (what a deployment must set on every worker).
    pub fn start_with_webhooks(registry: &Registry) -> MlflowServer {
        let env = [
            ("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https"),
            ("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true"),
            // A Fernet key: 32 bytes, url-safe base64. A test key, not a secret.
            (
                "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY",
                "dGVzdGtpdC13ZWJob29rLWtleS0wMTIzNDU2Nzg5YWI=",
            ),
        ];
        Self::start_with_env(registry, &env)
    }

    /// Like [`start`](Self::start), with extra environment variables for the server.
    pub fn start_with_env(registry: &Registry, env: &[(&str, &str)]) -> MlflowServer {
        let dir = tempfile::Builder::new()
            .prefix("testkit-mlflow-server-")
            .tempdir()
            .expect("temp dir");
        let port = free_port();
        let args: Vec<String> = vec![
            "server".into(),
            "--backend-store-uri".into(),
            registry.backend_store_uri(),
            "--artifacts-destination".into(),
            registry.artifacts_destination().display().to_string(),
            "--host".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
            "--workers".into(),
            "1".into(),
        ];
        let log = dir.path().join("server.log");
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut process = Guarded::spawn_with_env(
            "mlflow server",
            &venv_tool("mlflow"),
            &args,
            &env,
            &log,
            &dir.path().join("scratch"),
        );
        let url = format!("http://127.0.0.1:{port}");
        wait_ready(&mut process, &log, Duration::from_secs(120), || {
            health_ok(port)
        });
        MlflowServer {
            url,
            _process: process,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:<port>`, the tracking URI.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `METHOD /api/2.0/mlflow/<path>` with a JSON body: the status and answer (None when the
    /// server did not answer).
    pub fn rest(&self, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
        http(
            self.port(),
            method,
            &format!("/api/2.0/mlflow/{path}"),
            Some(body),
        )
    }

    /// Sets tag `key` of `model` `version` through the REST API (a promotion that is fast to
    /// make: tags are rendered into the manifests); panics unless the server says 200.
    pub fn set_version_tag(&self, model: &str, version: u64, key: &str, value: &str) {
        let body = serde_json::json!({
            "name": model, "version": version.to_string(), "key": key, "value": value,
        });
        let (status, answer) = self
            .rest("POST", "model-versions/set-tag", &body.to_string())
            .expect("testkit: the MLflow server answers");
        assert_eq!(status, 200, "testkit: set-tag: {answer}");
    }

    fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("http://127.0.0.1:<port>")
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        log_tail(&self._dir.path().join("server.log"), 8000)
    }
}

fn health_ok(port: u16) -> bool {
    matches!(http(port, "GET", "/health", None), Some((200, _)))
}

impl std::fmt::Debug for MlflowServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlflowServer")
            .field("url", &self.url)
            .finish()
    }
}
