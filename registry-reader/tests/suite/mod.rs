//! The registry conformance suite: every `ModelRegistry` implementation, on every backend, must
//! answer what MLflow's own client reports for the same registry.

use std::collections::BTreeMap;

use registry_reader::{Channel, ModelRegistry, Promoted, PromotionFilter, Stage, resolve};
use testkit::mlflow::{ModelSpec, Registry, Report, Scenario, SourceSpec, VersionSpec};

/// `promoted()` with the default filter on a freshly connected `SqlRegistry` at `uri`.
pub async fn read_promoted(uri: &str) -> Promoted {
    let registry = registry_reader::SqlRegistry::connect(uri)
        .await
        .expect("connect");
    registry
        .promoted(&PromotionFilter::default())
        .await
        .expect("a bad row is no failure of the read")
}

/// (name, version) of every served version, in order.
pub fn served(promoted: &Promoted) -> Vec<(&str, u64)> {
    promoted
        .versions
        .iter()
        .map(|v| (v.name.as_str(), v.version))
        .collect()
}

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
    pub name: String,
    pub version: u64,
    pub stage: String,
    pub aliases: Vec<String>,
    pub channels: Vec<Channel>,
    pub tags: BTreeMap<String, String>,
    pub source: String,
    pub run_id: Option<String>,
    pub artifact_uri: String,
}

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

/// Runs the suite on `registry`, which reads the registry MLflow built as `built`.
pub async fn registry_suite(
    registry: &dyn ModelRegistry,
    built: &Registry,
    artifacts_destination: &str,
) {
    let report = built.report();
    let promoted = registry
        .promoted(&PromotionFilter::default())
        .await
        .expect("promoted()");
    assert!(
        promoted.errors.is_empty(),
        "no bad rows in an MLflow-made registry: {:?}",
        promoted.errors
    );
    let want = expected(report, artifacts_destination);
    let got = actual(&promoted);
    assert_eq!(got.len(), want.len(), "\n got: {got:#?}\nwant: {want:#?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }

    // The cases the scenario exists for, stated outright so a wrong report cannot hide them.
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
    assert!(
        promoted
            .versions
            .iter()
            .all(|v| v.name != "greeting" && v.name != "unpromoted")
    );
    assert!(promoted.versions.iter().any(|v| v.name == long_name()));
    assert!(promoted.versions.iter().all(|v| !v.artifact_uri.starts_with("models:") && !v.artifact_uri.starts_with("runs:")));

    // Only the channels asked for.
    let only_prod = PromotionFilter {
        stages: vec![Stage::Production],
        aliases: registry_reader::AliasSelection::Only(vec!["champion".into()]),
        ..PromotionFilter::default()
    };
    let narrow = registry
        .promoted(&only_prod)
        .await
        .expect("promoted(narrow)");
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
    let fingerprint = registry.fingerprint().await.expect("fingerprint");
    assert_eq!(
        registry.fingerprint().await.expect("fingerprint"),
        fingerprint,
        "stable when nothing changed"
    );
}
