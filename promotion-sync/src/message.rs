//! The commit message: one line per deployment change (askama, a text template).

use std::collections::BTreeMap;

use askama::Template;

use crate::layout::{CurrentDir, Deployed, display_name};
use crate::report::Problem;
use crate::{Error, Result};

/// One deployment that changes in a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A channel starts serving.
    Added(Deployed),
    /// A channel moves to another version (or mirror).
    Updated {
        /// Before.
        old: Deployed,
        /// After.
        new: Deployed,
    },
    /// A channel stops serving (demoted, archived, deleted).
    Removed(Deployed),
}

impl Change {
    /// `model channel: 2 → 3 (run abc)`, `model channel: new, version 3 (run abc)`,
    /// `model channel: removed (was 2)`.
    pub fn line(&self) -> String {
        let run = |d: &Deployed| {
            d.run_id
                .as_deref()
                .map(|r| format!(" (run {r})"))
                .unwrap_or_default()
        };
        let head =
            |d: &Deployed| format!("{} {}", display_name(&d.model), display_name(&d.channel));
        match self {
            Change::Added(d) => format!("{}: new, version {}{}", head(d), d.version, run(d)),
            Change::Updated { old, new } => {
                format!(
                    "{}: {} → {}{}",
                    head(new),
                    old.version,
                    new.version,
                    run(new)
                )
            }
            Change::Removed(d) => format!("{}: removed (was {})", head(d), d.version),
        }
    }
}

/// The changes between the current and the desired deployments, by directory.
pub fn changes(
    current: &BTreeMap<String, CurrentDir>,
    desired: &BTreeMap<String, CurrentDir>,
) -> Vec<Change> {
    let mut out = Vec::new();
    for (dir, new) in desired {
        let Some(new) = &new.deployed else { continue };
        match current.get(dir).and_then(|c| c.deployed.as_ref()) {
            None => out.push(Change::Added(new.clone())),
            Some(old) if old.version != new.version || old.model_uri != new.model_uri => {
                out.push(Change::Updated {
                    old: old.clone(),
                    new: new.clone(),
                })
            }
            Some(_) => {}
        }
    }
    for (dir, now) in current {
        if let (false, Some(old)) = (desired.contains_key(dir), &now.deployed) {
            out.push(Change::Removed(old.clone()));
        }
    }
    out
}

#[derive(Template)]
#[template(path = "commit_message.txt")]
struct Message<'a> {
    prefix: &'a str,
    changes: &'a [Change],
    problems: &'a [Problem],
}

/// The commit message for `changes` under `prefix`, listing the problems that kept channels as
/// they were.
pub fn commit_message(prefix: &str, changes: &[Change], problems: &[Problem]) -> Result<String> {
    Message {
        prefix,
        changes,
        problems,
    }
    .render()
    .map_err(|e| Error::Template {
        name: "commit_message.txt",
        source: e,
    })
}
