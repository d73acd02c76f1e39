//! Fetch and push, behind a small trait so they can move to gix once gix can push.
//!
//! [`GitCli`] runs the system `git`. It never forces: a rejected non-fast-forward push is reported
//! as [`Pushed::RejectedNonFastForward`] for the writer to fetch, re-apply and try again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// The answer of a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The branch now points at the commit.
    Accepted,
    /// The branch moved since our fetch; nothing was changed on the remote.
    RejectedNonFastForward,
}

/// Moves commits between the local bare repository and the remote.
pub trait Transport: Send + Sync {
    /// Updates `refs/remotes/origin/<branch>` in the bare repository at `git_dir` from the remote.
    /// Returns `false` (and removes the tracking ref) when the remote has no such branch yet.
    fn fetch(&self, git_dir: &Path, branch: &str) -> Result<bool, Error>;

    /// Pushes `commit` to the remote's `refs/heads/<branch>`, fast-forward only, with git push
    /// options (`git push -o`: GitLab's `merge_request.create`, …) when any are given.
    fn push(
        &self,
        git_dir: &Path,
        commit: &str,
        branch: &str,
        options: &[String],
    ) -> Result<Pushed, Error>;

    /// The remote's branches under `prefix/` with their heads, fetched into
    /// `refs/remotes/origin/<branch>`.
    fn fetch_prefix(&self, git_dir: &Path, prefix: &str)
    -> Result<BTreeMap<String, String>, Error>;

    /// Deletes the remote's `branch` if it still points at `expected`
    /// ([`Pushed::RejectedNonFastForward`] when it moved or is gone).
    fn delete(&self, git_dir: &Path, branch: &str, expected: &str) -> Result<Pushed, Error>;

    /// The remote URL without credentials, for messages.
    fn remote(&self) -> &str;

    /// Packs the local repository's loose objects when enough have accumulated (`git gc --auto`).
    /// A daemon writes objects every pass and fetches rarely, so git's own trigger (after a fetch)
    /// would leave them loose for months. The default does nothing.
    fn maintain(&self, _git_dir: &Path) -> Result<(), Error> {
        Ok(())
    }
}

/// SSH authentication: a private key and the known host keys. Host keys are always verified
/// (`StrictHostKeyChecking=yes`); an unknown or changed host key fails the fetch or push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshAuth {
    /// The private key file.
    pub private_key: PathBuf,
    /// The `known_hosts` file holding the remote's host key.
    pub known_hosts: PathBuf,
}

/// HTTPS authentication with a token, sent as HTTP basic auth (`username:token`, GitHub's and
/// GitLab's convention). The token is read at each fetch or push, so a rotated Secret is picked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAuth {
    /// The user name paired with the token (`x-access-token` for GitHub, `oauth2` for GitLab).
    pub username: String,
    /// Where the token is.
    pub source: TokenSource,
}

/// Where a token is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// An environment variable.
    Env(String),
    /// A file (e.g. a mounted Kubernetes Secret); surrounding whitespace is ignored.
    File(PathBuf),
}

impl TokenSource {
    fn read(&self) -> Result<String, String> {
        match self {
            TokenSource::Env(var) => {
                std::env::var(var).map_err(|_| format!("the token variable {var} is not set"))
            }
            TokenSource::File(path) => std::fs::read_to_string(path)
                .map(|t| t.trim().to_owned())
                .map_err(|e| format!("cannot read the token file {}: {e}", path.display())),
        }
    }
}

/// [`Transport`] through the system `git` (file://, plain paths, ssh://, scp-style, https://).
#[derive(Debug, Clone)]
pub struct GitCli {
    url: String,
    redacted: String,
    ssh: Option<SshAuth>,
    token: Option<TokenAuth>,
    ca_file: Option<PathBuf>,
}

impl GitCli {
    /// Talks to `url` (credentials in the URL itself are refused: they would land in git's config
    /// and messages; use [`with_token`](Self::with_token) or [`with_ssh`](Self::with_ssh)).
    pub fn new(url: &str) -> Result<GitCli, Error> {
        if let Some((_, rest)) = url.split_once("://") {
            let authority = rest.split('/').next().unwrap_or_default();
            if authority.contains('@')
                && authority.split('@').next().is_some_and(|u| u.contains(':'))
            {
                return Err(Error::InvalidPath {
                    path: redact(url),
                    reason: "a password in the remote URL would be stored and printed; use a token (TokenAuth)",
                });
            }
        }
        Ok(GitCli {
            url: url.to_owned(),
            redacted: redact(url),
            ssh: None,
            token: None,
            ca_file: None,
        })
    }

    /// Use this key and known_hosts file for ssh remotes.
    pub fn with_ssh(mut self, auth: SshAuth) -> GitCli {
        self.ssh = Some(auth);
        self
    }

    /// Authenticate https remotes with a token.
    pub fn with_token(mut self, auth: TokenAuth) -> GitCli {
        self.token = Some(auth);
        self
    }

    /// Trust the certificate authorities in this PEM file for https remotes (a private CA).
    pub fn with_ca_file(mut self, path: impl Into<PathBuf>) -> GitCli {
        self.ca_file = Some(path.into());
        self
    }

    fn git(&self, git_dir: &Path) -> Result<Command, Error> {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir").arg(git_dir);
        cmd.env("GIT_TERMINAL_PROMPT", "0");
        // Never trust on first use: without a known_hosts entry the connection fails.
        let mut ssh = String::from("ssh -o BatchMode=yes -o StrictHostKeyChecking=yes");
        if let Some(auth) = &self.ssh {
            ssh.push_str(&format!(
                " -o IdentitiesOnly=yes -i {} -o UserKnownHostsFile={}",
                shell_quote(&auth.private_key.to_string_lossy()),
                shell_quote(&auth.known_hosts.to_string_lossy())
            ));
        }
        cmd.env("GIT_SSH_COMMAND", ssh);
        // Configuration through the environment, not argv: other users can read a process's arguments.
        let mut config: Vec<(&str, String)> = Vec::new();
        // git's automatic gc (after a fetch, once there are 6,700 loose objects) packs and deletes
        // loose objects in a detached background process, while the writer's repository handle
        // still looks for them loose: "object could not be found" on the next pass (found by the
        // 1,000-version pipeline benchmark). In the foreground it ends before the writer reopens
        // the repository and sees the new pack.
        config.push(("gc.autoDetach", "false".into()));
        config.push(("maintenance.autoDetach", "false".into()));
        if let Some(auth) = &self.token {
            let token = auth.source.read().map_err(|message| Error::Fetch {
                remote: self.redacted.clone(),
                message,
            })?;
            let header = format!(
                "Authorization: Basic {}",
                base64(&format!("{}:{token}", auth.username))
            );
            config.push(("http.extraHeader", header));
        }
        if let Some(ca) = &self.ca_file {
            // The variable, not `http.sslCAInfo`: an inherited GIT_SSL_CAINFO would override the config.
            cmd.env("GIT_SSL_CAINFO", ca);
        }
        if !config.is_empty() {
            cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
            for (i, (key, value)) in config.into_iter().enumerate() {
                cmd.env(format!("GIT_CONFIG_KEY_{i}"), key)
                    .env(format!("GIT_CONFIG_VALUE_{i}"), value);
            }
        }
        Ok(cmd)
    }

    /// Runs a `git push --porcelain`: accepted, rejected because the branch moved (retrying on a
    /// fresh view can succeed), or an error (a hook or protection rule, which retrying cannot fix).
    fn push_ref(&self, push: Command) -> Result<Pushed, Error> {
        let fail = |message: String| Error::Push {
            remote: self.redacted.clone(),
            message,
        };
        let (ok, stdout, stderr) = self.run(push).map_err(fail)?;
        if ok {
            return Ok(Pushed::Accepted);
        }
        // Porcelain: `!\t<src>:<dst>\t[rejected] (non-fast-forward|fetch first|stale info)` for a
        // moved branch; `[remote rejected] (failed to update ref)` when another push moved it
        // while this one was received (two replicas pushing at once, found by the HA test); any
        // other `[remote rejected] (…)` is a hook or protection rule.
        let rejected_line = stdout.lines().find(|l| l.starts_with('!'));
        match rejected_line {
            Some(line)
                if (line.contains("[rejected]")
                    && ["non-fast-forward", "fetch first", "stale info"]
                        .iter()
                        .any(|reason| line.contains(reason)))
                    || (line.contains("[remote rejected]")
                        && line.contains("(failed to update ref)")) =>
            {
                Ok(Pushed::RejectedNonFastForward)
            }
            Some(line) => Err(fail(with_server_reason(line.trim(), &stderr))),
            None => Err(fail(stderr.trim().to_owned())),
        }
    }

    /// `git fetch` of one refspec from the remote.
    fn fetch_refspec(&self, git_dir: &Path, refspec: &str) -> Result<(), Error> {
        let fail = |message: String| Error::Fetch {
            remote: self.redacted.clone(),
            message,
        };
        let mut fetch = self.git(git_dir)?;
        fetch.args(["fetch", "--quiet", "--no-tags", "--", &self.url, refspec]);
        let (ok, _, stderr) = self.run(fetch).map_err(fail)?;
        if ok {
            Ok(())
        } else {
            Err(fail(stderr.trim().to_owned()))
        }
    }

    /// Sets (or, with None, removes) the tracking ref of a branch just pushed or deleted.
    fn track(&self, git_dir: &Path, branch: &str, commit: Option<&str>) -> Result<(), Error> {
        let tracking = format!("refs/remotes/origin/{branch}");
        let mut update = self.git(git_dir)?;
        match commit {
            Some(commit) => update.args(["update-ref", &tracking, commit]),
            None => update.args(["update-ref", "-d", &tracking]),
        };
        let fail = |message: String| Error::Push {
            remote: self.redacted.clone(),
            message,
        };
        let (ok, _, stderr) = self.run(update).map_err(fail)?;
        if ok { Ok(()) } else { Err(fail(stderr)) }
    }

    fn run(&self, mut cmd: Command) -> Result<(bool, String, String), String> {
        let out = cmd.output().map_err(|e| format!("cannot run git: {e}"))?;
        Ok((
            out.status.success(),
            self.scrub(&String::from_utf8_lossy(&out.stdout)),
            explain(&self.scrub(&String::from_utf8_lossy(&out.stderr))),
        ))
    }

    /// Removes the token from git's output, should a server echo it.
    fn scrub(&self, text: &str) -> String {
        match self.token.as_ref().and_then(|t| t.source.read().ok()) {
            Some(token) if !token.is_empty() => text.replace(&token, "***"),
            _ => text.to_owned(),
        }
    }
}

impl Transport for GitCli {
    fn fetch(&self, git_dir: &Path, branch: &str) -> Result<bool, Error> {
        let fail = |message: String| Error::Fetch {
            remote: self.redacted.clone(),
            message,
        };
        let tracking = format!("refs/remotes/origin/{branch}");
        let mut ls = self.git(git_dir)?;
        ls.args([
            "ls-remote",
            "--heads",
            "--",
            &self.url,
            &format!("refs/heads/{branch}"),
        ]);
        let (ok, stdout, stderr) = self.run(ls).map_err(fail)?;
        if !ok {
            return Err(fail(stderr.trim().to_owned()));
        }
        if stdout.trim().is_empty() {
            let mut delete = self.git(git_dir)?;
            delete.args(["update-ref", "-d", &tracking]);
            let _ = self.run(delete);
            return Ok(false);
        }
        self.fetch_refspec(git_dir, &format!("+refs/heads/{branch}:{tracking}"))?;
        Ok(true)
    }

    fn push(
        &self,
        git_dir: &Path,
        commit: &str,
        branch: &str,
        options: &[String],
    ) -> Result<Pushed, Error> {
        let mut push = self.git(git_dir)?;
        push.args(["push", "--porcelain"]);
        for option in options {
            push.arg("--push-option").arg(option);
        }
        push.args(["--", &self.url, &format!("{commit}:refs/heads/{branch}")]);
        let pushed = self.push_ref(push)?;
        if pushed == Pushed::Accepted {
            self.track(git_dir, branch, Some(commit))?;
        }
        Ok(pushed)
    }

    fn fetch_prefix(
        &self,
        git_dir: &Path,
        prefix: &str,
    ) -> Result<BTreeMap<String, String>, Error> {
        let fail = |message: String| Error::Fetch {
            remote: self.redacted.clone(),
            message,
        };
        let pattern = format!("refs/heads/{prefix}/*");
        let mut ls = self.git(git_dir)?;
        ls.args(["ls-remote", "--heads", "--", &self.url, &pattern]);
        let (ok, stdout, stderr) = self.run(ls).map_err(fail)?;
        if !ok {
            return Err(fail(stderr.trim().to_owned()));
        }
        let heads: BTreeMap<String, String> = stdout
            .lines()
            .filter_map(|line| {
                let (id, name) = line.split_once('\t')?;
                let branch = name.strip_prefix("refs/heads/")?;
                branch
                    .starts_with(&format!("{prefix}/"))
                    .then(|| (branch.to_owned(), id.to_owned()))
            })
            .collect();
        if !heads.is_empty() {
            self.fetch_refspec(
                git_dir,
                &format!("+{pattern}:refs/remotes/origin/{prefix}/*"),
            )?;
        }
        Ok(heads)
    }

    fn delete(&self, git_dir: &Path, branch: &str, expected: &str) -> Result<Pushed, Error> {
        let mut push = self.git(git_dir)?;
        // The lease makes the deletion conditional: a branch someone moved since it was read is kept.
        push.args([
            "push",
            "--porcelain",
            &format!("--force-with-lease=refs/heads/{branch}:{expected}"),
            "--",
            &self.url,
            &format!(":refs/heads/{branch}"),
        ]);
        let pushed = self.push_ref(push)?;
        if pushed == Pushed::Accepted {
            self.track(git_dir, branch, None)?;
        }
        Ok(pushed)
    }

    fn remote(&self) -> &str {
        &self.redacted
    }

    fn maintain(&self, git_dir: &Path) -> Result<(), Error> {
        let mut gc = self.git(git_dir)?;
        gc.args(["gc", "--auto", "--quiet"]);
        let (ok, _, stderr) = self.run(gc).map_err(|message| Error::Repository {
            dir: git_dir.to_owned(),
            source: message.into(),
        })?;
        if ok {
            Ok(())
        } else {
            Err(Error::Repository {
                dir: git_dir.to_owned(),
                source: format!("git gc --auto: {stderr}").into(),
            })
        }
    }
}

/// A rejection line with what the server said about it (`remote: …` lines: a hook's or a branch
/// protection rule's reason), which is what the operator needs to act on.
fn with_server_reason(line: &str, stderr: &str) -> String {
    let said: Vec<&str> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("remote:"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if said.is_empty() {
        line.to_owned()
    } else {
        format!("{line}; the server said: {}", said.join(" / "))
    }
}

/// git's message, with what it means for this tool when git's wording hides it.
fn explain(stderr: &str) -> String {
    let stderr = stderr.trim();
    if stderr.contains("terminal prompts disabled") {
        // A 401 makes git ask for a user name, which it may not do here.
        return format!(
            "{stderr} (the server refused the credentials, or none are configured: check the token)"
        );
    }
    stderr.to_owned()
}

/// The workspace's one redaction rule (crate `redaction`).
pub(crate) use redaction::uri as redact;

/// Quotes `s` for the POSIX shell git runs `GIT_SSH_COMMAND` with.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Standard base64 with padding (RFC 4648), for the basic-auth header.
fn base64(input: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input), expected);
        }
    }

    #[test]
    fn passwords_in_urls_are_refused_and_redacted() {
        let err = GitCli::new("https://bot:ghp_secret@github.com/org/repo.git")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("ghp_secret"), "{err}");
        assert!(GitCli::new("https://bot@github.com/org/repo.git").is_ok());
        assert!(GitCli::new("git@github.com:org/repo.git").is_ok());
        assert_eq!(redact("ssh://u:p@h/r"), "ssh://***@h/r");
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("/tmp/it's key"), r"'/tmp/it'\''s key'");
    }
}
