//! The crate's one error type.

/// Everything that can go wrong while building or rendering manifests.
///
/// Every variant names the input that failed, so the message tells a user what to fix; none carries
/// a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two objects in one [`ManifestSet`](crate::ManifestSet) share apiVersion, kind, namespace and
    /// name; the API server would keep only one of them.
    #[error("duplicate object {0}")]
    Duplicate(crate::object_key::ObjectKey),
    /// An object lacks `apiVersion`, `kind` or `metadata.name`.
    #[error("object without {field}: every manifest needs apiVersion, kind and metadata.name")]
    Incomplete {
        /// The missing field.
        field: &'static str,
    },
    /// A value could not be turned into YAML (or read back from it).
    #[error("YAML {context}: {message}")]
    Yaml {
        /// What was being serialized or parsed.
        context: String,
        /// The serializer's or parser's message.
        message: String,
    },
    /// A configuration value is not acceptable; `field` names it as the spec spells it.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The spec field, e.g. `serving.gateway`.
        field: String,
        /// Why the value was refused (never echoing a credential).
        reason: String,
    },
    /// An object read from a file or stream was refused; `context` names the source.
    #[error("{context}: {source}")]
    In {
        /// The file or stream, as the caller named it.
        context: String,
        /// Why the object was refused.
        #[source]
        source: Box<Error>,
    },
    /// A URI in the spec carries a password; credentials must come from a Secret instead.
    #[error("{field} holds a password in its URI; put the credential in a Secret and reference it")]
    CredentialInUri {
        /// The spec field holding the URI.
        field: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
