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
        Self::spawn_with_env(name, program, args, &[], log, cleanup_dir)
    }

    /// Like [`spawn`](Self::spawn), with extra environment variables (kept out of the command line,
    /// where `ps` would show them).
    pub(crate) fn spawn_with_env(
        name: &str,
        program: &Path,
        args: &[String],
        env: &[(String, String)],
        log: &Path,
        cleanup_dir: &Path,
    ) -> Guarded {
        // The guard ends when the server does (so a crashed server is seen at once), and the
        // pipe reader kills the server when the test process goes away.
        // A background job's stdin is /dev/null in sh, so the pipe is handed over on fd 3.
        const GUARD: &str = r#"log="$1"; dir="$2"; shift 2
exec 3<&0
"$@" >>"$log" 2>&1 3<&- &
server=$!
{ cat <&3 >/dev/null; kill "$server" 2>/dev/null; } &
exec 3<&-
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
            .envs(env.iter().map(|(k, v)| (k, v)))
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

/// Sends one HTTP/1.0 request to 127.0.0.1:`port`; returns the status code and the body.
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    json_body: Option<&str>,
) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .ok()?;
    let body = json_body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.split_whitespace().nth(1)?.parse().ok()?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
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
