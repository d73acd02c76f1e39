//! Every image the generated manifests reference by default is one this repository builds, and
//! the local image store holds it (built by `scripts/build-images.sh`, which `.ci/run` runs).

use manifests_core::images::{self, Image};
use manifests_core::{
    KServe, ManifestSet, MlflowServe, ServingTarget, TenantSpec, tenant_components,
};
use serde_json::Value;

/// Every `image` of every container, init container and predictor in `sets`.
fn images_in(sets: &[ManifestSet]) -> Vec<String> {
    fn walk(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("image", Value::String(image)) => out.push(image.clone()),
                        _ => walk(value, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for manifest in sets.iter().flat_map(ManifestSet::iter) {
        walk(manifest.body(), &mut out);
    }
    out.sort();
    out.dedup();
    out
}

/// What we render with every default: the tenant bundle with its promotion daemon, and both
/// serving targets.
fn default_output() -> Vec<ManifestSet> {
    let spec: TenantSpec = serde_json::from_value(serde_json::json!({
        "namespace": "team-a",
        "gitops": {"repoUrl": "ssh://git@git.example.com/platform/models.git"},
    }))
    .expect("a minimal tenant");
    let serving = manifests_core::conformance::plain_spec();
    vec![
        tenant_components(&spec).expect("the tenant renders"),
        MlflowServe::default()
            .render(&serving)
            .expect("mlflow-serve renders"),
        KServe::default().render(&serving).expect("kserve renders"),
    ]
}

#[test]
fn every_default_image_is_ours_and_built() {
    let found = images_in(&default_output());
    let ours: Vec<String> = Image::ALL.iter().map(|i| i.default_reference()).collect();
    assert!(!found.is_empty());
    for image in &found {
        assert!(
            ours.contains(image),
            "{image} is referenced by default but not built by scripts/build-images.sh ({ours:?})"
        );
    }
    let prefix = testkit::podman::image_prefix();
    // The KServe runtime images are cluster configuration, not in any manifest: built all the same.
    let built: Vec<String> = Image::ALL.iter().map(|i| i.default_reference()).collect();
    let missing: Vec<String> = found
        .iter()
        .chain(&built)
        .map(|image| images::with_prefix(image, &prefix))
        .filter(|image| !testkit::podman::image_exists(image))
        .collect();
    assert!(
        missing.is_empty(),
        "not in the local image store: {missing:?}; run `bash scripts/build-images.sh`"
    );
    // The daemon, serving, MLflow server and object store images are all referenced.
    assert_eq!(found.len(), 4, "{found:?}");
}
