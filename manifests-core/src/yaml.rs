//! The one place YAML is written and read.
//!
//! Kubernetes tooling reads YAML 1.1 (go-yaml v2 under sigs.k8s.io/yaml): a plain `yes`, `on`, `n`,
//! `012`, `1_000`, `12:30` or `2024-01-01` becomes a bool, number or date there, and the apply fails
//! with "cannot unmarshal bool into string". The serde_yaml family writes those unquoted;
//! serde-saphyr quotes every string a YAML 1.1 reader could take for something else, which the tests
//! check with a real YAML 1.1 reader (PyYAML) on adversarial strings.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

mod emit;

/// A JSON tree (what [`Manifest`](crate::Manifest) keeps) as one YAML document: byte for byte
/// what [`to_document`] writes, by a faster writer for the common shapes.
pub fn value_to_document(value: &serde_json::Value, context: &str) -> Result<String> {
    match emit::document(value) {
        Some(text) => Ok(text),
        None => to_document(value, context),
    }
}

/// A typed object as [`value_to_document`] writes its JSON tree, with its identity fields, written
/// without building the tree; None when the tree must be built (what the fast writer leaves to
/// serde-saphyr, and what a tree would hold differently from the object's own shape).
pub(crate) fn object_to_document<T: Serialize + ?Sized>(
    object: &T,
) -> Option<(String, emit::typed::Identity)> {
    emit::typed::document(object)
}

/// One YAML document (no `---` marker), ending in a newline.
pub fn to_document<T: Serialize>(value: &T, context: &str) -> Result<String> {
    let options = serde_saphyr::ser_options! {
        // Block style everywhere: diffs of generated files stay line-by-line readable.
        indent_step: 2,
    };
    let mut text =
        serde_saphyr::to_string_with_options(value, options).map_err(|e| Error::Yaml {
            context: context.to_owned(),
            message: e.to_string(),
        })?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// A document [`object_to_document`] wrote, read back as a JSON tree (that writer keeps within
/// the limits serde-saphyr reads YAML with).
pub(crate) fn read_back(text: &str, context: &str) -> Result<serde_json::Value> {
    serde_saphyr::from_str(text).map_err(|e| Error::Yaml {
        context: context.to_owned(),
        message: e.to_string(),
    })
}

/// Every document of a (multi-document) YAML text, empty documents dropped.
pub fn from_documents<T: DeserializeOwned>(text: &str, context: &str) -> Result<Vec<T>> {
    serde_saphyr::from_multiple::<Option<T>>(text)
        .map(|docs| docs.into_iter().flatten().collect())
        .map_err(|e| Error::Yaml {
            context: context.to_owned(),
            message: e.to_string(),
        })
}
