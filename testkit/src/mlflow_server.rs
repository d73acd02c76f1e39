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
        let mut process = Guarded::spawn(
            "mlflow server",
            &venv_tool("mlflow"),
            &args,
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
