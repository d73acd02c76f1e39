//! The crate's one error type.

use std::path::PathBuf;

use redaction::BoxError;

/// Everything that can go wrong while writing or pushing. Messages name the repository (URL
/// without credentials) or path involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A path in a change set (or the prefix) is not a safe relative path.
    #[error("invalid path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Another process holds the work directory.
    #[error("the work directory {dir} is in use by another writer")]
    Busy {
        /// The work directory.
        dir: PathBuf,
    },
    /// Local repository IO failed.
    #[error("git repository at {dir}: {source}")]
    Repository {
        /// The repository directory.
        dir: PathBuf,
        /// What failed: gix's or the file system's error, or git's message for a git command.
        #[source]
        source: BoxError,
    },
    /// `git fetch` failed (network, authentication, host key, missing branch…).
    #[error("fetching {remote}: {message}")]
    Fetch {
        /// The remote URL, without credentials.
        remote: String,
        /// git's message.
        message: String,
    },
    /// `git push` failed for a reason other than the remote having moved.
    #[error("pushing to {remote}: {message}")]
    Push {
        /// The remote URL, without credentials.
        remote: String,
        /// git's message.
        message: String,
    },
    /// The remote kept moving: every retry was rejected as non-fast-forward.
    #[error(
        "pushing to {remote}: still rejected as non-fast-forward after {attempts} attempts (the branch moves too fast, or a hook rejects it)"
    )]
    Contended {
        /// The remote URL, without credentials.
        remote: String,
        /// How many pushes were tried.
        attempts: u32,
    },
    /// A blob id that is not 40 hexadecimal digits.
    #[error("invalid blob id {id:?}: not 40 hexadecimal digits")]
    InvalidBlobId {
        /// The text given.
        id: String,
    },
    /// A change set keeps a file by a blob id the repository does not hold.
    #[error("{path}: blob {id} is not in the repository")]
    MissingBlob {
        /// The file's path, relative to the prefix.
        path: String,
        /// The blob id.
        id: String,
    },
    /// A commit identity that is not `Name <email>` as git writes it.
    #[error("invalid commit identity {text:?}: {reason}")]
    InvalidSignature {
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A commit could not be signed, or the signing key cannot be used (the message comes from
    /// `ssh-keygen` or `gpg`, which never print key material).
    #[error("signing with {key}: {message}")]
    Signing {
        /// The key file.
        key: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Content could not be hashed (git's SHA-1 detected a crafted collision).
    #[error("cannot hash content: {source}")]
    Hash {
        /// gix's error.
        #[source]
        source: BoxError,
    },
}
