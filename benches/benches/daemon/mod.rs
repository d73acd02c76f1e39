//! What the benchmarks that run the daemon as its own process share.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The release `mlflow-gitops` beside the benchmark (or `LOAD_BINARY`, another build of it).
pub fn daemon_binary() -> PathBuf {
    if let Ok(binary) = std::env::var("LOAD_BINARY") {
        return PathBuf::from(binary);
    }
    let exe = std::env::current_exe().unwrap();
    let release = exe.parent().and_then(Path::parent).unwrap();
    let binary = release.join("mlflow-gitops");
    assert!(
        binary.exists(),
        "{} is missing: cargo build --release -p examples --bin mlflow-gitops",
        binary.display()
    );
    binary
}

/// The `p` quantile (0 to 1) of sorted durations, nearest rank.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}
