//! A package index on 127.0.0.1 (PEP 503, served by Python's `http.server`) holding one wheel
//! made on the spot (`python/package_index.py`): what the environment step installs from in
//! tests, since containers here reach no public index. Its package (module `score(x) = 2x + 1`)
//! is in no image we build.

use std::path::PathBuf;
use std::time::Duration;

use crate::process::{Guarded, wait_ready};
use crate::tools::{python, python_scripts_dir};

/// A running index; stopped when dropped.
pub struct PackageIndex {
    port: u16,
    _dir: tempfile::TempDir,
    _process: Guarded,
}

impl PackageIndex {
    /// Serves `package==version`.
    pub fn start(package: &str, version: &str) -> PackageIndex {
        let dir = tempfile::tempdir().expect("testkit: package index dir");
        let files = dir.path().join("files");
        std::fs::create_dir_all(&files).expect("testkit: package index files");
        let port_file = dir.path().join("port");
        let args: Vec<String> = [
            python_scripts_dir()
                .join("package_index.py")
                .display()
                .to_string(),
            "--dir".into(),
            files.display().to_string(),
            "--name".into(),
            package.into(),
            "--version".into(),
            version.into(),
            "--port-file".into(),
            port_file.display().to_string(),
        ]
        .into();
        let log = dir.path().join("index.log");
        let mut process = Guarded::spawn(
            "package index",
            &python(),
            &args,
            &log,
            &dir.path().join("scratch"),
        );
        let read_port = |file: &PathBuf| std::fs::read_to_string(file).ok()?.parse().ok();
        wait_ready(&mut process, &log, Duration::from_secs(30), || {
            read_port(&port_file).is_some()
        });
        PackageIndex {
            port: read_port(&port_file).expect("testkit: the index's port"),
            _dir: dir,
            _process: process,
        }
    }

    /// The index URL pip takes (`--index-url`, `PIP_INDEX_URL`).
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/simple", self.port)
    }
}
