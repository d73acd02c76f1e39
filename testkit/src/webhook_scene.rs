//! The scene of MLflow webhooks: a real `mlflow server` that may deliver to 127.0.0.1, a shared
//! secret in a file, a directory for the models it logs, a git remote, and the daemon's command
//! (`watch --interval 60s --webhook-secret-file`, reading the registry over REST, champion alias
//! only), so that only a webhook can make a commit come sooner than a minute.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::databases::Backend;
use crate::git::GitRemote;
use crate::mlflow::{Registry, Scenario};
use crate::mlflow_server::MlflowServer;
use crate::process::free_port;

/// Everything a webhook test or benchmark runs against; removed on drop.
pub struct WebhookScene {
    /// The tracking server (empty registry, webhooks allowed to reach 127.0.0.1).
    pub server: MlflowServer,
    /// Where the commits go.
    pub remote: GitRemote,
    /// The daemon's listener port (metrics and `/webhooks/mlflow`).
    pub port: u16,
    scratch: tempfile::TempDir,
    /// Declared after the server, so it is dropped after the server that reads it.
    _registry: Registry,
}

impl WebhookScene {
    /// Starts the server and writes `secret` to the secret file.
    pub fn start(secret: &str) -> WebhookScene {
        let registry = Scenario::new().build(Backend::Sqlite);
        let server = MlflowServer::start_with_webhooks(&registry);
        let scratch = tempfile::Builder::new()
            .prefix("tk-webhook")
            .tempdir()
            .expect("testkit: temp dir");
        std::fs::write(scratch.path().join("webhook-secret"), format!("{secret}\n"))
            .expect("testkit: secret file");
        std::fs::create_dir_all(scratch.path().join("mlruns")).expect("testkit: mlruns");
        WebhookScene {
            server,
            remote: GitRemote::new(),
            port: free_port(),
            scratch,
            _registry: registry,
        }
    }

    /// The file holding the shared secret.
    pub fn secret_file(&self) -> PathBuf {
        self.scratch.path().join("webhook-secret")
    }

    /// Where models logged through the server keep their files (`--source-root`).
    pub fn artifacts(&self) -> PathBuf {
        self.scratch.path().join("mlruns")
    }

    /// The receiver URL to register.
    pub fn receiver(&self) -> String {
        format!("http://127.0.0.1:{}/webhooks/mlflow", self.port)
    }

    /// `binary watch …` for this scene, pushing to the remote; output is the caller's to route.
    pub fn watch(&self, binary: &Path) -> Command {
        let mut cmd = Command::new(binary);
        cmd.args(["watch", "--registry", self.server.url()])
            .args(["--repo", &self.remote.url(), "--push", "--interval", "60s"])
            .args(["--stages", "", "--aliases", "champion"])
            .arg("--mirror")
            .arg(self.scratch.path().join("mirror"))
            .arg("--work-dir")
            .arg(self.scratch.path().join("work"))
            .arg("--source-root")
            .arg(self.artifacts())
            .arg("--webhook-secret-file")
            .arg(self.secret_file())
            .args(["--listen", &format!("127.0.0.1:{}", self.port)]);
        cmd
    }

    /// `binary registry webhook register …` for this scene.
    pub fn register(&self, binary: &Path) -> Command {
        let mut cmd = Command::new(binary);
        cmd.args([
            "registry",
            "webhook",
            "register",
            "--registry",
            self.server.url(),
        ])
        .args(["--url", &self.receiver()])
        .arg("--secret-file")
        .arg(self.secret_file());
        cmd
    }
}
