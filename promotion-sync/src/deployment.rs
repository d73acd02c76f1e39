//! What is wanted: one deployment per (model, channel), and where its files live.

use std::collections::BTreeMap;

use manifests_core::k8s_label;
use registry_reader::{Channel, ModelVersion, Stage};

/// The tag, on a registered model or a version (the version's wins), that names the profile its
/// channels are served with.
pub const PROFILE_TAG: &str = "mlflow-gitops.profile";

/// One model version served on one channel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Deployment {
    /// MLflow model name.
    pub model: String,
    /// MLflow version.
    pub version: u64,
    /// Channel name as it appears in paths and annotations (`production`, `champion`, …).
    pub channel: String,
    /// Where MLflow keeps the version's files (the mirror's source).
    pub artifact_uri: String,
    /// The MLflow run, if any.
    pub run_id: Option<String>,
    /// The version's `source`, as MLflow recorded it.
    pub source: String,
    /// The version's tags.
    pub tags: BTreeMap<String, String>,
    /// The profile its registered model's `mlflow-gitops.profile` tag names, if any (a version's
    /// own tag is among [`tags`](Self::tags)).
    pub model_profile: Option<String>,
}

impl Deployment {
    /// `<model>/<channel>`: the directory under the managed prefix, both parts as
    /// [`k8s_label`]s (valid, injective path segments for free-text names).
    pub fn dir(&self) -> String {
        Self::dir_of(&self.model, &self.channel)
    }

    /// The directory of `model`'s `channel` (see [`dir`](Self::dir)).
    pub fn dir_of(model: &str, channel: &str) -> String {
        format!("{}/{}", k8s_label(model), k8s_label(channel))
    }

    /// `<model>/<version>`: the mirror's place under the mirror root.
    pub fn mirror_path(&self) -> (String, String) {
        (k8s_label(&self.model), self.version.to_string())
    }
}

/// The channel's name: stages in lower case (`production`, `staging`), aliases as they are. An
/// alias spelled like a stage (`Production`, `staging`) becomes `alias-<name>`, so it never shares
/// a directory with the stage.
pub fn channel_name(channel: &Channel) -> String {
    match channel {
        Channel::Stage(stage) => stage.as_str().to_ascii_lowercase(),
        Channel::Alias(alias) => {
            let lower = alias.to_ascii_lowercase();
            let is_stage_name = [
                Stage::None,
                Stage::Staging,
                Stage::Production,
                Stage::Archived,
            ]
            .iter()
            .any(|s| s.as_str().eq_ignore_ascii_case(&lower));
            if is_stage_name {
                format!("alias-{alias}")
            } else {
                alias.clone()
            }
        }
    }
}

/// Every (model, channel) the promoted versions serve, sorted by directory.
pub fn deployments(versions: &[ModelVersion]) -> Vec<Deployment> {
    let mut out: Vec<Deployment> = versions
        .iter()
        .flat_map(|v| {
            v.channels.iter().map(move |channel| Deployment {
                model: v.name.clone(),
                version: v.version,
                channel: channel_name(channel),
                artifact_uri: v.artifact_uri.clone(),
                run_id: v.run_id.clone(),
                source: v.source.clone(),
                tags: v.tags.clone(),
                model_profile: v.model_tags.get(PROFILE_TAG).cloned(),
            })
        })
        .collect();
    out.sort_by_cached_key(Deployment::dir);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names_never_share_a_directory() {
        assert_eq!(
            channel_name(&Channel::Stage(Stage::Production)),
            "production"
        );
        assert_eq!(channel_name(&Channel::Alias("champion".into())), "champion");
        assert_eq!(
            channel_name(&Channel::Alias("Production".into())),
            "alias-Production"
        );
        assert_ne!(
            k8s_label(&channel_name(&Channel::Alias("production".into()))),
            k8s_label(&channel_name(&Channel::Stage(Stage::Production)))
        );
    }
}
