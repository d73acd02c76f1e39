//! The daemon loop: a pass every interval, earlier when the SQLite file changes, backing off
//! while something is down.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use gitops_writer::GitOpsWriter;
use registry_reader::ModelRegistry;

use crate::{Metrics, PassReport, Reconciler, Result};

/// How the loop paces itself.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// Time between passes (default 2 s).
    pub interval: Duration,
    /// Longest wait after repeated failures (default 5 min); the wait doubles from `interval`.
    pub max_backoff: Duration,
    /// A file whose change wakes the loop early (the SQLite registry; its `-wal` sibling is
    /// watched too). Checked by a cheap `stat` every 100 ms, then debounced by 200 ms, so a burst
    /// of writes makes one pass.
    pub wake_file: Option<PathBuf>,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            wake_file: None,
        }
    }
}

/// Runs passes until `shutdown` completes. A pass in progress when it does is finished (a pass
/// is safe to abandon too, but finishing avoids redoing its copies), then the loop returns.
/// `on_pass` sees every result (for logging); `metrics` records them.
pub async fn watch<R: ModelRegistry, W: GitOpsWriter>(
    reconciler: &mut Reconciler<R, W>,
    options: &WatchOptions,
    metrics: &Metrics,
    shutdown: impl Future<Output = ()>,
    mut on_pass: impl FnMut(&Result<PassReport>),
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut delay = Duration::ZERO;
    let mut failures = 0u32;
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = wait(delay, options.wake_file.as_ref()) => {}
        }
        let started = Instant::now();
        let result = reconciler.run_once().await;
        metrics.record(&result, started.elapsed());
        on_pass(&result);
        delay = if result.is_ok() {
            failures = 0;
            options.interval
        } else {
            failures = failures.saturating_add(1);
            options
                .interval
                .saturating_mul(1 << failures.min(16))
                .min(options.max_backoff)
        };
        // A shutdown that arrived during the pass ends the loop now.
        if futures::poll!(&mut shutdown).is_ready() {
            return;
        }
    }
}

/// Sleeps `delay`, or less when the watched file changes.
async fn wait(delay: Duration, file: Option<&PathBuf>) {
    let Some(file) = file else {
        tokio::time::sleep(delay).await;
        return;
    };
    let stamp = |f: &PathBuf| -> Vec<Option<(SystemTime, u64)>> {
        let wal = PathBuf::from(format!("{}-wal", f.display()));
        [f.clone(), wal]
            .iter()
            .map(|p| {
                std::fs::metadata(p)
                    .ok()
                    .and_then(|m| Some((m.modified().ok()?, m.len())))
            })
            .collect()
    };
    let before = stamp(file);
    let deadline = tokio::time::Instant::now() + delay;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100).min(delay)).await;
        if stamp(file) != before {
            tokio::time::sleep(Duration::from_millis(200)).await;
            return;
        }
    }
}
