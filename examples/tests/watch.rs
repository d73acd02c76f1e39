//! The daemon: `mlflow-gitops watch` on a SQLite registry, its HTTP endpoints, a promotion landing
//! while it runs, and a clean stop on SIGTERM.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::git::GitRemote;

mod common;

use common::{free_port, http_get as get, wait_for};

#[test]
fn the_daemon_syncs_serves_metrics_follows_promotions_and_stops_on_sigterm() {
    let (scratch, tracking) = common::wine_registry();
    let remote = GitRemote::new();
    let port = free_port();
    let mut daemon = Command::new(env!("CARGO_BIN_EXE_mlflow-gitops"))
        .args([
            "watch",
            "--registry",
            &tracking,
            "--repo",
            &remote.url(),
            "--push",
            "--interval",
            "200ms",
        ])
        .arg("--mirror")
        .arg(scratch.path().join("mirror"))
        .arg("--work-dir")
        .arg(scratch.path().join("work"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    wait_for("the first commit", Duration::from_secs(60), || {
        remote.log().len() == 1
    });
    wait_for("metrics", Duration::from_secs(10), || {
        get(port, "/metrics")
            .is_some_and(|(_, body)| body.contains("mlflow_gitops_commits_total 1"))
    });
    assert_eq!(get(port, "/healthz").unwrap().0, 200);
    assert_eq!(get(port, "/livez").unwrap().0, 200);
    assert_eq!(get(port, "/nope").unwrap().0, 404);

    // A new version promoted while the daemon runs lands in a new commit.
    let promoted = Instant::now();
    testkit::mlflow::wine_model(&tracking, &scratch.path().join("mlruns"));
    wait_for("the promotion's commit", Duration::from_secs(60), || {
        remote.log().len() == 2
    });
    let lag = promoted.elapsed();
    let subject = &remote.log()[0].subject;
    assert!(subject.contains("2 changes"), "{subject}");

    // SIGTERM: the daemon finishes and exits 0.
    let pid = daemon.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = daemon.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the daemon ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    daemon
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(status.success(), "{status}: {log}");
    // Logs are JSON lines.
    for line in log.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    assert!(log.contains("\"stopped\""), "{log}");
    eprintln!("promotion to pushed commit: {lag:?} (includes training the model, ~10 s)");
}
