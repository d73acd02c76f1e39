//! Signed commits, made the way git makes them: the commit object without its `gpgsig` header is
//! the signed payload, and the detached armored signature becomes that header. `git
//! verify-commit` therefore checks exactly the bytes we signed.
//!
//! The signing programs are git's own: `ssh-keygen -Y sign` (namespace `git`) for SSH keys and
//! `gpg --detach-sign --armor` for OpenPGP keys. Key material is only ever handed to them by path;
//! it never passes through this process's memory, logs or errors.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Error;

/// Which kind of signature, as git's `gpg.format` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignFormat {
    /// An SSH key (`gpg.format=ssh`), verified against `gpg.ssh.allowedSignersFile`.
    Ssh,
    /// An OpenPGP key (`gpg.format=openpgp`), verified against a keyring.
    OpenPgp,
}

impl std::str::FromStr for SignFormat {
    type Err = Error;

    /// `ssh` or `openpgp` (also `gpg`, git's older name).
    fn from_str(text: &str) -> Result<SignFormat, Error> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ssh" => Ok(SignFormat::Ssh),
            "openpgp" | "gpg" => Ok(SignFormat::OpenPgp),
            _ => Err(Error::Signing {
                key: PathBuf::new(),
                message: format!("unknown signature format {text:?}: use ssh or openpgp"),
            }),
        }
    }
}

/// Signs commit objects with one key.
///
/// For OpenPGP the key file (an armored or binary secret key without passphrase, as a mounted
/// Secret holds it) is imported into a private keyring in a temporary directory the signer owns
/// and removes; the machine's own keyring is never touched.
pub struct CommitSigner {
    format: SignFormat,
    key: PathBuf,
    /// The private GnuPG home and the fingerprint of the key to sign with (OpenPGP only).
    gnupg: Option<(tempfile::TempDir, String)>,
}

impl std::fmt::Debug for CommitSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitSigner")
            .field("format", &self.format)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl CommitSigner {
    /// A signer with the private key in `key`, checked now: a missing file, a key the program
    /// cannot read, or one protected by a passphrase (no one is there to type it) is an error
    /// naming the file.
    pub fn new(format: SignFormat, key: &Path) -> Result<CommitSigner, Error> {
        let mut signer = CommitSigner {
            format,
            key: key.to_owned(),
            gnupg: None,
        };
        if !key.is_file() {
            return Err(signer.error("no such file".into()));
        }
        match format {
            // Deriving the public key loads the private one without a passphrase.
            SignFormat::Ssh => {
                let mut cmd = Command::new("ssh-keygen");
                cmd.args(["-y", "-P", ""]).arg("-f").arg(key);
                signer.run(cmd, None)?;
            }
            SignFormat::OpenPgp => signer.gnupg = Some(signer.import()?),
        }
        // A trial signature finds an unusable key at startup instead of at the first promotion.
        signer.sign(b"mlflow-gitops signing check\n")?;
        Ok(signer)
    }

    /// The signature format.
    pub fn format(&self) -> SignFormat {
        self.format
    }

    /// The detached armored signature of `payload`, without its final line break (the form of a
    /// `gpgsig` header's value).
    pub fn sign(&self, payload: &[u8]) -> Result<String, Error> {
        let cmd = match (&self.format, &self.gnupg) {
            (SignFormat::Ssh, _) => {
                let mut cmd = Command::new("ssh-keygen");
                cmd.args(["-Y", "sign", "-n", "git", "-q", "-f"])
                    .arg(&self.key);
                cmd
            }
            (SignFormat::OpenPgp, Some((home, fingerprint))) => {
                let mut cmd = self.gpg(home.path());
                cmd.args(["--detach-sign", "--armor", "--local-user", fingerprint]);
                cmd
            }
            (SignFormat::OpenPgp, None) => unreachable!("an OpenPGP signer imports its key in new"),
        };
        let signature = self.run(cmd, Some(payload))?;
        let signature = signature.trim_end();
        if !signature.starts_with("-----BEGIN ") {
            return Err(self.error("the signing program printed no armored signature".into()));
        }
        Ok(signature.to_owned())
    }

    /// Imports the key into a fresh private keyring; returns it with the secret key's fingerprint.
    fn import(&self) -> Result<(tempfile::TempDir, String), Error> {
        // A short path: gpg-agent's socket lives in the home, and socket paths are limited.
        let home = tempfile::Builder::new()
            .prefix("mlflow-gitops-gpg")
            .tempdir()
            .map_err(|e| self.error(format!("creating a private keyring: {e}")))?;
        let mut import = self.gpg(home.path());
        import.arg("--import").arg(&self.key);
        self.run(import, None)?;
        let mut list = self.gpg(home.path());
        list.args(["--with-colons", "--list-secret-keys"]);
        let listing = self.run(list, None)?;
        // The first `fpr` line after the first `sec` line is the primary secret key's.
        let fingerprint = listing
            .lines()
            .skip_while(|line| !line.starts_with("sec:"))
            .find_map(|line| line.strip_prefix("fpr:"))
            .and_then(|rest| rest.split(':').find(|field| !field.is_empty()))
            .ok_or_else(|| self.error("the file holds no OpenPGP secret key".into()))?;
        Ok((home, fingerprint.to_owned()))
    }

    fn gpg(&self, home: &Path) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.arg("--homedir").arg(home).args([
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        cmd
    }

    /// Runs a signing program with `input` on stdin; its stdout, or an error with its stderr.
    fn run(&self, mut cmd: Command, input: Option<&[u8]>) -> Result<String, Error> {
        let program = cmd.get_program().to_string_lossy().into_owned();
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.error(format!("running {program}: {e}")))?;
        let mut stdin = child.stdin.take().expect("piped");
        let written = stdin.write_all(input.unwrap_or_default());
        drop(stdin);
        let output = child
            .wait_with_output()
            .map_err(|e| self.error(format!("running {program}: {e}")))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(self.error(format!("{program} failed: {}", stderr.trim())));
        }
        written.map_err(|e| self.error(format!("writing to {program}: {e}")))?;
        String::from_utf8(output.stdout)
            .map_err(|_| self.error(format!("{program} printed something not UTF-8")))
    }

    fn error(&self, message: String) -> Error {
        Error::Signing {
            key: self.key.clone(),
            message,
        }
    }
}

impl Drop for CommitSigner {
    fn drop(&mut self) {
        // The agent gpg started for the private keyring would outlive it.
        if let Some((home, _)) = &self.gnupg {
            let _ = Command::new("gpgconf")
                .arg("--homedir")
                .arg(home.path())
                .args(["--kill", "gpg-agent"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}
