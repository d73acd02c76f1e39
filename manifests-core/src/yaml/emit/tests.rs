use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn reference(value: &Value) -> String {
    crate::yaml::to_document(value, "test").unwrap()
}

/// Strings of the characters that matter to YAML: plain-looking ones, indicators, quotes,
/// spaces, line breaks, digits and YAML 1.1 words.
pub(super) fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z/-][a-zA-Z0-9._/:-]{0,12}",
        "[a-zA-Z/-][a-zA-Z0-9._/:-]{70,90}",
        "[a-zA-Z][a-zA-Z0-9 ._/:-]{70,90}",
        "[a-zA-Z/-][a-zA-Z0-9 ._/:,=()+@#-]{0,14}",
        "[a-zA-Z/-][ -~]{0,16}",
        "[a-zA-Z][ -~]{75,84}",
        "[+-]?(inf|nan|infinity|yes|no|true|null)",
        "[0-9][0-9a-fA-FxobOXBeEMGKik]{0,10}",
        "[,:\\[\\]{}#&*!|>'\"%@`][ -~]{0,12}",
        "[,:\\[\\]{}#&*!|>'\"%@`][ -~]{78,84}",
        "[0-9.:+-][0-9a-fA-Fx._:eE-]{0,8}",
        "[0-9][0-9.]{0,8}",
        "[ -~]{0,10}",
        "[a-z #:'\"\\n\\t{}\\[\\],&*!|>%@`?=~-]{0,10}",
        prop::sample::select(vec![
            "y",
            "N",
            "yes",
            "No",
            "TRUE",
            "off",
            "On",
            "null",
            "~",
            "nan",
            ".inf",
            "Infinity",
            "0x1F",
            "012",
            "1_000",
            "12:30",
            "2024-01-01",
            "1e3",
            "-",
            "--",
            "-1",
            "-inf",
            "+INF",
            "-Infinity",
            "a:",
            "a: b",
            "",
            " lead",
            "trail ",
            "#x",
            "x #y",
            "-a",
            "--flag",
            "/tmp",
            "models:/m-1",
        ])
        .prop_map(str::to_owned),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::String),
        Just(json!({})),
        Just(json!([])),
    ]
}

pub(super) fn tree() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the tree, the fast writer writes serde-saphyr's bytes, or leaves it to it.
    #[test]
    fn the_fast_writer_writes_exactly_what_serde_saphyr_writes(
        entries in prop::collection::vec((text(), tree()), 1..6)
    ) {
        let value = Value::Object(entries.into_iter().collect());
        if let Some(fast) = document(&value) {
            prop_assert_eq!(fast, reference(&value));
        }
    }

    /// A string the scans call plain is one serde-saphyr writes plain, as a value and (for
    /// [`is_plain`]) as a key.
    #[test]
    fn plain_strings_are_plain_to_serde_saphyr(s in text()) {
        if is_plain(&s) || is_plain_after_digit(&s) {
            let value = json!({ "k": s });
            prop_assert_eq!(reference(&value), format!("k: {s}\n"));
        }
        if is_plain_key(&s) {
            let key = json!({ s.clone(): "v" });
            prop_assert_eq!(reference(&key), format!("{s}: v\n"));
        }
    }
}

#[test]
fn kubernetes_shapes_are_written_by_the_fast_writer() {
    let value = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "annotations": {
                "mlflow-gitops.io/version": "3",
                "mlflow-gitops.io/model": "Wine Model 7",
                "mlflow-gitops.io/run-id": "0000000000000000000000000000001b",
                "mlflow-gitops.io/traffic": "production=90,challenger=10",
                "tags": "{\"a\":\"b\"}",
            },
            "name": "x",
        },
        "spec": {
            "replicas": 1,
            "hosts": ["*"],
            "template": { "spec": {
                "containers": [{
                    "args": ["models", "-h", "0.0.0.0", "--env-manager", "local"],
                    "env": [{ "name": "A", "valueFrom": { "secretKeyRef": { "key": "k", "optional": false } } }],
                    "resources": { "limits": { "nvidia.com/gpu": "1", "memory": "1Gi", "cpu": "500m" } },
                }],
                "tolerations": [],
                "nodeSelector": {},
            } },
        },
    });
    let fast = document(&value).expect("the common shapes");
    assert_eq!(fast, reference(&value));
    assert!(
        fast.contains("\n      - args:\n        - models\n"),
        "{fast}"
    );
}

#[test]
fn what_the_fast_writer_leaves_goes_to_serde_saphyr() {
    for value in [
        json!({ "ratio": 0.5 }),
        json!({ "script": "line one\nline two\n" }),
        json!({ "nested": [[1, 2]] }),
        // Longer than 80 characters: serde-saphyr folds it over two lines.
        json!({ "uri": format!("s3://mlflow/models/{}/1/", "a".repeat(70)) }),
        json!("a bare string"),
    ] {
        assert_eq!(document(&value), None, "{value}");
        assert_eq!(
            crate::yaml::value_to_document(&value, "test").unwrap(),
            reference(&value)
        );
    }
}

/// Every spelling, in any case, of the words the fast writer double-quotes is double-quoted by
/// serde-saphyr too.
#[test]
fn yaml11_words_are_quoted_as_serde_saphyr_quotes_them() {
    for word in [
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf",
    ] {
        for mask in 0..1u32 << word.len() {
            let spelled: String = word
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if mask & 1 << i != 0 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            assert!(is_yaml11_word(&spelled));
            let value = json!({ "k": spelled });
            assert_eq!(document(&value), Some(reference(&value)), "{spelled}");
            assert_eq!(reference(&value), format!("k: \"{spelled}\"\n"));
        }
    }
}
