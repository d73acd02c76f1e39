//! The security invariants of DESIGN.md, as properties over arbitrary registry strings:
//! no model name, alias, source or tag changes the structure of a manifest; names are always valid
//! and never collide; output is deterministic; no credential handed in ever comes out.

use crate::common;

use std::collections::BTreeMap;

use manifests_core::naming::is_rfc1035_label;
use manifests_core::serving::NamedProfile;
use manifests_core::serving::S3Access;
use manifests_core::serving::traffic::{self, Mirror, rebalance};
use manifests_core::tenant::{Backend, GitOps, MlflowServerSpec, Storage};
use manifests_core::{
    KServe, ManifestSet, MlflowServe, ServingSpec, ServingTarget, TenantSpec, Traffic, k8s_name,
    tenant_components, yaml,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

/// Strings a YAML 1.1 reader types as bool, null, number or date, plus YAML and template syntax.
const HOSTILE: &[&str] = &[
    "yes",
    "no",
    "on",
    "off",
    "y",
    "n",
    "Y",
    "N",
    "YES",
    "True",
    "false",
    "~",
    "null",
    "Null",
    "1_000",
    "012",
    "0x1F",
    "0o17",
    "+1",
    "-1.5e3",
    ".inf",
    "-.Inf",
    ".NaN",
    "12:30",
    "1:20:30",
    "2024-01-01",
    "2024-01-01 10:00:00",
    "2001-12-14t21:59:43.10-05:00",
    "=",
    "<<",
    "*a",
    "&a",
    "!!str x",
    "%YAML 1.1",
    "---",
    "...",
    "- item",
    "? key",
    "a: b",
    "a #b",
    "#x",
    "{a: 1}",
    "[1]",
    "{{ env }}",
    "{% if %}",
    "'",
    "\"",
    "\\",
    "line\nbreak",
    "\ttab",
    " lead",
    "trail ",
    "",
    "\u{2028}",
    "\u{feff}bom",
    "ünïcödé 模型",
    "x\"\n  env:\n  - name: PWNED",
];

fn hostile_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(HOSTILE).prop_map(str::to_owned),
        any::<String>(),
        "[ -~]{0,80}",
        (prop::sample::select(HOSTILE), "[ -~]{0,10}").prop_map(|(a, b)| format!("{a}{b}")),
    ]
}

fn spec_with(model: String, channel: String, source: String, tag: (String, String)) -> ServingSpec {
    ServingSpec {
        model,
        channel,
        source: Some(source),
        tags: BTreeMap::from([tag]),
        install: Vec::new(),
        profile: None,
        traffic: None,
        ..common::seed_spec("production")
    }
}

/// The tree with every scalar replaced by its type: what must not depend on registry strings.
fn shape(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(shape).collect()),
        Value::String(_) => Value::from("string"),
        Value::Number(_) => Value::from("number"),
        Value::Bool(_) => Value::from("bool"),
        Value::Null => Value::Null,
    }
}

fn targets() -> Vec<Box<dyn ServingTarget>> {
    vec![
        Box::new(MlflowServe::default()),
        Box::new(KServe::default()),
    ]
}

fn benign_shapes(target: &dyn ServingTarget) -> Vec<Value> {
    let spec = spec_with(
        "iris".into(),
        "production".into(),
        "s".into(),
        ("k".into(), "v".into()),
    );
    target
        .render(&spec)
        .unwrap()
        .iter()
        .map(|m| shape(m.body()))
        .collect()
}

proptest! {
    #![proptest_config(Config::with_cases(256))]

    #[test]
    fn registry_strings_never_change_structure(
        model in hostile_string(),
        channel in hostile_string(),
        source in hostile_string(),
        tag in (hostile_string(), hostile_string()),
    ) {
        let spec = spec_with(model, channel, source, tag);
        for target in targets() {
            let set = target.render(&spec).unwrap();
            let text = set.to_yaml().unwrap();
            let parsed: Vec<Value> = yaml::from_documents(&text, "rendered").unwrap();
            let bodies: Vec<Value> = set.iter().map(|m| m.body().clone()).collect();
            prop_assert_eq!(&parsed, &bodies, "YAML does not read back as written");
            let shapes: Vec<Value> = parsed.iter().map(shape).collect();
            prop_assert_eq!(shapes, benign_shapes(target.as_ref()));
            for manifest in set.iter() {
                prop_assert!(is_rfc1035_label(&manifest.key().name), "{}", manifest.key());
            }
            prop_assert_eq!(text, target.render(&spec).unwrap().to_yaml().unwrap(), "not deterministic");
        }
    }

    #[test]
    fn names_are_valid_labels(model in hostile_string(), channel in hostile_string()) {
        let name = k8s_name(&model, &channel);
        prop_assert!(is_rfc1035_label(&name), "{:?}/{:?} -> {:?}", model, channel, name);
    }

    #[test]
    fn names_never_collide(
        a in (hostile_string(), hostile_string()),
        b in (hostile_string(), hostile_string()),
    ) {
        prop_assume!(a != b);
        prop_assert_ne!(k8s_name(&a.0, &a.1), k8s_name(&b.0, &b.1));
    }

    #[test]
    fn near_twins_never_collide(model in "[a-zA-Z0-9 _.-]{1,70}", channel in "[a-zA-Z0-9-]{1,20}") {
        // The inputs a sanitizer merges: case, separators, the split point between the parts.
        let twins = [
            (model.to_lowercase(), channel.clone()),
            (model.to_uppercase(), channel.clone()),
            (model.replace(['_', '.', ' '], "-"), channel.clone()),
            (format!("{model}-{channel}"), String::new()),
            (model.clone(), format!("{channel}-")),
        ];
        let original = k8s_name(&model, &channel);
        for (m, c) in twins {
            if (m.as_str(), c.as_str()) != (model.as_str(), channel.as_str()) {
                prop_assert_ne!(&k8s_name(&m, &c), &original, "{:?}/{:?}", m, c);
            }
        }
    }

    #[test]
    fn credentials_in_uris_never_reach_the_output(
        secret in "[A-Za-z0-9+/]{12,40}",
        user in "[a-z]{1,8}",
    ) {
        let with_password = format!("http://{user}:{secret}@minio.example:9000");
        let serving = MlflowServe {
            s3: S3Access { endpoint_url: Some(with_password.clone()), ..Default::default() },
            ..Default::default()
        };
        let err = serving.render(&common::seed_spec("production")).unwrap_err();
        prop_assert!(!err.to_string().contains(&secret));

        let spec = ServingSpec { model_uri: format!("s3://{user}:{secret}@bucket/m/1"), ..common::seed_spec("x") };
        for target in targets() {
            let err = target.render(&spec).unwrap_err();
            prop_assert!(!err.to_string().contains(&secret));
        }

        let tenants = [
            TenantSpec {
                namespace: "team".into(),
                storage: Storage::External { endpoint_url: Some(with_password.clone()), region: "eu".into() },
                ..Default::default()
            },
            TenantSpec {
                namespace: "team".into(),
                gitops: Some(GitOps { repo_url: format!("https://{user}:{secret}@git.example/r.git"), ..Default::default() }),
                ..Default::default()
            },
        ];
        for tenant in tenants {
            let err = tenant_components(&tenant).unwrap_err();
            prop_assert!(!err.to_string().contains(&secret));
        }
    }

    #[test]
    fn tenant_output_holds_secret_names_never_values(secret_name in "[a-z][a-z0-9-]{0,20}[a-z]") {
        let spec = TenantSpec {
            namespace: "team".into(),
            mlflow: MlflowServerSpec {
                backend: Backend::Database { uri: manifests_core::meta::SecretKeyRef::new(&secret_name, "uri") },
                ..Default::default()
            },
            gitops: Some(GitOps { repo_url: "ssh://git@git.example/r.git".into(), target: "kserve".into(), ..Default::default() }),
            ..Default::default()
        };
        let text = tenant_components(&spec).unwrap().to_yaml().unwrap();
        // Names YAML 1.1 reads as booleans or numbers (`on`, `no`, `y`) are written quoted.
        let referenced = [
            format!("name: {secret_name}\n"),
            format!("name: '{secret_name}'\n"),
            format!("name: \"{secret_name}\"\n"),
        ]
        .iter()
        .any(|reference| text.contains(reference));
        prop_assert!(referenced, "{secret_name} is not referenced by name");
        prop_assert!(!text.contains("kind: Secret\n"), "no Secret object is ever generated");
        prop_assert!(!text.contains("stringData"));
    }
}

/// Every hostile string, rendered and read back by a YAML 1.1 reader (PyYAML, as kubectl reads),
/// stays the string it was: nothing becomes a bool, number, null or date.
#[test]
fn yaml_1_1_readers_see_the_strings_we_wrote() {
    let mut strings: Vec<String> = HOSTILE.iter().map(|s| (*s).to_owned()).collect();
    let mut runner = TestRunner::deterministic();
    for _ in 0..400 {
        strings.push(hostile_string().new_tree(&mut runner).unwrap().current());
    }
    let mut set = ManifestSet::new();
    for (i, s) in strings.iter().enumerate() {
        let spec = ServingSpec {
            model: s.clone(),
            channel: format!("c{i}"),
            source: Some(s.clone()),
            tags: BTreeMap::from([(s.clone(), s.clone())]),
            ..common::seed_spec("x")
        };
        set.extend(MlflowServe::default().render(&spec).unwrap())
            .unwrap();
    }
    let text = set.to_yaml().unwrap();
    let read = testkit::kube::yaml11_documents(&text);
    let written: Vec<Value> = set.iter().map(|m| m.body().clone()).collect();
    assert_eq!(read.len(), written.len());
    for (r, w) in read.iter().zip(&written) {
        assert_eq!(r, w, "a YAML 1.1 reader sees something else");
    }
}

proptest! {
    #![proptest_config(Config::with_cases(256))]

    /// No requirement a model records becomes a pip option or changes the environment step's
    /// shape: a render either refuses it or passes it, unchanged, as one argument after the
    /// constant script and target directory, and no argument there starts with `-`.
    #[test]
    fn requirements_never_become_pip_options(
        install in prop::collection::vec(
            prop_oneof![
                hostile_string(),
                "-{1,2}[a-z-]{1,12}(=[ -~]{0,12})?",
                "[A-Za-z0-9][A-Za-z0-9._-]{0,12}(==[0-9.]{1,6})?",
            ],
            1..4,
        )
    ) {
        let serve = MlflowServe {
            package_index: Some("https://pypi.example.com/simple".into()),
            ..MlflowServe::default()
        };
        let spec = ServingSpec { install: install.clone(), ..common::seed_spec("x") };
        let installable = install.iter().all(|r| manifests_core::serving::environment::is_installable(r));
        match serve.render(&spec) {
            Err(e) => prop_assert!(!installable, "{e}"),
            Ok(set) => {
                prop_assert!(installable);
                let deployment = set.iter().find(|m| m.key().kind == "Deployment").unwrap();
                let init = &deployment.body()["spec"]["template"]["spec"]["initContainers"][0];
                let args: Vec<String> = serde_json::from_value(init["args"].clone()).unwrap();
                prop_assert_eq!(&args[2], manifests_core::serving::environment::MODEL_ENV_DIR);
                prop_assert_eq!(&args[3..], &install[..]);
                prop_assert!(args[3..].iter().all(|a| !a.starts_with('-')));
                prop_assert_eq!(&init["command"], &serde_json::json!(["python3"]));
            }
        }
    }
}

/// A profile both targets take (no image, no startup budget), with every kind of setting.
fn shared_profile() -> std::sync::Arc<NamedProfile> {
    let [large, _] = manifests_core::conformance::sample_profiles();
    large
}

/// `spec` as a route sending `weight` percent to `other`, and (mlflow-serve) mirroring to
/// `mirror`.
fn routed(spec: ServingSpec, other: &str, weight: u32, mirror: Option<&str>) -> ServingSpec {
    let backend = |channel: &str, weight| traffic::Backend {
        channel: channel.to_owned(),
        weight,
        model_uri: "s3://mlflow/models/m/9".into(),
    };
    let traffic = Traffic {
        split: vec![backend(&spec.channel, 100 - weight), backend(other, weight)],
        mirror: mirror.map(|channel| Mirror {
            channel: channel.to_owned(),
            percent: 50,
        }),
    };
    ServingSpec {
        profile: Some(shared_profile()),
        traffic: Some(traffic),
        ..spec
    }
}

fn split_targets() -> Vec<(Box<dyn ServingTarget>, bool)> {
    let standard = KServe {
        deployment_mode: Some("Standard".into()),
        ..KServe::default()
    };
    vec![
        (Box::new(MlflowServe::default()), true),
        (Box::new(standard), false),
    ]
}

proptest! {
    #![proptest_config(Config::with_cases(256))]

    /// Profiles and splits add no way in: model names, aliases in a split, tags and weights
    /// never change the shape of what a profiled route renders.
    #[test]
    fn names_in_a_split_never_change_structure(
        model in hostile_string(),
        route in hostile_string(),
        other in hostile_string(),
        mirror in hostile_string(),
        tag in (hostile_string(), hostile_string()),
        weight in 0u32..=100,
    ) {
        prop_assume!(route != other);
        for (target, mirrors) in split_targets() {
            let mirror = mirrors.then_some(mirror.as_str());
            let benign = routed(
                spec_with("iris".into(), "production".into(), "s".into(), ("k".into(), "v".into())),
                "challenger",
                10,
                mirror.map(|_| "staging"),
            );
            let hostile = routed(spec_with(model.clone(), route.clone(), "s".into(), tag.clone()), &other, weight, mirror);
            let shapes = |spec: &ServingSpec| -> Vec<Value> {
                target.render(spec).unwrap().iter().map(|m| shape(m.body())).collect()
            };
            prop_assert_eq!(shapes(&hostile), shapes(&benign), "{}", target.name());
        }
    }

    /// Whatever the split and whichever of its channels exist, the weights sum to 100 over
    /// exactly the existing channels, and none of them loses share.
    #[test]
    fn weights_always_sum_to_100(
        cuts in prop::collection::vec(0u32..=100, 0..6),
        present in prop::collection::vec(any::<bool>(), 7),
    ) {
        let mut cuts = cuts;
        cuts.push(0);
        cuts.push(100);
        cuts.sort_unstable();
        let weights: BTreeMap<String, u32> = cuts
            .windows(2)
            .enumerate()
            .map(|(i, w)| (format!("c{i}"), w[1] - w[0]))
            .collect();
        prop_assert_eq!(weights.values().sum::<u32>(), 100);
        let exists = |c: &str| present[c[1..].parse::<usize>().unwrap()];
        match rebalance(&weights, exists) {
            None => prop_assert!(weights.keys().all(|c| !exists(c))),
            Some(out) => {
                prop_assert_eq!(out.values().sum::<u32>(), 100);
                let kept: Vec<&String> = weights.keys().filter(|c| exists(c)).collect();
                prop_assert_eq!(out.keys().collect::<Vec<_>>(), kept);
                for (channel, weight) in &out {
                    prop_assert!(*weight >= weights[channel], "{} lost share", channel);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// An object added to a set is written as YAML straight from its type; what `body()` reads
    /// back from that YAML is the tree `serde_json::to_value` builds, and the YAML is what the
    /// tree would have written, whatever the strings.
    #[test]
    fn a_typed_manifest_reads_back_as_its_tree(
        name in "[a-z][a-z0-9-]{0,20}",
        labels in prop::collection::btree_map(hostile_string(), hostile_string(), 0..4),
        data in prop::collection::btree_map(hostile_string(), hostile_string(), 0..6),
    ) {
        use k8s_openapi::api::core::v1::ConfigMap;
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
        use manifests_core::Manifest;

        let config = ConfigMap {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some("team-a".into()),
                annotations: Some(labels.clone()),
                labels: Some(labels),
                ..Default::default()
            },
            data: Some(data),
            ..Default::default()
        };
        let tree = serde_json::to_value(&config).unwrap();
        let typed = Manifest::new(&config).unwrap();
        let from_tree = Manifest::from_value(tree.clone()).unwrap();
        prop_assert_eq!(typed.body(), &tree);
        prop_assert_eq!(typed.key(), from_tree.key());
        prop_assert_eq!(typed.to_yaml().unwrap(), from_tree.to_yaml().unwrap());
        prop_assert_eq!(typed.decode::<ConfigMap>().unwrap(), config);
    }
}

/// A typed object deeper than serde-saphyr reads YAML (64 levels) still has its tree: the
/// writer leaves such objects to the tree path instead of reading its YAML back.
#[test]
fn a_deep_typed_manifest_still_reads_back() {
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Deep {
        api_version: &'static str,
        kind: &'static str,
        metadata: BTreeMap<&'static str, &'static str>,
        spec: Value,
    }
    let mut spec = serde_json::json!({ "leaf": "x" });
    for level in 0..100 {
        spec = serde_json::json!({ format!("level{level}"): spec });
    }
    let deep = Deep {
        api_version: "example.com/v1",
        kind: "Deep",
        metadata: BTreeMap::from([("name", "deep")]),
        spec,
    };
    let manifest = manifests_core::Manifest::new(&deep).unwrap();
    assert_eq!(manifest.body(), &serde_json::to_value(&deep).unwrap());
}
