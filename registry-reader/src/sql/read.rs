//! Bulk reads of registry tables, decoded into tuples.

use serde::de::DeserializeOwned;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Row};

use super::dialect::Dialect;
use crate::Error;
use crate::uri::{BackendUri, Kind};

/// The registry's pool with what errors name: cheap to clone into a task.
pub(super) struct Reader {
    pub(super) pool: AnyPool,
    pub(super) dialect: Dialect,
    pub(super) uri: BackendUri,
}

impl Reader {
    /// Runs `inner` (columns `c0`…) and decodes its rows as `T`: on SQLite through one JSON
    /// value the database aggregates (see [`Dialect::json_rows`]), elsewhere row by row.
    pub(super) async fn rows<T>(
        &self,
        inner: &str,
        columns: usize,
        workspace: &str,
        what: &'static str,
    ) -> Result<Vec<T>, Error>
    where
        T: DeserializeOwned + for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin,
    {
        let failed = |message: String| Error::Query {
            uri: self.uri.to_string(),
            what,
            message: self.uri.scrub(&message),
        };
        let Some(sql) = self.dialect.json_rows(inner, columns) else {
            return bind_workspace(
                self.dialect,
                sqlx::query_as(AssertSqlSafe(inner)),
                inner,
                workspace,
            )
            .fetch_all(&self.pool)
            .await
            .map_err(|e| failed(e.to_string()));
        };
        let row = bind_workspace(
            self.dialect,
            sqlx::query(AssertSqlSafe(sql.as_str())),
            &sql,
            workspace,
        )
        .fetch_one(&self.pool)
        .await
        .map_err(|e| failed(e.to_string()))?;
        let text: Option<String> = row.try_get(0).map_err(|e| failed(e.to_string()))?;
        serde_json::from_str(text.as_deref().unwrap_or("[]"))
            .map_err(|e| failed(format!("the database's JSON could not be read: {e}")))
    }
}

/// Binds `workspace` to every placeholder of `sql` (our bulk queries have no other parameter):
/// `$1`, bound once, on PostgreSQL; one positional `?` per use elsewhere.
fn bind_workspace<'q, Q: BindText<'q>>(
    dialect: Dialect,
    query: Q,
    sql: &str,
    workspace: &'q str,
) -> Q {
    let uses = match dialect.0 {
        Kind::Postgres => usize::from(sql.contains("$1")),
        Kind::Sqlite | Kind::MySql => sql.matches('?').count(),
    };
    (0..uses).fold(query, |q, _| q.bind_text(workspace))
}

/// `bind` for both sqlx query kinds.
trait BindText<'q>: Sized {
    fn bind_text(self, value: &'q str) -> Self;
}

impl<'q> BindText<'q> for sqlx::query::Query<'q, sqlx::Any, AnyArguments> {
    fn bind_text(self, value: &'q str) -> Self {
        self.bind(value)
    }
}

impl<'q, T> BindText<'q> for sqlx::query::QueryAs<'q, sqlx::Any, T, AnyArguments> {
    fn bind_text(self, value: &'q str) -> Self {
        self.bind(value)
    }
}
