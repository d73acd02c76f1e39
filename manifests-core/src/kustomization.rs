//! The `kustomization.yaml` that lists a directory's resources, so `kubectl kustomize DIR` (and
//! Argo CD) builds the directory: written by the same YAML emitter as every manifest.

use serde::Serialize;

use crate::{Result, yaml};

/// The file name kustomize looks for.
pub const KUSTOMIZATION_FILE: &str = "kustomization.yaml";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization<'a> {
    api_version: &'a str,
    kind: &'a str,
    resources: &'a [String],
}

/// A `kustomization.yaml` listing `resources` (file or directory names relative to it), in
/// the order given.
///
/// ```
/// let text = manifests_core::kustomization(&["deployment.yaml".into(), "wine/production".into()])?;
/// assert!(text.contains("kind: Kustomization"));
/// assert!(text.contains("- wine/production"));
/// # Ok::<(), manifests_core::Error>(())
/// ```
pub fn kustomization(resources: &[String]) -> Result<String> {
    let doc = Kustomization {
        api_version: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources,
    };
    yaml::to_document(&doc, KUSTOMIZATION_FILE)
}
