//! [`SqlRegistry`]: reads MLflow's registry tables directly, on SQLite, MySQL/MariaDB or PostgreSQL.

mod dialect;
mod read;
mod schema;

use std::collections::HashMap;

use async_trait::async_trait;
use redaction::RedactedError;
use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Row};
use tokio::sync::Mutex;

use self::dialect::Dialect;
use self::read::Reader;
use self::schema::Schema;
use crate::assemble::{self, Lookups, RawState, RawVersion, hash_state};
use crate::uri::{BackendUri, Kind};
use crate::{Error, Fingerprint, ModelRegistry, Promoted, PromotionFilter};

/// Rows per `IN (…)` list: below every engine's bind-parameter limit.
const IN_CHUNK: usize = 500;

/// An MLflow registry read straight from its database, read-only.
///
/// Opened from the same URI as `mlflow server --backend-store-uri`. The schema generation
/// (MLflow 1.x to 3.x) is detected once at connect time.
pub struct SqlRegistry {
    uri: BackendUri,
    dialect: Dialect,
    schema: Schema,
    pool: AnyPool,
    artifacts_destination: Option<String>,
    /// The last change token and the fingerprint computed right after reading it.
    probe: Mutex<Probe>,
}

/// State of the cheap change check behind `fingerprint()`.
struct Probe {
    /// SQLite's `data_version` is per connection, so SQLite keeps one connection for it.
    sqlite: Option<sqlx::AnyConnection>,
    seen: Option<(String, Fingerprint)>,
}

impl std::fmt::Debug for SqlRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlRegistry")
            .field("uri", &self.uri)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl SqlRegistry {
    /// Connects to the registry at `uri` (MLflow's backend-store URI form) and detects its schema.
    pub async fn connect(uri: &str) -> Result<SqlRegistry, Error> {
        sqlx::any::install_default_drivers();
        let uri = BackendUri::parse(uri)?;
        if !uri.kind().is_built_in() {
            return Err(Error::UnsupportedUri {
                uri: uri.to_string(),
                reason: format!(
                    "this build has no {:?} driver: turn on registry-reader's `{}` feature",
                    uri.kind(),
                    uri.kind().feature()
                ),
            });
        }
        let sqlite = uri.kind() == Kind::Sqlite;
        let pool = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(std::time::Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    // Each SQLite connection keeps its own page cache (up to 2 MB by default)
                    // for as long as the pool keeps it: up to 10 MB over the pool and the probe,
                    // in a daemon that rests under 30. A read only follows a change of the
                    // registry, which empties the cache anyway, and pages missed come from the
                    // OS's cache: 64 KiB holds a scan's interior B-tree pages.
                    if sqlite {
                        sqlx::query("PRAGMA cache_size = -64").execute(conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(uri.sqlx_url())
            .await
            .map_err(|e| Error::Connect {
                uri: uri.to_string(),
                source: RedactedError::new(e, |text| uri.scrub(text)),
            })?;
        let dialect = Dialect(uri.kind());
        let catalog: Vec<(String, String)> = sqlx::query_as(dialect.catalog_query())
            .fetch_all(&pool)
            .await
            .map_err(|e| Error::Query {
                uri: uri.to_string(),
                what: "the schema catalog",
                source: RedactedError::new(e, |text| uri.scrub(text)),
            })?;
        let schema = Schema::from_catalog(catalog).map_err(|reason| Error::NotARegistry {
            uri: uri.to_string(),
            reason,
        })?;
        let sqlite = if sqlite {
            let conn = pool.acquire().await.map_err(|e| Error::Connect {
                uri: uri.to_string(),
                source: RedactedError::new(e, |text| uri.scrub(text)),
            })?;
            Some(conn.detach())
        } else {
            None
        };
        Ok(SqlRegistry {
            uri,
            dialect,
            schema,
            pool,
            artifacts_destination: None,
            probe: Mutex::new(Probe { sqlite, seen: None }),
        })
    }

    /// Sets the tracking server's `--artifacts-destination` (e.g. `s3://mlflow/artifacts`), which
    /// `mlflow-artifacts:/…` locations are relative to. Without it such versions are reported as
    /// per-version errors.
    pub fn with_artifacts_destination(mut self, destination: impl Into<String>) -> SqlRegistry {
        self.artifacts_destination = Some(destination.into());
        self
    }

    /// The registry's URI, without its password.
    pub fn uri(&self) -> &BackendUri {
        &self.uri
    }

    fn query_error(&self, what: &'static str) -> impl Fn(sqlx::Error) -> Error + '_ {
        move |e| Error::Query {
            uri: self.uri.to_string(),
            what,
            source: RedactedError::new(e, |text| self.uri.scrub(text)),
        }
    }

    /// `AND <alias>.workspace = <outer>.workspace`, when the schema has workspaces.
    fn same_workspace(&self, inner: &str, outer: &str) -> String {
        if self.schema.workspace {
            format!(" AND {inner}.workspace = {outer}.workspace")
        } else {
            String::new()
        }
    }

    /// `<table>.workspace = <workspace> AND `, when the schema has workspaces.
    fn workspace_is(&self, table: &str) -> String {
        if self.schema.workspace {
            format!("{table}.workspace = {} AND ", self.dialect.placeholder(1))
        } else {
            String::new()
        }
    }

    /// `SELECT <columns>` of the candidate versions `mv`: not deleted, and either in a stage other
    /// than None/Archived (unknown stages included, to be reported) or aliased.
    ///
    /// Two branches instead of one `OR EXISTS (…)`: the scan then never probes the alias table for
    /// the many None/Archived rows (3× faster on 100,000 versions); aliased versions come by primary
    /// key from the small alias table.
    fn candidates(&self, columns: &str) -> String {
        let staged = format!(
            "SELECT {columns} FROM model_versions mv WHERE {}\
             (mv.current_stage IS NULL OR mv.current_stage NOT IN ('None', 'Archived', 'Deleted_Internal'))",
            self.workspace_is("mv")
        );
        if !self.schema.aliases {
            return staged;
        }
        format!(
            "{staged} UNION ALL SELECT {columns} FROM registered_model_aliases a \
             JOIN model_versions mv ON mv.name = a.name AND mv.version = a.version{} \
             WHERE {}mv.current_stage IN ('None', 'Archived')",
            self.same_workspace("mv", "a"),
            self.workspace_is("a")
        )
    }

    /// Reads the rows that decide promotions.
    async fn state(&self, workspace: &str) -> Result<RawState, Error> {
        let location = if self.schema.storage_location {
            "mv.storage_location"
        } else {
            "NULL"
        };
        let columns = format!(
            "mv.name AS c0, mv.version AS c1, mv.current_stage AS c2, mv.source AS c3, mv.run_id AS c4, \
             mv.status AS c5, mv.last_updated_time AS c6, {location} AS c7"
        );
        type VersionRow = (
            String,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<String>,
        );
        let candidates = self.candidates(&columns);
        // The four reads go to separate pooled connections at once, each decoding its rows on a
        // task of its own while the database is still scanning for the others.
        let (rows, aliases, tags, model_tags) = tokio::try_join!(
            self.reader()
                .rows::<VersionRow>(&candidates, 8, workspace, "model versions"),
            self.aliases(workspace),
            self.version_tags(workspace),
            self.model_tags(workspace),
        )?;
        let versions = rows
            .into_iter()
            .map(
                |(
                    name,
                    version,
                    stage,
                    source,
                    run_id,
                    status,
                    last_updated_ms,
                    storage_location,
                )| RawVersion {
                    workspace: workspace.to_owned(),
                    name,
                    version,
                    stage,
                    source,
                    storage_location,
                    run_id,
                    status,
                    last_updated_ms,
                },
            )
            .collect();
        let mut state = RawState {
            versions,
            aliases,
            tags,
            ..Default::default()
        };
        state.add_model_tags(model_tags);
        Ok(state)
    }

    /// (name, alias, version) of every alias in the workspace.
    async fn aliases(&self, workspace: &str) -> Result<Vec<(String, String, i64)>, Error> {
        if !self.schema.aliases {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT a.name AS c0, a.alias AS c1, a.version AS c2 FROM registered_model_aliases a WHERE {}1 = 1",
            self.workspace_is("a")
        );
        self.reader().rows(&sql, 3, workspace, "aliases").await
    }

    /// (name, version, key, value) of every version tag in the workspace.
    async fn version_tags(
        &self,
        workspace: &str,
    ) -> Result<Vec<(String, i64, String, String)>, Error> {
        if !self.schema.version_tags {
            return Ok(Vec::new());
        }
        let key = self.dialect.key_column();
        // All tags of the workspace, filtered in Rust: one range scan is far cheaper than
        // joining each tag to its version (50,000 index seeks on 100,000 versions).
        let sql = format!(
            "SELECT t.name AS c0, t.version AS c1, t.{key} AS c2, t.value AS c3 \
             FROM model_version_tags t WHERE {}1 = 1",
            self.workspace_is("t")
        );
        let tags: Vec<(String, i64, String, Option<String>)> = self
            .reader()
            .rows(&sql, 4, workspace, "version tags")
            .await?;
        Ok(tags
            .into_iter()
            .map(|(n, v, k, value)| (n, v, k, value.unwrap_or_default()))
            .collect())
    }

    /// (name, key, value) of every registered-model tag in the workspace: few rows (one set per
    /// model), and they say which models are prompts.
    async fn model_tags(&self, workspace: &str) -> Result<Vec<(String, String, String)>, Error> {
        if !self.schema.model_tags {
            return Ok(Vec::new());
        }
        let key = self.dialect.key_column();
        let sql = format!(
            "SELECT t.name AS c0, t.{key} AS c1, t.value AS c2 FROM registered_model_tags t \
             WHERE {}1 = 1",
            self.workspace_is("t")
        );
        let tags: Vec<(String, String, Option<String>)> = self
            .reader()
            .rows(&sql, 3, workspace, "registered model tags")
            .await?;
        Ok(tags
            .into_iter()
            .map(|(name, key, value)| (name, key, value.unwrap_or_default()))
            .collect())
    }

    /// A handle for bulk reads on their own tasks.
    fn reader(&self) -> Reader {
        Reader {
            pool: self.pool.clone(),
            dialect: self.dialect,
            uri: self.uri.clone(),
        }
    }

    /// `key → value` for `ids`, from a two-column lookup table, in chunks.
    async fn lookup(
        &self,
        table: &str,
        key: &str,
        value: &str,
        ids: &[String],
        what: &'static str,
    ) -> Result<HashMap<String, String>, Error> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(IN_CHUNK) {
            let sql = format!(
                "SELECT {key}, {value} FROM {table} WHERE {key} IN ({})",
                self.dialect.placeholders(1, chunk.len())
            );
            let query = chunk
                .iter()
                .fold(sqlx::query(AssertSqlSafe(sql.as_str())), |q, id| {
                    q.bind(id.as_str())
                });
            for row in query
                .fetch_all(&self.pool)
                .await
                .map_err(self.query_error(what))?
            {
                let id: String = row.try_get(0).map_err(self.query_error(what))?;
                let location: Option<String> = row.try_get(1).map_err(self.query_error(what))?;
                if let Some(location) = location.filter(|l| !l.is_empty()) {
                    found.insert(id, location);
                }
            }
        }
        Ok(found)
    }

    /// The exact fingerprint: a hash of every row that decides `promoted()` for any filter, plus
    /// counters over all versions (creation, any stage change and deletion move them).
    async fn compute_fingerprint(&self) -> Result<Fingerprint, Error> {
        let d = self.dialect;
        let counters = format!(
            "SELECT COUNT(*), {}, {}, {} FROM model_versions",
            d.int("COALESCE(MAX(last_updated_time), 0)"),
            d.int("COALESCE(SUM(last_updated_time), 0)"),
            d.int("COALESCE(SUM(version), 0)"),
        );
        let row = sqlx::query(AssertSqlSafe(counters))
            .fetch_one(&self.pool)
            .await
            .map_err(self.query_error("version counters"))?;
        let mut hasher = Sha256::new();
        for i in 0..4 {
            hasher.update(
                int(&row, i)
                    .map_err(self.query_error("version counters"))?
                    .to_le_bytes(),
            );
        }
        for workspace in self.workspaces().await? {
            hash_state(&mut hasher, &workspace, &self.state(&workspace).await?);
        }
        Ok(Fingerprint(hasher.finalize().into()))
    }

    /// Every workspace with versions (just `default` before MLflow 3.10).
    async fn workspaces(&self) -> Result<Vec<String>, Error> {
        if !self.schema.workspace {
            return Ok(vec!["default".to_owned()]);
        }
        sqlx::query_scalar("SELECT DISTINCT workspace FROM model_versions ORDER BY workspace")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_error("workspaces"))
    }
}

#[async_trait]
impl ModelRegistry for SqlRegistry {
    async fn promoted(&self, filter: &PromotionFilter) -> Result<Promoted, Error> {
        let state = self.state(&filter.workspace).await?;
        assemble::promoted(state, filter, self, self.artifacts_destination.as_deref()).await
    }

    /// Cheap when nothing changed: a change token is compared with the one read before the last
    /// exact computation, and only a different or unknown token leads to hashing the
    /// promotion-relevant rows again. Tokens: SQLite `PRAGMA data_version`, PostgreSQL
    /// `pg_current_snapshot()`, MariaDB `Innodb_lsn_current` (MySQL `Innodb_redo_log_current_lsn`).
    /// Writes elsewhere on a PostgreSQL or MariaDB server also move the token; that only costs a
    /// recomputation that finds the same fingerprint.
    async fn fingerprint(&self) -> Result<Fingerprint, Error> {
        let mut probe = self.probe.lock().await;
        // Read before computing: a write racing the computation then changes the next token.
        let token = self.change_token(&mut probe).await;
        if let (Some(token), Some((seen, fingerprint))) = (&token, &probe.seen)
            && token == seen
        {
            return Ok(*fingerprint);
        }
        let fingerprint = self.compute_fingerprint().await?;
        probe.seen = token.map(|t| (t, fingerprint));
        Ok(fingerprint)
    }
}

impl SqlRegistry {
    /// A value that changes whenever a write may have been committed since it was last read;
    /// `None` when that cannot be told cheaply (then the exact fingerprint is computed every time).
    ///
    /// - SQLite: `PRAGMA data_version`, which changes exactly when another connection commits.
    /// - PostgreSQL: `pg_current_snapshot()`. A writing transaction takes an xid, so the snapshot
    ///   text changes when one starts and again when it ends; read-only transactions leave it alone.
    /// - MySQL/MariaDB: InnoDB's redo log position (`Innodb_lsn_current` on MariaDB,
    ///   `Innodb_redo_log_current_lsn` on MySQL ≥ 8.0.30). Every change and every commit writes
    ///   redo, so a commit after the token was read always moves it.
    ///
    /// Writes elsewhere on the same server also change the PostgreSQL and MariaDB tokens; that only
    /// costs a recomputation, which then finds the same fingerprint.
    async fn change_token(&self, probe: &mut Probe) -> Option<String> {
        match self.dialect.0 {
            Kind::Sqlite => {
                let conn = probe.sqlite.as_mut()?;
                let version: i64 = sqlx::query_scalar("PRAGMA data_version")
                    .fetch_one(&mut *conn)
                    .await
                    .ok()?;
                Some(version.to_string())
            }
            Kind::Postgres => sqlx::query_scalar("SELECT CAST(pg_current_snapshot() AS TEXT)")
                .fetch_one(&self.pool)
                .await
                .ok(),
            Kind::MySql => {
                let rows = sqlx::query(
                    "SHOW GLOBAL STATUS WHERE Variable_name IN \
                     ('Innodb_lsn_current', 'Innodb_redo_log_current_lsn')",
                )
                .fetch_all(&self.pool)
                .await
                .ok()?;
                let row = rows.first()?;
                row.try_get::<String, _>(1).ok()
            }
        }
    }
}

#[async_trait]
impl Lookups for SqlRegistry {
    async fn logged_models(&self, ids: &[String]) -> Result<HashMap<String, String>, Error> {
        if !self.schema.logged_models {
            return Ok(HashMap::new());
        }
        self.lookup(
            "logged_models",
            "model_id",
            "artifact_location",
            ids,
            "logged models",
        )
        .await
    }

    async fn runs(&self, ids: &[String]) -> Result<HashMap<String, String>, Error> {
        if !self.schema.runs {
            return Ok(HashMap::new());
        }
        self.lookup("runs", "run_uuid", "artifact_uri", ids, "runs")
            .await
    }

    async fn version_location(
        &self,
        workspace: &str,
        name: &str,
        version: u64,
    ) -> Result<Option<String>, Error> {
        let d = self.dialect;
        let location = if self.schema.storage_location {
            "COALESCE(NULLIF(storage_location, ''), source)"
        } else {
            "source"
        };
        let workspace_filter = if self.schema.workspace {
            format!(" AND workspace = {}", d.placeholder(3))
        } else {
            String::new()
        };
        let sql = format!(
            "SELECT {location} FROM model_versions WHERE name = {} AND version = {} \
             AND current_stage <> 'Deleted_Internal'{workspace_filter}",
            d.placeholder(1),
            d.placeholder(2)
        );
        let mut query = sqlx::query(AssertSqlSafe(sql.as_str()))
            .bind(name)
            .bind(i64::try_from(version).unwrap_or(i64::MAX));
        if self.schema.workspace {
            query = query.bind(workspace);
        }
        let row = query
            .fetch_optional(&self.pool)
            .await
            .map_err(self.query_error("a referenced version"))?;
        row.map(|r| r.try_get::<Option<String>, _>(0))
            .transpose()
            .map(Option::flatten)
            .map_err(self.query_error("a referenced version"))
    }
}

/// An integer column, whatever width the engine gives it (INTEGER, INT, BIGINT).
fn int(row: &AnyRow, index: usize) -> Result<i64, sqlx::Error> {
    opt_int(row, index)?.ok_or_else(|| sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: "unexpected NULL".into(),
    })
}

fn opt_int(row: &AnyRow, index: usize) -> Result<Option<i64>, sqlx::Error> {
    match row.try_get::<Option<i64>, _>(index) {
        Ok(v) => Ok(v),
        Err(_) => row
            .try_get::<Option<i32>, _>(index)
            .map(|v| v.map(i64::from)),
    }
}
