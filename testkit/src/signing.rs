//! Commit-signing keys made for a test, and `git verify-commit` configured to trust only them.
//!
//! SSH: an ed25519 key from `ssh-keygen` and an allowed-signers file naming it. OpenPGP: an
//! ed25519 key from `gpg --quick-gen-key` in a private GnuPG home (which doubles as the verifying
//! keyring), exported to a file as a mounted Secret would hold it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::git::git_command;

/// Which kind of key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// ed25519 SSH key.
    Ssh,
    /// ed25519 OpenPGP key.
    OpenPgp,
}

/// A signing key and what verifies it, in a temporary directory removed on drop.
#[derive(Debug)]
pub struct SigningKey {
    kind: KeyKind,
    dir: tempfile::TempDir,
}

/// The identity the test keys carry.
pub const SIGNER: &str = "signer@example.invalid";

impl SigningKey {
    /// A fresh key of `kind`, without passphrase.
    pub fn new(kind: KeyKind) -> SigningKey {
        let dir = tempfile::Builder::new()
            .prefix("tk-sign")
            .tempdir()
            .expect("testkit: temp dir");
        let key = SigningKey { kind, dir };
        match kind {
            KeyKind::Ssh => {
                run(Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", "", "-C", SIGNER, "-f"])
                    .arg(key.key_file()));
                let public = std::fs::read_to_string(key.dir.path().join("key.pub"))
                    .expect("testkit: public key");
                std::fs::write(key.allowed_signers(), format!("{SIGNER} {public}"))
                    .expect("testkit: allowed signers");
            }
            KeyKind::OpenPgp => {
                std::fs::create_dir(key.gnupg_home()).expect("testkit: gnupg home");
                run(key.gpg().args([
                    "--quick-gen-key",
                    &format!("Test Signer <{SIGNER}>"),
                    "ed25519",
                    "sign",
                    "never",
                ]));
                let secret = key
                    .gpg()
                    .args(["--armor", "--export-secret-keys", SIGNER])
                    .output()
                    .expect("testkit: gpg export");
                assert!(secret.status.success(), "testkit: gpg export failed");
                std::fs::write(key.key_file(), secret.stdout).expect("testkit: key file");
            }
        }
        set_private(&key.key_file());
        key
    }

    /// The private key file to give the signer (mode 0600).
    pub fn key_file(&self) -> PathBuf {
        self.dir.path().join("key")
    }

    /// The format name git and `--sign-format` use.
    pub fn format(&self) -> &'static str {
        match self.kind {
            KeyKind::Ssh => "ssh",
            KeyKind::OpenPgp => "openpgp",
        }
    }

    /// `git verify-commit rev` in `repo`, trusting this key only; Err with git's message.
    pub fn verify_commit(&self, repo: &Path, rev: &str) -> Result<(), String> {
        let mut cmd = git_command(repo);
        cmd.args(["-c", &format!("gpg.format={}", self.format())]);
        match self.kind {
            KeyKind::Ssh => {
                cmd.args([
                    "-c",
                    &format!(
                        "gpg.ssh.allowedSignersFile={}",
                        self.allowed_signers().display()
                    ),
                ]);
            }
            KeyKind::OpenPgp => {
                cmd.env("GNUPGHOME", self.gnupg_home());
            }
        }
        let out = cmd
            .args(["verify-commit", rev])
            .output()
            .expect("testkit: git verify-commit");
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    fn allowed_signers(&self) -> PathBuf {
        self.dir.path().join("allowed_signers")
    }

    fn gnupg_home(&self) -> PathBuf {
        self.dir.path().join("gnupg")
    }

    fn gpg(&self) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.arg("--homedir").arg(self.gnupg_home()).args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        cmd
    }
}

impl Drop for SigningKey {
    fn drop(&mut self) {
        if self.kind == KeyKind::OpenPgp {
            let _ = Command::new("gpgconf")
                .arg("--homedir")
                .arg(self.gnupg_home())
                .args(["--kill", "gpg-agent"])
                .output();
        }
    }
}

/// A copy of commit `rev` in `repo` with its message changed and its signature kept, written as
/// a new object: what a forger would present. Returns the new commit's id.
pub fn tamper_with_commit(repo: &Path, rev: &str) -> String {
    let object = crate::git::git(repo, &["cat-file", "commit", rev]);
    let forged = object.replacen("\n\n", "\n\nforged: ", 1);
    assert_ne!(forged, object, "testkit: commit without a message");
    let mut child = git_command(repo)
        .args(["hash-object", "-t", "commit", "-w", "--stdin"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("testkit: git hash-object");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(forged.as_bytes())
        .expect("testkit: write commit");
    let out = child.wait_with_output().expect("testkit: git hash-object");
    assert!(out.status.success(), "testkit: git hash-object failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("testkit: cannot run a key tool");
    assert!(
        out.status.success(),
        "testkit: {:?} failed: {}",
        cmd.get_program(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .expect("testkit: chmod key");
}
