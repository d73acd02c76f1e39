//! `mlflow models serve` (the pinned MLflow) on a model URI: the serving a deployment would run.

use std::time::Duration;

use crate::process::{Guarded, free_port, http, log_tail, wait_ready};
use crate::tools::venv_tool;

/// MLflow's scoring server on 127.0.0.1; stopped on drop.
pub struct ModelServer {
    port: u16,
    _process: Guarded,
    dir: tempfile::TempDir,
}

impl ModelServer {
    /// Serves `model_uri` (e.g. an `s3://` mirror) with `--env-manager local`, with `env` added to
    /// its environment (S3 endpoint and keys), and waits until `/ping` answers.
    pub fn start(model_uri: &str, env: &[(String, String)]) -> ModelServer {
        let dir = tempfile::Builder::new()
            .prefix("testkit-model-server-")
            .tempdir()
            .expect("temp dir");
        let port = free_port();
        let args: Vec<String> = [
            "models",
            "serve",
            "-m",
            model_uri,
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ]
        .into_iter()
        .map(str::to_owned)
        .chain(["--env-manager".to_owned(), "local".to_owned()])
        .collect();
        let log = dir.path().join("serve.log");
        // MLflow starts uvicorn by name: the venv's bin must be on PATH.
        let mlflow = venv_tool("mlflow");
        let bin = mlflow.parent().expect("venv bin").display().to_string();
        let path = format!("{bin}:{}", std::env::var("PATH").unwrap_or_default());
        let env: Vec<(String, String)> = env
            .iter()
            .cloned()
            .chain([("PATH".to_owned(), path)])
            .collect();
        let mut process = Guarded::spawn_with_env(
            "mlflow models serve",
            &mlflow,
            &args,
            &env,
            &log,
            &dir.path().join("scratch"),
        );
        wait_ready(&mut process, &log, Duration::from_secs(180), || {
            matches!(http(port, "GET", "/ping", None), Some((200, _)))
        });
        ModelServer {
            port,
            _process: process,
            dir,
        }
    }

    /// POSTs `json` to `/invocations`; returns the status and the body.
    pub fn invoke(&self, json: &str) -> (u16, String) {
        http(self.port, "POST", "/invocations", Some(json))
            .unwrap_or_else(|| panic!("testkit: no answer from the model server:\n{}", self.log()))
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        log_tail(&self.dir.path().join("serve.log"), 8000)
    }
}

impl std::fmt::Debug for ModelServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelServer")
            .field("port", &self.port)
            .finish()
    }
}
