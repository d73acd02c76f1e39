//! Registries are made by MLflow itself on every backend: the rows a plain SQL query sees match
//! MLflow's own JSON report.

use testkit::databases::Backend;
use testkit::mlflow::{ModelSpec, Scenario, SourceSpec, VersionSpec};

fn scenario() -> Scenario {
    Scenario::new()
        .model(
            ModelSpec::new("wine")
                .tag("team", "ml")
                .version(VersionSpec::logged_model().stage("Archived"))
                .version(
                    VersionSpec::logged_model()
                        .stage("Production")
                        .alias("champion")
                        .tag("k", "v"),
                )
                .version(VersionSpec::new(SourceSpec::RunsUri).stage("Staging"))
                .version(VersionSpec::new(SourceSpec::Path).alias("gone").deleted()),
        )
        .model(ModelSpec::prompt("greeting", "Hello {{name}}"))
        .model(ModelSpec::new("bad/name"))
}

fn check(backend: Backend) {
    let registry = scenario().build(backend);
    let report = registry.report();
    assert_eq!(report.mlflow_version, "3.17.2");
    assert_eq!(
        report.errors.len(),
        1,
        "MLflow refuses '/' in names: {:?}",
        report.errors
    );
    assert!(report.errors[0].error.contains("bad/name"));

    // MLflow's view: deleted version 4 and the prompt are not listed.
    let seen: Vec<(i64, &str, Vec<String>)> = report
        .versions_of("wine")
        .map(|v| (v.version, v.stage.as_str(), v.aliases.clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (1, "Archived", vec![]),
            (2, "Production", vec!["champion".to_owned()]),
            (3, "Staging", vec![]),
        ]
    );
    assert!(report.versions.iter().all(|v| v.name == "wine"));
    let v2 = &report.versions[1];
    assert!(v2.source.starts_with("models:/m-"), "{}", v2.source);
    assert!(v2.resolved_uri.starts_with("file://") && v2.resolved_uri.ends_with("/artifacts"));
    let v3 = &report.versions[2];
    assert!(v3.download_uri.starts_with("runs:/"));
    assert!(
        v3.resolved_uri.ends_with("/artifacts/model"),
        "{}",
        v3.resolved_uri
    );

    // The database's view, through the vendor's own CLI.
    let rows = registry.database().query(
        "SELECT name, version, current_stage, source FROM model_versions ORDER BY name, version",
    );
    let wine: Vec<&Vec<String>> = rows.iter().filter(|r| r[0] == "wine").collect();
    assert_eq!(wine.len(), 4);
    for (row, reported) in wine.iter().zip(&report.versions) {
        assert_eq!(row[1], reported.version.to_string());
        assert_eq!(row[2], reported.stage);
        assert_eq!(row[3], reported.source);
    }
    assert_eq!(wine[3][2], "Deleted_Internal");
    assert_eq!(wine[3][3], "REDACTED-SOURCE-PATH");
    assert!(
        rows.iter().any(|r| r[0] == "greeting"),
        "the prompt is stored as a model version"
    );

    let aliases = registry
        .database()
        .query("SELECT alias, version FROM registered_model_aliases WHERE name = 'wine'");
    assert_eq!(aliases, vec![vec!["champion".to_owned(), "2".to_owned()]]);
}

#[test]
fn sqlite_registry_made_by_mlflow() {
    check(Backend::Sqlite);
}

#[test]
fn mariadb_registry_made_by_mlflow() {
    check(Backend::MariaDb);
}

#[test]
fn postgres_registry_made_by_mlflow() {
    check(Backend::Postgres);
}
