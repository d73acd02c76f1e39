//! What a registry read returns: promoted versions, the channels they serve, per-version errors.

use std::collections::BTreeMap;

use serde::Serialize;

/// An MLflow model stage (`current_stage`), as MLflow canonicalises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Stage {
    /// `None`: registered, not promoted.
    None,
    /// `Staging`.
    Staging,
    /// `Production`.
    Production,
    /// `Archived`.
    Archived,
}

impl Stage {
    /// The stage for a `current_stage` value exactly as MLflow stores it; `None` for anything else
    /// (a value written around MLflow's API is reported as a per-version error, not guessed at).
    pub fn from_db(value: &str) -> Option<Stage> {
        Some(match value {
            "None" => Stage::None,
            "Staging" => Stage::Staging,
            "Production" => Stage::Production,
            "Archived" => Stage::Archived,
            _ => return Option::None,
        })
    }

    /// The canonical name (`Production`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "None",
            Stage::Staging => "Staging",
            Stage::Production => "Production",
            Stage::Archived => "Archived",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A way a version is promoted: a stage, or an alias such as `champion`.
///
/// One model serves one version per channel. For a stage that several versions share (MLflow
/// allows it when `archive_existing_versions` is false) the channel goes to the **highest** version
/// number, as MLflow's own `get_latest_versions` and `models:/<name>/<stage>` resolve it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "lowercase")]
pub enum Channel {
    /// The latest version in this stage.
    Stage(Stage),
    /// The version this alias points at.
    Alias(String),
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Channel::Stage(stage) => write!(f, "{stage}"),
            Channel::Alias(alias) => write!(f, "@{alias}"),
        }
    }
}

/// One promoted model version, with the concrete location of its files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelVersion {
    /// MLflow workspace (`default` unless the server runs with workspaces, MLflow ≥ 3.10).
    pub workspace: String,
    /// Registered model name: free text, exactly as stored.
    pub name: String,
    /// Version number.
    pub version: u64,
    /// `current_stage`.
    pub stage: Stage,
    /// Every alias pointing at this version, sorted.
    pub aliases: Vec<String>,
    /// The channels this version serves under the filter (never empty in a [`Promoted`]), sorted.
    pub channels: Vec<Channel>,
    /// Version tags.
    pub tags: BTreeMap<String, String>,
    /// The registered model's tags.
    pub model_tags: BTreeMap<String, String>,
    /// `source` as stored (`models:/m-…`, `runs:/…`, a path or a URI).
    pub source: String,
    /// `run_id`, if any.
    pub run_id: Option<String>,
    /// `status` (`READY` in MLflow OSS).
    pub status: String,
    /// Where the files are, resolved as MLflow's `get_model_version_download_uri` and its artifact
    /// repositories do: `storage_location` else `source`, `models:/m-…` through `logged_models`,
    /// `runs:/…` through the run's artifact URI, `mlflow-artifacts:/…` against the configured
    /// artifacts destination, bare paths as `file://` URIs.
    pub artifact_uri: String,
    /// `last_updated_time`, milliseconds since the Unix epoch.
    pub last_updated_ms: i64,
}

/// A version that matched the filter but cannot be served, and why. The other versions are
/// still returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionError {
    /// Registered model name.
    pub name: String,
    /// Version number, when the row has a valid one.
    pub version: Option<u64>,
    /// The channels this version would have served. A reconciler should keep what it last deployed
    /// for these channels rather than remove it: a bad row must not take a model offline.
    pub channels: Vec<Channel>,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for VersionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.version {
            Some(v) => write!(f, "model {:?} version {v}: {}", self.name, self.reason),
            None => write!(f, "model {:?}: {}", self.name, self.reason),
        }
    }
}

/// The answer of [`ModelRegistry::promoted`](crate::ModelRegistry::promoted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Promoted {
    /// Good versions, sorted by (workspace, name, version).
    pub versions: Vec<ModelVersion>,
    /// Versions that matched but cannot be served.
    pub errors: Vec<VersionError>,
}

/// Which aliases promote a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasSelection {
    /// Every alias is a channel.
    All,
    /// Only these aliases.
    Only(Vec<String>),
    /// Aliases promote nothing.
    Nothing,
}

/// What counts as promoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionFilter {
    /// Stages that promote (default: `Staging`, `Production`).
    pub stages: Vec<Stage>,
    /// Aliases that promote (default: all).
    pub aliases: AliasSelection,
    /// The MLflow workspace to read (default `default`; ignored on registries older than 3.10).
    pub workspace: String,
}

impl Default for PromotionFilter {
    fn default() -> Self {
        PromotionFilter {
            stages: vec![Stage::Staging, Stage::Production],
            aliases: AliasSelection::All,
            workspace: "default".to_owned(),
        }
    }
}

impl PromotionFilter {
    /// Whether `alias` is a channel under this filter.
    pub fn selects_alias(&self, alias: &str) -> bool {
        match &self.aliases {
            AliasSelection::All => true,
            AliasSelection::Only(list) => list.iter().any(|a| a == alias),
            AliasSelection::Nothing => false,
        }
    }
}
