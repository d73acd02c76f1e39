//! The one rule for showing a URI without its credentials: every crate of the workspace that
//! puts a URI into a message, a log line or a report calls [`uri`], so the rule cannot drift
//! between them.
//!
//! ```
//! assert_eq!(
//!     redaction::uri("mysql+pymysql://mlflow:s3cret@db:3306/mlflow"),
//!     "mysql+pymysql://***@db:3306/mlflow"
//! );
//! // A token alone in the user part is a credential too.
//! assert_eq!(
//!     redaction::uri("https://ghp_0123456789@github.com/org/models.git"),
//!     "https://***@github.com/org/models.git"
//! );
//! // An `@` after the authority belongs to the path.
//! assert_eq!(redaction::uri("s3://bucket/runs/a@b"), "s3://bucket/runs/a@b");
//! ```
//!
//! The rule, as URL parsers read a URI: the authority is what follows `://` up to the first `/`,
//! `?` or `#`; its userinfo is everything before the authority's LAST `@` (an unencoded `@` in a
//! password must not leave the rest of the password visible). The whole userinfo is replaced by
//! `***`, the user name too: a token is often passed as the user name
//! (`https://<token>@host`, `https://<token>:x-oauth-basic@host`). Text without `://` (a path,
//! git's `user@host:path` form, which carries no password) is returned unchanged.
//!
//! What it does not do: find credentials elsewhere in free text (query parameters such as
//! `?password=`, a driver's error message). Callers that hold a known secret scrub their messages
//! of it themselves, and keep the driver's error behind a [`RedactedError`].

#![forbid(unsafe_code)]

mod error;

pub use error::{BoxError, RedactedError};

/// `text` with the userinfo of its URI authority replaced by `***`.
pub fn uri(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}://***@{host}{tail}"),
        None => text.to_owned(),
    }
}

/// Whether `text`'s URI authority holds userinfo (`user[:password]@`), i.e. whether [`uri`]
/// changes it.
pub fn has_userinfo(text: &str) -> bool {
    text.split_once("://").is_some_and(|(_, rest)| {
        rest.split(['/', '?', '#'])
            .next()
            .is_some_and(|authority| authority.contains('@'))
    })
}
