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

/// `review`, `push_option` and `commit_template` from the file: Production goes to its review
/// branch with the push options, the champion alias to main with the platform's message.
#[test]
fn review_push_options_and_the_message_template_come_from_the_config_file() {
    let (scratch, tracking) = common::wine_registry();
    let remote = GitRemote::new();
    remote.record_pushes();
    let template = scratch.path().join("message.txt");
    std::fs::write(
        &template,
        "deploy({prefix}): {count} change(s)\n\n{changes}\n{problems}\n",
    )
    .unwrap();
    let config = scratch.path().join("mlflow-gitops.toml");
    std::fs::write(
        &config,
        format!(
            "registry = {tracking:?}\nmirror = {:?}\nrepo = {:?}\npush = true\nwork_dir = {:?}\n\
             review = [\"production\"]\npush_option = [\"merge_request.create\", \"merge_request.target=main\"]\n\
             commit_template = {:?}\n",
            scratch.path().join("mirror").display().to_string(),
            remote.url(),
            scratch.path().join("work").display().to_string(),
            template.display().to_string(),
        ),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"))
        .args(["sync", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let branches = remote.branches("mlflow-gitops/review");
    let branch = branches.keys().next().expect("a review branch").clone();
    assert_eq!(branches.len(), 1, "{branches:?}");
    assert!(
        branch.starts_with("mlflow-gitops/review/deployments/") && branch.ends_with("/production")
    );
    assert!(said.contains(&format!("review opened {branch}")), "{said}");
    let files = remote.files("main");
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("/champion/deployment.yaml")),
        "{files:?}"
    );
    assert!(
        !files.iter().any(|f| f.contains("/production/")),
        "{files:?}"
    );
    assert!(
        remote
            .files(&branch)
            .iter()
            .any(|f| f.ends_with("/production/deployment.yaml"))
    );
    let subject = &remote.log()[0].subject;
    assert_eq!(subject, "deploy(deployments): 1 change(s)");
    let review_push = remote
        .pushes()
        .into_iter()
        .find(|p| p.refs.iter().any(|r| r.ends_with(&branch)))
        .expect("the review push");
    assert_eq!(
        review_push.options,
        ["merge_request.create", "merge_request.target=main"]
    );

    // A template that would drop the change lines is refused before anything runs.
    std::fs::write(&template, "deploy {count}\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"))
        .args(["sync", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("--commit-template") && error.contains("{changes} is required"),
        "{error}"
    );
}
