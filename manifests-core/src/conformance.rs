//! The conformance suite every [`ServingTarget`] must pass, as library code (feature
//! `conformance`): an outside target is correct when [`run_all`] returns. The judges are the real
//! consumers: `kubectl kustomize` builds the output, `kubernetes-validate --strict` accepts every
//! core object, and every custom resource validates against its real CRD schema with unknown
//! fields refused (see `testkit::kube`, which needs them installed: `bash .ci/run --setup`).
//!
//! ```no_run
//! manifests_core::conformance::run_all(&manifests_core::MlflowServe::default());
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use crate::serving::profile::{Autoscaling, KeyRef, ResourceQuantities, SourceRef, TolerationSpec};
use crate::serving::traffic::{Backend, Mirror};
use crate::serving::{NamedProfile, Profile};
use crate::{KUSTOMIZATION_FILE, ManifestSet, ServingSpec, ServingTarget, Traffic, kustomization};

/// Every check on `target`.
pub fn run_all(target: &dyn ServingTarget) {
    renders_valid_objects(target);
    renders_deterministically(target);
    registry_strings_never_change_the_structure(target);
}

/// A well-behaved spec: team `qooba`, model `ElasticnetWineModel2` version 3.
pub fn plain_spec() -> ServingSpec {
    ServingSpec {
        namespace: "qooba".into(),
        model: "ElasticnetWineModel2".into(),
        version: "3".into(),
        channel: "production".into(),
        model_uri: "s3://mlflow/models/ElasticnetWineModel2/3".into(),
        run_id: Some("5e9a3c3f0b1d4b3e8a3f6c7d2e1f0a9b".into()),
        source: Some("models:/m-7f3c2a1b9d8e4f60a1b2c3d4e5f60718".into()),
        tags: BTreeMap::from([("owner".into(), "qooba".into())]),
        install: Vec::new(),
        profile: None,
        traffic: None,
    }
}

/// Two profiles every target takes: `large` (3 replicas, a GPU, a node selector and toleration, a
/// ServiceAccount, env from a Secret key and a whole ConfigMap, pod annotations and labels) and
/// `auto` (2 to 10 replicas at 70% CPU).
pub fn sample_profiles() -> [Arc<NamedProfile>; 2] {
    let large = Profile {
        replicas: Some(3),
        resources: Some(ResourceQuantities {
            requests: BTreeMap::from([("cpu".into(), "2".into()), ("memory".into(), "4Gi".into())]),
            limits: BTreeMap::from([
                ("memory".into(), "8Gi".into()),
                ("nvidia.com/gpu".into(), "1".into()),
            ]),
        }),
        node_selector: BTreeMap::from([("nvidia.com/gpu.present".into(), "true".into())]),
        tolerations: vec![TolerationSpec {
            key: Some("nvidia.com/gpu".into()),
            operator: Some("Exists".into()),
            effect: Some("NoSchedule".into()),
            ..Default::default()
        }],
        service_account: Some("fraud-models".into()),
        env: BTreeMap::from([(
            "FEATURE_STORE_TOKEN".into(),
            KeyRef {
                secret: Some("feature-store".into()),
                key: "token".into(),
                ..Default::default()
            },
        )]),
        env_from: vec![SourceRef {
            config_map: Some("fraud-settings".into()),
            ..Default::default()
        }],
        pod_annotations: BTreeMap::from([("prometheus.io/scrape".into(), "true".into())]),
        pod_labels: BTreeMap::from([("team".into(), "fraud".into())]),
        ..Default::default()
    };
    let auto = Profile {
        autoscaling: Some(Autoscaling {
            min: 2,
            max: 10,
            cpu_percent: Some(70),
            memory_percent: None,
        }),
        ..Default::default()
    };
    [
        NamedProfile::new("large", large).expect("a valid profile"),
        NamedProfile::new("auto", auto).expect("a valid profile"),
    ]
}

/// `production` keeping 90% of its requests and sending 10% to `challenger` (the versions at
/// `production_uri` and `challenger_uri`), and, when `mirror`, copying all of them to `staging`.
pub fn sample_split(production_uri: &str, challenger_uri: &str, mirror: bool) -> Traffic {
    let backend = |channel: &str, weight, uri: &str| Backend {
        channel: channel.into(),
        weight,
        model_uri: uri.into(),
    };
    Traffic {
        split: vec![
            backend("production", 90, production_uri),
            backend("challenger", 10, challenger_uri),
        ],
        mirror: mirror.then(|| Mirror {
            channel: "staging".into(),
            percent: 100,
        }),
    }
}

/// Specs whose registry strings (model, channel, source, tags, URI) try every trick: YAML 1.1
/// words, numbers, dates, injected YAML, templates, unicode, 300 characters.
pub fn awkward_specs() -> Vec<ServingSpec> {
    let long = "very-long-name-".repeat(20);
    let strings = [
        "ElasticnetWineModel2",
        "Wine Quality / ElasticNet v2",
        "yes",
        "012",
        "2024-01-01",
        "x\"\n  env:\n  - name: PWNED",
        "{{ values }}",
        "模型-ünïcödé",
        long.as_str(),
    ];
    strings
        .iter()
        .enumerate()
        .map(|(i, s)| ServingSpec {
            model: (*s).to_owned(),
            version: (i + 1).to_string(),
            channel: if i % 2 == 0 {
                "production".into()
            } else {
                (*s).to_owned()
            },
            source: Some((*s).to_owned()),
            tags: BTreeMap::from([((*s).to_owned(), (*s).to_owned())]),
            install: Vec::new(),
            profile: None,
            traffic: None,
            model_uri: format!("s3://mlflow/models/{s}/{}", i + 1),
            ..plain_spec()
        })
        .collect()
}

/// The objects of every awkward spec, together in one directory, pass kustomize, the strict
/// schema validation and the CRD schemas (names never collide across models and channels).
pub fn renders_valid_objects(target: &dyn ServingTarget) {
    let mut set = ManifestSet::new();
    for spec in awkward_specs() {
        let rendered = target
            .render(&spec)
            .unwrap_or_else(|e| panic!("{} cannot render {:?}: {e}", target.name(), spec.model));
        set.extend(rendered)
            .unwrap_or_else(|e| panic!("{}: objects collide: {e}", target.name()));
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let files = set.files().expect("the set renders as files");
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).expect("write a manifest");
    }
    let names: Vec<String> = files.into_iter().map(|(name, _)| name).collect();
    let listing = kustomization(&names).expect("a kustomization");
    std::fs::write(dir.path().join(KUSTOMIZATION_FILE), listing).expect("write the kustomization");
    let checked = testkit::kube::assert_valid_kustomization(dir.path());
    assert_eq!(checked, set.len(), "kustomize dropped or added objects");
}

/// The same spec renders to the same bytes.
pub fn renders_deterministically(target: &dyn ServingTarget) {
    for spec in awkward_specs() {
        let once = target.render(&spec).and_then(|s| s.to_yaml());
        let again = target.render(&spec).and_then(|s| s.to_yaml());
        assert_eq!(
            once.expect("renders"),
            again.expect("renders"),
            "{}: {:?}",
            target.name(),
            spec.model
        );
    }
}

/// No registry string changes the structure of what is rendered: every awkward spec gives the
/// same objects with the same fields as the plain spec; only string values (and the keys of
/// label and annotation maps, which hold the names) differ.
pub fn registry_strings_never_change_the_structure(target: &dyn ServingTarget) {
    let shape = |spec: &ServingSpec| -> Vec<(String, Value)> {
        let set = target
            .render(spec)
            .unwrap_or_else(|e| panic!("{} cannot render {:?}: {e}", target.name(), spec.model));
        set.iter()
            .map(|m| (m.key().kind.clone(), shape_of(m.body(), false)))
            .collect()
    };
    let want = shape(&plain_spec());
    for spec in awkward_specs() {
        assert_eq!(
            shape(&spec),
            want,
            "{}: the registry strings of {:?} changed the objects' structure",
            target.name(),
            spec.model
        );
    }
}

/// A value with every scalar replaced by its type; under a map of names (labels, annotations,
/// selectors), the keys too.
fn shape_of(value: &Value, names: bool) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (i, (key, value)) in map.iter().enumerate() {
                let is_names = matches!(key.as_str(), "labels" | "annotations" | "matchLabels")
                    || (key == "selector"
                        && value
                            .as_object()
                            .is_some_and(|m| !m.contains_key("matchLabels")));
                let key = if names {
                    format!("name {i}")
                } else {
                    key.clone()
                };
                out.insert(key, shape_of(value, is_names));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| shape_of(v, false)).collect()),
        Value::String(_) => Value::String("string".into()),
        Value::Number(_) => Value::String("number".into()),
        Value::Bool(_) => Value::String("bool".into()),
        Value::Null => Value::Null,
    }
}
