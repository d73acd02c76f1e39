//! `RestRegistry` against a real `mlflow server` agrees with `SqlRegistry` on the same store, and
//! both agree with MLflow's own client.

use registry_reader::{ModelRegistry, PromotionFilter, RestRegistry, SqlRegistry, resolve};
use testkit::databases::Backend;
use testkit::mlflow_server::MlflowServer;

async fn agree(backend: Backend) {
    let built = registry_reader::conformance::scenario().build(backend);
    let server = MlflowServer::start(&built);
    let destination = resolve::file_uri(&built.artifacts_destination().to_string_lossy());
    let rest = RestRegistry::new(server.url())
        .expect("rest")
        .with_artifacts_destination(destination.clone());
    registry_reader::conformance::run_all(&rest, &built, &destination).await;

    let sql = SqlRegistry::connect(&built.backend_store_uri())
        .await
        .expect("sql")
        .with_artifacts_destination(destination);
    let filter = PromotionFilter::default();
    let (from_rest, from_sql) = (
        rest.promoted(&filter).await.expect("rest"),
        sql.promoted(&filter).await.expect("sql"),
    );
    assert_eq!(
        from_rest,
        from_sql,
        "REST and SQL disagree; server log:\n{}",
        server.log()
    );
}

#[tokio::test]
async fn sqlite_store_over_rest() {
    agree(Backend::Sqlite).await;
}

#[tokio::test]
async fn postgres_store_over_rest() {
    agree(Backend::Postgres).await;
}

#[tokio::test]
async fn unreachable_server_is_one_clear_error() {
    let rest = RestRegistry::new("http://user:hunter2@127.0.0.1:1").expect("valid URI");
    let err = rest
        .promoted(&PromotionFilter::default())
        .await
        .expect_err("nothing listens")
        .to_string();
    assert!(err.contains("http://***@127.0.0.1:1"), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
    assert!(RestRegistry::new("ftp://x").is_err());
}
