//! Review branches: a change that needs a human's approval is committed on its own branch, based
//! on the target branch, instead of on the target itself.
//!
//! Never a force: an existing review branch gets a new commit on top of its head, with the
//! target's head as a second parent when the target moved (so merging it stays a fast-forward or
//! a clean merge), and is deleted only while it still points at the head that was listed.

use std::collections::BTreeMap;

use gix::ObjectId;

use super::GixWriter;
use crate::objects::NewObjects;
use crate::subtree;
use crate::transport::{Pushed, Transport};
use crate::{ChangeSet, CommitInfo, Error, Proposal};

/// How far back a review branch's history is searched for the target's head. Review branches
/// are a few commits deep; past this, a redundant merge parent is the only cost.
const ANCESTRY_LIMIT: usize = 10_000;

impl<T: Transport> GixWriter<T> {
    pub(super) fn list_reviews(&mut self, prefix: &str) -> Result<BTreeMap<String, String>, Error> {
        let prefix = prefix.trim_matches('/');
        crate::path::validate_branch(prefix)?;
        let heads = self.transport.fetch_prefix(&self.dir, prefix)?;
        // The handle never rescans for packs on its own: reopen to see what was fetched.
        self.repo = super::open_repo(&self.dir).map_err(|e| self.error(e))?;
        self.reviews = heads
            .iter()
            .filter_map(|(branch, head)| {
                Some((branch.clone(), ObjectId::from_hex(head.as_bytes()).ok()?))
            })
            .collect();
        Ok(heads)
    }

    pub(super) fn propose_review(
        &mut self,
        branch: &str,
        change: &ChangeSet,
        info: &CommitInfo,
        push_options: &[String],
    ) -> Result<Proposal, Error> {
        self.check_review_branch(branch)?;
        let (target, root) = self.base_tree()?;
        let prefix = change.prefix();
        let old = self.prefix_tree(root, prefix)?;
        let mut objects = NewObjects::new(self.repo.object_hash());
        let built = subtree::build(&self.repo, change, old, &mut objects)?;
        if built.tree == old {
            return Ok(Proposal::OnTarget);
        }
        let tree = self.root_with(root, prefix, built.tree, &mut objects)?;
        let existing = self.reviews.get(branch).copied();
        let parents = match existing {
            None => target.into_iter().collect(),
            Some(head) => {
                if self.tree_of(head)? == tree {
                    return Ok(Proposal::Unchanged {
                        head: head.to_string(),
                    });
                }
                let mut parents = vec![head];
                match target {
                    Some(target) if !self.is_ancestor(target, head)? => parents.push(target),
                    _ => {}
                }
                parents
            }
        };
        let commit = self.write_commit(parents, tree, objects, info)?;
        let id = commit.to_string();
        match self.transport.push(&self.dir, &id, branch, push_options)? {
            Pushed::Accepted => {
                self.reviews.insert(branch.to_owned(), commit);
                self.after_push()?;
                Ok(Proposal::Pushed {
                    id,
                    created: existing.is_none(),
                })
            }
            Pushed::RejectedNonFastForward => Ok(Proposal::Moved),
        }
    }

    pub(super) fn delete_review(&mut self, branch: &str) -> Result<bool, Error> {
        self.check_review_branch(branch)?;
        let Some(head) = self.reviews.get(branch).copied() else {
            return Ok(true);
        };
        match self
            .transport
            .delete(&self.dir, branch, &head.to_string())?
        {
            Pushed::Accepted => {
                self.reviews.remove(branch);
                Ok(true)
            }
            Pushed::RejectedNonFastForward => Ok(false),
        }
    }

    /// A review branch must be a valid ref name and never the target branch itself.
    fn check_review_branch(&self, branch: &str) -> Result<(), Error> {
        crate::path::validate_branch(branch)?;
        if branch == self.branch {
            return Err(Error::InvalidPath {
                path: branch.to_owned(),
                reason: "a review branch cannot be the target branch",
            });
        }
        Ok(())
    }

    fn tree_of(&self, commit: ObjectId) -> Result<ObjectId, Error> {
        self.repo
            .find_commit(commit)
            .and_then(|c| c.tree_id())
            .map(|id| id.detach())
            .map_err(|e| self.error(e))
    }

    /// Whether `ancestor` is in `head`'s history (searched up to [`ANCESTRY_LIMIT`] commits).
    fn is_ancestor(&self, ancestor: ObjectId, head: ObjectId) -> Result<bool, Error> {
        let walk = self
            .repo
            .rev_walk([head])
            .all()
            .map_err(|e| self.error(e))?;
        for info in walk.take(ANCESTRY_LIMIT) {
            if info.map_err(|e| self.error(e))?.id == ancestor {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
