//! `fingerprint()` changes with every change that can change `promoted()`, including the ones
//! MLflow makes without touching `last_updated_time` (aliases, tags), and not with unrelated writes.

use registry_reader::{ModelRegistry, SqlRegistry};
use testkit::databases::Backend;
use testkit::mlflow::{ModelSpec, Scenario, SourceSpec, VersionSpec};

async fn sensitivity(backend: Backend) {
    let mut built = Scenario::new()
        .model(
            ModelSpec::new("wine")
                .version(
                    VersionSpec::new(SourceSpec::Path)
                        .stage("Production")
                        .alias("champion")
                        .tag("gate", "yes"),
                )
                .version(VersionSpec::new(SourceSpec::Path).stage("Staging")),
        )
        .build(backend);
    let registry = SqlRegistry::connect(&built.backend_store_uri())
        .await
        .expect("connect");
    let db = built.database();
    let mut last = registry.fingerprint().await.expect("fingerprint");
    assert_eq!(
        registry.fingerprint().await.unwrap(),
        last,
        "stable with no change"
    );

    let key = if backend == Backend::MariaDb {
        "`key`"
    } else {
        "\"key\""
    };
    let changes = [
        (
            "alias moved",
            "UPDATE registered_model_aliases SET version = 2 WHERE alias = 'champion'".to_owned(),
        ),
        (
            "tag value, same length",
            format!("UPDATE model_version_tags SET value = 'nop' WHERE {key} = 'gate'"),
        ),
        (
            "stage, same timestamp",
            "UPDATE model_versions SET current_stage = 'Archived' WHERE version = 2".to_owned(),
        ),
        (
            "alias deleted",
            "DELETE FROM registered_model_aliases WHERE alias = 'champion'".to_owned(),
        ),
    ];
    for (what, sql) in changes {
        db.query(&sql);
        let now = registry.fingerprint().await.expect("fingerprint");
        assert_ne!(now, last, "{what} must change the fingerprint");
        last = now;
    }

    // Unrelated tracking data: a new experiment. promoted() cannot change, so neither may the fingerprint.
    db.query("INSERT INTO experiments (name, artifact_location, lifecycle_stage) VALUES ('unrelated', '/tmp/x', 'active')");
    assert_eq!(
        registry.fingerprint().await.unwrap(),
        last,
        "unrelated writes keep the fingerprint"
    );

    // A new version made by MLflow.
    let report = built.extend(
        &Scenario::new().model(ModelSpec::new("wine").version(VersionSpec::new(SourceSpec::Path))),
    );
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_ne!(
        registry.fingerprint().await.unwrap(),
        last,
        "a new version changes it"
    );
}

per_backend!(sensitivity; sqlite_fingerprint, mariadb_fingerprint, postgres_fingerprint);
