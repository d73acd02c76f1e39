//! Progress events, so a CLI can draw a bar and a daemon can log.

use std::sync::Arc;

/// One step of a mirror.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// The source was listed.
    Planned {
        /// Files to mirror.
        files: usize,
        /// Their total size.
        bytes: u64,
    },
    /// A file was copied.
    Copied {
        /// Path relative to the mirror.
        path: String,
        /// Its size.
        bytes: u64,
    },
    /// A file already at the destination was verified and kept.
    Kept {
        /// Path relative to the mirror.
        path: String,
        /// Its size.
        bytes: u64,
    },
    /// A failed attempt that will be retried.
    Retrying {
        /// Path relative to the mirror.
        path: String,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// Why.
        error: String,
    },
    /// The completion manifest was written.
    Completed,
}

/// A progress callback; called from the mirror's tasks, so it must be quick.
pub type ProgressHook = Arc<dyn Fn(&Progress) + Send + Sync>;
