//! The bulk generator makes exactly the registry it documents, on every backend.

use testkit::bulk::bulk_registry;
use testkit::databases::Backend;

#[test]
fn bulk_shape_on_every_backend() {
    for backend in Backend::ALL {
        let registry = bulk_registry(backend, 30, 4);
        let db = registry.database();
        let rows = db.query(
            "SELECT current_stage, COUNT(*) FROM model_versions GROUP BY current_stage ORDER BY current_stage",
        );
        let counts: Vec<(String, String)> = rows
            .into_iter()
            .map(|r| (r[0].clone(), r[1].clone()))
            .collect();
        assert_eq!(
            counts,
            vec![
                ("Archived".into(), "30".into()),
                ("None".into(), "30".into()),
                ("Production".into(), "30".into()),
                ("Staging".into(), "30".into())
            ],
            "{backend:?}"
        );
        let one = db.query("SELECT source, storage_location FROM model_versions WHERE name = 'model-00007' AND version = 4");
        assert_eq!(
            one,
            vec![vec![
                "models:/m-000000074".to_owned(),
                "s3://bench/models/model-00007/4/artifacts".to_owned()
            ]],
            "{backend:?}"
        );
        assert_eq!(
            db.query("SELECT COUNT(*) FROM registered_model_aliases")[0][0],
            "30"
        );
        assert_eq!(
            db.query("SELECT COUNT(*) FROM model_version_tags")[0][0],
            "60"
        );
    }
}
