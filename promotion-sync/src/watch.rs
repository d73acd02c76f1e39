//! The daemon loop: a pass every interval, earlier when the SQLite file changes or a webhook
//! delivery asks for one, backing off while something is down.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures::FutureExt as _;
use tokio::sync::Notify;

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
    /// Woken by a verified webhook delivery ([`WebhookReceiver`](crate::WebhookReceiver)): the
    /// next pass starts at once, after a 50 ms debounce so that the deliveries of one burst (a new
    /// version and its alias) make one pass.
    pub wake: Option<Arc<Notify>>,
}

/// How long a webhook wake waits for the rest of its burst.
const WEBHOOK_DEBOUNCE: Duration = Duration::from_millis(50);

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            max_backoff: Duration::from_secs(300),
            wake_file: None,
            wake: None,
        }
    }
}

/// Runs passes until `shutdown` completes. A pass in progress when it does is finished (a pass
/// is safe to abandon too, but finishing avoids redoing its copies), then the loop returns.
/// `on_pass` sees every result (for logging); `metrics` records them.
pub async fn watch<R: ModelRegistry, W: GitOpsWriter + Send + 'static>(
    reconciler: &mut Reconciler<R, W>,
    options: &WatchOptions,
    metrics: &Metrics,
    shutdown: impl Future<Output = ()>,
    mut on_pass: impl FnMut(&Result<PassReport>),
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let mut delay = Duration::ZERO;
    let mut failures = 0u32;
    let mut seen = None;
    loop {
        tokio::select! {
            _ = &mut shutdown => return,
            _ = wait(delay, options.wake_file.as_deref(), seen.take(), options.wake.as_deref()) => {}
        }
        // The file as this pass reads the registry: a write from now on, during the pass or
        // after it, wakes the next wait at once. Stamped when the wait began instead, a
        // promotion made while a pass ran waited a whole interval.
        seen = options.wake_file.as_deref().map(stamp);
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

/// The watched file's and its `-wal` sibling's modification time and size.
type Stamp = [Option<(SystemTime, u64)>; 2];

fn stamp(file: &Path) -> Stamp {
    let wal = PathBuf::from(format!("{}-wal", file.display()));
    [file, wal.as_path()].map(|p| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())))
    })
}

/// Sleeps `delay`, or less when the watched file differs from `since` or `wake` is notified.
async fn wait(delay: Duration, file: Option<&Path>, since: Option<Stamp>, wake: Option<&Notify>) {
    let Some(wake) = wake else {
        return wait_for_file(delay, file, since).await;
    };
    tokio::select! {
        _ = wait_for_file(delay, file, since) => {}
        _ = wake.notified() => {
            tokio::time::sleep(WEBHOOK_DEBOUNCE).await;
            // What arrived during the debounce is seen by the pass about to start.
            let _ = wake.notified().now_or_never();
        }
    }
}

/// Sleeps `delay`, or less when the watched file differs from `since` (default: from when the
/// wait began).
async fn wait_for_file(delay: Duration, file: Option<&Path>, since: Option<Stamp>) {
    let Some(file) = file else {
        tokio::time::sleep(delay).await;
        return;
    };
    let before = since.unwrap_or_else(|| stamp(file));
    let deadline = tokio::time::Instant::now() + delay;
    loop {
        if stamp(file) != before {
            // Debounce: a burst of writes makes one pass.
            tokio::time::sleep(Duration::from_millis(200)).await;
            return;
        }
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100).min(deadline - now)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_write_made_during_a_pass_wakes_the_next_wait() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mlflow.db");
        std::fs::write(&file, "a").unwrap();
        let seen = stamp(&file);
        // The promotion lands while the pass runs, before the wait begins.
        std::fs::write(&file, "ab").unwrap();
        let hour = Duration::from_secs(3600);
        let woke = tokio::time::timeout(
            Duration::from_secs(30),
            wait(hour, Some(&file), Some(seen), None),
        )
        .await;
        assert!(
            woke.is_ok(),
            "the wait slept on past a write it had not seen"
        );

        // Nothing written since: the wait keeps its interval.
        let idle = tokio::time::timeout(
            Duration::from_millis(500),
            wait(hour, Some(&file), Some(stamp(&file)), None),
        )
        .await;
        assert!(idle.is_err(), "woke without a write");
    }

    #[tokio::test]
    async fn a_burst_of_webhook_wakes_makes_one_pass() {
        let wake = Notify::new();
        let hour = Duration::from_secs(3600);
        // Deliveries that arrived while a pass ran: the next wait ends at once…
        for _ in 0..10 {
            wake.notify_one();
        }
        let woke =
            tokio::time::timeout(Duration::from_secs(5), wait(hour, None, None, Some(&wake))).await;
        assert!(woke.is_ok(), "a webhook did not wake the loop");
        // …and only that one: the burst is spent.
        let again = tokio::time::timeout(
            Duration::from_millis(300),
            wait(hour, None, None, Some(&wake)),
        )
        .await;
        assert!(again.is_err(), "one burst woke the loop twice");
    }
}
