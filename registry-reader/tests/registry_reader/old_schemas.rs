//! Registries made by old MLflow releases (1.30.1: no aliases, no `storage_location`; 2.9.2:
//! aliases and `storage_location`, no logged models) read as their own clients report them.
//! Fixtures: `tests/fixtures/make_old_registries.sh` regenerates the `.db` files and reports.

use crate::suite;

use std::path::Path;

use registry_reader::{Channel, Stage};
use testkit::mlflow::Report;

async fn check(version: &str) -> registry_reader::Promoted {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let report: Report = serde_json::from_str(
        &std::fs::read_to_string(dir.join(format!("mlflow-{version}.json")))
            .expect("fixture report"),
    )
    .expect("report JSON");
    assert_eq!(report.mlflow_version, version);
    let db = dir.join(format!("mlflow-{version}.db"));
    let promoted = suite::read_promoted(&format!("sqlite:///{}", db.display())).await;
    assert!(promoted.errors.is_empty(), "{:?}", promoted.errors);
    assert_eq!(
        registry_reader::conformance::actual(&promoted),
        registry_reader::conformance::expected(&report, "file:///unused")
    );
    promoted
}

#[tokio::test]
async fn mlflow_1_30_registry() {
    let promoted = check("1.30.1").await;
    let served = suite::served(&promoted);
    assert_eq!(
        served,
        vec![("Iris", 1), ("wine", 2), ("wine", 3)],
        "deleted v4, superseded v1, archived"
    );
    assert!(
        promoted.versions[2]
            .artifact_uri
            .starts_with("file:///srv/mlflow/artifacts/"),
        "runs:/ resolved via runs"
    );
}

#[tokio::test]
async fn mlflow_2_9_registry() {
    let promoted = check("2.9.2").await;
    let channels: Vec<(&str, u64, Vec<Channel>)> = promoted
        .versions
        .iter()
        .map(|v| (v.name.as_str(), v.version, v.channels.clone()))
        .collect();
    assert_eq!(
        channels,
        vec![
            ("Iris", 1, vec![Channel::Stage(Stage::Staging)]),
            ("archived-only", 1, vec![Channel::Alias("keep".into())]),
            ("wine", 1, vec![Channel::Alias("champion".into())]),
            ("wine", 2, vec![Channel::Stage(Stage::Staging)]),
            ("wine", 3, vec![Channel::Stage(Stage::Production)]),
        ]
    );
}
