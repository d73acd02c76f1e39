//! MLflow webhooks as the trigger, on real components: `mlflow server` (the pinned MLflow, SQLite
//! backend, webhooks allowed to reach 127.0.0.1), `registry webhook register`, and `watch
//! --interval 60s --webhook-secret-file` reading the registry over REST and signing its commits
//! with an SSH key. A promotion lands long before the interval; forged, stale, replayed, oversized
//! and mistyped deliveries are refused with their status and start no pass.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use testkit::signing::{KeyKind, SigningKey};
use testkit::webhook_scene::WebhookScene;

mod common;

use common::{http_get as get, wait_for};

const SECRET: &str = "a-webhook-secret-for-tests";

/// Sends a raw POST to the daemon's webhook path; the answer's status.
fn post(port: u16, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head = format!("POST /webhooks/mlflow HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).unwrap();
    // An oversized delivery is answered before its body is read: the rest may not be wanted.
    let _ = stream.write_all(body);
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"))
}

fn passes(port: u16) -> u64 {
    let (_, text) = get(port, "/metrics").expect("metrics");
    text.lines()
        .find_map(|l| l.strip_prefix("mlflow_gitops_passes_total "))
        .and_then(|v| v.parse().ok())
        .expect("passes counter")
}

/// A delivery's headers, by name.
type Headers<'a> = Vec<(&'a str, &'a str)>;

fn delivery_headers<'a>(id: &'a str, timestamp: &'a str, signature: &'a str) -> Headers<'a> {
    vec![
        ("Content-Type", "application/json"),
        ("X-MLflow-Delivery-Id", id),
        ("X-MLflow-Timestamp", timestamp),
        ("X-MLflow-Signature", signature),
    ]
}

#[test]
fn a_promotion_through_mlflow_webhooks_lands_at_once_and_bad_deliveries_start_nothing() {
    let scene = WebhookScene::start(SECRET);
    let (server, remote, port) = (&scene.server, &scene.remote, scene.port);
    let key = SigningKey::new(KeyKind::Ssh);
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_mlflow-gitops"));
    let mut daemon = scene
        .watch(bin)
        .args(["--sign-format", "ssh", "--sign-key"])
        .arg(key.key_file())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the first pass", Duration::from_secs(60), || {
        get(port, "/metrics").is_some_and(|_| passes(port) >= 1)
    });
    // The first pass publishes the empty index.
    let initial = remote.log().len();

    // Registered by our command; MLflow's test delivery reaches the daemon and verifies.
    let register = |check: bool| {
        let mut cmd = scene.register(bin);
        if check {
            cmd.arg("--check");
        }
        cmd.output().unwrap()
    };
    let first = register(true);
    let said = common::text(&first);
    assert!(first.status.success(), "{said}\n{}", server.log());
    assert!(
        said.contains("created webhook mlflow-gitops") && said.contains("test delivery accepted"),
        "{said}"
    );
    assert!(!said.contains(SECRET), "the secret was printed: {said}");
    let again = register(false);
    assert!(
        common::text(&again).contains("updated webhook mlflow-gitops"),
        "{}",
        common::text(&again)
    );

    // The model trained and registered through the server: its alias is the promotion. Stage
    // transitions send nothing; with a 60 s interval only the webhook can make this commit.
    testkit::mlflow::wine_model(server.url(), &scene.artifacts());
    wait_for("the promotion's commit", Duration::from_secs(30), || {
        remote.log().len() > initial
    });
    let log = remote.log();
    assert_eq!(log.len(), initial + 1, "{log:?}");
    assert!(log[0].subject.contains("1 change"), "{log:?}");
    for commit in &log {
        key.verify_commit(&remote.bare_path(), &commit.id)
            .expect("every commit of the daemon verifies");
    }
    remote.fsck();

    // Bad deliveries: each refused with its status, none starts a pass.
    wait_for("the daemon to settle", Duration::from_secs(10), || {
        let before = passes(port);
        std::thread::sleep(Duration::from_millis(500));
        passes(port) == before
    });
    let before = passes(port);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let body = br#"{"entity": "model_version_alias", "action": "created", "timestamp": "2026-12-06T10:00:00+00:00", "data": {"name": "ElasticnetWineModel2", "alias": "champion", "version": "1"}}"#;
    let secret = promotion_sync::WebhookSecret::new(SECRET).unwrap();
    let stamp = now.to_string();
    let stale = (now - 3600).to_string();
    let good = secret.sign("d-good", &stamp, body);
    let stale_sig = secret.sign("d-stale", &stale, body);
    let forged = promotion_sync::WebhookSecret::new("guessed")
        .unwrap()
        .sign("d-forged", &stamp, body);
    let huge = vec![b' '; 2 * 1024 * 1024];
    let huge_sig = secret.sign("d-huge", &stamp, &huge);
    assert_eq!(
        post(port, &delivery_headers("d-good", &stamp, &good), body),
        200
    );
    wait_for(
        "the pass the good delivery asked for",
        Duration::from_secs(10),
        || passes(port) == before + 1,
    );
    let before = passes(port);
    let mut typed = delivery_headers("d-typed", &stamp, &good);
    typed[0].1 = "text/plain";
    let cases: Vec<(&str, Headers, &[u8], u16)> = vec![
        (
            "forged signature",
            delivery_headers("d-forged", &stamp, &forged),
            body,
            401,
        ),
        (
            "stale timestamp",
            delivery_headers("d-stale", &stale, &stale_sig),
            body,
            400,
        ),
        (
            "replayed id",
            delivery_headers("d-good", &stamp, &good),
            body,
            400,
        ),
        (
            "oversized body",
            delivery_headers("d-huge", &stamp, &huge_sig),
            &huge,
            413,
        ),
        ("wrong content type", typed, body, 415),
    ];
    for (what, headers, body, status) in cases {
        assert_eq!(post(port, &headers, body), status, "{what}");
    }
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(passes(port), before, "a refused delivery started a pass");
    let (_, metrics) = get(port, "/metrics").unwrap();
    assert!(
        metrics.contains("mlflow_gitops_webhook_deliveries_total{result=\"refused\"} 5"),
        "{metrics}"
    );

    // SIGTERM; nothing of the secret or the key in what the daemon logged.
    common::terminate(&daemon);
    let status = daemon.wait().unwrap();
    let mut logged = String::new();
    daemon
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logged)
        .unwrap();
    assert!(status.success(), "{logged}");
    assert!(!logged.contains(SECRET), "the webhook secret was logged");
    let key_text = std::fs::read_to_string(key.key_file()).unwrap();
    let key_body = key_text.lines().nth(1).unwrap();
    assert!(
        !logged.contains(key_body),
        "signing key material was logged"
    );
    assert_eq!(
        remote.log().len(),
        initial + 1,
        "the replayed alias changed nothing"
    );
}
