//! What a pass reports: the commit it made, the mirrors it copied, the versions it skipped, and
//! what a dry run would write.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::layout::display_name;

/// A version that could not be deployed this pass; its channels keep what they served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Problem {
    /// MLflow model name.
    pub model: String,
    /// Version, when known.
    pub version: Option<u64>,
    /// Channels it would have served.
    pub channels: Vec<String>,
    /// What went wrong.
    pub reason: String,
    /// Channels that kept their previous deployment.
    pub kept: Vec<String>,
}

impl Problem {
    /// A problem of `model` `version` on `channels`; no channel kept yet.
    pub fn new(
        model: impl Into<String>,
        version: Option<u64>,
        channels: Vec<String>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            model: model.into(),
            version,
            channels,
            reason: reason.into(),
            kept: Vec::new(),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "model {}", display_name(&self.model))?;
        if let Some(v) = self.version {
            write!(f, " version {v}")?;
        }
        write!(f, ": {}", self.reason)?;
        if !self.kept.is_empty() {
            write!(f, " (kept: {})", self.kept.join(", "))?;
        }
        Ok(())
    }
}

/// A mirror made during the pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Mirrored {
    /// MLflow model name.
    pub model: String,
    /// Version.
    pub version: u64,
    /// Files in the mirror.
    pub files: usize,
    /// Files copied now.
    pub uploaded: usize,
    /// Bytes copied now.
    pub uploaded_bytes: u64,
}

/// The commit a pass made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Commit {
    /// Commit id.
    pub id: String,
    /// Paths added, modified and removed (relative to the repository).
    pub added: Vec<String>,
    /// Modified paths.
    pub modified: Vec<String>,
    /// Removed paths.
    pub removed: Vec<String>,
    /// One line per deployment change.
    pub changes: Vec<String>,
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PassReport {
    /// The registry's fingerprint equalled the last clean pass's: nothing was read or written.
    pub unchanged_registry: bool,
    /// Deployments (model, channel) in the managed prefix after the pass.
    pub deployments: usize,
    /// Mirrors copied during the pass.
    pub mirrored: Vec<Mirrored>,
    /// Versions reported and skipped.
    pub problems: Vec<Problem>,
    /// The commit, when the desired state differed from the repository.
    pub commit: Option<Commit>,
    /// The pushed commit, when a push moved the remote branch.
    pub pushed: Option<String>,
    /// Traffic splits served otherwise than configured (a channel of the split has no promoted
    /// version), and how they were served.
    pub notes: Vec<String>,
    /// The review branches of gated channels: opened, updated, still pending or closed.
    pub reviews: Vec<Review>,
    /// Wall time.
    #[serde(with = "millis")]
    pub elapsed: Duration,
}

mod millis {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u128(d.as_millis())
    }
}

/// A review branch after a pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Review {
    /// The branch.
    pub branch: String,
    /// The deployment changes it proposes, as the commit message lists them (none once closed).
    pub changes: Vec<String>,
    /// What the pass did with it.
    pub state: ReviewState,
}

/// What a pass did with a review branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// Created: the change waits for a human.
    Opened,
    /// A newer change was committed on it (or the target's head merged into it).
    Updated,
    /// Already holds the change; still waiting.
    Pending,
    /// Deleted: the target holds what the registry wants (merged by a human, or no longer a
    /// change).
    Closed,
}

impl ReviewState {
    /// `opened`, `updated`, `pending` or `closed`, as reports and JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::Opened => "opened",
            ReviewState::Updated => "updated",
            ReviewState::Pending => "pending",
            ReviewState::Closed => "closed",
        }
    }

    /// Whether the branch still waits for a human.
    pub fn is_pending(self) -> bool {
        self != ReviewState::Closed
    }
}

/// What a dry run would write.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// One line per deployment change, as the commit message would list them (with profiles and
    /// traffic splits).
    pub changes: Vec<String>,
    /// Changes of gated channels that would go to review branches, as `<branch>: <change>`
    /// (the file diff leaves them out: the target branch keeps what it holds for them).
    pub reviews: Vec<String>,
    /// Traffic splits that would be served otherwise than configured.
    pub notes: Vec<String>,
    /// Files (relative to the prefix) that would be added, with their content.
    pub added: BTreeMap<String, String>,
    /// Files that would change: (old, new).
    pub modified: BTreeMap<String, (String, String)>,
    /// Files that would be removed, with their old content.
    pub removed: BTreeMap<String, String>,
    /// Versions whose mirror is not complete yet (a real pass would copy them).
    pub to_mirror: Vec<String>,
    /// Versions reported and skipped.
    pub problems: Vec<Problem>,
}

/// The registry's bad rows as problems of their versions.
pub(crate) fn registry_problems(errors: &[registry_reader::VersionError]) -> Vec<Problem> {
    errors
        .iter()
        .map(|e| {
            let channels = e.channels.iter().map(crate::channel_name).collect();
            Problem::new(e.name.clone(), e.version, channels, e.reason.clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_names_model_version_and_kept_channels() {
        let mut problem = Problem::new(
            "Wine\nQuality",
            Some(3),
            vec!["production".into()],
            "no MLmodel",
        );
        assert_eq!(
            problem.to_string(),
            "model \"Wine\\nQuality\" version 3: no MLmodel"
        );
        problem.kept.push("production".into());
        assert!(
            problem.to_string().ends_with("(kept: production)"),
            "{problem}"
        );
    }

    #[test]
    fn elapsed_is_reported_in_milliseconds() {
        let report = PassReport {
            elapsed: Duration::from_micros(12_345),
            ..Default::default()
        };
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["elapsed"], 12);
    }
}
