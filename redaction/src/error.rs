//! A library's error kept as a typed cause, shown only through a scrubbing rule.

use std::error::Error;
use std::fmt;

/// Any error that may be sent between threads.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// The error of a library whose messages may hold a credential (a database driver that prints
/// its connection URL, an HTTP client that prints the request's URL), kept as the typed cause of
/// ours: [`get_ref`](Self::get_ref) hands it to code that wants to inspect it (a retry policy that
/// downcasts to `sqlx::Error`), while `Display` and `Debug` show only the scrubbed text, and
/// [`source`](Error::source) ends the chain here, since the wrapped error's own causes were never
/// scrubbed and any printer that walks the chain would show them.
///
/// ```
/// use redaction::RedactedError;
///
/// let driver = std::io::Error::other("cannot log in as mlflow:s3cret@db");
/// let error = RedactedError::new(driver, |text| text.replace("s3cret", "***"));
/// assert_eq!(error.to_string(), "cannot log in as mlflow:***@db");
/// assert!(!format!("{error:?}").contains("s3cret"));
/// assert!(error.get_ref().downcast_ref::<std::io::Error>().is_some());
/// ```
pub struct RedactedError {
    shown: String,
    error: BoxError,
}

impl RedactedError {
    /// Keeps `error`, shown as `scrub` makes its message.
    pub fn new(error: impl Into<BoxError>, scrub: impl FnOnce(&str) -> String) -> Self {
        let error = error.into();
        let shown = scrub(&error.to_string());
        Self { shown, error }
    }

    /// The original error (its message unscrubbed: do not print it).
    pub fn get_ref(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.error
    }
}

impl fmt::Display for RedactedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for RedactedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RedactedError").field(&self.shown).finish()
    }
}

impl Error for RedactedError {}
