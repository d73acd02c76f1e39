//! Outages of each component the pipeline needs, on a PostgreSQL registry: the database and the
//! S3 server are reached through a [`TcpProxy`] that cuts their network, the git remote is moved
//! away or made to reject pushes.
//!
//! A one-shot `sync` fails with exit 1 and a message naming what is down, commits nothing partial
//! and never a password; `watch` backs off, reports 503 on `/healthz`, and lands the promotions
//! made during the outage once the component is back.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Output};
use std::time::{Duration, Instant};

use common::{Scene, free_port, http_get, text, wait_for};
use testkit::databases::{Backend, POSTGRES_ADDR};
use testkit::proxy::TcpProxy;

/// Never accepted by the trust-auth server, never allowed in any output.
const DB_PASSWORD: &str = "db-pass-7f3a9c-never-print";

struct Outages {
    scene: Scene,
    db: TcpProxy,
    s3: TcpProxy,
    registry: String,
}

impl Outages {
    fn new(models: u32, file_size: usize) -> Outages {
        let scene = Scene::on(Backend::Postgres, models, file_size);
        let db = TcpProxy::start(POSTGRES_ADDR);
        let endpoint = scene.bucket.server().endpoint().to_owned();
        let s3 = TcpProxy::start(endpoint.trim_start_matches("http://"));
        let registry = scene.registry.backend_store_uri().replace(
            &format!("postgres@{POSTGRES_ADDR}"),
            &format!("postgres:{DB_PASSWORD}@{}", db.address()),
        );
        assert!(registry.contains(DB_PASSWORD), "{registry}");
        Outages {
            scene,
            db,
            s3,
            registry,
        }
    }

    fn command(&self, subcommand: &str) -> std::process::Command {
        self.scene.pipeline(
            subcommand,
            &self.registry,
            &format!("http://{}", self.s3.address()),
        )
    }

    /// Runs `sync` to its end; checks that no secret was printed.
    fn sync(&self) -> (Output, Duration) {
        let started = Instant::now();
        let output = self.command("sync").output().unwrap();
        let elapsed = started.elapsed();
        self.assert_no_secret(&text(&output));
        (output, elapsed)
    }

    fn assert_no_secret(&self, output: &str) {
        let s3_secret = &self.scene.bucket.server().credentials().secret_access_key;
        assert!(
            !output.contains(DB_PASSWORD),
            "the database password was printed:\n{output}"
        );
        assert!(
            !output.contains(s3_secret.as_str()),
            "the S3 secret was printed:\n{output}"
        );
    }

    /// A sync that must fail with exit 1, saying `expected` (case-insensitive), leaving the remote
    /// as it was. Returns how long it took to give up.
    fn failed_sync(&self, what: &str, expected: &[&str]) -> Duration {
        let before = self.scene.remote.log();
        let (output, elapsed) = self.sync();
        let said = text(&output);
        assert_eq!(output.status.code(), Some(1), "{what}: {said}");
        let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
        assert!(
            expected.iter().any(|e| stderr.contains(&e.to_lowercase())),
            "{what}: the message names none of {expected:?}:\n{said}"
        );
        assert_eq!(
            self.scene.remote.log(),
            before,
            "{what}: the remote changed"
        );
        let message: String = String::from_utf8_lossy(&output.stderr)
            .chars()
            .take(400)
            .collect();
        eprintln!("{what}: exit 1 after {elapsed:?}: {}", message.trim());
        elapsed
    }

    fn bare(&self) -> PathBuf {
        self.scene.remote.bare_path()
    }
}

/// Every completion manifest in the bucket stands over a complete mirror.
fn no_manifest_over_partial_data(scene: &Scene) {
    let listing = scene.listing();
    for path in listing
        .keys()
        .filter(|p| p.ends_with(".mlflow-gitops-mirror.json"))
    {
        let dir = path.trim_end_matches(".mlflow-gitops-mirror.json");
        let manifest: serde_json::Value = serde_json::from_slice(
            &scene
                .bucket
                .get(&format!("{}/{path}", common::MIRRORS))
                .unwrap(),
        )
        .unwrap();
        for (file, entry) in manifest["files"].as_object().unwrap() {
            assert_eq!(
                listing.get(&format!("{dir}{file}")).copied(),
                entry["size"].as_u64(),
                "{path} lists {file}, which is not there in full"
            );
        }
    }
}

fn reject_pushes(bare: &Path, message: &str) {
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(&hook, format!("#!/bin/sh\necho '{message}' >&2\nexit 1\n")).unwrap();
    let status = std::process::Command::new("chmod")
        .args(["+x"])
        .arg(&hook)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_one_shot_pass_fails_cleanly_on_each_outage_then_recovers() {
    let o = Outages::new(6, 1024 * 1024);

    o.db.cut();
    o.failed_sync(
        "database unreachable",
        &["127.0.0.1", "registry", "database"],
    );
    o.db.restore();

    o.s3.cut();
    o.failed_sync("S3 unreachable", &["s3://"]);
    assert!(o.scene.listing().is_empty());
    o.s3.restore();

    // S3 stops in the middle of the copies.
    let child: Child = o.command("sync").spawn().unwrap();
    let seen = o.s3.connections();
    wait_for("the first uploads", Duration::from_secs(30), || {
        o.s3.connections() >= seen + 4
    });
    o.s3.cut();
    let output = child.wait_with_output().unwrap();
    o.assert_no_secret(&text(&output));
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        !o.scene.remote.branch_exists(),
        "a commit after a failed mirror"
    );
    no_manifest_over_partial_data(&o.scene);
    o.s3.restore();

    // The remote is gone, then refuses pushes: the mirrors are done, nothing reaches the remote.
    let away = o.bare().with_extension("away");
    std::fs::rename(o.bare(), &away).unwrap();
    o.failed_sync("git remote unreachable", &["remote.git", "git"]);
    std::fs::rename(&away, o.bare()).unwrap();
    reject_pushes(&o.bare(), "push rejected: deployments are frozen");
    o.failed_sync("git remote rejecting", &["deployments are frozen"]);
    std::fs::remove_file(o.bare().join("hooks/pre-receive")).unwrap();
    no_manifest_over_partial_data(&o.scene);

    // Everything back: one pass lands the whole state.
    let (output, _) = o.sync();
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(o.scene.remote.log().len(), 1);
    assert_eq!(o.scene.committed_mirrors().len(), 18);
    let listing = o.scene.listing();
    o.scene.check_committed_mirrors(&listing, &listing).unwrap();
    no_manifest_over_partial_data(&o.scene);
    o.scene.remote.fsck();
}

fn healthz(port: u16) -> Option<u16> {
    http_get(port, "/healthz").map(|(status, _)| status)
}

fn failed_passes(port: u16) -> u64 {
    http_get(port, "/metrics")
        .and_then(|(_, body)| {
            body.lines()
                .find_map(|l| l.strip_prefix("mlflow_gitops_failed_passes_total "))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

#[test]
fn the_daemon_backs_off_reports_unhealthy_and_catches_up_after_each_outage() {
    let o = Outages::new(3, 64 * 1024);
    let port = free_port();
    let mut daemon = o
        .command("watch")
        .args(["--interval", "200ms", "--max-backoff", "1s"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .spawn()
        .unwrap();
    let remote = &o.scene.remote;
    let long = Duration::from_secs(60);
    wait_for("the first commit", long, || remote.log().len() == 1);
    wait_for("healthy", long, || healthz(port) == Some(200));

    let mut version = 3;
    let mut outage = |name: &str, cut: &dyn Fn(), restore: &dyn Fn()| {
        let commits = remote.log().len();
        let failures = failed_passes(port);
        cut();
        o.scene.promote(1, version);
        let started = Instant::now();
        wait_for(
            &format!("/healthz 503 during the {name} outage"),
            long,
            || healthz(port) == Some(503),
        );
        let detected = started.elapsed();
        assert!(failed_passes(port) > failures);
        // (A remote moved away has no log to read.)
        if remote.branch_exists() {
            assert_eq!(
                remote.log().len(),
                commits,
                "a commit during the {name} outage"
            );
        }
        std::thread::sleep(Duration::from_secs(2)); // several failed passes, backing off
        restore();
        let restored = Instant::now();
        wait_for(&format!("the commit after the {name} outage"), long, || {
            remote.log().len() == commits + 1
        });
        wait_for("healthy again", long, || healthz(port) == Some(200));
        let subject = &remote.log()[0].subject;
        assert!(subject.contains("1 change"), "{subject}");
        eprintln!(
            "{name} outage: unhealthy after {detected:?}, caught up {:?} after the restore",
            restored.elapsed()
        );
        version += 1;
    };
    outage("database", &|| o.db.cut(), &|| o.db.restore());
    outage("S3", &|| o.s3.cut(), &|| o.s3.restore());
    let away = o.bare().with_extension("away");
    outage(
        "git remote",
        &|| std::fs::rename(o.bare(), &away).unwrap(),
        &|| std::fs::rename(&away, o.bare()).unwrap(),
    );
    assert_eq!(o.scene.committed_mirrors().len(), 9);
    let listing = o.scene.listing();
    o.scene.check_committed_mirrors(&listing, &listing).unwrap();

    let pid = daemon.id().to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let output = daemon_output(&mut daemon);
    o.assert_no_secret(&text(&output));
    assert!(output.status.success(), "{}", text(&output));
}

fn daemon_output(daemon: &mut Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(30);
    while daemon.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the daemon ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    use std::io::Read;
    daemon
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    daemon
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    Output {
        status: daemon.try_wait().unwrap().unwrap(),
        stdout,
        stderr,
    }
}
