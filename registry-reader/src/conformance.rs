//! The conformance suite every [`ModelRegistry`] must pass, as library code (feature
//! `conformance`), in the shape of object_store's `integration` module: MLflow itself builds
//! [`scenario`]'s registry (with `testkit::mlflow`, on SQLite, MariaDB or PostgreSQL), and a reader
//! of it must answer what MLflow's own client reports, check by check. An outside implementation
//! is correct when [`run_all`] returns.
//!
//! ```no_run
//! # async fn check() -> Result<(), registry_reader::Error> {
//! use registry_reader::{SqlRegistry, conformance};
//! use testkit::databases::Backend;
//!
//! let built = conformance::scenario().build(Backend::Sqlite);
//! let destination = format!("file://{}", built.artifacts_destination().display());
//! let registry = SqlRegistry::connect(&built.backend_store_uri())
//!     .await?
//!     .with_artifacts_destination(destination.clone());
//! conformance::run_all(&registry, &built, &destination).await;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;

use testkit::mlflow::{ModelSpec, Registry, Report, Scenario, SourceSpec, VersionSpec};

use crate::{AliasSelection, Channel, ModelRegistry, Promoted, PromotionFilter, Stage, resolve};

/// A 250-character unicode name, as MLflow allows it.
pub fn long_name() -> String {
    format!("Ω{}", "x".repeat(249))
}

/// Every case the issue names: deleted versions, prompts, two versions in one stage, unicode and
/// 250-character names, `Iris` vs `iris`, and each kind of source.
pub fn scenario() -> Scenario {
    Scenario::new()
        .model(
            ModelSpec::new("wine")
                .tag("team", "ml")
                .version(VersionSpec::logged_model().stage("Production"))
                .version(
                    VersionSpec::logged_model()
                        .stage("Staging")
                        .alias("challenger")
                        .tag("validated", "yes"),
                )
                // Production again without archiving: two versions in one stage, the higher serves.
                .version(
                    VersionSpec::logged_model()
                        .stage("Production")
                        .alias("champion"),
                )
                .version(VersionSpec::new(SourceSpec::Path).alias("gone").deleted())
                .version(VersionSpec::new(SourceSpec::Path).stage("Archived")),
        )
        .model(
            ModelSpec::new("Wine Quality – ElasticNet v2 ü")
                .version(VersionSpec::new(SourceSpec::RunsUri).stage("Staging"))
                .version(VersionSpec::new(SourceSpec::RunArtifactsRegister).alias("shadow")),
        )
        .model(
            ModelSpec::new(&long_name())
                .version(VersionSpec::new(SourceSpec::FileUri).stage("Production")),
        )
        .model(
            ModelSpec::new("Iris").version(VersionSpec::new(SourceSpec::Path).stage("Production")),
        )
        // On MariaDB MLflow itself refuses this one (case-insensitive key); the report says so.
        .model(ModelSpec::new("iris").version(VersionSpec::new(SourceSpec::Path).stage("Staging")))
        .model(
            ModelSpec::new("served")
                .version(
                    VersionSpec::new(SourceSpec::MlflowArtifacts {
                        path: "7/models/m-1/artifacts".into(),
                    })
                    .stage("Production"),
                )
                .version(
                    VersionSpec::new(SourceSpec::S3 {
                        uri: "s3://bucket/1/abc/artifacts/model".into(),
                    })
                    .alias("external"),
                ),
        )
        .model(ModelSpec::new("unpromoted").version(VersionSpec::logged_model()))
        .model(ModelSpec::prompt("greeting", "Hello {{name}}"))
}

/// What a reader must return, derived only from MLflow's report.
#[derive(Debug, PartialEq, Eq)]
pub struct Expected {
    /// Model name.
    pub name: String,
    /// Version.
    pub version: u64,
    /// Stage, as MLflow spells it.
    pub stage: String,
    /// Aliases.
    pub aliases: Vec<String>,
    /// Channels served, sorted.
    pub channels: Vec<Channel>,
    /// Version tags.
    pub tags: BTreeMap<String, String>,
    /// The version's source.
    pub source: String,
    /// The run, if any.
    pub run_id: Option<String>,
    /// Where the files are, `mlflow-artifacts:/` resolved against the destination.
    pub artifact_uri: String,
}

/// What MLflow's `report` says a reader must return, with `mlflow-artifacts:/` locations
/// resolved against `artifacts_destination`.
pub fn expected(report: &Report, artifacts_destination: &str) -> Vec<Expected> {
    let mut out = Vec::new();
    for v in &report.versions {
        let model = report
            .models
            .iter()
            .find(|m| m.name == v.name)
            .expect("model of version");
        let mut channels: Vec<Channel> = model
            .latest
            .iter()
            .filter(|(_, version)| **version == v.version)
            .map(|(stage, _)| Channel::Stage(Stage::from_db(stage).expect("MLflow stage")))
            .collect();
        channels.extend(v.aliases.iter().map(|a| Channel::Alias(a.clone())));
        channels.sort();
        if channels.is_empty() {
            continue;
        }
        let artifact_uri = match v.resolved_uri.strip_prefix("mlflow-artifacts:/") {
            Some(path) => resolve::join(artifacts_destination, path),
            None => v.resolved_uri.clone(),
        };
        out.push(Expected {
            name: v.name.clone(),
            version: v.version as u64,
            stage: v.stage.clone(),
            aliases: v.aliases.clone(),
            channels,
            tags: v.tags.clone(),
            source: v.source.clone(),
            run_id: v.run_id.clone(),
            artifact_uri,
        });
    }
    out
}

/// What a reader returned, in the same shape as [`expected`].
pub fn actual(promoted: &Promoted) -> Vec<Expected> {
    promoted
        .versions
        .iter()
        .map(|v| Expected {
            name: v.name.clone(),
            version: v.version,
            stage: v.stage.to_string(),
            aliases: v.aliases.clone(),
            channels: v.channels.clone(),
            tags: v.tags.clone(),
            source: v.source.clone(),
            run_id: v.run_id.clone(),
            artifact_uri: v.artifact_uri.clone(),
        })
        .collect()
}

/// Every check on `registry`, which reads the registry MLflow built from [`scenario`] as `built`.
pub async fn run_all(registry: &dyn ModelRegistry, built: &Registry, artifacts_destination: &str) {
    promoted_versions_are_what_mlflow_reports(registry, built, artifacts_destination).await;
    superseded_deleted_and_archived_versions_are_not_served(registry).await;
    prompts_and_unpromoted_models_are_not_served(registry).await;
    registered_model_tags_come_with_each_version(registry).await;
    long_names_are_kept_and_locations_resolved(registry).await;
    a_filter_returns_only_the_channels_asked_for(registry).await;
    the_fingerprint_is_stable_while_nothing_changes(registry).await;
}

async fn promoted(registry: &dyn ModelRegistry) -> Promoted {
    registry
        .promoted(&PromotionFilter::default())
        .await
        .expect("promoted()")
}

/// Every promoted version, with its stage, aliases, channels, tags, source, run and resolved
/// location, exactly as MLflow's client reports them; no bad rows in an MLflow-made registry.
pub async fn promoted_versions_are_what_mlflow_reports(
    registry: &dyn ModelRegistry,
    built: &Registry,
    artifacts_destination: &str,
) {
    let promoted = promoted(registry).await;
    assert!(
        promoted.errors.is_empty(),
        "no bad rows in an MLflow-made registry: {:?}",
        promoted.errors
    );
    let want = expected(built.report(), artifacts_destination);
    let got = actual(&promoted);
    assert_eq!(got.len(), want.len(), "\n got: {got:#?}\nwant: {want:#?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
}

/// Of two versions in one stage the higher serves; deleted and archived versions serve nothing.
pub async fn superseded_deleted_and_archived_versions_are_not_served(registry: &dyn ModelRegistry) {
    let promoted = promoted(registry).await;
    let wine: Vec<_> = promoted
        .versions
        .iter()
        .filter(|v| v.name == "wine")
        .collect();
    assert_eq!(
        wine.iter().map(|v| v.version).collect::<Vec<_>>(),
        vec![2, 3],
        "v1 superseded, v4 deleted, v5 archived"
    );
    assert_eq!(
        wine[1].channels,
        vec![
            Channel::Stage(Stage::Production),
            Channel::Alias("champion".into())
        ]
    );
}

/// Prompts (MLflow 3 stores them as registered models) and unpromoted models are not served.
pub async fn prompts_and_unpromoted_models_are_not_served(registry: &dyn ModelRegistry) {
    let promoted = promoted(registry).await;
    assert!(
        promoted
            .versions
            .iter()
            .all(|v| v.name != "greeting" && v.name != "unpromoted")
    );
}

/// Each version carries its registered model's tags (a profile may be named there), apart from
/// its own.
pub async fn registered_model_tags_come_with_each_version(registry: &dyn ModelRegistry) {
    let promoted = promoted(registry).await;
    for v in &promoted.versions {
        let want: BTreeMap<String, String> = match v.name.as_str() {
            "wine" => BTreeMap::from([("team".into(), "ml".into())]),
            _ => BTreeMap::new(),
        };
        assert_eq!(v.model_tags, want, "{} {}", v.name, v.version);
        assert!(
            !v.tags.contains_key("team"),
            "a model tag is not a version tag"
        );
    }
}

/// A 250-character unicode name comes back whole, and no location is left as a `models:` or
/// `runs:` URI.
pub async fn long_names_are_kept_and_locations_resolved(registry: &dyn ModelRegistry) {
    let promoted = promoted(registry).await;
    assert!(promoted.versions.iter().any(|v| v.name == long_name()));
    assert!(
        promoted
            .versions
            .iter()
            .all(|v| !v.artifact_uri.starts_with("models:") && !v.artifact_uri.starts_with("runs:"))
    );
}

/// A filter of Production and the alias `champion` returns only those channels.
pub async fn a_filter_returns_only_the_channels_asked_for(registry: &dyn ModelRegistry) {
    let only_prod = PromotionFilter {
        stages: vec![Stage::Production],
        aliases: AliasSelection::Only(vec!["champion".into()]),
        ..PromotionFilter::default()
    };
    let narrow = registry
        .promoted(&only_prod)
        .await
        .expect("promoted(narrow)");
    assert!(!narrow.versions.is_empty());
    for v in &narrow.versions {
        assert!(!v.channels.is_empty());
        for c in &v.channels {
            assert!(
                matches!(c, Channel::Stage(Stage::Production))
                    || *c == Channel::Alias("champion".into()),
                "{c:?}"
            );
        }
    }
}

/// Two fingerprints with nothing changed between them are equal.
pub async fn the_fingerprint_is_stable_while_nothing_changes(registry: &dyn ModelRegistry) {
    let fingerprint = registry.fingerprint().await.expect("fingerprint");
    assert_eq!(
        registry.fingerprint().await.expect("fingerprint"),
        fingerprint,
        "stable when nothing changed"
    );
}
