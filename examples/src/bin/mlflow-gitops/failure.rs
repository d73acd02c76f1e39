//! Exit codes: 1 for what went wrong at run time, 2 for what the user must fix in the command.

/// Why the program stops.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage or configuration: exit 2.
    Usage(anyhow::Error),
    /// A runtime failure: exit 1.
    Runtime(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(error: E) -> Self {
        Failure::Runtime(error.into())
    }
}

/// A usage error with `message`.
pub fn usage(message: impl std::fmt::Display) -> Failure {
    Failure::Usage(anyhow::anyhow!("{message}"))
}

/// Shorthand.
pub type Outcome<T = ()> = Result<T, Failure>;
