//! Load test of the daemon: `mlflow-gitops watch` (the release binary, as its own process) over a
//! registry of 10,000 versions (1,000 models × 10; 2,000 promoted, 3,000 deployments), with a new
//! Production version promoted every 100 ms for 5 minutes.
//!
//! Recorded: the cold pass; for every promotion the lag to the pushed commit that carries it
//! (read from the commit messages as they appear on the remote); the daemon's resident memory
//! every second. Fails when a promotion never lands or memory keeps growing.
//!
//! Run (about 7 minutes):
//! `cargo build --release -p examples --bin mlflow-gitops && cargo bench -p benches --bench load_watch`
//! Knobs: LOAD_MODELS (1000), LOAD_VERSIONS (10), LOAD_SECONDS (300), LOAD_PERIOD_MS (100),
//! LOAD_FILE_KB (4: each version has 5 files of this size),
//! LOAD_LOG (the daemon's log filter, `info`; `promotion_sync=debug` adds each pass's timing),
//! LOAD_DAEMON_ENV (`KEY=VALUE` pairs separated by `;`, set for the daemon only: allocator
//! tunables, or a heap profiler's `LD_PRELOAD`), LOAD_BINARY (another build of the daemon, e.g.
//! `target/small/mlflow-gitops`).

mod daemon;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use daemon::{daemon_binary, percentile};
use testkit::databases::Backend;
use testkit::git::GitRemote;
use testkit::s3::SeaweedFs;

fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} is a number")))
        .unwrap_or(default)
}

fn daemon_env() -> Vec<(String, String)> {
    std::env::var("LOAD_DAEMON_ENV")
        .unwrap_or_default()
        .split(';')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("LOAD_DAEMON_ENV: {pair:?} is not KEY=VALUE"));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// A line of `/proc/<pid>/status` in KiB (`VmRSS`, `RssAnon`, `RssFile`).
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One reading of the daemon's memory: when (since the load began), then resident, anonymous and
/// file-backed KiB.
type Sample = (Duration, u64, u64, u64);

fn resident_kib(pid: u32) -> Option<u64> {
    status_kib(pid, "VmRSS")
}

fn head(remote: &GitRemote) -> Option<String> {
    remote
        .branch_exists()
        .then(|| remote.git_remote(&["rev-parse", "main"]).trim().to_owned())
}

/// `(model, version)` of every Production change in the commits between `from` and `to`.
fn landed(remote: &GitRemote, from: Option<&str>, to: &str) -> Vec<(String, u32)> {
    let range = match from {
        Some(from) => format!("{from}..{to}"),
        None => to.to_owned(),
    };
    remote
        .git_remote(&["log", "--format=%B", &range])
        .lines()
        .filter_map(|line| {
            let (model, rest) = line.split_once(" production: ")?;
            let version = rest
                .split(" → ")
                .nth(1)
                .or_else(|| rest.strip_prefix("new, version "))?;
            let version = version.split_whitespace().next()?.parse().ok()?;
            Some((model.to_owned(), version))
        })
        .collect()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let models = knob("LOAD_MODELS", 1000) as u32;
    let versions = knob("LOAD_VERSIONS", 10) as u32;
    let seconds = knob("LOAD_SECONDS", 300);
    let period = Duration::from_millis(knob("LOAD_PERIOD_MS", 100));
    let file_size = knob("LOAD_FILE_KB", 4) as usize * 1024;

    let storage = tempfile::tempdir().unwrap();
    let root = format!("file://{}", storage.path().display());
    let registry = testkit::bulk::bulk_registry_at(Backend::Sqlite, models, versions, &root);
    for m in 0..models {
        for v in versions - 1..=versions {
            let dir = testkit::bulk::model_dir(storage.path(), &format!("model-{m:05}"), v);
            testkit::bulk::write_model_files(&dir, (m + v) as usize, file_size);
        }
    }
    let bucket = SeaweedFs::shared().bucket();
    let remote = GitRemote::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = remote.scratch_path().join("daemon.log");
    let started = Instant::now();
    let mut daemon = Command::new(daemon_binary())
        .args(["watch", "--registry", &registry.backend_store_uri()])
        .args(["--mirror", &bucket.uri("models"), "--repo", &remote.url()])
        .args(["--push", "--interval", "2s"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--work-dir")
        .arg(remote.scratch_path().join("work"))
        .arg("--source-root")
        .arg(storage.path())
        .envs(bucket.env())
        .env(
            "MLFLOW_GITOPS_LOG",
            std::env::var("LOAD_LOG").unwrap_or_else(|_| "info".into()),
        )
        .envs(daemon_env())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = daemon.id();
    while head(&remote).is_none() {
        assert!(
            daemon.try_wait().unwrap().is_none(),
            "the daemon stopped: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        assert!(started.elapsed() < Duration::from_secs(900), "no cold pass");
        std::thread::sleep(Duration::from_millis(100));
    }
    let cold = started.elapsed();
    let after_cold = resident_kib(pid).unwrap_or(0);
    println!(
        "cold pass: {cold:.1?} ({} deployments), daemon {:.1} MiB",
        models * 3,
        after_cold as f64 / 1024.0
    );

    // Promotions: when each was made.
    let promoted: Arc<Mutex<HashMap<(String, u32), Instant>>> = Arc::default();
    let lags: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let memory: Arc<Mutex<Vec<Sample>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    // The watcher threads stop on `done`, also when the load panics (else the scope would wait
    // for them forever).
    struct Finish<'a>(&'a AtomicBool);
    impl Drop for Finish<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let load_start = Instant::now();
    std::thread::scope(|s| {
        // The remote, watched for new heads.
        s.spawn(|| {
            let mut seen = head(&remote);
            while !done.load(Ordering::SeqCst) {
                let now = head(&remote);
                if now != seen {
                    let at = Instant::now();
                    let new = now.clone().unwrap();
                    let promoted = promoted.lock().unwrap();
                    let mut lags = lags.lock().unwrap();
                    for key in landed(&remote, seen.as_deref(), &new) {
                        if let Some(when) = promoted.get(&key) {
                            lags.push(at - *when);
                        }
                    }
                    seen = now;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        s.spawn(|| {
            while !done.load(Ordering::SeqCst) {
                if let Some(kib) = resident_kib(pid) {
                    let anon = status_kib(pid, "RssAnon").unwrap_or(0);
                    let file = status_kib(pid, "RssFile").unwrap_or(0);
                    memory
                        .lock()
                        .unwrap()
                        .push((load_start.elapsed(), kib, anon, file));
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });

        let _finish = Finish(&done);
        // The load: model i % models gets its next version in Production.
        let total = (seconds * 1000 / period.as_millis() as u64) as u32;
        for i in 0..total {
            let due = load_start + period * i;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let m = i % models;
            let version = versions + 1 + i / models;
            let name = format!("model-{m:05}");
            let dir = testkit::bulk::model_dir(storage.path(), &name, version);
            testkit::bulk::write_model_files(&dir, (m + version) as usize, file_size);
            testkit::bulk::promote_new_version(&registry, &name, version, &root);
            promoted
                .lock()
                .unwrap()
                .insert((name, version), Instant::now());
        }
        let behind = load_start
            .elapsed()
            .saturating_sub(Duration::from_secs(seconds));
        println!("{total} promotions made ({behind:.1?} behind schedule)");

        let deadline = Instant::now() + Duration::from_secs(300);
        while lags.lock().unwrap().len() < total as usize && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        done.store(true, Ordering::SeqCst);
    });
    // At rest: the last pass has ended and trimmed; later polls find the registry unchanged.
    std::thread::sleep(Duration::from_secs(5));
    let kib = |field| status_kib(pid, field).unwrap_or(0) as f64 / 1024.0;
    println!(
        "daemon at rest after the load: {:.1} MiB resident, {:.1} anonymous, {:.1} file-backed, {} threads",
        kib("VmRSS"),
        kib("RssAnon"),
        kib("RssFile"),
        status_kib(pid, "Threads").unwrap_or(0)
    );
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = daemon.wait().unwrap();

    let total = promoted.lock().unwrap().len();
    let mut lags = lags.lock().unwrap().clone();
    lags.sort();
    let memory = memory.lock().unwrap().clone();
    let mib = |kib: u64| kib as f64 / 1024.0;
    let first_minute = memory
        .iter()
        .filter(|(t, ..)| *t <= Duration::from_secs(60))
        .map(|(_, k, ..)| *k)
        .max()
        .unwrap_or(0);
    let last_minute = memory
        .iter()
        .filter(|(t, ..)| *t + Duration::from_secs(60) >= memory.last().unwrap().0)
        .map(|(_, k, ..)| *k)
        .max()
        .unwrap_or(0);
    // The first samples can still see the cold pass's memory, before its trim: that is
    // reported as "after the cold pass"; the peak under load starts 2 s later.
    let (_, peak, peak_anon, peak_file) = memory
        .iter()
        .copied()
        .filter(|(t, ..)| *t >= Duration::from_secs(2))
        .max_by_key(|(_, k, ..)| *k)
        .unwrap_or_default();
    println!(
        "landed {}/{total}; lag p50 {:.2?}, p90 {:.2?}, p99 {:.2?}, max {:.2?}",
        lags.len(),
        percentile(&lags, 0.5),
        percentile(&lags, 0.9),
        percentile(&lags, 0.99),
        lags.last().unwrap()
    );
    println!(
        "daemon resident memory: after the cold pass {:.1} MiB, peak of the first minute {:.1} MiB, \
         of the last minute {:.1} MiB, peak under load {:.1} MiB ({:.1} anonymous, \
         {:.1} file-backed); stopped with {status}",
        mib(after_cold),
        mib(first_minute),
        mib(last_minute),
        mib(peak),
        mib(peak_anon),
        mib(peak_file)
    );
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    let passes = log.lines().filter(|l| l.contains(" pass")).count();
    println!("passes logged: {passes}");
    // With LOAD_LOG=promotion_sync=debug: where the cold pass spent its time.
    if let Some(cold) = log.lines().find(|l| l.contains("pass timing")) {
        println!("cold pass: {cold}");
    }
    assert_eq!(lags.len(), total, "promotions that never landed");
    assert!(
        last_minute as f64 <= first_minute as f64 * 1.2,
        "memory grew: {:.1} MiB in the first minute, {:.1} MiB in the last",
        mib(first_minute),
        mib(last_minute)
    );
}
