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

#[test]
fn signing_and_webhook_settings_that_cannot_work_are_usage_errors_naming_them() {
    let (scratch, tracking) = common::wine_registry();
    let remote = GitRemote::new();
    let missing = scratch.path().join("no-such-key");
    let empty = scratch.path().join("empty-secret");
    std::fs::write(&empty, "\n").unwrap();
    let run = |extra: &[&std::ffi::OsStr], subcommand: &str| {
        Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"))
            .args([subcommand, "--registry", &tracking, "--repo", &remote.url()])
            .arg("--mirror")
            .arg(scratch.path().join("mirror"))
            .arg("--work-dir")
            .arg(scratch.path().join("work"))
            .args(extra)
            .output()
            .unwrap()
    };
    let cases: Vec<(Vec<&std::ffi::OsStr>, &str, &str)> = vec![
        (
            vec!["--sign-format".as_ref(), "ssh".as_ref()],
            "sync",
            "--sign-format needs --sign-key",
        ),
        (
            vec!["--sign-key".as_ref(), missing.as_os_str()],
            "sync",
            "no-such-key",
        ),
        (
            vec![
                "--sign-key".as_ref(),
                missing.as_os_str(),
                "--sign-format".as_ref(),
                "x509".as_ref(),
            ],
            "sync",
            "--sign-format",
        ),
        (
            vec![
                "--webhook-secret-file".as_ref(),
                empty.as_os_str(),
                "--listen".as_ref(),
                "127.0.0.1:0".as_ref(),
            ],
            "watch",
            "empty-secret",
        ),
    ];
    for (extra, subcommand, named) in cases {
        let output = run(&extra, subcommand);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(named), "{extra:?}: {stderr}");
    }
    assert!(remote.log().is_empty(), "nothing may be committed");
}
