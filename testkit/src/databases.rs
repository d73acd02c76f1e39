//! A fresh database per test on each backend MLflow supports here: a SQLite file, or a new database
//! on the MariaDB (root, no password) and PostgreSQL (postgres, no password) servers on 127.0.0.1.
//!
//! Plain SQL goes through each vendor's own CLI (`sqlite3`, `mariadb`, `psql`), so a test can check
//! rows without going through the code under test.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::unique_name;
use crate::tools::system_tool;

/// A database engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A database on the MariaDB server at 127.0.0.1:3306.
    MariaDb,
    /// A database on the PostgreSQL server at 127.0.0.1:5432.
    Postgres,
}

impl Backend {
    /// Every backend, for tests that run one suite on each.
    pub const ALL: [Backend; 3] = [Backend::Sqlite, Backend::MariaDb, Backend::Postgres];
}

/// The MariaDB server's address, as `.ci/run` starts it.
pub const MARIADB_ADDR: &str = "127.0.0.1:3306";
/// The PostgreSQL server's address, as `.ci/run` starts it.
pub const POSTGRES_ADDR: &str = "127.0.0.1:5432";

/// A fresh, empty database; dropped (or its file removed) on drop.
#[derive(Debug)]
pub struct Database {
    backend: Backend,
    name: String,
    sqlite_path: Option<PathBuf>,
    _dir: Option<tempfile::TempDir>,
}

impl Database {
    /// Creates a new empty database with a unique name.
    pub fn fresh(backend: Backend) -> Database {
        // `_` not `-`: both servers accept it unquoted.
        let name = unique_name("mlgo").replace('-', "_");
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("testkit-sqlite-")
                    .tempdir()
                    .expect("testkit: temp dir");
                let path = dir.path().join(format!("{name}.db"));
                Database {
                    backend,
                    name,
                    sqlite_path: Some(path),
                    _dir: Some(dir),
                }
            }
            Backend::MariaDb | Backend::Postgres => {
                let db = Database {
                    backend,
                    name,
                    sqlite_path: None,
                    _dir: None,
                };
                let sql = format!("CREATE DATABASE {}", db.name);
                if let Some(mut cmd) = db.admin(&sql) {
                    run(&mut cmd, &sql);
                }
                db
            }
        }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database (or SQLite file stem) name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The SQLite file, for [`Backend::Sqlite`].
    pub fn sqlite_path(&self) -> Option<&Path> {
        self.sqlite_path.as_deref()
    }

    /// The URI in MLflow's `--backend-store-uri` form (SQLAlchemy URLs with MLflow's drivers).
    pub fn mlflow_uri(&self) -> String {
        match self.backend {
            Backend::Sqlite => format!(
                "sqlite:///{}",
                self.sqlite_path.as_ref().expect("sqlite path").display()
            ),
            Backend::MariaDb => format!("mysql+pymysql://root@{MARIADB_ADDR}/{}", self.name),
            Backend::Postgres => format!("postgresql://postgres@{POSTGRES_ADDR}/{}", self.name),
        }
    }

    /// Runs one SQL statement through the vendor CLI and returns the rows, each a vector of column
    /// texts (`NULL` for SQL NULL). Panics with the CLI's message on error.
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        let mut cmd = match self.backend {
            Backend::Sqlite => {
                let mut c = Command::new(system_tool("sqlite3", "sqlite3"));
                // Wait for a reader's lock as MLflow's own client does (pysqlite waits 5 s),
                // instead of failing at once while a daemon reads the registry.
                c.args([
                    "-cmd",
                    ".timeout 5000",
                    "-batch",
                    "-noheader",
                    "-separator",
                    "\t",
                    "-nullvalue",
                    "NULL",
                ])
                .arg(self.sqlite_path.as_ref().expect("sqlite path"))
                .arg(sql);
                c
            }
            Backend::MariaDb => {
                let mut c = mariadb_cli();
                c.args(["-N", "-B", "-D", &self.name, "-e", sql]);
                c
            }
            Backend::Postgres => {
                let mut c = psql_cli(&self.name);
                c.args(["-F", "\t", "-P", "null=NULL", "-c", sql]);
                c
            }
        };
        let stdout = run(&mut cmd, sql);
        stdout
            .lines()
            .map(|line| line.split('\t').map(str::to_owned).collect())
            .collect()
    }

    /// A statement on the server's maintenance database (create/drop databases).
    fn admin(&self, sql: &str) -> Option<Command> {
        match self.backend {
            Backend::Sqlite => None,
            Backend::MariaDb => {
                let mut c = mariadb_cli();
                c.args(["-e", sql]);
                Some(c)
            }
            Backend::Postgres => {
                let mut c = psql_cli("test");
                c.args(["-c", sql]);
                Some(c)
            }
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let sql = match self.backend {
            Backend::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            _ => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        // Best effort, never a panic in drop: `.ci/run` also drops leftover `mlgo_*` databases.
        if let Some(mut cmd) = self.admin(&sql) {
            let _ = cmd.output();
        }
    }
}

fn mariadb_cli() -> Command {
    let (host, port) = MARIADB_ADDR.split_once(':').expect("addr");
    let mut c = Command::new(system_tool("mariadb", "mariadb-client"));
    c.args(["-h", host, "-P", port, "-u", "root", "--protocol=TCP"]);
    c
}

fn psql_cli(database: &str) -> Command {
    let (host, port) = POSTGRES_ADDR.split_once(':').expect("addr");
    let mut c = Command::new(system_tool("psql", "postgresql-client"));
    c.args([
        "-h",
        host,
        "-p",
        port,
        "-U",
        "postgres",
        "-d",
        database,
        "-At",
        "-v",
        "ON_ERROR_STOP=1",
    ]);
    c
}

fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("testkit: cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "testkit: `{what}` failed: {}\n(is the server up? `bash .ci/run --setup` starts MariaDB and PostgreSQL)",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
