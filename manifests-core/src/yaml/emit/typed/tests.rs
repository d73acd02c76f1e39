use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};

use super::document;
use crate::yaml::emit::tests::{text, tree};

/// A typed object with the shapes serde gives the writer: struct fields, skipped fields, a None
/// written as null, a float (which the writer leaves to the tree path), string maps, sequences
/// of structs, and a free-form tree.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Object {
    api_version: String,
    kind: String,
    metadata: Meta,
    #[serde(skip_serializing_if = "Option::is_none")]
    spec: Option<Value>,
    note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ratio: Option<f64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    items: Vec<Item>,
    data: BTreeMap<String, String>,
}

#[derive(Debug, Serialize)]
struct Meta {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Serialize)]
struct Item {
    name: String,
    args: Vec<String>,
    port: Option<i32>,
    enabled: bool,
    more: Option<Vec<Vec<u8>>>,
}

fn strings() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(text(), text(), 0..4)
}

fn item() -> impl Strategy<Value = Item> {
    (
        text(),
        prop::collection::vec(text(), 0..3),
        any::<Option<i32>>(),
        any::<bool>(),
        prop::option::weighted(
            0.1,
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..2), 0..2),
        ),
    )
        .prop_map(|(name, args, port, enabled, more)| Item {
            name,
            args,
            port,
            enabled,
            more,
        })
}

fn object() -> impl Strategy<Value = Object> {
    (
        (text(), text(), text(), prop::option::of(text())),
        prop::option::of(strings()),
        prop::option::of(tree()),
        prop::option::of(text()),
        prop::option::weighted(0.1, any::<f64>()),
        prop::collection::vec(item(), 0..3),
        strings(),
    )
        .prop_map(
            |((api_version, kind, name, namespace), labels, spec, note, ratio, items, data)| {
                Object {
                    api_version,
                    kind,
                    metadata: Meta {
                        name,
                        namespace,
                        labels,
                    },
                    spec,
                    note,
                    ratio,
                    items,
                    data,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Written straight from the object, the YAML is byte for byte what the tree writers write
    /// for `serde_json::to_value(object)`, the identity is what the tree holds, and the writer
    /// gives up exactly where the tree writer does.
    #[test]
    fn the_typed_writer_writes_what_the_tree_writers_write(object in object()) {
        let tree = serde_json::to_value(&object).unwrap();
        let direct = document(&object);
        prop_assert_eq!(direct.is_some(), super::super::document(&tree).is_some());
        let Some((text, identity)) = direct else { return Ok(()) };
        prop_assert_eq!(&text, &crate::yaml::value_to_document(&tree, "test").unwrap());
        let at = |pointer: &str| tree.pointer(pointer).and_then(Value::as_str).map(str::to_owned);
        prop_assert_eq!(identity.api_version, at("/apiVersion"));
        prop_assert_eq!(identity.kind, at("/kind"));
        prop_assert_eq!(identity.name, at("/metadata/name"));
        prop_assert_eq!(identity.namespace, at("/metadata/namespace"));
    }
}

#[test]
fn only_the_objects_own_identity_fields_are_read() {
    let object = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "spec": { "kind": "Other", "name": "not-the-name", "metadata": { "name": "nested" } },
        "metadata": { "labels": { "name": "label" }, "name": "cm", "owners": [{ "name": "owner" }] },
        "data": { "namespace": "not-the-namespace" },
    });
    let (_, identity) = document(&object).expect("written");
    assert_eq!(identity.api_version.as_deref(), Some("v1"));
    assert_eq!(identity.kind.as_deref(), Some("ConfigMap"));
    assert_eq!(identity.name.as_deref(), Some("cm"));
    assert_eq!(identity.namespace, None);

    let kind_not_text =
        json!({ "apiVersion": "v1", "kind": ["ConfigMap"], "metadata": { "name": "cm" } });
    let (_, identity) = document(&kind_not_text).expect("written");
    assert_eq!(identity.kind, None, "a sequence is not a kind");
}

#[test]
fn kubernetes_kinds_are_written_as_their_trees_are() {
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    let config = ConfigMap {
        metadata: ObjectMeta {
            name: Some("settings".into()),
            namespace: Some("team-a".into()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/name".into(),
                "x".into(),
            )])),
            ..Default::default()
        },
        data: Some(BTreeMap::from([
            ("on".into(), "yes".into()),
            ("port".into(), "8080".into()),
            ("script".into(), "a\nb\n".into()),
        ])),
        ..Default::default()
    };
    assert!(
        document(&config).is_none(),
        "a multi-line string is left to the tree path"
    );

    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some("team-a".into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let (text, _) = document(&namespace).expect("written");
    assert_eq!(
        text,
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n"
    );
}

/// Objects beyond the writer's bounds (levels, nodes) are left to the tree path, so their YAML
/// never has to be read back past serde-saphyr's limits.
#[test]
fn objects_beyond_the_bounds_take_the_tree_path() {
    let nested = |levels: usize| {
        let mut spec = json!({ "leaf": "x" });
        for level in 0..levels {
            spec = json!({ format!("level{level}"): spec });
        }
        json!({ "apiVersion": "v1", "kind": "Deep", "metadata": { "name": "d" }, "spec": spec })
    };
    assert!(document(&nested(super::MAX_LEVELS - 3)).is_some());
    assert!(document(&nested(super::MAX_LEVELS)).is_none());

    let wide = |entries: usize| {
        let data: BTreeMap<String, String> = (0..entries)
            .map(|i| (format!("k{i}"), "v".into()))
            .collect();
        json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "w" }, "data": data })
    };
    assert!(document(&wide(1_000)).is_some());
    assert!(document(&wide(super::MAX_NODES)).is_none());
}
