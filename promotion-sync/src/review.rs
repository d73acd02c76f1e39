//! Review branches for gated channels: a change of a channel that needs a human's approval (say
//! `production`) goes to its own branch, one per model and channel, while the target branch keeps
//! what it holds for that channel; every other channel is committed to the target as usual.
//!
//! What the target holds for a gated channel is never changed by a pass: a human merge is what
//! moves it, so nothing a human merged is undone. When the target holds what the registry wants
//! (merged, or promoted back), the review branch is deleted.

use std::collections::{BTreeMap, BTreeSet};

use crate::layout::CurrentDir;
use crate::message::Change;
use manifests_core::k8s_label;

/// The branches under which review branches live: `mlflow-gitops/review/<prefix>/<model>/<channel>`.
pub const REVIEW_BRANCH_ROOT: &str = "mlflow-gitops/review";

/// Which channels are gated, and where their branches go.
#[derive(Clone, Debug, Default)]
pub(crate) struct Gate {
    /// Gated channels, as their directory names spell them.
    channels: BTreeSet<String>,
    /// `mlflow-gitops/review/<prefix>`.
    pub(crate) branch_root: String,
}

impl Gate {
    /// The gate for `channels` (as channel names: `production`, `champion`) of the managed `prefix`.
    pub(crate) fn new(channels: &BTreeSet<String>, prefix: &str) -> Gate {
        Gate {
            channels: channels.iter().map(|c| k8s_label(c)).collect(),
            branch_root: format!("{REVIEW_BRANCH_ROOT}/{}", prefix.trim_matches('/')),
        }
    }

    /// Whether any channel is gated.
    pub(crate) fn is_on(&self) -> bool {
        !self.channels.is_empty()
    }

    /// Whether the deployment directory `<model>/<channel>` is a gated channel's.
    pub(crate) fn gates(&self, dir: &str) -> bool {
        dir.split_once('/')
            .is_some_and(|(_, channel)| self.channels.contains(channel))
    }

    /// The review branch of a deployment directory.
    pub(crate) fn branch(&self, dir: &str) -> String {
        format!("{}/{dir}", self.branch_root)
    }

    /// Whether a listed branch is one this gate manages (exactly `<root>/<model>/<channel>`);
    /// deeper branches belong to another managed prefix.
    pub(crate) fn manages(&self, branch: &str) -> bool {
        branch
            .strip_prefix(&self.branch_root)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|dir| dir.split('/').count() == 2)
    }
}

/// A gated directory whose desired state differs from the target's.
pub(crate) struct Proposed {
    /// The directory.
    pub(crate) dir: String,
    /// What it should hold (None: removed).
    pub(crate) state: Option<CurrentDir>,
    /// Its changes.
    pub(crate) changes: Vec<Change>,
}

/// The pass's desired state split into what the target branch gets and what goes to review.
pub(crate) struct Split {
    /// The directories the target branch holds after the pass: desired for ungated channels,
    /// the target's own for gated ones.
    pub(crate) target: BTreeMap<String, CurrentDir>,
    /// The changes committed to the target.
    pub(crate) changes: Vec<Change>,
    /// One proposal per gated directory that differs.
    pub(crate) proposals: Vec<Proposed>,
}

/// Splits `desired` by `gate`; `on_target` holds the target's gated directories as they are.
pub(crate) fn split(
    gate: &Gate,
    mut desired: BTreeMap<String, CurrentDir>,
    mut on_target: BTreeMap<String, CurrentDir>,
    changes: Vec<Change>,
) -> Split {
    let gated: BTreeSet<String> = desired
        .keys()
        .chain(on_target.keys())
        .filter(|dir| gate.gates(dir))
        .cloned()
        .collect();
    let (mut gated_changes, changes): (Vec<Change>, Vec<Change>) = changes
        .into_iter()
        .partition(|change| gate.gates(&change.dir()));
    let mut proposals = Vec::new();
    for dir in gated {
        let wanted = desired.remove(&dir);
        let held = on_target.remove(&dir);
        let same = match (&wanted, &held) {
            (Some(wanted), Some(held)) => wanted.files.same_as(&held.files),
            (None, None) => true,
            _ => false,
        };
        if let Some(held) = held {
            desired.insert(dir.clone(), held);
        }
        if !same {
            let (mine, rest) = gated_changes.into_iter().partition(|c| c.dir() == dir);
            gated_changes = rest;
            proposals.push(Proposed {
                dir,
                state: wanted,
                changes: mine,
            });
        }
    }
    Split {
        target: desired,
        changes,
        proposals,
    }
}

/// The target's directories with `proposed` applied: what its review branch holds.
pub(crate) fn with_proposal(
    target: &BTreeMap<String, CurrentDir>,
    proposed: &Proposed,
) -> BTreeMap<String, CurrentDir> {
    let mut dirs = target.clone();
    match &proposed.state {
        Some(state) => dirs.insert(proposed.dir.clone(), state.clone()),
        None => dirs.remove(&proposed.dir),
    };
    dirs
}

#[cfg(test)]
mod tests;
