//! Helpers shared by the manifests-core integration tests.

use std::collections::BTreeMap;
use std::path::Path;

use manifests_core::{ManifestSet, ServingSpec};

/// The seed's scenario: team `qooba`, model `ElasticnetWineModel2` version 3.
pub fn seed_spec(channel: &str) -> ServingSpec {
    ServingSpec {
        namespace: "qooba".into(),
        model: "ElasticnetWineModel2".into(),
        version: "3".into(),
        channel: channel.into(),
        model_uri: "s3://mlflow/models/ElasticnetWineModel2/3".into(),
        run_id: Some("5e9a3c3f0b1d4b3e8a3f6c7d2e1f0a9b".into()),
        source: Some("models:/m-7f3c2a1b9d8e4f60a1b2c3d4e5f60718".into()),
        tags: BTreeMap::from([("owner".into(), "qooba".into())]),
        install: Vec::new(),
        profile: None,
        traffic: None,
    }
}

/// Writes `set` as one file per kind plus a kustomization.yaml listing them; returns the file names.
pub fn write_kustomization(set: &ManifestSet, dir: &Path) -> Vec<String> {
    std::fs::create_dir_all(dir).unwrap();
    let files = set.files().unwrap();
    let mut kustomization = String::from(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
    );
    for (name, text) in &files {
        std::fs::write(dir.join(name), text).unwrap();
        kustomization.push_str(&format!("- {name}\n"));
    }
    std::fs::write(dir.join("kustomization.yaml"), kustomization).unwrap();
    files.into_iter().map(|(name, _)| name).collect()
}
