//! A real OpenSSH server on 127.0.0.1 for git over ssh, with its own host key and a client key.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{Guarded, free_port, listening, wait_ready};
use crate::tools::system_tool;

/// `sshd` on a free 127.0.0.1 port accepting one client key for the current user; stopped on drop.
pub struct SshServer {
    port: u16,
    dir: tempfile::TempDir,
    _process: Guarded,
}

impl SshServer {
    /// Generates host and client keys and starts `sshd`.
    pub fn start() -> SshServer {
        let sshd = system_tool("sshd", "openssh-server");
        let dir = tempfile::Builder::new()
            .prefix("testkit-sshd-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        for key in ["host_key", "other_host_key", "client_key"] {
            keygen(&d.join(key));
        }
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys"))
            .expect("authorized_keys");
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nAuthorizedKeysFile {ak}\nPidFile {pid}\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
             PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n",
            hk = d.join("host_key").display(),
            ak = d.join("authorized_keys").display(),
            pid = d.join("sshd.pid").display(),
        );
        std::fs::write(d.join("sshd_config"), config).expect("sshd_config");
        let host_pub = std::fs::read_to_string(d.join("host_key.pub")).expect("host key");
        let other_pub = std::fs::read_to_string(d.join("other_host_key.pub")).expect("host key");
        std::fs::write(
            d.join("known_hosts"),
            format!("[127.0.0.1]:{port} {host_pub}"),
        )
        .expect("known_hosts");
        std::fs::write(
            d.join("wrong_known_hosts"),
            format!("[127.0.0.1]:{port} {other_pub}"),
        )
        .expect("known_hosts");
        std::fs::write(d.join("empty_known_hosts"), "").expect("known_hosts");
        // sshd needs its privilege-separation directory.
        std::fs::create_dir_all("/run/sshd")
            .expect("testkit: cannot create /run/sshd (run tests as root)");

        let args: Vec<String> = vec![
            "-D".into(),
            "-e".into(),
            "-f".into(),
            d.join("sshd_config").display().to_string(),
        ];
        let log = d.join("sshd.log");
        let mut process = Guarded::spawn("sshd", &sshd, &args, &log, &d.join("scratch"));
        wait_ready(&mut process, &log, Duration::from_secs(20), || {
            listening(port)
        });
        SshServer {
            port,
            dir,
            _process: process,
        }
    }

    /// `ssh://<user>@127.0.0.1:<port><path>` for a repository at `path` on this machine.
    pub fn url(&self, path: &Path) -> String {
        let user = std::env::var("USER").unwrap_or_else(|_| "root".to_owned());
        format!("ssh://{user}@127.0.0.1:{}{}", self.port, path.display())
    }

    /// The client's private key (authorized on this server).
    pub fn client_key(&self) -> PathBuf {
        self.dir.path().join("client_key")
    }

    /// A known_hosts file holding this server's real host key.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    /// A known_hosts file holding a different key for this server's address (a spoofed server).
    pub fn wrong_known_hosts(&self) -> PathBuf {
        self.dir.path().join("wrong_known_hosts")
    }

    /// An empty known_hosts file (a server never seen before).
    pub fn empty_known_hosts(&self) -> PathBuf {
        self.dir.path().join("empty_known_hosts")
    }
}

fn keygen(path: &Path) {
    let out = Command::new(system_tool("ssh-keygen", "openssh-client"))
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "testkit", "-f"])
        .arg(path)
        .output()
        .expect("testkit: cannot run ssh-keygen");
    assert!(
        out.status.success(),
        "testkit: ssh-keygen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl std::fmt::Debug for SshServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshServer")
            .field("port", &self.port)
            .finish()
    }
}
