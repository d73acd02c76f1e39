//! Bulk reads of registry tables, decoded into tuples.

use serde::de::DeserializeOwned;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{AnyPool, AssertSqlSafe, Row};

use super::dialect::Dialect;
use crate::Error;
use crate::uri::{BackendUri, Kind};
use redaction::{BoxError, RedactedError};

/// The registry's pool with what errors name: cheap to clone into a task.
pub(super) struct Reader {
    pub(super) pool: AnyPool,
    pub(super) dialect: Dialect,
    pub(super) uri: BackendUri,
}

/// A row type the bulk reads decode: a tuple of the columns, from JSON (SQLite) or from rows.
pub(super) trait Rows:
    DeserializeOwned + for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin + 'static
{
}

impl<T> Rows for T where
    T: DeserializeOwned + for<'r> sqlx::FromRow<'r, AnyRow> + Send + Unpin + 'static
{
}

impl Reader {
    /// Runs `inner` (columns `c0`…, every placeholder the workspace) and decodes its rows as `T`,
    /// on a task of its own: a pass's four reads then decode their rows on every core.
    pub(super) async fn rows<T: Rows>(
        self,
        inner: &str,
        columns: usize,
        workspace: &str,
        what: &'static str,
    ) -> Result<Vec<T>, Error> {
        let uri = self.uri.to_string();
        let (inner, workspace) = (inner.to_owned(), workspace.to_owned());
        tokio::spawn(async move { self.read(&inner, columns, &workspace, what).await })
            .await
            .map_err(|e| Error::Query {
                uri,
                what,
                source: RedactedError::new(e, str::to_owned),
            })?
    }

    /// On SQLite through one JSON value the database aggregates (see [`Dialect::json_rows`]),
    /// elsewhere row by row.
    async fn read<T: Rows>(
        &self,
        inner: &str,
        columns: usize,
        workspace: &str,
        what: &'static str,
    ) -> Result<Vec<T>, Error> {
        let failed = |e: BoxError| Error::Query {
            uri: self.uri.to_string(),
            what,
            source: RedactedError::new(e, |text| self.uri.scrub(text)),
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
            .map_err(|e| failed(e.into()));
        };
        let row = bind_workspace(
            self.dialect,
            sqlx::query(AssertSqlSafe(sql.as_str())),
            &sql,
            workspace,
        )
        .fetch_one(&self.pool)
        .await
        .map_err(|e| failed(e.into()))?;
        let text: Option<String> = row.try_get(0).map_err(|e| failed(e.into()))?;
        serde_json::from_str(text.as_deref().unwrap_or("[]"))
            .map_err(|e| failed(format!("the database's JSON could not be read: {e}").into()))
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
