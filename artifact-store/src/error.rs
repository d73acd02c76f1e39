//! The crate's one error type.

/// What can go wrong while resolving, reading or writing a store. URIs in messages are shown
/// without any userinfo; credentials never appear.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URI's scheme is not one this build can open.
    #[error("{uri}: unsupported location ({reason})")]
    Unsupported {
        /// The URI, redacted.
        uri: String,
        /// What is missing.
        reason: String,
    },
    /// A store operation failed (after the retries, when the failure looked transient).
    #[error("{operation} {uri}: {source}")]
    Store {
        /// `list`, `get`, `put`, `delete`, …
        operation: &'static str,
        /// The object or prefix, redacted.
        uri: String,
        /// Whether it was the copy's source or its destination.
        side: Side,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// A store client could not be configured for a location.
    #[error("{operation} {uri}: {source}")]
    Open {
        /// What was being set up.
        operation: &'static str,
        /// The location, redacted.
        uri: String,
        /// The store's error.
        #[source]
        source: object_store::Error,
    },
    /// The source directory holds no file: nothing that could be served.
    #[error("{uri}: no files to mirror")]
    EmptySource {
        /// The source, redacted.
        uri: String,
    },
    /// The destination already holds a complete mirror with other content. A model version is
    /// immutable, so this is never overwritten.
    #[error(
        "{uri}: a complete mirror with different content exists ({detail}); refusing to overwrite"
    )]
    Conflict {
        /// The destination, redacted.
        uri: String,
        /// The first difference found.
        detail: String,
    },
    /// The source changed while it was copied (its size differs from the listing).
    #[error("{uri}: changed while being copied (listed {listed} bytes, read {read})")]
    SourceChanged {
        /// The source object, redacted.
        uri: String,
        /// Size in the listing.
        listed: u64,
        /// Bytes read.
        read: u64,
    },
    /// A completion manifest that cannot be read.
    #[error("{uri}: unreadable completion manifest: {reason}")]
    BadManifest {
        /// The manifest, redacted.
        uri: String,
        /// Why.
        reason: String,
    },
}

/// Which end of a copy a store failure happened at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Side {
    /// Where the files are read from.
    Source,
    /// Where they are written (the mirror, its completion manifest, its garbage collection).
    Destination,
}

impl Error {
    /// The end of the copy a store failure happened at; None for failures that are not a store
    /// operation's.
    pub fn side(&self) -> Option<Side> {
        match self {
            Error::Store { side, .. } => Some(*side),
            _ => None,
        }
    }

    /// True when the failure lies in reaching or using a store (the network, the server, a
    /// timeout, refused credentials) rather than in what one source holds. Such a failure says
    /// nothing about the model version being copied: the copies of the others would fail the same
    /// way, and retrying later may succeed, so a caller should fail its whole pass, not skip the
    /// version.
    pub fn is_outage(&self) -> bool {
        use object_store::Error as E;
        match self {
            Error::Store { source, .. } | Error::Open { source, .. } => !matches!(
                source,
                E::NotFound { .. }
                    | E::InvalidPath { .. }
                    | E::NotSupported { .. }
                    | E::NotImplemented { .. }
                    | E::UnknownConfigurationKey { .. }
            ),
            _ => false,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
