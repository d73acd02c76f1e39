//! [`RestRegistry`]: the same answers as [`SqlRegistry`](crate::SqlRegistry), through a tracking
//! server's REST API, for registries whose database this tool cannot reach.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use redaction::BoxError;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::assemble::{self, Lookups, RawState, RawVersion, hash_state};
use crate::uri::redact;
use crate::{Error, Fingerprint, ModelRegistry, Promoted, PromotionFilter};

/// Largest page MLflow's server accepts for registered-model search.
const MODEL_PAGE: &str = "1000";
/// Page size for model-version search (the server allows up to 200,000).
const VERSION_PAGE: &str = "10000";
/// MLflow's header selecting a workspace (servers run with `--enable-workspaces`).
const WORKSPACE_HEADER: &str = "X-MLFLOW-WORKSPACE";

/// An MLflow registry read through a tracking server's REST API (`http(s)://host:port`).
///
/// Credentials come from MLflow's own variables: `MLFLOW_TRACKING_TOKEN` (bearer), or
/// `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD` (basic). They are never printed.
pub struct RestRegistry {
    base: String,
    redacted: String,
    client: reqwest::Client,
    auth: Auth,
    artifacts_destination: Option<String>,
}

enum Auth {
    None,
    Bearer(String),
    Basic(String, String),
}

impl std::fmt::Debug for RestRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestRegistry")
            .field("uri", &self.redacted)
            .finish_non_exhaustive()
    }
}

impl RestRegistry {
    /// A registry behind the tracking server at `tracking_uri`; credentials from the environment.
    pub fn new(tracking_uri: &str) -> Result<RestRegistry, Error> {
        let redacted = redact(tracking_uri);
        if !(tracking_uri.starts_with("http://") || tracking_uri.starts_with("https://")) {
            return Err(Error::UnsupportedUri {
                uri: redacted,
                reason: "a tracking server URI is http(s)://host[:port][/path]".to_owned(),
            });
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let auth = match (
            env("MLFLOW_TRACKING_TOKEN"),
            env("MLFLOW_TRACKING_USERNAME"),
            env("MLFLOW_TRACKING_PASSWORD"),
        ) {
            (Some(token), _, _) => Auth::Bearer(token),
            (None, Some(user), Some(password)) => Auth::Basic(user, password),
            _ => Auth::None,
        };
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Rest {
                uri: redacted.clone(),
                message: format!("cannot build the HTTP client: {e}"),
                source: Some(e.into()),
            })?;
        Ok(RestRegistry {
            base: tracking_uri.trim_end_matches('/').to_owned(),
            redacted,
            client,
            auth,
            artifacts_destination: None,
        })
    }

    /// Sets the server's `--artifacts-destination`, which `mlflow-artifacts:/…` locations are relative to.
    pub fn with_artifacts_destination(mut self, destination: impl Into<String>) -> RestRegistry {
        self.artifacts_destination = Some(destination.into());
        self
    }

    fn error(&self, message: String, source: Option<BoxError>) -> Error {
        Error::Rest {
            uri: self.redacted.clone(),
            message,
            source,
        }
    }

    /// `METHOD /api/2.0/mlflow/<path>?<query>` with an optional JSON body: the status and text.
    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<&serde_json::Value>,
        workspace: &str,
    ) -> Result<(reqwest::StatusCode, String), Error> {
        let url = format!("{}/api/2.0/mlflow/{path}", self.base);
        let what = format!("{method} {path}");
        let mut request = self.client.request(method, &url).query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        if workspace != "default" {
            request = request.header(WORKSPACE_HEADER, workspace);
        }
        request = match &self.auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::Basic(user, password) => request.basic_auth(user, Some(password)),
        };
        // reqwest's errors hold the URL, which holds no credential (they travel in headers).
        let response = request
            .send()
            .await
            .map_err(|e| self.error(format!("{what}: {e}"), Some(e.into())))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| self.error(format!("{what}: {e}"), Some(e.into())))?;
        Ok((status, text))
    }

    /// A successful answer parsed as `T`; any other status is an error quoting the answer.
    pub(crate) fn parse<T: DeserializeOwned>(
        &self,
        what: &str,
        (status, body): (reqwest::StatusCode, String),
    ) -> Result<T, Error> {
        if !status.is_success() {
            let excerpt: String = body.chars().take(300).collect();
            return Err(self.error(format!("{what}: HTTP {status}: {excerpt}"), None));
        }
        serde_json::from_str(&body)
            .map_err(|e| self.error(format!("{what}: unexpected answer ({e})"), Some(e.into())))
    }

    /// `GET /api/2.0/mlflow/<path>?<query>`; `Ok(None)` for MLflow's "does not exist" answers.
    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        workspace: &str,
    ) -> Result<Option<T>, Error> {
        let answer = self
            .send(reqwest::Method::GET, path, query, None, workspace)
            .await?;
        if answer.0 == reqwest::StatusCode::NOT_FOUND
            && answer.1.contains("RESOURCE_DOES_NOT_EXIST")
        {
            return Ok(None);
        }
        self.parse(&format!("GET {path}"), answer).map(Some)
    }

    /// Reads the rows that decide promotions, in the same shape the SQL registry reads them.
    async fn state(&self, workspace: &str) -> Result<RawState, Error> {
        let mut state = RawState::default();
        self.read_models(workspace, &mut state).await?;
        self.read_versions(workspace, &mut state).await?;
        self.read_download_uris(workspace, &mut state).await?;
        Ok(state)
    }

    /// Every registered model's aliases and tags (which say the prompts).
    async fn read_models(&self, workspace: &str, state: &mut RawState) -> Result<(), Error> {
        let mut token = String::new();
        loop {
            let mut query = vec![("max_results", MODEL_PAGE)];
            if !token.is_empty() {
                query.push(("page_token", token.as_str()));
            }
            let page: ModelsPage = self
                .get("registered-models/search", &query, workspace)
                .await?
                .unwrap_or_default();
            let mut tags = Vec::new();
            for model in page.registered_models {
                for tag in model.tags {
                    tags.push((model.name.clone(), tag.key, tag.value));
                }
                for alias in model.aliases {
                    state.aliases.push((
                        model.name.clone(),
                        alias.alias,
                        alias.version.parse().unwrap_or(-1),
                    ));
                }
            }
            state.add_model_tags(tags);
            match page.next_page_token {
                Some(next) if !next.is_empty() => token = next,
                _ => return Ok(()),
            }
        }
    }

    /// Every version in a promoting stage or with an alias, with its tags.
    async fn read_versions(&self, workspace: &str, state: &mut RawState) -> Result<(), Error> {
        let aliased: BTreeSet<(String, i64)> = state
            .aliases
            .iter()
            .map(|(n, _, v)| (n.clone(), *v))
            .collect();
        // A stable full scan: the default order starts with last_updated_timestamp, which shifts
        // offset-based pages when versions change during the scan.
        let mut token = String::new();
        loop {
            let mut query = vec![
                ("max_results", VERSION_PAGE),
                ("order_by", "name ASC"),
                ("order_by", "version_number ASC"),
            ];
            if !token.is_empty() {
                query.push(("page_token", token.as_str()));
            }
            let page: VersionsPage = self
                .get("model-versions/search", &query, workspace)
                .await?
                .unwrap_or_default();
            for v in page.model_versions {
                let version: i64 = v.version.parse().unwrap_or(-1);
                let promoted_stage =
                    !matches!(v.current_stage.as_deref(), Some("None") | Some("Archived"));
                if !(promoted_stage || aliased.contains(&(v.name.clone(), version))) {
                    continue;
                }
                for tag in &v.tags {
                    state
                        .tags
                        .push((v.name.clone(), version, tag.key.clone(), tag.value.clone()));
                }
                state.versions.push(RawVersion {
                    workspace: workspace.to_owned(),
                    name: v.name,
                    version,
                    stage: v.current_stage,
                    source: v.source,
                    storage_location: None,
                    run_id: v.run_id.filter(|r| !r.is_empty()),
                    status: v.status,
                    last_updated_ms: v.last_updated_timestamp.and_then(|t| t.as_i64()),
                });
            }
            match page.next_page_token {
                Some(next) if !next.is_empty() => token = next,
                _ => return Ok(()),
            }
        }
    }

    /// REST has no storage_location: get-download-uri answers `storage_location or source`.
    async fn read_download_uris(&self, workspace: &str, state: &mut RawState) -> Result<(), Error> {
        for v in &mut state.versions {
            if v.version >= 1 && !state.prompts.contains(&v.name) {
                let version = v.version.to_string();
                let answer: Option<DownloadUri> = self
                    .get(
                        "model-versions/get-download-uri",
                        &[("name", &v.name), ("version", &version)],
                        workspace,
                    )
                    .await?;
                v.storage_location = answer.map(|a| a.artifact_uri).filter(|u| !u.is_empty());
            }
        }
        Ok(())
    }
}

#[async_trait]
impl ModelRegistry for RestRegistry {
    async fn promoted(&self, filter: &PromotionFilter) -> Result<Promoted, Error> {
        let state = self.state(&filter.workspace).await?;
        assemble::promoted(state, filter, self, self.artifacts_destination.as_deref()).await
    }

    /// Over REST there is no cheap change counter: this reads the promotion-relevant state and
    /// hashes it, which costs about as much as `promoted()` without the resolution lookups.
    async fn fingerprint(&self) -> Result<Fingerprint, Error> {
        let state = self.state("default").await?;
        let mut hasher = Sha256::new();
        hash_state(&mut hasher, "default", &state);
        Ok(Fingerprint(hasher.finalize().into()))
    }
}

#[async_trait]
impl Lookups for RestRegistry {
    async fn logged_models(&self, ids: &[String]) -> Result<HashMap<String, String>, Error> {
        let mut found = HashMap::new();
        for id in ids {
            let answer: Option<LoggedModelAnswer> = self
                .get(&format!("logged-models/{id}"), &[], "default")
                .await?;
            if let Some(uri) = answer.and_then(|a| a.model.info.artifact_uri) {
                found.insert(id.clone(), uri);
            }
        }
        Ok(found)
    }

    async fn runs(&self, ids: &[String]) -> Result<HashMap<String, String>, Error> {
        let mut found = HashMap::new();
        for id in ids {
            let answer: Option<RunAnswer> =
                self.get("runs/get", &[("run_id", id)], "default").await?;
            if let Some(uri) = answer.and_then(|a| a.run.info.artifact_uri) {
                found.insert(id.clone(), uri);
            }
        }
        Ok(found)
    }

    async fn version_location(
        &self,
        workspace: &str,
        name: &str,
        version: u64,
    ) -> Result<Option<String>, Error> {
        let version = version.to_string();
        let answer: Option<DownloadUri> = self
            .get(
                "model-versions/get-download-uri",
                &[("name", name), ("version", &version)],
                workspace,
            )
            .await?;
        Ok(answer.map(|a| a.artifact_uri))
    }
}

#[derive(Debug, Default, Deserialize)]
struct ModelsPage {
    #[serde(default)]
    registered_models: Vec<RestModel>,
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RestModel {
    name: String,
    #[serde(default)]
    tags: Vec<RestTag>,
    #[serde(default)]
    aliases: Vec<RestAlias>,
}

#[derive(Debug, Deserialize)]
struct RestTag {
    key: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Deserialize)]
struct RestAlias {
    alias: String,
    version: String,
}

#[derive(Debug, Default, Deserialize)]
struct VersionsPage {
    #[serde(default)]
    model_versions: Vec<RestVersion>,
    next_page_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RestVersion {
    name: String,
    version: String,
    current_stage: Option<String>,
    source: Option<String>,
    run_id: Option<String>,
    status: Option<String>,
    /// int64: a JSON number from MLflow, a string from strict protobuf-JSON encoders.
    last_updated_timestamp: Option<Int64>,
    #[serde(default)]
    tags: Vec<RestTag>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Int64 {
    Number(i64),
    Text(String),
}

impl Int64 {
    fn as_i64(&self) -> Option<i64> {
        match self {
            Int64::Number(n) => Some(*n),
            Int64::Text(s) => s.parse().ok(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct DownloadUri {
    artifact_uri: String,
}

#[derive(Debug, Deserialize)]
struct LoggedModelAnswer {
    model: LoggedModelBody,
}

#[derive(Debug, Deserialize)]
struct LoggedModelBody {
    info: ArtifactInfo,
}

#[derive(Debug, Deserialize)]
struct RunAnswer {
    run: RunBody,
}

#[derive(Debug, Deserialize)]
struct RunBody {
    info: ArtifactInfo,
}

#[derive(Debug, Deserialize)]
struct ArtifactInfo {
    artifact_uri: Option<String>,
}
