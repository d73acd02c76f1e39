//! From raw registry rows to promoted versions: channels, validation, resolution. Shared by every
//! registry implementation so they answer identically.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::resolve::{self, Location};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
use crate::{Channel, Error, ModelVersion, Promoted, PromotionFilter, Stage, VersionError};

/// Longest model name accepted (MLflow's column is VARCHAR(256); SQLite does not enforce it).
pub const MAX_NAME_LEN: usize = 1024;
/// How many `models:/<name>/<version>` hops are followed before giving up (cycles end here too).
const MAX_HOPS: usize = 8;

/// One `model_versions` row as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawVersion {
    pub(crate) workspace: String,
    pub(crate) name: String,
    pub(crate) version: i64,
    pub(crate) stage: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) storage_location: Option<String>,
    pub(crate) run_id: Option<String>,
    pub(crate) status: Option<String>,
    pub(crate) last_updated_ms: Option<i64>,
}

impl RawVersion {
    /// MLflow's download URI: `storage_location`, else `source`.
    pub(crate) fn location(&self) -> &str {
        self.storage_location
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(self.source.as_deref())
            .unwrap_or_default()
    }
}

/// The rows that decide promotions: candidate versions (every version not `None`/`Archived`/deleted,
/// plus every aliased one), aliases, version tags (of any version), and prompt names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawState {
    pub(crate) versions: Vec<RawVersion>,
    /// (name, alias, version)
    pub(crate) aliases: Vec<(String, String, i64)>,
    /// (name, version, key, value)
    pub(crate) tags: Vec<(String, i64, String, String)>,
    /// Registered models that are prompts.
    pub(crate) prompts: BTreeSet<String>,
    /// (name, key, value) of every registered-model tag.
    pub(crate) model_tags: Vec<(String, String, String)>,
}

/// The tag MLflow sets on a registered model that holds prompts, not models.
pub(crate) const PROMPT_TAG: &str = "mlflow.prompt.is_prompt";

impl RawState {
    /// Adds registered-model tag rows: the prompts are the models MLflow tags
    /// `mlflow.prompt.is_prompt=true` (compared as MLflow does, case-insensitively).
    pub(crate) fn add_model_tags(&mut self, rows: Vec<(String, String, String)>) {
        self.prompts.extend(
            rows.iter()
                .filter(|(_, key, value)| key == PROMPT_TAG && value.eq_ignore_ascii_case("true"))
                .map(|(name, _, _)| name.clone()),
        );
        self.model_tags.extend(rows);
    }
}

/// Finds what a location refers to; each registry answers from its own store.
#[async_trait]
pub(crate) trait Lookups: Sync {
    /// `artifact_location` of each logged model id that exists.
    async fn logged_models(&self, ids: &[String]) -> Result<HashMap<String, String>, Error>;
    /// `artifact_uri` of each run id that exists.
    async fn runs(&self, ids: &[String]) -> Result<HashMap<String, String>, Error>;
    /// The location (`storage_location` else `source`) of one registered version.
    async fn version_location(
        &self,
        workspace: &str,
        name: &str,
        version: u64,
    ) -> Result<Option<String>, Error>;
}

/// A version that passed validation, waiting for its location to be resolved.
struct Candidate {
    version: ModelVersion,
    location: Result<Location, String>,
}

/// Builds the answer of `promoted()` from `state`.
pub(crate) async fn promoted(
    state: RawState,
    filter: &PromotionFilter,
    lookups: &dyn Lookups,
    artifacts_destination: Option<&str>,
) -> Result<Promoted, Error> {
    let (candidates, mut errors) = select(state, filter);
    let mut versions = Vec::with_capacity(candidates.len());
    let resolved = resolve_all(candidates, lookups, artifacts_destination).await?;
    for (mut version, result) in resolved {
        match result {
            Ok(uri) => {
                version.artifact_uri = uri;
                versions.push(version);
            }
            Err(reason) => errors.push(VersionError {
                name: version.name,
                version: Some(version.version),
                channels: version.channels,
                reason,
            }),
        }
    }
    versions.sort_by(|a, b| {
        (&a.workspace, &a.name, a.version).cmp(&(&b.workspace, &b.name, b.version))
    });
    errors.sort_by(|a, b| (&a.name, a.version).cmp(&(&b.name, b.version)));
    Ok(Promoted { versions, errors })
}

/// Channels and validation; no IO.
fn select(state: RawState, filter: &PromotionFilter) -> (Vec<Candidate>, Vec<VersionError>) {
    let RawState {
        versions,
        aliases: alias_rows,
        tags: tag_rows,
        prompts,
        model_tags,
    } = state;
    let aliases = aliases_by_version(&alias_rows);
    let tags = tags_by_version(tag_rows);
    let latest = latest_per_stage(&versions);
    let mut errors = Vec::new();
    let mut served = Vec::new();
    for (index, raw) in versions.iter().enumerate() {
        if prompts.contains(&raw.name) {
            continue;
        }
        let stage = raw.stage.as_deref().and_then(Stage::from_db);
        let (version_aliases, channels) =
            channels_of(raw, stage, filter, &latest, &aliases, &mut errors);
        // A version in a stage the filter does not select, or superseded in its stage, with no
        // selected alias: not promoted, nothing to report.
        if channels.is_empty() && stage.is_some() {
            continue;
        }
        let version = u64::try_from(raw.version).ok().filter(|v| *v >= 1);
        if let Some(reason) = row_problem(raw, version, stage) {
            errors.push(VersionError {
                name: truncate(&raw.name),
                version,
                channels,
                reason,
            });
            continue;
        }
        let stage = stage.unwrap_or(Stage::None);
        served.push((
            index,
            version.unwrap_or_default(),
            stage,
            version_aliases,
            channels,
        ));
    }
    let model_tags = tags_by_model(model_tags);
    (into_candidates(versions, served, tags, &model_tags), errors)
}

/// name → the registered model's tags.
fn tags_by_model(rows: Vec<(String, String, String)>) -> FastMap<String, BTreeMap<String, String>> {
    let mut tags: FastMap<String, BTreeMap<String, String>> = FastMap::default();
    for (name, key, value) in rows {
        tags.entry(name).or_default().insert(key, value);
    }
    tags
}

/// (name, version) → aliases, borrowing the rows' strings.
// foldhash: these maps hold every promoted row, and SipHash was a tenth of `promoted()`.
fn aliases_by_version(rows: &[(String, String, i64)]) -> FastMap<(&str, i64), Vec<&str>> {
    let mut aliases: FastMap<(&str, i64), Vec<&str>> = FastMap::default();
    for (name, alias, version) in rows {
        aliases
            .entry((name.as_str(), *version))
            .or_default()
            .push(alias.as_str());
    }
    aliases
}

/// name → version → tags: looked up by `&str`, without cloning each name for the key.
type TagsByVersion = FastMap<String, FastMap<i64, BTreeMap<String, String>>>;

fn tags_by_version(rows: Vec<(String, i64, String, String)>) -> TagsByVersion {
    let mut tags: TagsByVersion = FastMap::default();
    for (name, version, key, value) in rows {
        tags.entry(name)
            .or_default()
            .entry(version)
            .or_default()
            .insert(key, value);
    }
    tags
}

/// Highest version per (model, stage): MLflow's `get_latest_versions` rule.
fn latest_per_stage(versions: &[RawVersion]) -> FastMap<(&str, Stage), i64> {
    let mut latest: FastMap<(&str, Stage), i64> = FastMap::default();
    for v in versions {
        if let Some(stage) = v.stage.as_deref().and_then(Stage::from_db) {
            let entry = latest.entry((v.name.as_str(), stage)).or_insert(v.version);
            *entry = (*entry).max(v.version);
        }
    }
    latest
}

/// A version's aliases (sorted) and the channels the filter selects: its stage when it is the
/// latest in it, and its valid aliases; an invalid selected alias is an error of the version.
fn channels_of(
    raw: &RawVersion,
    stage: Option<Stage>,
    filter: &PromotionFilter,
    latest: &FastMap<(&str, Stage), i64>,
    aliases: &FastMap<(&str, i64), Vec<&str>>,
    errors: &mut Vec<VersionError>,
) -> (Vec<String>, Vec<Channel>) {
    let mut channels = BTreeSet::new();
    if let Some(stage) = stage
        && filter.stages.contains(&stage)
        && latest.get(&(raw.name.as_str(), stage)) == Some(&raw.version)
    {
        channels.insert(Channel::Stage(stage));
    }
    let mut version_aliases: Vec<String> = aliases
        .get(&(raw.name.as_str(), raw.version))
        .map(|a| a.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
    version_aliases.sort();
    for alias in &version_aliases {
        if !filter.selects_alias(alias) {
            continue;
        }
        if valid_alias(alias) {
            channels.insert(Channel::Alias(alias.clone()));
        } else {
            errors.push(VersionError {
                name: raw.name.clone(),
                version: u64::try_from(raw.version).ok(),
                channels: Vec::new(),
                reason: format!(
                    "alias {alias:?} is not a valid MLflow alias (letters, digits, `_`, `-`)"
                ),
            });
        }
    }
    (version_aliases, channels.into_iter().collect())
}

/// Why a promoted row cannot be served, if it cannot: MLflow never writes such a row, but a
/// hand-edited or corrupted database can hold one.
fn row_problem(raw: &RawVersion, version: Option<u64>, stage: Option<Stage>) -> Option<String> {
    if version.is_none() {
        Some(format!(
            "version number {} is not a positive integer",
            raw.version
        ))
    } else if raw.name.is_empty() {
        Some("the registered model name is empty".to_owned())
    } else if raw.name.len() > MAX_NAME_LEN {
        Some(format!(
            "the name is {} bytes long (limit {MAX_NAME_LEN})",
            raw.name.len()
        ))
    } else if stage.is_none() {
        Some(format!(
            "current_stage {:?} is not a stage MLflow writes (None, Staging, Production, Archived)",
            raw.stage.as_deref().unwrap_or("NULL")
        ))
    } else {
        raw.status
            .as_deref()
            .filter(|s| *s != "READY")
            .map(|s| format!("its status is {s}, not READY"))
    }
}

/// A served row: its index, version, stage, aliases and channels.
type Served = (usize, u64, Stage, Vec<String>, Vec<Channel>);

/// The served rows as candidates, their strings moved out of the rows instead of cloned.
fn into_candidates(
    versions: Vec<RawVersion>,
    served: Vec<Served>,
    mut tags: TagsByVersion,
    model_tags: &FastMap<String, BTreeMap<String, String>>,
) -> Vec<Candidate> {
    let mut rows: Vec<Option<RawVersion>> = versions.into_iter().map(Some).collect();
    let mut candidates = Vec::with_capacity(served.len());
    for (index, version, stage, aliases, channels) in served {
        let Some(raw) = rows[index].take() else {
            continue;
        };
        let location = resolve::classify(raw.location());
        let tags = tags
            .get_mut(raw.name.as_str())
            .and_then(|versions| versions.remove(&raw.version))
            .unwrap_or_default();
        let model_tags = model_tags.get(&raw.name).cloned().unwrap_or_default();
        candidates.push(Candidate {
            version: ModelVersion {
                workspace: raw.workspace,
                name: raw.name,
                version,
                stage,
                aliases,
                channels,
                tags,
                model_tags,
                source: raw.source.unwrap_or_default(),
                run_id: raw.run_id,
                status: raw.status.unwrap_or_else(|| "READY".to_owned()),
                artifact_uri: String::new(),
                last_updated_ms: raw.last_updated_ms.unwrap_or_default(),
            },
            location,
        });
    }
    candidates
}

/// Resolves every candidate's location with batched lookups.
async fn resolve_all(
    candidates: Vec<Candidate>,
    lookups: &dyn Lookups,
    artifacts_destination: Option<&str>,
) -> Result<Vec<(ModelVersion, Result<String, String>)>, Error> {
    // `models:/<name>/<version>` hops first, so the batch lookups below see the final locations.
    let mut pending = Vec::with_capacity(candidates.len());
    for Candidate { version, location } in candidates {
        let location = follow_registered_versions(&version.workspace, location, lookups).await?;
        pending.push((version, location));
    }
    let found = Found::look_up(&pending, lookups).await?;
    Ok(pending
        .into_iter()
        .map(|(version, location)| {
            let uri = found.concrete_uri(location, artifacts_destination);
            (version, uri)
        })
        .collect())
}

/// Where a chain of `models:/<name>/<version>` references ends (at most [`MAX_HOPS`] deep).
async fn follow_registered_versions(
    workspace: &str,
    mut location: Result<Location, String>,
    lookups: &dyn Lookups,
) -> Result<Result<Location, String>, Error> {
    let mut hops = 0;
    while let Ok(Location::RegisteredVersion { name, version }) = &location {
        hops += 1;
        location = if hops > MAX_HOPS {
            Err(format!(
                "models:/ references are nested more than {MAX_HOPS} deep (a cycle?)"
            ))
        } else {
            match lookups.version_location(workspace, name, *version).await? {
                Some(next) => resolve::classify(&next),
                None => Err(format!(
                    "it refers to models:/{name}/{version}, which does not exist"
                )),
            }
        };
    }
    Ok(location)
}

/// The logged models' and runs' artifact locations, each looked up once for all versions.
struct Found {
    logged: HashMap<String, String>,
    runs: HashMap<String, String>,
}

impl Found {
    async fn look_up(
        pending: &[(ModelVersion, Result<Location, String>)],
        lookups: &dyn Lookups,
    ) -> Result<Found, Error> {
        let ids = |want: fn(&Location) -> Option<&String>| -> Vec<String> {
            let set: BTreeSet<&String> = pending
                .iter()
                .filter_map(|(_, l)| l.as_ref().ok().and_then(want))
                .collect();
            set.into_iter().cloned().collect()
        };
        let model_ids = ids(|l| match l {
            Location::LoggedModel(id) => Some(id),
            _ => None,
        });
        let run_ids = ids(|l| match l {
            Location::Run { run_id, .. } => Some(run_id),
            _ => None,
        });
        let logged = if model_ids.is_empty() {
            HashMap::new()
        } else {
            lookups.logged_models(&model_ids).await?
        };
        let runs = if run_ids.is_empty() {
            HashMap::new()
        } else {
            lookups.runs(&run_ids).await?
        };
        Ok(Found { logged, runs })
    }

    /// The concrete URI of `location`, or why there is none.
    fn concrete_uri(
        &self,
        location: Result<Location, String>,
        artifacts_destination: Option<&str>,
    ) -> Result<String, String> {
        // A location that came straight from the row was classified already; one that came
        // from a lookup is registry data too and is held to the same rules below.
        let looked_up = !matches!(location, Ok(Location::Uri(_)));
        let uri = location.and_then(|l| match l {
            Location::Uri(uri) => Ok(uri),
            Location::LoggedModel(id) => self
                .logged
                .get(&id)
                .map(|loc| resolve::join(loc, ""))
                .ok_or_else(|| {
                    format!("logged model {id} is not in this registry's `logged_models`")
                }),
            Location::Run { run_id, path } => self
                .runs
                .get(&run_id)
                .map(|root| resolve::join(root, &path))
                .ok_or_else(|| format!("run {run_id} is not in this registry's `runs`")),
            Location::MlflowArtifacts(path) => artifacts_destination
                .map(|dest| resolve::join(dest, &path))
                .ok_or_else(|| {
                    format!(
                        "its location mlflow-artifacts:/{path} needs the tracking server's \
                         --artifacts-destination (set the artifacts destination)"
                    )
                }),
            Location::RegisteredVersion { .. } => Err("unresolved models:/ reference".to_owned()),
        })?;
        if !looked_up {
            return Ok(uri);
        }
        match resolve::classify(&uri)? {
            Location::Uri(u) => Ok(u),
            other => Err(format!(
                "it resolves to {other:?}, which is not a concrete URI"
            )),
        }
    }
}

/// Feeds `state` into `hasher` unambiguously (every field length-prefixed), in a stable order.
pub(crate) fn hash_state(hasher: &mut Sha256, workspace: &str, state: &RawState) {
    let mut put = |s: &str| {
        hasher.update((s.len() as u64).to_le_bytes());
        hasher.update(s.as_bytes());
    };
    put(workspace);
    let mut versions: Vec<&RawVersion> = state.versions.iter().collect();
    versions.sort_by(|a, b| (&a.name, a.version).cmp(&(&b.name, b.version)));
    for v in versions {
        put(&v.name);
        put(&v.version.to_string());
        for field in [
            &v.stage,
            &v.source,
            &v.storage_location,
            &v.run_id,
            &v.status,
        ] {
            put(field.as_deref().unwrap_or("\u{0}NULL"));
        }
        put(&v.last_updated_ms.unwrap_or(-1).to_string());
    }
    let mut aliases = state.aliases.clone();
    aliases.sort();
    for (name, alias, version) in &aliases {
        put(name);
        put(alias);
        put(&version.to_string());
    }
    let mut tags = state.tags.clone();
    tags.sort();
    for (name, version, key, value) in &tags {
        put(name);
        put(&version.to_string());
        put(key);
        put(value);
    }
    for prompt in &state.prompts {
        put(prompt);
    }
    let mut model_tags = state.model_tags.clone();
    model_tags.sort();
    for (name, key, value) in &model_tags {
        put(name);
        put(key);
        put(value);
    }
}

/// MLflow's alias rule: `^[\w\-]*$`, at most 255 characters, and not empty.
fn valid_alias(alias: &str) -> bool {
    !alias.is_empty()
        && alias.chars().count() <= 255
        && alias
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// A name shortened for an error message, so a 64 KiB name does not flood the logs.
fn truncate(name: &str) -> String {
    if name.len() <= 200 {
        return name.to_owned();
    }
    let mut end = 200;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &name[..end])
}
