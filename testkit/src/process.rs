//! Child processes that can never outlive the test process, and free ports.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A free TCP port on 127.0.0.1, as the kernel hands it out at this instant.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("testkit: cannot bind a port on 127.0.0.1")
}

/// A name no other test (in this process or a concurrent one) uses: `<prefix>-<pid>-<n>-<nanos>`,
/// lowercase ASCII, so it is valid as an S3 bucket, a database and a file name.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{n}-{nanos:x}", std::process::id())
}

/// A server process run under a small `sh` guard.
///
/// The guard holds the read end of a pipe whose write end only this process holds. When the test
/// process ends in any way (even SIGKILL, even a `static` that is never dropped) the pipe closes, the
/// guard kills the server and removes its scratch directory. Dropping the value does the same, now.
pub(crate) struct Guarded {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Guarded {
    /// Starts `program args…` with its output in `log`, removing `cleanup_dir` once it has stopped.
    pub(crate) fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        log: &Path,
        cleanup_dir: &Path,
    ) -> Guarded {
        const GUARD: &str = r#"log="$1"; dir="$2"; shift 2
"$@" >>"$log" 2>&1 &
server=$!
cat >/dev/null
kill "$server" 2>/dev/null
wait "$server"
rm -rf "$dir""#;
        let child = Command::new("sh")
            .arg("-c")
            .arg(GUARD)
            .arg("testkit-guard")
            .arg(log)
            .arg(cleanup_dir)
            .arg(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("testkit: cannot start {name} ({}): {e}", program.display())
            });
        let mut guarded = Guarded {
            name: name.to_owned(),
            child,
            stdin: None,
        };
        guarded.stdin = guarded.child.stdin.take();
        guarded
    }

    /// Whether the guard (and so the server) is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The name given at spawn, for messages.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        // Closing the pipe is the stop signal; waiting makes the cleanup finish before we return.
        self.stdin.take();
        let _ = self.child.wait();
    }
}

/// Polls `ready` until it holds; panics with the log's tail if the process exits or `timeout` passes.
pub(crate) fn wait_ready(
    process: &mut Guarded,
    log: &Path,
    timeout: std::time::Duration,
    mut ready: impl FnMut() -> bool,
) {
    let deadline = std::time::Instant::now() + timeout;
    while !ready() {
        let name = process.name().to_owned();
        assert!(
            process.is_running(),
            "testkit: {name} exited:\n{}",
            log_tail(log, 4000)
        );
        assert!(
            std::time::Instant::now() < deadline,
            "testkit: {name} not ready after {timeout:?}:\n{}",
            log_tail(log, 4000)
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
pub(crate) fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// The last `max` bytes of a log file, for failure messages.
pub(crate) fn log_tail(path: &Path, max: usize) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    let start = text.len().saturating_sub(max);
    let start = (start..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}
