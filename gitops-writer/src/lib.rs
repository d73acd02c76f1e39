//! Makes one subtree of a git repository equal to a given set of files, in one commit, and pushes
//! it without ever forcing.
//!
//! ```
//! use gitops_writer::{ChangeSet, CommitInfo, GitOpsWriter, GixWriter, Outcome, Signature};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let remote = dir.path().join("deploy.git");
//! # std::process::Command::new("git").args(["init", "--quiet", "--bare"]).arg(&remote).status()?;
//! // Any remote git understands: file://, ssh:// or scp-style (GitCli::with_ssh), https:// (with_token).
//! let url = format!("file://{}", remote.display());
//! let mut writer = GixWriter::open(&url, &dir.path().join("work"), "main")?;
//!
//! let mut files = ChangeSet::new("deployments")?;
//! files.insert("wine/production/deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\n")?;
//! let bot = Signature { name: "mlflow-gitops".into(), email: "bot@example.com".into() };
//! let info = CommitInfo { author: bot.clone(), committer: bot, message: "wine: Production → 4".into() };
//!
//! let Outcome::Committed { added, .. } = writer.apply(&files, &info)? else { unreachable!() };
//! assert_eq!(added, ["deployments/wine/production/deployment.yaml"]);
//! writer.push()?;
//!
//! // The same files again: no commit, nothing to push.
//! assert_eq!(writer.apply(&files, &info)?, Outcome::Unchanged);
//! # Ok(()) }
//! ```
//!
//! # What it guarantees
//!
//! - **One commit per change set, none when nothing changed**: the new subtree's trees are built
//!   from the change set and compared with the base's by id, descending only where ids differ; an
//!   equal subtree gives [`Outcome::Unchanged`] and no push. Nothing of the subtree is held
//!   between calls, so a daemon managing thousands of files keeps none of them in memory.
//! - **Nothing outside the prefix changes**; paths that would leave it (`..`, absolute, `.git`)
//!   are refused ([`ChangeSet::insert`]).
//! - **Never a force push.** A push rejected as non-fast-forward fetches the new head, re-applies
//!   the same change set on it (so a human's commit elsewhere in the repository is kept) and tries
//!   again, with bounded retries and backoff ([`Error::Contended`] when the remote keeps moving).
//!   A caller whose files may be older than the new head uses [`GitOpsWriter::push_once`]
//!   instead, which drops the commit so the files can be derived again.
//! - **Crash safety**: see [`GixWriter`]; killed at any instant, the next run converges.
//! - **Unchanged files need not be read or held**: [`GitOpsWriter::current_blobs`] lists the
//!   subtree by [`BlobId`] from tree objects alone, and [`ChangeSet::insert_blob`] keeps a file by
//!   its id; a caller that knows which files it would render the same (promotion-sync does) sends
//!   only the bytes of what changed.
//!
//! # What it uses
//!
//! gix for all object work (blobs, trees, commits) in a private bare clone; the system `git` for
//! fetch and push ([`GitCli`]), because gix cannot push yet. The [`Transport`] trait is the seam
//! for replacing it. Transports: `file://` and plain paths, `ssh://` and scp-style with a given key
//! and known_hosts ([`SshAuth`], host keys always verified), `https://` with a token from the
//! environment or a file ([`TokenAuth`]) and optionally a private CA ([`GitCli::with_ca_file`]).
//!
//! Commits can be signed ([`GixWriter::with_signer`], [`CommitSigner`]) with an SSH or OpenPGP
//! key, as `git commit -S` signs them. Changes that need a human's approval go to review branches
//! ([`GitOpsWriter::propose`]), pushed with git push options (GitLab merge requests).

#![forbid(unsafe_code)]

mod blob;
mod change_set;
#[cfg(feature = "conformance")]
pub mod conformance;
mod error;
mod objects;
mod outcome;
mod path;
mod signing;
mod subtree;
mod transport;
mod writer;

pub use blob::BlobId;
pub use change_set::{ChangeSet, Content, FileContent, FileMode};
pub use error::Error;
pub use outcome::{CommitInfo, Outcome, Proposal, PushAttempt, Signature};
pub use signing::{CommitSigner, SignFormat};
pub use transport::{GitCli, Pushed, SshAuth, TokenAuth, TokenSource, Transport};
pub use writer::{GixWriter, PushReport};

/// Makes a subtree of a repository equal to a change set, and publishes it.
pub trait GitOpsWriter {
    /// Makes the change set's subtree exactly its files, in one commit on the remote branch's last
    /// known head; [`Outcome::Unchanged`] (no commit) when it already is.
    fn apply(&mut self, change: &ChangeSet, info: &CommitInfo) -> Result<Outcome, Error>;

    /// Publishes the commit of the last `apply`, if any; never forces. A rejection (the branch
    /// moved) re-applies the same change set on the new head and tries again.
    fn push(&mut self) -> Result<PushReport, Error>;

    /// Publishes the commit of the last `apply` once; never forces. When the branch moved, the
    /// commit is dropped ([`PushAttempt::Moved`]) instead of re-applied: for a caller whose change
    /// set was derived from inputs that may be older than the new head (two replicas of a daemon
    /// reading one registry), and must be derived again.
    fn push_once(&mut self) -> Result<PushAttempt, Error>;

    /// Fetches the remote branch: later calls see what others pushed.
    fn refresh(&mut self) -> Result<(), Error>;

    /// The remote's branches under `prefix/` (review branches), with their heads, fetched.
    /// [`propose`](Self::propose) and [`delete_branch`](Self::delete_branch) work from this list.
    fn review_branches(
        &mut self,
        prefix: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, Error>;

    /// Proposes `change` for review on `branch` (listed by [`review_branches`](Self::review_branches)
    /// or new): one commit whose tree is the target branch's head with the change set's subtree,
    /// pushed with `push_options`. An existing branch gets a commit on top of its head (merging
    /// the target's head when it moved), never a force.
    fn propose(
        &mut self,
        branch: &str,
        change: &ChangeSet,
        info: &CommitInfo,
        push_options: &[String],
    ) -> Result<Proposal, Error>;

    /// Deletes a listed review branch if it still points at its listed head; false when it moved.
    fn delete_branch(&mut self, branch: &str) -> Result<bool, Error>;

    /// The files under `prefix` (paths relative to it) at the remote branch head as last fetched
    /// or pushed, by blob id and mode: what the managed subtree holds now, without reading any
    /// file. Empty when the branch or prefix is absent.
    fn current_blobs(
        &mut self,
        prefix: &str,
    ) -> Result<std::collections::BTreeMap<String, (BlobId, FileMode)>, Error>;

    /// The bytes of a blob the repository holds.
    fn read_blob(&mut self, id: BlobId) -> Result<Vec<u8>, Error>;

    /// The files under `prefix` with their bytes (see [`current_blobs`](Self::current_blobs)).
    fn current(
        &mut self,
        prefix: &str,
    ) -> Result<std::collections::BTreeMap<String, Vec<u8>>, Error> {
        self.current_blobs(prefix)?
            .into_iter()
            .map(|(path, (id, _))| Ok((path, self.read_blob(id)?)))
            .collect()
    }

    /// The remote branch head as last fetched or pushed; None when the branch does not exist.
    fn head(&mut self) -> Result<Option<String>, Error>;
}
