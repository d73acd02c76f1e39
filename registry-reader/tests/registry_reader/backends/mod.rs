//! One test per database backend, so a failure names its backend.

/// `per_backend!(check; sqlite_x, mariadb_x, postgres_x)` makes three `#[tokio::test]`s calling
/// `check(Backend::…)`.
macro_rules! per_backend {
    ($check:ident; $sqlite:ident, $mariadb:ident, $postgres:ident) => {
        #[tokio::test]
        async fn $sqlite() {
            $check(testkit::databases::Backend::Sqlite).await;
        }
        #[tokio::test]
        async fn $mariadb() {
            $check(testkit::databases::Backend::MariaDb).await;
        }
        #[tokio::test]
        async fn $postgres() {
            $check(testkit::databases::Backend::Postgres).await;
        }
    };
}
