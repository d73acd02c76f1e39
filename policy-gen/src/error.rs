//! The crate's one error type.

/// What can go wrong generating or evaluating policies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A NetworkPolicy the API server would reject; `policy` is `namespace/name`.
    #[error("NetworkPolicy {policy}: {reason}")]
    InvalidPolicy {
        /// `namespace/name`.
        policy: String,
        /// What is wrong, as the API server would say it.
        reason: String,
    },
    /// A tenant setting that cannot be turned into a policy.
    #[error("invalid {field}: {reason}")]
    InvalidSpec {
        /// The spec field.
        field: String,
        /// Why.
        reason: String,
    },
    /// Building or reading manifests failed.
    #[error(transparent)]
    Manifests(#[from] manifests_core::Error),
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
