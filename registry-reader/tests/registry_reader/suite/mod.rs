//! Helpers shared by the registry-reader test binaries; the suite itself is library code
//! (`registry_reader::conformance`).

use registry_reader::{ModelRegistry, Promoted, PromotionFilter};

/// `promoted()` with the default filter on a freshly connected `SqlRegistry` at `uri`.
pub async fn read_promoted(uri: &str) -> Promoted {
    let registry = registry_reader::SqlRegistry::connect(uri)
        .await
        .expect("connect");
    registry
        .promoted(&PromotionFilter::default())
        .await
        .expect("a bad row is no failure of the read")
}

/// (name, version) of every served version, in order.
pub fn served(promoted: &Promoted) -> Vec<(&str, u64)> {
    promoted
        .versions
        .iter()
        .map(|v| (v.name.as_str(), v.version))
        .collect()
}
