//! MLflow's backend-store URIs (SQLAlchemy URLs) and what sqlx needs to open the same database.

use std::path::{Path, PathBuf};

use crate::Error;

/// A registry database location, parsed from the URI MLflow's `--backend-store-uri` takes.
#[derive(Clone, PartialEq, Eq)]
pub struct BackendUri {
    kind: Kind,
    /// The URL sqlx opens (may hold the password).
    sqlx_url: String,
    /// The URI as given, password removed: safe for messages and logs.
    redacted: String,
    /// The password, kept only to scrub driver messages.
    password: Option<String>,
}

/// The database engine behind a [`BackendUri`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A SQLite file.
    Sqlite,
    /// MySQL or MariaDB.
    MySql,
    /// PostgreSQL.
    Postgres,
}

impl Kind {
    /// The cargo feature of this crate that builds the engine's driver in.
    pub fn feature(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::MySql => "mysql",
            Kind::Postgres => "postgres",
        }
    }

    /// Whether this build has the engine's driver.
    pub fn is_built_in(self) -> bool {
        match self {
            Kind::Sqlite => cfg!(feature = "sqlite"),
            Kind::MySql => cfg!(feature = "mysql"),
            Kind::Postgres => cfg!(feature = "postgres"),
        }
    }
}

impl std::fmt::Debug for BackendUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendUri")
            .field("kind", &self.kind)
            .field("uri", &self.redacted)
            .finish()
    }
}

impl std::fmt::Display for BackendUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted)
    }
}

/// Query parameters passed through to sqlx; anything else is refused rather than silently dropped,
/// because a dropped `ssl…` option would quietly weaken the connection.
const MYSQL_PARAMS: &[&str] = &["charset", "ssl-mode", "ssl-ca", "ssl-cert", "ssl-key"];
const POSTGRES_PARAMS: &[&str] = &[
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
    "options",
];

impl BackendUri {
    /// Parses an MLflow backend-store URI: `sqlite:///relative.db`, `sqlite:////absolute.db`,
    /// `mysql://`, `mysql+pymysql://` (and the other MySQL drivers), `postgresql://`,
    /// `postgresql+psycopg2://`, `postgresql+psycopg://`. Relative SQLite paths are taken from the
    /// current directory, as MLflow does.
    pub fn parse(uri: &str) -> Result<BackendUri, Error> {
        let redacted = redact(uri);
        let unsupported = |reason: &str| Error::UnsupportedUri {
            uri: redacted.clone(),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = uri.split_once("://").ok_or_else(|| unsupported(EXPECTED))?;
        let engine = scheme.split('+').next().unwrap_or_default();
        match engine {
            "sqlite" => {
                let path = rest.strip_prefix('/').ok_or_else(|| {
                    unsupported(
                        "a SQLite URI is sqlite:///<relative path> or sqlite:////<absolute path>",
                    )
                })?;
                let (path, _params) = path.split_once('?').unwrap_or((path, ""));
                if path.is_empty() || path == ":memory:" {
                    return Err(unsupported(
                        "an in-memory SQLite registry cannot be read from another process",
                    ));
                }
                let path = if Path::new(path).is_absolute() {
                    PathBuf::from(path)
                } else {
                    std::env::current_dir()
                        .map_err(|e| unsupported(&format!("cannot resolve a relative path: {e}")))?
                        .join(path)
                };
                Ok(BackendUri {
                    kind: Kind::Sqlite,
                    sqlx_url: sqlite_url(&path),
                    redacted,
                    password: None,
                })
            }
            "mysql" | "mariadb" | "postgresql" | "postgres" => {
                let (kind, sqlx_scheme, allowed) = if engine.starts_with("postgres") {
                    (Kind::Postgres, "postgres", POSTGRES_PARAMS)
                } else {
                    (Kind::MySql, "mysql", MYSQL_PARAMS)
                };
                let (authority_path, query) = rest.split_once('?').unwrap_or((rest, ""));
                for pair in query.split('&').filter(|p| !p.is_empty()) {
                    let key = pair.split('=').next().unwrap_or_default();
                    if !allowed.contains(&key) {
                        return Err(unsupported(&format!(
                            "query parameter `{key}` is not supported here (supported: {})",
                            allowed.join(", ")
                        )));
                    }
                }
                let (_, path) = authority_path
                    .split_once('/')
                    .ok_or_else(|| unsupported("the URI names no database (…/<database>)"))?;
                if path.is_empty() {
                    return Err(unsupported("the URI names no database (…/<database>)"));
                }
                let sqlx_url = format!("{sqlx_scheme}://{rest}");
                Ok(BackendUri {
                    kind,
                    sqlx_url,
                    redacted,
                    password: password(rest),
                })
            }
            _ => Err(unsupported(EXPECTED)),
        }
    }

    /// The engine.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The URL for sqlx; holds the password, never print it.
    pub(crate) fn sqlx_url(&self) -> &str {
        &self.sqlx_url
    }

    /// `message` with the password (raw and percent-decoded) replaced by `***`.
    pub(crate) fn scrub(&self, message: &str) -> String {
        match &self.password {
            Some(p) if !p.is_empty() => {
                let decoded = percent_encoding::percent_decode_str(p)
                    .decode_utf8_lossy()
                    .into_owned();
                message
                    .replace(p.as_str(), "***")
                    .replace(decoded.as_str(), "***")
            }
            _ => message.to_owned(),
        }
    }
}

const EXPECTED: &str = "expected sqlite:///<path>, mysql[+driver]://user[:password]@host[:port]/database \
                        or postgresql[+driver]://user[:password]@host[:port]/database";

/// The password of `user:password@host…`, if any.
fn password(rest: &str) -> Option<String> {
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    userinfo.split_once(':').map(|(_, p)| p.to_owned())
}

/// The workspace's one redaction rule (crate `redaction`).
pub(crate) use redaction::uri as redact;

/// sqlx's SQLite URL for `path`, read-only: this tool never writes to a registry.
fn sqlite_url(path: &Path) -> String {
    const PATH: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'?')
        .add(b'<')
        .add(b'>');
    let encoded = percent_encoding::utf8_percent_encode(&path.to_string_lossy(), PATH).to_string();
    format!("sqlite://{encoded}?mode=ro")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mlflow_sqlite_forms() {
        let abs = BackendUri::parse("sqlite:////var/lib/mlflow/mlflow.db").unwrap();
        assert_eq!(abs.kind(), Kind::Sqlite);
        assert_eq!(abs.sqlx_url(), "sqlite:///var/lib/mlflow/mlflow.db?mode=ro");
        let rel = BackendUri::parse("sqlite:///mlflow.db").unwrap();
        let expected = std::env::current_dir().unwrap().join("mlflow.db");
        assert_eq!(
            rel.sqlx_url(),
            format!("sqlite://{}?mode=ro", expected.display())
        );
        assert!(BackendUri::parse("sqlite:///:memory:").is_err());
        assert!(BackendUri::parse("sqlite://").is_err());
    }

    #[test]
    fn mlflow_server_forms() {
        let my = BackendUri::parse("mysql+pymysql://mlflow:s3cret@db:3306/mlflow").unwrap();
        assert_eq!(my.kind(), Kind::MySql);
        assert_eq!(my.sqlx_url(), "mysql://mlflow:s3cret@db:3306/mlflow");
        assert_eq!(my.to_string(), "mysql+pymysql://***@db:3306/mlflow");
        assert!(!format!("{my:?}").contains("s3cret"));
        let pg = BackendUri::parse("postgresql+psycopg2://u:p@h/db?sslmode=require").unwrap();
        assert_eq!(pg.kind(), Kind::Postgres);
        assert_eq!(pg.sqlx_url(), "postgres://u:p@h/db?sslmode=require");
    }

    #[test]
    fn refusals_name_the_uri_without_password() {
        for (uri, needle) in [
            ("mssql+pyodbc://u:hunter2@h/db", "expected sqlite"),
            ("file:///tmp/mlruns", "expected sqlite"),
            ("mysql://u:hunter2@h", "names no database"),
            (
                "postgresql://u:hunter2@h/db?connect_timeout=3",
                "connect_timeout",
            ),
        ] {
            let err = BackendUri::parse(uri).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
            assert!(err.contains("***") || !uri.contains('@'), "{err}");
        }
    }

    #[test]
    fn scrub_removes_raw_and_decoded_password() {
        let uri = BackendUri::parse("mysql://u:p%40ss@h/db").unwrap();
        assert_eq!(
            uri.scrub("failed for p%40ss and p@ss"),
            "failed for *** and ***"
        );
    }
}
