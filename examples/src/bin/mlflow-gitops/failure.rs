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

/// The error and its causes on one line. The libraries' messages already carry their source's
/// text, so a cause is added only when it says something new (anyhow's `{:#}` would repeat each).
pub fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}
