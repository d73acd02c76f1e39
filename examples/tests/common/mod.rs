//! What the reliability tests share: a registry made by MLflow and filled in bulk, its model files
//! on local disk, a SeaweedFS bucket for the mirrors, a bare git remote, and the `sync` command
//! that joins them.
#![allow(dead_code)] // each test binary uses its own part

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use testkit::databases::Backend;
use testkit::git::GitRemote;
use testkit::mlflow::Registry;
use testkit::s3::{Bucket, SeaweedFs};

/// The prefix in the bucket that holds the mirrors.
pub const MIRRORS: &str = "models";

/// Where review branches live.
pub const REVIEW_BRANCHES: &str = "mlflow-gitops/review";

/// One pipeline's world.
pub struct Scene {
    /// Model files, as MLflow's artifact store would hold them.
    pub storage: tempfile::TempDir,
    /// `models` models × 2 versions, the top two promoted (Production + `champion`, Staging).
    pub registry: Registry,
    /// Where the mirrors go.
    pub bucket: Bucket<'static>,
    /// Where the commits go.
    pub remote: GitRemote,
    /// The daemon's work directory (its clone and pass cache).
    pub work: PathBuf,
    /// What `--repo` says: the remote's `file://` URL unless a test serves it otherwise.
    pub repo_url: String,
    /// `--sign-key` (SSH) for every run, when set.
    pub sign_key: Option<PathBuf>,
    /// `--review` for every run, when set (`production`).
    pub review: Option<String>,
    file_size: usize,
}

impl Scene {
    /// A SQLite registry of `models` models with files of `file_size` bytes.
    pub fn new(models: u32, file_size: usize) -> Scene {
        Self::on(Backend::Sqlite, models, file_size)
    }

    /// Like [`new`](Self::new), with the registry on `backend`.
    pub fn on(backend: Backend, models: u32, file_size: usize) -> Scene {
        let storage = tempfile::tempdir().unwrap();
        let root = format!("file://{}", storage.path().display());
        let registry = testkit::bulk::bulk_registry_at(backend, models, 2, &root);
        for m in 0..models {
            for v in 1..=2 {
                let dir = testkit::bulk::model_dir(storage.path(), &model_name(m), v);
                testkit::bulk::write_model_files(&dir, (m * 3 + v) as usize, file_size);
            }
        }
        let remote = GitRemote::new();
        let work = remote.scratch_path().join("work");
        Scene {
            storage,
            registry,
            bucket: SeaweedFs::shared().bucket(),
            repo_url: remote.url(),
            remote,
            work,
            sign_key: None,
            review: None,
            file_size,
        }
    }

    /// `mlflow-gitops sync … --push` with the bucket's credentials in its environment and its
    /// output captured.
    pub fn sync(&self) -> Command {
        self.pipeline(
            "sync",
            &self.registry.backend_store_uri(),
            self.bucket.server().endpoint(),
        )
    }

    /// `mlflow-gitops <subcommand>` (`sync` or `watch`) with the registry and the S3 endpoint at
    /// the given addresses (a proxy's, for outage tests).
    pub fn pipeline(&self, subcommand: &str, registry: &str, s3_endpoint: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"));
        command
            .args([subcommand, "--registry", registry])
            .args(["--mirror", &self.bucket.uri(MIRRORS)])
            .args(["--repo", &self.repo_url, "--push", "--namespace", "models"])
            .arg("--work-dir")
            .arg(&self.work)
            .arg("--source-root")
            .arg(self.storage.path())
            .envs(self.bucket.env_with_endpoint(s3_endpoint))
            .env("MLFLOW_GITOPS_LOG", "warn")
            .envs(
                self.sign_key
                    .iter()
                    .map(|key| ("MLFLOW_GITOPS_SIGN_KEY", key.as_os_str())),
            )
            .envs(
                self.review
                    .iter()
                    .map(|channels| ("MLFLOW_GITOPS_REVIEW", std::ffi::OsStr::new(channels))),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Promotes a new version `version` of model number `m` to Production, with its files.
    pub fn promote(&self, m: u32, version: u32) {
        let name = model_name(m);
        let dir = testkit::bulk::model_dir(self.storage.path(), &name, version);
        testkit::bulk::write_model_files(&dir, (m * 3 + version) as usize, self.file_size);
        let root = format!("file://{}", self.storage.path().display());
        testkit::bulk::promote_new_version(&self.registry, &name, version, &root);
    }

    /// The tree id of the remote's `main`, or `None` before the first push.
    pub fn tree(&self) -> Option<String> {
        self.remote.branch_exists().then(|| {
            self.remote
                .git_remote(&["rev-parse", "main^{tree}"])
                .trim()
                .to_owned()
        })
    }

    /// Every object under the mirrors' prefix with its size.
    pub fn listing(&self) -> BTreeMap<String, u64> {
        self.bucket
            .list(MIRRORS)
            .into_iter()
            .map(|o| (o.path, o.size))
            .collect()
    }

    /// The review branches and their trees.
    pub fn review_trees(&self) -> BTreeMap<String, String> {
        self.remote
            .branches(REVIEW_BRANCHES)
            .into_keys()
            .map(|branch| {
                let tree = self
                    .remote
                    .git_remote(&["rev-parse", &format!("{branch}^{{tree}}")]);
                (branch, tree.trim().to_owned())
            })
            .collect()
    }

    /// The mirror directories (relative to [`MIRRORS`]) that the remote's `main` and review
    /// branches refer to, once per deployment that refers to it.
    pub fn committed_mirrors(&self) -> Vec<String> {
        let mut revs: Vec<String> = self.remote.branches(REVIEW_BRANCHES).into_keys().collect();
        if self.remote.branch_exists() {
            revs.push("main".into());
        }
        let base = format!("{}/", self.bucket.uri(MIRRORS));
        let mut mirrors = Vec::new();
        for rev in revs {
            for f in self.remote.files(&rev) {
                if !f.ends_with("/deployment.yaml") {
                    continue;
                }
                let text = String::from_utf8(self.remote.show(&rev, &f).unwrap()).unwrap();
                let uri = model_uri(&text).unwrap_or_else(|| panic!("{f} names no model URI"));
                let mirror = uri
                    .strip_prefix(&base)
                    .unwrap_or_else(|| panic!("{f} serves {uri}, outside {base}"));
                mirrors.push(mirror.to_owned());
            }
        }
        mirrors
    }

    /// Err naming the first mirror that `main` or a review branch refers to and that is not complete in `listing`
    /// compared with `reference` (a listing made by an uninterrupted run).
    pub fn check_committed_mirrors(
        &self,
        listing: &BTreeMap<String, u64>,
        reference: &BTreeMap<String, u64>,
    ) -> Result<(), String> {
        for mirror in self.committed_mirrors() {
            let under = format!("{mirror}/");
            let expected: Vec<_> = reference
                .iter()
                .filter(|(path, _)| path.starts_with(&under))
                .collect();
            if expected.is_empty() {
                return Err(format!("{mirror}: not in the reference run's bucket"));
            }
            for (path, size) in expected {
                if listing.get(path) != Some(size) {
                    return Err(format!(
                        "the remote refers to {mirror}, but {path} is {:?} (want {size} bytes)",
                        listing.get(path)
                    ));
                }
            }
        }
        Ok(())
    }
}

/// `model-00042` for 42, as the bulk registry names its models.
pub fn model_name(m: u32) -> String {
    format!("model-{m:05}")
}

/// The `mlflow-gitops.io/model-uri` annotation of a rendered Deployment.
pub fn model_uri(deployment_yaml: &str) -> Option<String> {
    deployment_yaml.lines().find_map(|l| {
        l.trim()
            .strip_prefix("mlflow-gitops.io/model-uri: ")
            .map(|v| v.trim_matches('"').to_owned())
    })
}

/// Copies a directory tree (`cp -a`), replacing `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    if to.exists() {
        std::fs::remove_dir_all(to).unwrap();
    }
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// Output of a finished command as text, for assertion messages.
pub fn text(output: &std::process::Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `GET path` on 127.0.0.1:`port`: the status and body, or `None` when nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").as_bytes())
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, answer.split_once("\r\n\r\n")?.1.to_owned()))
}

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `done` every 50 ms; panics naming `what` after `timeout`.
pub fn wait_for(what: &str, timeout: std::time::Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + timeout;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A scratch directory with a SQLite registry in which MLflow trained and registered the wine
/// model (Production, alias `champion`); returns it with the registry's URI.
pub fn wine_registry() -> (tempfile::TempDir, String) {
    let scratch = tempfile::tempdir().unwrap();
    let tracking = format!("sqlite:///{}", scratch.path().join("mlflow.db").display());
    testkit::mlflow::wine_model(&tracking, &scratch.path().join("mlruns"));
    (scratch, tracking)
}

/// Sends SIGTERM to a daemon (which then finishes its pass and exits).
pub fn terminate(daemon: &std::process::Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM {}", daemon.id());
}
