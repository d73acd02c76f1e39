//! Rows written around MLflow's API (NULL source, unknown stage, control characters, 64 KiB
//! strings, dangling references) become per-version errors, never a panic, and never hide the
//! good versions.

use crate::suite;

use registry_reader::{Channel, Stage};
use testkit::databases::{Backend, Database};
use testkit::mlflow::{ModelSpec, Scenario, SourceSpec, VersionSpec};

/// SQL text for `'a' + char(10) + 'b'`-style strings, per backend.
fn concat(backend: Backend, parts: &[&str]) -> String {
    match backend {
        Backend::MariaDb => format!("CONCAT({})", parts.join(", ")),
        _ => parts.join(" || "),
    }
}

fn newline(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "chr(10)",
        Backend::Sqlite => "char(10)",
        Backend::MariaDb => "CHAR(10)",
    }
}

fn repeat_x(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => format!("replace(hex(zeroblob({})), '0', 'x')", n / 2),
        _ => format!("REPEAT('x', {n})"),
    }
}

/// Just under MySQL's 65,535-byte TEXT limit.
const BIG_TAG: usize = 65_000;

fn insert_model(db: &Database, name_sql: &str) {
    db.query(&format!("INSERT INTO registered_models (name, creation_time, last_updated_time) VALUES ({name_sql}, 1, 1)"));
}

fn insert_version(
    db: &Database,
    name_sql: &str,
    version: i64,
    stage_sql: &str,
    source_sql: &str,
    status: &str,
) {
    db.query(&format!(
        "INSERT INTO model_versions (name, version, creation_time, last_updated_time, current_stage, source, storage_location, status) \
         VALUES ({name_sql}, {version}, 1, 1, {stage_sql}, {source_sql}, NULL, '{status}')"
    ));
}

async fn hostile(backend: Backend) {
    let built = Scenario::new()
        .model(
            ModelSpec::new("good").version(VersionSpec::new(SourceSpec::Path).stage("Production")),
        )
        .build(backend);
    let db = built.database();
    let nl = newline(backend);

    // One model per hostile row: two rows in one stage would leave the lower one unserved, unreported.
    let h = |n: u8, stage: &str, source: &str, status: &str| {
        let name = format!("'h{n}'");
        insert_model(db, &name);
        insert_version(db, &name, 1, stage, source, status);
    };
    h(1, "'Production'", "NULL", "READY"); // no source at all
    h(2, "'production'", "'s3://b/ok'", "READY"); // not a stage MLflow writes
    h(3, "NULL", "'s3://b/ok'", "READY");
    h(
        4,
        "'Staging'",
        &concat(backend, &["'s3://b/x'", nl, "'y'"]),
        "READY",
    );
    h(5, "'Staging'", "'s3://b/ok'", "FAILED_REGISTRATION");
    insert_model(db, "'refs'");
    insert_version(
        db,
        "'refs'",
        1,
        "'Production'",
        "'models:/m-0000000000000000000000000000dead'",
        "READY",
    );
    insert_version(
        db,
        "'refs'",
        2,
        "'Staging'",
        "'runs:/00000000000000000000000000000000/model'",
        "READY",
    );
    insert_model(db, "'trav'");
    insert_version(
        db,
        "'trav'",
        1,
        "'Production'",
        "'/srv/models/../../etc'",
        "READY",
    );
    // A name with a newline and YAML specials is data, not an error: it is served as is.
    let odd_name = concat(backend, &["'odd'", nl, "': name #x'"]);
    insert_model(db, &odd_name);
    insert_version(db, &odd_name, 1, "'Production'", "'s3://b/odd'", "READY");
    // A bad alias next to a good stage: the alias is reported, the stage still serves.
    db.query("INSERT INTO registered_model_aliases (alias, version, name) VALUES ('bad alias!', 1, 'good')");
    // A 64 KiB tag value is valid data (TEXT on every backend since MLflow 3.2).
    db.query(&format!(
        "INSERT INTO model_version_tags ({k}, value, name, version) VALUES ('big', {}, 'good', 1)",
        repeat_x(backend, BIG_TAG),
        k = if backend == Backend::MariaDb {
            "`key`"
        } else {
            "\"key\""
        }
    ));
    if backend == Backend::Sqlite {
        // Only SQLite stores strings longer than the declared VARCHAR.
        let long = repeat_x(backend, 65536);
        insert_model(db, &long);
        insert_version(db, &long, 1, "'Production'", "'s3://b/ok'", "READY");
        h(
            6,
            "'Staging'",
            &concat(backend, &["'s3://b/'", &long]),
            "READY",
        );
    }

    let promoted = suite::read_promoted(&built.backend_store_uri()).await;

    let served = suite::served(&promoted);
    assert_eq!(
        served,
        vec![("good", 1), ("odd\n: name #x", 1)],
        "{:#?}",
        promoted.errors
    );
    let good = &promoted.versions[0];
    assert_eq!(good.channels, vec![Channel::Stage(Stage::Production)]);
    assert_eq!(good.tags["big"].len(), BIG_TAG);

    let reason = |name: &str, version: u64| -> String {
        promoted
            .errors
            .iter()
            .find(|e| e.name.starts_with(name) && e.version == Some(version))
            .unwrap_or_else(|| panic!("no error for {name} v{version}: {:#?}", promoted.errors))
            .reason
            .clone()
    };
    assert!(reason("h1", 1).contains("no source"));
    assert!(reason("h2", 1).contains("\"production\" is not a stage"));
    assert!(reason("h3", 1).contains("\"NULL\" is not a stage"));
    assert!(reason("h4", 1).contains("control characters"));
    assert!(reason("h5", 1).contains("FAILED_REGISTRATION"));
    assert!(reason("refs", 1).contains("logged_models"));
    assert!(reason("refs", 2).contains("runs"));
    assert!(reason("trav", 1).contains("`..`"));
    assert!(reason("good", 1).contains("bad alias!"));
    let errors_for_h1 = promoted.errors.iter().find(|e| e.name == "h1").unwrap();
    assert_eq!(
        errors_for_h1.channels,
        vec![Channel::Stage(Stage::Production)],
        "the channel a reconciler must keep"
    );
    if backend == Backend::Sqlite {
        assert!(reason("xxxx", 1).contains("bytes long"));
        assert!(reason("h6", 1).contains("bytes long"));
        assert!(
            promoted.errors.iter().all(|e| e.name.len() < 1024),
            "long names are shortened in errors"
        );
    }
}

per_backend!(hostile; sqlite_hostile_rows, mariadb_hostile_rows, postgres_hostile_rows);
