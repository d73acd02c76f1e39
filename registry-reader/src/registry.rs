//! The boundary trait: anything that can say which versions are promoted.

use async_trait::async_trait;

use crate::{Error, Promoted, PromotionFilter};

/// A cheap summary of the registry state that matters for promotions: it changes whenever a
/// version, stage, alias, source, tag or deletion changes, and not when unrelated tracking data
/// (runs, metrics, traces) is written. Compare two values; the bytes have no other meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0[..8].iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// A source of promoted model versions. Object-safe: `Box<dyn ModelRegistry>` works, so another
/// service can plug in its own registry.
#[async_trait]
pub trait ModelRegistry: Send + Sync {
    /// Every version promoted under `filter`, with its files' location resolved; versions that
    /// cannot be served come back in [`Promoted::errors`] while the others are still returned.
    async fn promoted(&self, filter: &PromotionFilter) -> Result<Promoted, Error>;

    /// The current [`Fingerprint`]. Equal fingerprints mean `promoted()` would answer the same.
    async fn fingerprint(&self) -> Result<Fingerprint, Error>;
}

/// A boxed registry is a registry, so a program can choose SQL or REST at run time.
#[async_trait]
impl<T: ModelRegistry + ?Sized> ModelRegistry for Box<T> {
    async fn promoted(&self, filter: &PromotionFilter) -> Result<Promoted, Error> {
        (**self).promoted(filter).await
    }

    async fn fingerprint(&self) -> Result<Fingerprint, Error> {
        (**self).fingerprint().await
    }
}
