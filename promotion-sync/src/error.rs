//! The crate's one error type: what stops a whole pass. Problems of single versions are not
//! errors of the pass; they are reported in [`PassReport::problems`](crate::PassReport).

/// What makes a pass fail as a whole (nothing partial is committed).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The registry could not be read.
    #[error("registry: {0}")]
    Registry(#[from] registry_reader::Error),
    /// The mirror root could not be opened or listed.
    #[error("mirror: {0}")]
    Mirror(#[from] artifact_store::Error),
    /// The git repository could not be read, written or pushed.
    #[error("git: {0}")]
    Git(#[from] gitops_writer::Error),
    /// Building the repository files failed.
    #[error("manifests: {0}")]
    Manifests(#[from] manifests_core::Error),
    /// A template could not be rendered.
    #[error("template {name}: {source}")]
    Template {
        /// Which template.
        name: &'static str,
        /// askama's error.
        #[source]
        source: askama::Error,
    },
    /// The runtime shut down while git work was running on its blocking threads.
    #[error("git work was cancelled: the runtime is shutting down")]
    Cancelled,
    /// A version's source is a local directory outside
    /// [`Settings::local_source_roots`](crate::Settings::local_source_roots).
    #[error(
        "{uri} is outside the directories local sources may come from ({}): allow it with --source-root",
        roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    SourceNotAllowed {
        /// The source.
        uri: String,
        /// The allowed directories.
        roots: Vec<std::path::PathBuf>,
    },
    /// The remote branch kept moving under the pass (other writers pushing): every attempt
    /// started over from a fresh fetch and registry read, and none could push.
    #[error("the remote branch moved under each of {attempts} attempts of the pass")]
    Contended {
        /// Attempts made.
        attempts: u32,
    },
    /// The configuration is not usable; `field` names the setting.
    #[error("invalid {field}: {reason}")]
    Config {
        /// The setting.
        field: String,
        /// Why.
        reason: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
