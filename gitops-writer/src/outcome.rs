//! What `apply` did, and who the commit is by.

/// A commit identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
}

impl std::str::FromStr for Signature {
    type Err = crate::Error;

    /// `Name <email>`, as git prints an identity. Neither part may be empty or hold `<`, `>` or a
    /// line break, which would change the commit object's header.
    ///
    /// ```
    /// let bot: gitops_writer::Signature = "Model Bot <models@example.com>".parse()?;
    /// assert_eq!((bot.name.as_str(), bot.email.as_str()), ("Model Bot", "models@example.com"));
    /// assert!("Model Bot".parse::<gitops_writer::Signature>().is_err());
    /// # Ok::<(), gitops_writer::Error>(())
    /// ```
    fn from_str(text: &str) -> Result<Signature, crate::Error> {
        let invalid = |reason| crate::Error::InvalidSignature {
            text: text.to_owned(),
            reason,
        };
        let (name, rest) = text
            .trim()
            .split_once('<')
            .ok_or_else(|| invalid("write it as Name <email>"))?;
        let email = rest
            .strip_suffix('>')
            .ok_or_else(|| invalid("write it as Name <email>"))?;
        let name = name.trim();
        let bad = |part: &str| part.is_empty() || part.contains(['<', '>', '\n', '\r', '\0']);
        if bad(name) || bad(email) {
            return Err(invalid(
                "name and email must be non-empty, without <, > or line breaks",
            ));
        }
        Ok(Signature {
            name: name.to_owned(),
            email: email.to_owned(),
        })
    }
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

/// What [`GitOpsWriter::push_once`](crate::GitOpsWriter::push_once) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushAttempt {
    /// No commit was waiting.
    Nothing,
    /// The remote branch now points at this commit.
    Pushed(String),
    /// The remote branch moved since it was read: nothing was pushed, the commit was dropped and
    /// the new head fetched. Derive the change set again from fresh inputs and apply it.
    Moved,
}

/// What [`GitOpsWriter::propose`](crate::GitOpsWriter::propose) did with a review branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proposal {
    /// The target branch already holds the change set: there is nothing to review (a human
    /// merged it, or it was never a change). The review branch was not touched.
    OnTarget,
    /// The review branch already holds the change on the target's head: nothing pushed.
    Unchanged {
        /// Its head.
        head: String,
    },
    /// A commit was pushed to the review branch.
    Pushed {
        /// The new head.
        id: String,
        /// Whether the branch is new (else the commit follows its old head: never forced).
        created: bool,
    },
    /// The review branch moved since it was listed: nothing was pushed.
    Moved,
}
