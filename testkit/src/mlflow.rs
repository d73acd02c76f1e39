//! MLflow Model Registries built by MLflow itself.
//!
//! A [`Scenario`] (models, versions, stages, aliases, tags, deletions, prompts, sources of every kind)
//! is handed to `testkit/python/mlflow_scenario.py`, which builds it with the pinned MLflow client on
//! a [`Database`] and reports, as JSON, what MLflow's own client says about every version. That
//! [`Report`] is the expected value of registry tests.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use crate::databases::{Backend, Database};
use crate::tools::{python, python_scripts_dir};

/// Where a model version's `source` comes from; each kind is what a real MLflow workflow writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceSpec {
    /// MLflow 3 `log_model` + `register_model`: source `models:/m-<id>`, storage_location concrete.
    LoggedModel,
    /// `register_model("runs:/<run>/model")` on a run holding an MLmodel: source is the run's URI.
    RunArtifactsRegister,
    /// `create_model_version(source="runs:/<run>/model")`: stored verbatim, resolved via `runs`.
    RunsUri,
    /// A plain local path.
    Path,
    /// A `file://` URI.
    FileUri,
    /// An `s3://` URI stored verbatim (the objects may or may not exist).
    S3 {
        /// The URI.
        uri: String,
    },
    /// `mlflow-artifacts:/<path>`, with a real model written under the scenario's artifacts destination.
    MlflowArtifacts {
        /// The path after `mlflow-artifacts:/`.
        path: String,
    },
    /// Any string, verbatim (for hostile rows).
    Explicit {
        /// The source string.
        uri: String,
    },
}

/// One model version to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionSpec {
    /// Where its files come from.
    pub source: SourceSpec,
    /// Stage to transition to (`Staging`, `Production`, `Archived`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// `archive_existing_versions` for that transition.
    pub archive_existing: bool,
    /// Aliases to point at this version (set after all versions of the model exist).
    pub aliases: Vec<String>,
    /// Version tags.
    pub tags: BTreeMap<String, String>,
    /// Delete this version at the end (MLflow soft-deletes: `Deleted_Internal`).
    pub delete: bool,
}

impl VersionSpec {
    /// A version with the given source and nothing else.
    pub fn new(source: SourceSpec) -> Self {
        VersionSpec {
            source,
            stage: None,
            archive_existing: false,
            aliases: Vec::new(),
            tags: BTreeMap::new(),
            delete: false,
        }
    }

    /// A version logged the MLflow 3 way (`models:/m-<id>`).
    pub fn logged_model() -> Self {
        Self::new(SourceSpec::LoggedModel)
    }

    /// Transition to `stage`.
    pub fn stage(mut self, stage: &str) -> Self {
        self.stage = Some(stage.to_owned());
        self
    }

    /// Transition with `archive_existing_versions=True`.
    pub fn archive_existing(mut self) -> Self {
        self.archive_existing = true;
        self
    }

    /// Point `alias` at this version.
    pub fn alias(mut self, alias: &str) -> Self {
        self.aliases.push(alias.to_owned());
        self
    }

    /// Set a version tag.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.tags.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Delete the version once everything else is done.
    pub fn deleted(mut self) -> Self {
        self.delete = true;
        self
    }
}

/// A prompt (MLflow stores prompts as registered models tagged `mlflow.prompt.is_prompt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PromptSpec {
    /// The prompt template.
    pub template: String,
}

/// One registered model to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelSpec {
    /// The registered model name, free text as MLflow allows it.
    pub name: String,
    /// Registered-model tags.
    pub tags: BTreeMap<String, String>,
    /// Register a prompt instead of a model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<PromptSpec>,
    /// Versions, created in order (version 1, 2, …).
    pub versions: Vec<VersionSpec>,
}

impl ModelSpec {
    /// A model with no versions yet.
    pub fn new(name: &str) -> Self {
        ModelSpec {
            name: name.to_owned(),
            tags: BTreeMap::new(),
            prompt: None,
            versions: Vec::new(),
        }
    }

    /// A prompt registered through `mlflow.genai.register_prompt`.
    pub fn prompt(name: &str, template: &str) -> Self {
        ModelSpec {
            prompt: Some(PromptSpec {
                template: template.to_owned(),
            }),
            ..Self::new(name)
        }
    }

    /// Add a version.
    pub fn version(mut self, version: VersionSpec) -> Self {
        self.versions.push(version);
        self
    }

    /// Set a registered-model tag.
    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.tags.insert(key.to_owned(), value.to_owned());
        self
    }
}

/// A registry to build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scenario {
    /// The models, created in order.
    pub models: Vec<ModelSpec>,
    /// The experiment's artifact location; default: `file://<scratch>/artifacts`.
    pub artifact_root: Option<String>,
    /// Extra environment for MLflow (e.g. S3 endpoint and credentials for an `s3://` artifact root).
    pub env: Vec<(String, String)>,
}

impl Scenario {
    /// `wine` version 1 in Production with alias `champion` and tag `step=0`: a promotion
    /// made by setting `step` to a growing number ([`MlflowServer::set_version_tag`]), whose
    /// value, rendered into the manifests, shows any undo as a value going down.
    ///
    /// [`MlflowServer::set_version_tag`]: crate::mlflow_server::MlflowServer::set_version_tag
    pub fn stepped_wine() -> Self {
        Scenario::new().model(
            ModelSpec::new("wine").version(
                VersionSpec::logged_model()
                    .stage("Production")
                    .alias("champion")
                    .tag("step", "0"),
            ),
        )
    }

    /// An empty scenario.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a model.
    pub fn model(mut self, model: ModelSpec) -> Self {
        self.models.push(model);
        self
    }

    /// Use `uri` as the experiment's artifact location.
    pub fn artifact_root(mut self, uri: &str) -> Self {
        self.artifact_root = Some(uri.to_owned());
        self
    }

    /// Pass `key=value` to MLflow's environment.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Builds the scenario with MLflow on a fresh database of `backend`.
    pub fn build(&self, backend: Backend) -> Registry {
        self.build_on(Database::fresh(backend))
    }

    /// Builds the scenario with MLflow on `db` (which may already hold a registry).
    pub fn build_on(&self, db: Database) -> Registry {
        let scratch = tempfile::Builder::new()
            .prefix("testkit-mlflow-")
            .tempdir()
            .expect("testkit: temp dir");
        let report = self.run(&db, scratch.path(), "scenario.json");
        Registry {
            db,
            report,
            scratch,
        }
    }

    /// Runs the driver on `db` with scratch files under `scratch`.
    fn run(&self, db: &Database, scratch: &Path, file_name: &str) -> Report {
        let artifact_root = self
            .artifact_root
            .clone()
            .unwrap_or_else(|| format!("file://{}", scratch.join("artifacts").display()));
        let input = serde_json::json!({
            "tracking_uri": db.mlflow_uri(),
            "artifact_root": artifact_root,
            "work_dir": scratch.join("work"),
            "models": self.models,
        });
        let scenario_path = scratch.join(file_name);
        std::fs::write(&scenario_path, input.to_string()).expect("testkit: write scenario");
        run_driver(&scenario_path, &self.env)
    }
}

fn run_driver(scenario: &Path, env: &[(String, String)]) -> Report {
    let script = python_scripts_dir().join("mlflow_scenario.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(scenario)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("testkit: cannot run the MLflow scenario driver");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "testkit: the MLflow scenario driver failed ({}):\n{}",
        out.status,
        &stderr[stderr.len().saturating_sub(4000)..]
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "testkit: the MLflow driver's report is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A registry made by MLflow, with MLflow's own report of it.
#[derive(Debug)]
pub struct Registry {
    db: Database,
    report: Report,
    scratch: tempfile::TempDir,
}

impl Registry {
    /// The database holding the registry.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The backend-store URI, exactly as `mlflow server --backend-store-uri` takes it.
    pub fn backend_store_uri(&self) -> String {
        self.db.mlflow_uri()
    }

    /// What MLflow's client reports about the registry.
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The directory `mlflow-artifacts:/` paths resolve against (the server's `--artifacts-destination`).
    pub fn artifacts_destination(&self) -> PathBuf {
        self.scratch.path().join("work").join("mlartifacts")
    }

    /// Builds more models into the same registry (MLflow appends versions to existing models) and
    /// returns the new full report.
    pub fn extend(&mut self, more: &Scenario) -> &Report {
        self.report = more.run(&self.db, self.scratch.path(), "scenario-more.json");
        &self.report
    }

    /// Runs Python `code` against the registry with MLflow's own client bound as `client`
    /// (`mlflow.MlflowClient`), e.g. `client.transition_model_version_stage("wine", "1", "Archived")`.
    pub fn client(&self, code: &str) {
        let uri = self.db.mlflow_uri();
        let program = format!(
            "import mlflow\nclient = mlflow.MlflowClient(tracking_uri={uri:?}, registry_uri={uri:?})\n{code}\n"
        );
        let out = Command::new(python())
            .args(["-c", &program])
            .output()
            .expect("testkit: cannot run python");
        assert!(
            out.status.success(),
            "testkit: MLflow client code failed:\n{code}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Gives up the registry, keeping its database and files alive as long as the returned values.
    pub fn into_parts(self) -> (Database, Report, tempfile::TempDir) {
        (self.db, self.report, self.scratch)
    }
}

/// What MLflow's client reported.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Report {
    /// `mlflow.__version__`.
    pub mlflow_version: String,
    /// Registered models (prompts excluded, as MLflow's search excludes them).
    pub models: Vec<ReportedModel>,
    /// Every live version (deleted ones excluded), sorted by (name, version).
    pub versions: Vec<ReportedVersion>,
    /// What MLflow refused while building.
    pub errors: Vec<ReportedError>,
}

impl Report {
    /// The versions of model `name`.
    pub fn versions_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a ReportedVersion> {
        self.versions.iter().filter(move |v| v.name == name)
    }
}

/// One registered model as MLflow reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReportedModel {
    /// Name.
    pub name: String,
    /// Registered-model tags.
    pub tags: BTreeMap<String, String>,
    /// alias → version.
    pub aliases: BTreeMap<String, String>,
    /// stage → version, from `get_latest_versions(name, stages=["Staging", "Production"])`.
    pub latest: BTreeMap<String, i64>,
}

/// One model version as MLflow's client reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReportedVersion {
    /// Registered model name.
    pub name: String,
    /// Version number.
    pub version: i64,
    /// `current_stage` (`None`, `Staging`, `Production`, `Archived`).
    pub stage: String,
    /// Aliases pointing here, sorted.
    pub aliases: Vec<String>,
    /// Version tags.
    pub tags: BTreeMap<String, String>,
    /// `source` as stored.
    pub source: String,
    /// `run_id`, if any.
    pub run_id: Option<String>,
    /// `status` (`READY` in OSS).
    pub status: String,
    /// `last_updated_timestamp`, ms since the epoch.
    pub last_updated_timestamp: i64,
    /// `MlflowClient.get_model_version_download_uri`.
    pub download_uri: String,
    /// Where the files are, by MLflow's own resolution of `runs:/` and `models:/m-…`, bare paths
    /// as `file://` URIs; `mlflow-artifacts:/` left as is.
    pub resolved_uri: String,
}

/// A step MLflow refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReportedError {
    /// The model being built.
    pub model: String,
    /// MLflow's exception, as text.
    pub error: String,
}

/// What `wine_model.py` registered: the model, a sample input and MLflow's own predictions for it.
#[derive(Debug, Clone, Deserialize)]
pub struct WineModel {
    /// Registered model name.
    pub name: String,
    /// Version created.
    pub version: String,
    /// A request body for `/invocations` (`dataframe_split`).
    pub input: serde_json::Value,
    /// The fitted model's predictions for that input.
    pub predictions: Vec<f64>,
}

impl WineModel {
    /// Panics unless `body`, a scoring server's answer to [`input`](Self::input), holds the
    /// model's own predictions (to 1e-9).
    pub fn assert_predictions(&self, body: &str) {
        let answer: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
        let served: Vec<f64> = answer["predictions"]
            .as_array()
            .unwrap_or_else(|| panic!("no predictions: {body}"))
            .iter()
            .map(|p| p.as_f64().expect("a number"))
            .collect();
        assert_eq!(served.len(), self.predictions.len(), "{body}");
        for (s, w) in served.iter().zip(&self.predictions) {
            assert!((s - w).abs() < 1e-9, "served {s}, model {w}");
        }
    }
}

/// Trains an ElasticNet on synthetic wine-quality data with MLflow, registers it as
/// `ElasticnetWineModel2`, moves it to Production and sets alias `champion`, in the registry at
/// `tracking_uri` with artifacts under `artifacts_dir`.
pub fn wine_model(tracking_uri: &str, artifacts_dir: &Path) -> WineModel {
    let report = artifacts_dir.with_extension("report.json");
    let out = Command::new(python())
        .arg(python_scripts_dir().join("wine_model.py"))
        .args(["--tracking-uri", tracking_uri, "--artifacts"])
        .arg(artifacts_dir)
        .arg("--report")
        .arg(&report)
        .output()
        .expect("testkit: cannot run wine_model.py");
    assert!(
        out.status.success(),
        "testkit: wine_model.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(&report).expect("testkit: wine report"))
        .expect("testkit: wine report is JSON")
}

/// Registers a pyfunc model named `name` whose predictions need `package==version` (made by
/// [`PackageIndex`](crate::package_index::PackageIndex)): `x` → `2x + 1`. It is in Production with
/// alias `champion`; returns its version.
pub fn package_model(
    tracking_uri: &str,
    artifacts_dir: &Path,
    name: &str,
    package: &str,
    version: &str,
) -> String {
    let out = Command::new(python())
        .arg(python_scripts_dir().join("package_model.py"))
        .args(["--tracking-uri", tracking_uri, "--artifacts"])
        .arg(artifacts_dir)
        .args(["--name", name, "--package", package, "--version", version])
        .output()
        .expect("testkit: cannot run package_model.py");
    assert!(
        out.status.success(),
        "testkit: package_model.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned()
}
