//! What `apply` did, and who the commit is by.

/// A commit identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
}

/// Author, committer and message of the commit `apply` may make; all from the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The author.
    pub author: Signature,
    /// The committer.
    pub committer: Signature,
    /// The whole message.
    pub message: String,
}

/// The result of applying a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The subtree already held exactly these files: no commit, nothing to push.
    Unchanged,
    /// One commit that makes the subtree equal to the change set.
    Committed {
        /// The new commit's id (hex).
        id: String,
        /// Paths (from the repository root) that did not exist before, sorted.
        added: Vec<String>,
        /// Paths whose content or mode changed, sorted.
        modified: Vec<String>,
        /// Paths that no longer exist, sorted.
        removed: Vec<String>,
    },
}
