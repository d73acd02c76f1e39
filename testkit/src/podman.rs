//! Podman with the project's private configuration (`scripts/podman-env.sh`: runc, host network,
//! explicit ulimits, a store under `~/.cache/mlflow-gitops/podman`), so tests see the images
//! `scripts/build-images.sh` built and nothing under /etc is needed.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The directory of the private configuration and store: `$MLFLOW_GITOPS_PODMAN_DIR`, else
/// `~/.cache/mlflow-gitops/podman`.
pub fn podman_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MLFLOW_GITOPS_PODMAN_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/mlflow-gitops/podman")
}

/// A `podman` command with the private configuration; panics, naming the command that sets it
/// up, when podman or the configuration is missing.
pub fn podman() -> Command {
    let dir = podman_dir();
    let conf = dir.join("containers.conf");
    let storage = dir.join("storage.conf");
    assert!(
        conf.is_file() && storage.is_file(),
        "testkit: no podman configuration in {}: run `bash scripts/build-images.sh` (or `bash .ci/run`)",
        dir.display()
    );
    let mut cmd = Command::new("podman");
    cmd.env("CONTAINERS_CONF", conf)
        .env("CONTAINERS_STORAGE_CONF", storage);
    cmd
}

/// Runs `podman args…`; panics with podman's message when it cannot start.
pub fn run(args: &[&str]) -> Output {
    podman().args(args).output().unwrap_or_else(|e| {
        panic!("testkit: cannot run podman {args:?} ({e}): apt-get install podman runc")
    })
}

/// Whether the local store holds `image`.
pub fn image_exists(image: &str) -> bool {
    run(&["image", "exists", image]).status.success()
}

/// The registry prefix the images were built under: `$MLFLOW_GITOPS_IMAGE_PREFIX`, else
/// `localhost/mlflow-gitops`.
pub fn image_prefix() -> String {
    std::env::var("MLFLOW_GITOPS_IMAGE_PREFIX").unwrap_or_else(|_| "localhost/mlflow-gitops".into())
}
