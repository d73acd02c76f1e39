//! Where the tests' external tools live.
//!
//! Python tools (MLflow, `weed`, `kubectl`, `kubernetes-validate`, `rclone`) come from one venv that
//! `.ci/run` creates outside the clone, pinned by `testkit/python/requirements.txt`. System tools
//! (`git`, `sqlite3`, `mariadb`, `psql`) come from Debian packages, also installed by `.ci/run`.

use std::path::{Path, PathBuf};

/// The venv holding the pinned Python tools: `$MLFLOW_GITOPS_VENV`, else `~/.cache/mlflow-gitops/venv`.
pub fn venv_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MLFLOW_GITOPS_VENV") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    Path::new(&home).join(".cache/mlflow-gitops/venv")
}

/// The path of `name` inside the venv's `bin/`; panics with the setup command when it is missing.
pub fn venv_tool(name: &str) -> PathBuf {
    let path = venv_dir().join("bin").join(name);
    assert!(
        path.is_file(),
        "testkit: {} is missing. Provision the test tools with `bash .ci/run --setup` \
         (it makes the venv and runs `pip install -r testkit/python/requirements.txt`).",
        path.display()
    );
    path
}

/// The venv's Python interpreter.
pub fn python() -> PathBuf {
    venv_tool("python")
}

/// A system tool found on `PATH`; panics naming the Debian package that provides it.
pub fn system_tool(name: &str, debian_package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "testkit: `{name}` is not on PATH. Install it with `apt-get install -y {debian_package}` \
                 or run `bash .ci/run --setup`."
            )
        })
}

/// The directory of testkit's Python scripts.
pub fn python_scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python")
}
