//! A git smart-HTTP server over TLS on 127.0.0.1 that accepts one basic-auth token
//! (`git http-backend` behind `testkit/python/git_https_server.py`), with a self-signed certificate.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{Guarded, free_port, listening, wait_ready};
use crate::tools::{python, python_scripts_dir, system_tool};

/// The server; stopped on drop.
pub struct GitHttpsServer {
    port: u16,
    dir: tempfile::TempDir,
    _process: Guarded,
}

impl GitHttpsServer {
    /// Serves the bare repositories under `project_root` to `user` with `token`.
    pub fn start(project_root: &Path, user: &str, token: &str) -> GitHttpsServer {
        let dir = tempfile::Builder::new()
            .prefix("testkit-git-https-")
            .tempdir()
            .expect("temp dir");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let out = Command::new(system_tool("openssl", "openssl"))
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
            ])
            .args(["-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("testkit: cannot run openssl");
        assert!(
            out.status.success(),
            "testkit: openssl failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let script = python_scripts_dir().join("git_https_server.py");
        let args: Vec<String> = vec![
            script.display().to_string(),
            project_root.display().to_string(),
            port.to_string(),
            cert.display().to_string(),
            key.display().to_string(),
            user.to_owned(),
            token.to_owned(),
        ];
        let log = dir.path().join("server.log");
        let mut process = Guarded::spawn(
            "git https server",
            &python(),
            &args,
            &log,
            &dir.path().join("scratch"),
        );
        wait_ready(&mut process, &log, Duration::from_secs(30), || {
            listening(port)
        });
        GitHttpsServer {
            port,
            dir,
            _process: process,
        }
    }

    /// `https://127.0.0.1:<port>/<repo>` for a repository directory name under the project root.
    pub fn url(&self, repo: &str) -> String {
        format!("https://127.0.0.1:{}/{repo}", self.port)
    }

    /// The self-signed certificate clients must trust.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }
}

impl std::fmt::Debug for GitHttpsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHttpsServer")
            .field("port", &self.port)
            .finish()
    }
}
