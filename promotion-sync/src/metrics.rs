//! What the daemon exposes: Prometheus text on `/metrics`, health on `/healthz` and `/livez`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::{PassReport, Result};

/// Counters of the watch loop, shared with the HTTP endpoint.
#[derive(Debug, Default)]
pub struct Metrics {
    passes: AtomicU64,
    failed_passes: AtomicU64,
    commits: AtomicU64,
    changes: AtomicU64,
    version_problems: AtomicU64,
    pending_reviews: AtomicU64,
    last_pass_ms: AtomicU64,
    last_success_unix: AtomicU64,
    failing: AtomicBool,
}

impl Metrics {
    /// Fresh counters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a pass's outcome.
    pub fn record(&self, result: &Result<PassReport>, elapsed: Duration) {
        self.passes.fetch_add(1, Ordering::Relaxed);
        self.last_pass_ms
            .store(elapsed.as_millis() as u64, Ordering::Relaxed);
        match result {
            Ok(report) => {
                if let Some(commit) = &report.commit {
                    self.commits.fetch_add(1, Ordering::Relaxed);
                    self.changes
                        .fetch_add(commit.changes.len() as u64, Ordering::Relaxed);
                }
                if !report.unchanged_registry {
                    self.version_problems
                        .store(report.problems.len() as u64, Ordering::Relaxed);
                    let pending = report.reviews.iter().filter(|r| r.state.is_pending());
                    self.pending_reviews
                        .store(pending.count() as u64, Ordering::Relaxed);
                }
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default();
                self.last_success_unix
                    .store(now.as_secs(), Ordering::Relaxed);
                self.failing.store(false, Ordering::Relaxed);
            }
            Err(_) => {
                self.failed_passes.fetch_add(1, Ordering::Relaxed);
                self.failing.store(true, Ordering::Relaxed);
            }
        }
    }

    /// False while the last pass failed (a component is down): for readiness and alerts, not for
    /// liveness, since restarting cannot bring a store back.
    pub fn healthy(&self) -> bool {
        !self.failing.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: String| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
            ));
        };
        metric(
            "mlflow_gitops_passes_total",
            "counter",
            "Reconcile passes run.",
            get(&self.passes).to_string(),
        );
        metric(
            "mlflow_gitops_failed_passes_total",
            "counter",
            "Passes that failed as a whole.",
            get(&self.failed_passes).to_string(),
        );
        metric(
            "mlflow_gitops_commits_total",
            "counter",
            "Commits made.",
            get(&self.commits).to_string(),
        );
        metric(
            "mlflow_gitops_changes_total",
            "counter",
            "Deployment changes committed.",
            get(&self.changes).to_string(),
        );
        metric(
            "mlflow_gitops_version_problems",
            "gauge",
            "Versions skipped in the last pass that read the registry.",
            get(&self.version_problems).to_string(),
        );
        metric(
            "mlflow_gitops_pending_reviews",
            "gauge",
            "Review branches of gated channels waiting for a human merge.",
            get(&self.pending_reviews).to_string(),
        );
        metric(
            "mlflow_gitops_last_pass_duration_seconds",
            "gauge",
            "Duration of the last pass.",
            format!("{:.3}", get(&self.last_pass_ms) as f64 / 1000.0),
        );
        metric(
            "mlflow_gitops_last_success_timestamp_seconds",
            "gauge",
            "Unix time of the last successful pass.",
            get(&self.last_success_unix).to_string(),
        );
        metric(
            "mlflow_gitops_up",
            "gauge",
            "1 when the last pass succeeded.",
            u8::from(self.healthy()).to_string(),
        );
        out
    }
}
