//! `SqlRegistry` on registries made by MLflow 3.17 itself, on SQLite, MariaDB and PostgreSQL.

use crate::suite;

use registry_reader::{SqlRegistry, resolve};
use testkit::databases::Backend;
use testkit::mlflow::{ModelSpec, Scenario, VersionSpec};

async fn conformance(backend: Backend) {
    let built = registry_reader::conformance::scenario().build(backend);
    if backend == Backend::MariaDb {
        assert!(
            built.report().errors.iter().any(|e| e.model == "iris"),
            "MariaDB's case-insensitive key refuses `iris` beside `Iris`: {:?}",
            built.report().errors
        );
    } else {
        assert!(
            built.report().errors.is_empty(),
            "{:?}",
            built.report().errors
        );
    }
    let destination = resolve::file_uri(&built.artifacts_destination().to_string_lossy());
    let registry = SqlRegistry::connect(&built.backend_store_uri())
        .await
        .expect("connect")
        .with_artifacts_destination(destination.clone());
    registry_reader::conformance::run_all(&registry, &built, &destination).await;
}

#[tokio::test]
async fn mlflow_artifacts_without_destination_is_a_per_version_error() {
    let built = Scenario::new()
        .model(
            ModelSpec::new("served").version(
                VersionSpec::new(testkit::mlflow::SourceSpec::MlflowArtifacts {
                    path: "1/m".into(),
                })
                .stage("Production"),
            ),
        )
        .model(
            ModelSpec::new("fine")
                .version(VersionSpec::new(testkit::mlflow::SourceSpec::Path).stage("Production")),
        )
        .build(Backend::Sqlite);
    let promoted = suite::read_promoted(&built.backend_store_uri()).await;
    assert_eq!(suite::served(&promoted), vec![("fine", 1)]);
    assert_eq!(promoted.errors.len(), 1);
    assert_eq!(promoted.errors[0].name, "served");
    assert!(
        promoted.errors[0].reason.contains("artifacts-destination"),
        "{}",
        promoted.errors[0]
    );
}

#[tokio::test]
async fn unreachable_database_names_the_uri_without_password() {
    for uri in [
        "mysql+pymysql://root:hunter2-secret@127.0.0.1:1/mlflow",
        "postgresql://postgres:hunter2-secret@127.0.0.1:1/mlflow",
    ] {
        let err = SqlRegistry::connect(uri)
            .await
            .expect_err("nothing listens on port 1")
            .to_string();
        assert!(err.contains("127.0.0.1:1/mlflow"), "{err}");
        assert!(err.contains("://***@"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }
    let missing = SqlRegistry::connect("sqlite:////nonexistent/dir/mlflow.db")
        .await
        .expect_err("no file")
        .to_string();
    assert!(missing.contains("/nonexistent/dir/mlflow.db"), "{missing}");
}

#[tokio::test]
async fn a_database_without_registry_tables_is_refused() {
    let db = testkit::databases::Database::fresh(Backend::Postgres);
    db.query("CREATE TABLE unrelated (id INT)");
    let err = SqlRegistry::connect(&db.mlflow_uri())
        .await
        .expect_err("not a registry")
        .to_string();
    assert!(err.contains("model_versions"), "{err}");
}

per_backend!(conformance; sqlite_conformance, mariadb_conformance, postgres_conformance);
