//! registry-reader on a 100,000-version registry (10,000 models × 10 versions; 20,000 promoted by
//! stage, 10,000 aliases), on SQLite, MariaDB and PostgreSQL, side by side with a full scan through
//! MLflow's own REST search of the same SQLite registry.
//!
//! Goals (issue 4): `promoted()` < 200 ms, `fingerprint()` < 5 ms.
//! Run: `cargo bench -p benches --bench registry_read` (builds the registries first, ~2 min;
//! `BENCH_BACKENDS=MariaDb,Postgres` for some backends only).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use registry_reader::{ModelRegistry, PromotionFilter, SqlRegistry};
use testkit::bulk::bulk_registry;
use testkit::databases::Backend;
use testkit::mlflow_server::MlflowServer;

const MODELS: u32 = 10_000;
const VERSIONS: u32 = 10;

fn registry_read(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let filter = PromotionFilter::default();
    let mut group = c.benchmark_group("registry_100k");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));

    // BENCH_BACKENDS=Sqlite,Postgres runs only those (building a registry takes ~30 s each).
    let only = std::env::var("BENCH_BACKENDS").ok();
    for backend in Backend::ALL {
        if only
            .as_deref()
            .is_some_and(|o| !o.split(',').any(|b| b == format!("{backend:?}")))
        {
            continue;
        }
        let built = bulk_registry(backend, MODELS, VERSIONS);
        let registry = rt
            .block_on(SqlRegistry::connect(&built.backend_store_uri()))
            .expect("connect");
        let promoted = rt.block_on(registry.promoted(&filter)).expect("promoted");
        assert_eq!(promoted.versions.len(), 2 * MODELS as usize, "{backend:?}");
        assert!(promoted.errors.is_empty());

        group.bench_function(format!("{backend:?}/promoted"), |b| {
            b.iter(|| black_box(rt.block_on(registry.promoted(&filter)).expect("promoted")))
        });
        group.bench_function(format!("{backend:?}/fingerprint_unchanged"), |b| {
            b.iter(|| black_box(rt.block_on(registry.fingerprint()).expect("fingerprint")))
        });
        if backend == Backend::Sqlite {
            // After a write the cheap data_version check fails and the exact hash is recomputed.
            let mut n = 0u32;
            group.bench_function("Sqlite/fingerprint_after_write", |b| {
                b.iter_batched(
                    || {
                        n += 1;
                        built.database().query(&format!(
                            "UPDATE model_version_tags SET value = 'y{n}' WHERE name = 'model-00001'"
                        ));
                    },
                    |()| black_box(rt.block_on(registry.fingerprint()).expect("fingerprint")),
                    BatchSize::PerIteration,
                )
            });

            // MLflow's own REST search over the same registry: what a REST poller pays per pass.
            let server = MlflowServer::start(&built);
            let client = reqwest::Client::new();
            let url = format!("{}/api/2.0/mlflow/model-versions/search", server.url());
            group.bench_function("Sqlite/mlflow_rest_search_all_versions", |b| {
                b.iter(|| rt.block_on(search_all(&client, &url)))
            });
        }
    }
    group.finish();
}

/// Every version through MLflow's REST search, paged with MLflow's default-client page size.
async fn search_all(client: &reqwest::Client, url: &str) -> usize {
    let mut token = String::new();
    let mut seen = 0;
    loop {
        let mut query = vec![
            ("max_results", "10000"),
            ("order_by", "name ASC"),
            ("order_by", "version_number ASC"),
        ];
        if !token.is_empty() {
            query.push(("page_token", token.as_str()));
        }
        let page: serde_json::Value = client
            .get(url)
            .query(&query)
            .send()
            .await
            .expect("search")
            .json()
            .await
            .expect("json");
        seen += page["model_versions"].as_array().map_or(0, Vec::len);
        match page["next_page_token"].as_str() {
            Some(next) if !next.is_empty() => token = next.to_owned(),
            _ => break,
        }
    }
    assert_eq!(seen, (MODELS * VERSIONS) as usize);
    seen
}

criterion_group!(benches, registry_read);
criterion_main!(benches);
