//! What identifies an object to the API server, for duplicate checks and error messages.

use std::fmt;

/// What identifies an object to the API server: apiVersion, kind, namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// `apps/v1`, `networking.istio.io/v1`, …
    pub api_version: String,
    /// `Deployment`, `VirtualService`, …
    pub kind: String,
    /// Namespace; `None` for cluster-scoped kinds such as Namespace.
    pub namespace: Option<String>,
    /// `metadata.name`.
    pub name: String,
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.api_version, self.kind)?;
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}
