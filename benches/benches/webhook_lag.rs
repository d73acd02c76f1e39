//! promotion-sync: from an MLflow alias move to the pushed commit, delivered by MLflow's own
//! webhook (issue 20).
//!
//! A real `mlflow server` (the pinned MLflow, SQLite backend) with a webhook registered by
//! `mlflow-gitops registry webhook register`; the release daemon as its own process, `watch
//! --interval 60s --webhook-secret-file`, reading the registry over REST, so only a webhook can
//! make a commit come sooner than a minute. Each of PROMOTIONS samples creates a version through
//! the server (its `model_version.created` delivery runs a pass that changes nothing), then moves
//! alias `champion` to it and times until the remote's `main` moves. Fails when a promotion does
//! not land within 30 s or lands as anything but one commit.
//!
//! Goal: p50 < 250 ms, p99 < 500 ms over 50 promotions.
//! Run: `cargo build --release -p examples --bin mlflow-gitops && cargo bench -p benches --bench
//! webhook_lag` (about a minute after the server is up). Knob: WEBHOOK_PROMOTIONS (50).

mod daemon;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use daemon::{daemon_binary, percentile};
use testkit::mlflow_server::MlflowServer;
use testkit::webhook_scene::WebhookScene;

const MODEL: &str = "ElasticnetWineModel2";

fn head(bare: &Path) -> String {
    // A push writes the loose ref; reading it is far cheaper than running git every 2 ms.
    std::fs::read_to_string(bare.join("refs/heads/main")).unwrap_or_default()
}

fn rest(
    server: &MlflowServer,
    method: &str,
    path: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let (status, text) = server
        .rest(method, path, &body.to_string())
        .unwrap_or_else(|| panic!("{method} {path}: no answer"));
    assert_eq!(status, 200, "{method} {path}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn main() {
    let promotions: usize = std::env::var("WEBHOOK_PROMOTIONS")
        .ok()
        .map(|v| v.parse().expect("WEBHOOK_PROMOTIONS is a number"))
        .unwrap_or(50);
    let scene = WebhookScene::start("bench-webhook-secret");
    let (server, remote) = (&scene.server, &scene.remote);
    let binary = daemon_binary();
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut daemon = scene
        .watch(&binary)
        .stdout(Stdio::null())
        .stderr(log.reopen().unwrap())
        .spawn()
        .unwrap();
    let bare = remote.bare_path();
    let started = Instant::now();
    while head(&bare).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(60), "no first pass");
        std::thread::sleep(Duration::from_millis(50));
    }
    let registered = scene.register(&binary).output().unwrap();
    assert!(
        registered.status.success(),
        "{}",
        String::from_utf8_lossy(&registered.stderr)
    );

    // Version 1, trained and aliased through the server.
    let before = head(&bare);
    testkit::mlflow::wine_model(server.url(), &scene.artifacts());
    let waited = Instant::now();
    while head(&bare) == before {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "the first promotion did not land"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let first = rest(
        server,
        "GET",
        &format!("model-versions/get?name={MODEL}&version=1"),
        serde_json::json!({}),
    );
    let source = first["model_version"]["source"]
        .as_str()
        .unwrap()
        .to_owned();
    let run_id = first["model_version"]["run_id"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    // MLflow 3 registers logged models (`models:/m-…`), and wants their id with the source.
    let model_id = first["model_version"]["model_id"]
        .as_str()
        .or_else(|| source.strip_prefix("models:/"))
        .unwrap_or("")
        .to_owned();

    let commits_before = remote.log().len();
    let mut lags = Vec::with_capacity(promotions);
    for _ in 0..promotions {
        let created = rest(
            server,
            "POST",
            "model-versions/create",
            serde_json::json!({ "name": MODEL, "source": source, "run_id": run_id, "model_id": model_id }),
        );
        let version = created["model_version"]["version"]
            .as_str()
            .unwrap()
            .to_owned();
        // The creation's own pass (nothing to commit) is over before the alias moves.
        std::thread::sleep(Duration::from_millis(300));
        let before = head(&bare);
        let moved = Instant::now();
        rest(
            server,
            "POST",
            "registered-models/alias",
            serde_json::json!({ "name": MODEL, "alias": "champion", "version": version }),
        );
        while head(&bare) == before {
            assert!(
                moved.elapsed() < Duration::from_secs(30),
                "version {version}: the promotion did not land"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        lags.push(moved.elapsed());
    }
    // Let any late pass finish, then count: one commit per promotion.
    std::thread::sleep(Duration::from_secs(1));
    let commits = remote.log().len() - commits_before;
    let _ = Command::new("kill")
        .args(["-TERM", &daemon.id().to_string()])
        .status();
    let _ = daemon.wait();
    assert_eq!(commits, promotions, "one commit per promotion");

    lags.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "webhook_lag: {promotions} promotions by alias, webhook to pushed commit: p50 {:.0} ms, p90 {:.0} ms, p99 {:.0} ms, min {:.0} ms, max {:.0} ms (goal p50 < 250 ms, p99 < 500 ms)",
        ms(percentile(&lags, 0.5)),
        ms(percentile(&lags, 0.9)),
        ms(percentile(&lags, 0.99)),
        ms(lags[0]),
        ms(lags[lags.len() - 1]),
    );
}
