//! Large registries for benchmarks: MLflow makes the schema, set-based SQL fills it in seconds.
//!
//! Shape, MLflow 3 style: `models` registered models `model-00000…`, each with `versions` versions;
//! the highest version is in Production with alias `champion`, the one below in Staging, the rest
//! Archived or None. Every version has `source = models:/m-…` and a concrete
//! `storage_location = s3://bench/models/<model>/<version>/artifacts`; promoted versions carry a tag.

use crate::databases::Backend;
use crate::mlflow::{Registry, Scenario};

/// Builds a registry of `models × versions` versions on `backend`.
pub fn bulk_registry(backend: Backend, models: u32, versions: u32) -> Registry {
    bulk_registry_at(backend, models, versions, "s3://bench/models")
}

/// Like [`bulk_registry`], with storage locations `<storage_root>/<model>/<version>/artifacts`
/// (the caller writes the files there when the benchmark needs them).
pub fn bulk_registry_at(
    backend: Backend,
    models: u32,
    versions: u32,
    storage_root: &str,
) -> Registry {
    assert!(
        versions >= 2,
        "bulk registries promote the top two versions of each model"
    );
    let registry = Scenario::new().build(backend);
    let db = registry.database();
    let last = models - 1;
    // Per backend: the number generator, the model name of number `i`, `i` as 8 digits, a cast to text.
    let cast_text: fn(&str) -> String = match backend {
        Backend::MariaDb => |e| format!("CAST({e} AS CHAR)"),
        _ => |e| format!("CAST({e} AS TEXT)"),
    };
    let (numbers, name, id8) = match backend {
        Backend::Sqlite => (
            format!(
                "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {last}) "
            ),
            "printf('model-%05d', i)".to_owned(),
            "printf('%08d', i)".to_owned(),
        ),
        Backend::Postgres => (
            String::new(),
            "'model-' || lpad(i::text, 5, '0')".to_owned(),
            "lpad(i::text, 8, '0')".to_owned(),
        ),
        Backend::MariaDb => (
            String::new(),
            "CONCAT('model-', LPAD(i, 5, '0'))".to_owned(),
            "LPAD(i, 8, '0')".to_owned(),
        ),
    };
    let from_numbers = match backend {
        Backend::Sqlite => "FROM n".to_owned(),
        Backend::Postgres => format!("FROM generate_series(0, {last}) AS g(i)"),
        Backend::MariaDb => format!("FROM (SELECT seq AS i FROM seq_0_to_{last}) AS g"),
    };
    let from_versions = match backend {
        Backend::Sqlite => format!(
            "FROM n, (WITH RECURSIVE w(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM w WHERE v < {versions}) SELECT v FROM w) AS vv"
        ),
        Backend::Postgres => format!(
            "FROM generate_series(0, {last}) AS g(i), generate_series(1, {versions}) AS vv(v)"
        ),
        Backend::MariaDb => format!(
            "FROM (SELECT seq AS i FROM seq_0_to_{last}) AS g, (SELECT seq AS v FROM seq_1_to_{versions}) AS vv"
        ),
    };
    let concat = |parts: &[String]| match backend {
        Backend::MariaDb => format!("CONCAT({})", parts.join(", ")),
        _ => parts.join(" || "),
    };
    let v = cast_text("v");
    let key = if backend == Backend::MariaDb {
        "`key`"
    } else {
        "\"key\""
    };
    let now = 1_795_000_000_000_i64;
    let statements = [
        format!(
            "{numbers}INSERT INTO registered_models (name, creation_time, last_updated_time) SELECT {name}, {now}, {now} {from_numbers}"
        ),
        format!(
            "{numbers}INSERT INTO model_versions (name, version, creation_time, last_updated_time, current_stage, source, storage_location, status) \
             SELECT {name}, v, {now}, {now} + v, \
             CASE WHEN v = {versions} THEN 'Production' WHEN v = {versions} - 1 THEN 'Staging' WHEN v % 2 = 0 THEN 'Archived' ELSE 'None' END, \
             {}, {}, 'READY' {from_versions}",
            concat(&["'models:/m-'".into(), id8, v.clone()]),
            concat(&[
                format!(
                    "'{}/'",
                    storage_root.trim_end_matches('/').replace('\'', "''")
                ),
                name.clone(),
                "'/'".into(),
                v.clone(),
                "'/artifacts'".into()
            ]),
        ),
        format!(
            "{numbers}INSERT INTO registered_model_aliases (alias, version, name) SELECT 'champion', {versions}, {name} {from_numbers}"
        ),
        format!(
            "{numbers}INSERT INTO model_version_tags ({key}, value, name, version) \
             SELECT 'validated', 'yes', {name}, v {from_versions} WHERE v >= {versions} - 1"
        ),
    ];
    for sql in &statements {
        db.query(sql);
    }
    let count = db.query("SELECT COUNT(*) FROM model_versions");
    assert_eq!(
        count[0][0],
        (u64::from(models) * u64::from(versions)).to_string(),
        "bulk insert count"
    );
    registry
}

/// Adds version `version` of `model` in Production (what a promotion does to the rows), with its
/// storage location under `storage_root`, on a SQLite registry made by [`bulk_registry_at`].
pub fn promote_new_version(registry: &Registry, model: &str, version: u32, storage_root: &str) {
    let now = 1_796_000_000_000_i64 + i64::from(version);
    let location = format!(
        "{}/{model}/{version}/artifacts",
        storage_root.trim_end_matches('/')
    );
    let db = registry.database();
    db.query(&format!(
        "INSERT INTO model_versions (name, version, creation_time, last_updated_time, current_stage, source, storage_location, status) \
         VALUES ('{model}', {version}, {now}, {now}, 'Production', 'models:/m-new-{version}', '{}', 'READY')",
        location.replace('\'', "''")
    ));
    db.query(&format!(
        "UPDATE registered_models SET last_updated_time = {now} WHERE name = '{model}'"
    ));
}

/// Where [`bulk_registry_at`] says the files of `model` version `version` are, under the local
/// directory `storage` that `storage_root` (`file://<storage>`) names.
pub fn model_dir(storage: &std::path::Path, model: &str, version: u32) -> std::path::PathBuf {
    storage
        .join(model)
        .join(version.to_string())
        .join("artifacts")
}

/// A model directory of 5 files of `size` bytes, one in a nested folder (`data/`), as MLflow lays
/// out a logged model; `seed` varies the bytes so versions differ. `MLmodel` and
/// `requirements.txt` are what MLflow writes for a scikit-learn model (padded with comments), so
/// the environment check reads them as it reads a real model's.
pub fn write_model_files(dir: &std::path::Path, seed: usize, size: usize) {
    std::fs::create_dir_all(dir.join("data")).expect("testkit: model dir");
    let texts = [
        (
            "MLmodel",
            "flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n  sklearn:\n    sklearn_version: 1.9.1\n",
        ),
        ("requirements.txt", "mlflow==3.17.2\nscikit-learn==1.9.1\n"),
    ];
    for (name, text) in texts {
        let mut bytes = format!("{text}# seed {seed}\n").into_bytes();
        while bytes.len() + 2 <= size {
            let fill = (size - bytes.len() - 2).min(100);
            bytes.push(b'#');
            bytes.extend(std::iter::repeat_n(b'x', fill));
            bytes.push(b'\n');
        }
        std::fs::write(dir.join(name), bytes).expect("testkit: model file");
    }
    for (i, name) in ["model.pkl", "conda.yaml", "data/weights.bin"]
        .iter()
        .enumerate()
    {
        std::fs::write(dir.join(name), vec![(seed + i) as u8; size]).expect("testkit: model file");
    }
}
