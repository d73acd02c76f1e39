//! The commit message: one line per deployment change (askama, a text template).

use std::collections::{BTreeMap, BTreeSet};

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
    /// A channel serves the same version with other manifests: its profile's settings or the
    /// serving target's changed.
    Rerendered(Deployed),
}

impl Change {
    /// The deployment directory (`<model>/<channel>`) the change is in.
    pub fn dir(&self) -> String {
        let d = match self {
            Change::Added(d) | Change::Rerendered(d) | Change::Removed(d) => d,
            Change::Updated { new, .. } => new,
        };
        crate::Deployment::dir_of(&d.model, &d.channel)
    }

    /// The MLflow UI page of the version a channel now serves (`{ui}/#/models/{model}/versions/
    /// {version}`), for changes that serve a version.
    pub fn link(&self, ui: &str) -> Option<String> {
        let served = match self {
            Change::Added(d) | Change::Rerendered(d) | Change::Updated { new: d, .. } => d,
            Change::Removed(_) => return None,
        };
        let model = percent_encoding::utf8_percent_encode(
            &served.model,
            percent_encoding::NON_ALPHANUMERIC,
        );
        Some(format!(
            "{}/#/models/{model}/versions/{}",
            ui.trim_end_matches('/'),
            served.version
        ))
    }

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
            Change::Added(d) => format!(
                "{}: new, version {}{}{}",
                head(d),
                d.version,
                run(d),
                serving(d)
            ),
            Change::Updated { old, new } => {
                let mut parts = Vec::new();
                if old.version != new.version || old.model_uri != new.model_uri {
                    parts.push(format!("{} → {}{}", old.version, new.version, run(new)));
                }
                if old.profile != new.profile {
                    parts.push(format!(
                        "profile {} → {}",
                        old.profile.as_deref().unwrap_or("none"),
                        new.profile.as_deref().unwrap_or("none")
                    ));
                }
                if old.traffic != new.traffic {
                    let traffic = |d: &Deployed| d.traffic.clone().unwrap_or_else(|| "own".into());
                    parts.push(format!("traffic {} → {}", traffic(old), traffic(new)));
                }
                format!("{}: {}", head(new), parts.join("; "))
            }
            Change::Removed(d) => format!("{}: removed (was {})", head(d), d.version),
            Change::Rerendered(d) => format!(
                "{}: version {} re-rendered{}",
                head(d),
                d.version,
                serving(d)
            ),
        }
    }
}

/// `, profile large, traffic production 90%, challenger 10%`: what a channel is served with,
/// when it is not the target's defaults.
fn serving(d: &Deployed) -> String {
    let mut text = String::new();
    if let Some(profile) = &d.profile {
        text.push_str(&format!(", profile {profile}"));
    }
    if let Some(traffic) = &d.traffic {
        text.push_str(&format!(", traffic {traffic}"));
    }
    text
}

/// The changes between the current and the desired deployments, by directory; `rerendered`
/// holds the directories rendered anew into other files.
pub fn changes(
    current: &BTreeMap<String, CurrentDir>,
    desired: &BTreeMap<String, CurrentDir>,
    rerendered: &BTreeSet<String>,
) -> Vec<Change> {
    let mut out = Vec::new();
    for (dir, new) in desired {
        let Some(new) = &new.deployed else { continue };
        match current.get(dir).and_then(|c| c.deployed.as_ref()) {
            None => out.push(Change::Added(new.clone())),
            Some(old) if old != new => out.push(Change::Updated {
                old: old.clone(),
                new: new.clone(),
            }),
            Some(_) if rerendered.contains(dir) => out.push(Change::Rerendered(new.clone())),
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
    ui: Option<&'a str>,
}

/// The commit message for `changes` under `prefix`, listing the problems that kept channels as
/// they were; with the MLflow UI's URL, each served version's page under its line.
pub fn commit_message(
    prefix: &str,
    changes: &[Change],
    problems: &[Problem],
    ui: Option<&str>,
) -> Result<String> {
    Message {
        prefix,
        changes,
        problems,
        ui,
    }
    .render()
    .map_err(|e| Error::Template {
        name: "commit_message.txt",
        source: e,
    })
}
