//! Settings from a TOML file, overridden by environment variables and flags, as `--help` says.

use std::process::Command;

use testkit::git::GitRemote;

mod common;

#[test]
fn flags_beat_environment_beat_the_config_file() {
    let (scratch, tracking) = common::wine_registry();
    let remote = GitRemote::new();
    let config = scratch.path().join("mlflow-gitops.toml");
    std::fs::write(
        &config,
        format!(
            "registry = {tracking:?}\nmirror = {:?}\nrepo = {:?}\nprefix = \"from-file\"\nnamespace = \"from-file\"\npush = true\nwork_dir = {:?}\n",
            scratch.path().join("mirror").display().to_string(),
            remote.url(),
            scratch.path().join("work").display().to_string(),
        ),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"))
        .args(["sync", "--config"])
        .arg(&config)
        .args(["--namespace", "from-flag"])
        .env("MLFLOW_GITOPS_PREFIX", "from-env")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let files = remote.files("main");
    assert!(
        files.iter().all(|f| f.starts_with("from-env/")),
        "{files:?}"
    );
    let deployment = files
        .iter()
        .find(|f| f.ends_with("/production/deployment.yaml"))
        .unwrap();
    let text = String::from_utf8(remote.show("main", deployment).unwrap()).unwrap();
    assert!(text.contains("namespace: from-flag"), "{text}");

    // An unknown key in the file is a usage error naming it.
    std::fs::write(&config, "registri = \"sqlite:///x.db\"\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"))
        .args(["sync", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("registri"));
}
