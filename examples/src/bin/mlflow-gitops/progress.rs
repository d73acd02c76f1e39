//! A one-line progress display for long mirrors, drawn only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use artifact_store::{Progress, ProgressHook};

/// A hook that redraws `files done/total, MB` on stderr; None when stderr is not a terminal (logs
/// and CI output stay clean).
pub fn terminal_progress() -> Option<ProgressHook> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let total_files = Arc::new(AtomicU64::new(0));
    let done_files = Arc::new(AtomicU64::new(0));
    let done_bytes = Arc::new(AtomicU64::new(0));
    Some(Arc::new(move |event: &Progress| {
        match event {
            Progress::Planned { files, .. } => {
                total_files.fetch_add(*files as u64, Ordering::Relaxed);
            }
            Progress::Copied { bytes, .. } | Progress::Kept { bytes, .. } => {
                done_files.fetch_add(1, Ordering::Relaxed);
                done_bytes.fetch_add(*bytes, Ordering::Relaxed);
            }
            _ => return,
        }
        let line = format!(
            "\r  mirrored {}/{} files, {:.1} MB ",
            done_files.load(Ordering::Relaxed),
            total_files.load(Ordering::Relaxed),
            done_bytes.load(Ordering::Relaxed) as f64 / 1e6
        );
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
    }))
}
