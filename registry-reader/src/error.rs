//! The crate's one error type.

use redaction::{BoxError, RedactedError};

/// Everything that can stop a whole registry read. Problems with a single version are not errors
/// of the read: they come back as [`VersionError`](crate::VersionError)s beside the good versions.
///
/// Every message names the registry by its URI with the password removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URI is not one this crate can open.
    #[error("unsupported registry URI `{uri}`: {reason}")]
    UnsupportedUri {
        /// The URI, without its password.
        uri: String,
        /// What is wrong and what is accepted.
        reason: String,
    },
    /// The database could not be reached or refused the connection.
    #[error("cannot connect to the MLflow registry at `{uri}`: {source}")]
    Connect {
        /// The URI, without its password.
        uri: String,
        /// The driver's error (`sqlx::Error`), shown with any password scrubbed.
        #[source]
        source: RedactedError,
    },
    /// The database answered but holds no MLflow model registry.
    #[error("`{uri}` holds no MLflow model registry: {reason}")]
    NotARegistry {
        /// The URI, without its password.
        uri: String,
        /// What is missing.
        reason: String,
    },
    /// A query failed.
    #[error("reading {what} from the MLflow registry at `{uri}` failed: {source}")]
    Query {
        /// The URI, without its password.
        uri: String,
        /// What was being read.
        what: &'static str,
        /// The driver's (or the JSON decoder's) error, shown with any password scrubbed.
        #[source]
        source: RedactedError,
    },
    /// The MLflow REST API failed or answered something unexpected.
    #[error("MLflow REST API at `{uri}`: {message}")]
    Rest {
        /// The tracking server URI, without credentials.
        uri: String,
        /// What went wrong.
        message: String,
        /// The HTTP client's or JSON decoder's error, when one caused it (its messages hold the
        /// request URL, which holds no credential: those travel in headers).
        #[source]
        source: Option<BoxError>,
    },
}
