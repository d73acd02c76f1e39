//! An ordered set of Kubernetes objects and its deterministic rendering.

use std::collections::HashSet;
use std::sync::OnceLock;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Error, ObjectKey, Result, yaml};

/// One object: its key and its serialized body (fields in the order the type declares them).
///
/// A typed object is written as YAML once, when it is added, without building its JSON tree:
/// rendering thousands of objects only writes files, and the tree ([`body`](Self::body),
/// [`decode`](Self::decode)) is read back from that YAML when something asks for it. An object
/// read from a tree keeps the tree and writes its YAML when asked.
#[derive(Clone, Debug)]
pub struct Manifest {
    key: ObjectKey,
    body: OnceLock<Value>,
    yaml: OnceLock<String>,
}

impl PartialEq for Manifest {
    fn eq(&self, other: &Self) -> bool {
        // Equal YAML is equal content; different YAML may still be the same tree (a mapping's
        // order does not matter to a tree's equality), so that case compares trees.
        let same_text = matches!((self.yaml.get(), other.yaml.get()), (Some(a), Some(b)) if a == b);
        self.key == other.key && (same_text || self.body() == other.body())
    }
}

impl Manifest {
    /// Wraps an already serialized object, reading its key from the body.
    pub fn from_value(body: Value) -> Result<Self> {
        let text = |pointer: &str| {
            body.pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let key = object_key(
            text("/apiVersion"),
            text("/kind"),
            text("/metadata/namespace"),
            text("/metadata/name"),
        )?;
        Ok(Self {
            key,
            body: OnceLock::from(body),
            yaml: OnceLock::new(),
        })
    }

    /// Serializes a typed object (k8s-openapi kinds and this crate's custom kinds carry their
    /// apiVersion and kind).
    pub fn new<T: Serialize>(object: &T) -> Result<Self> {
        let Some((yaml, id)) = yaml::object_to_document(object) else {
            let body = serde_json::to_value(object).map_err(|e| Error::Yaml {
                context: "object".into(),
                message: e.to_string(),
            })?;
            return Self::from_value(body);
        };
        let key = object_key(id.api_version, id.kind, id.namespace, id.name)?;
        Ok(Self {
            key,
            body: OnceLock::new(),
            yaml: OnceLock::from(yaml),
        })
    }

    /// The object's identity.
    pub fn key(&self) -> &ObjectKey {
        &self.key
    }

    /// The object as a JSON tree.
    pub fn body(&self) -> &Value {
        self.body.get_or_init(|| {
            let text = self.yaml.get().map_or("", String::as_str);
            // The YAML was written by this crate from the same object; reading it back is the
            // tree `serde_json::to_value` builds (a property test holds the writers to that), so
            // a failure here is a bug in the writer, not bad input.
            yaml::read_back(text, &self.key.to_string())
                .expect("the YAML this crate wrote reads back")
        })
    }

    /// The object as a typed value, e.g. `manifest.decode::<NetworkPolicy>()`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(self.body().clone()).map_err(|e| Error::Yaml {
            context: self.key.to_string(),
            message: e.to_string(),
        })
    }

    /// The object as one YAML document.
    pub fn to_yaml(&self) -> Result<String> {
        self.yaml_text().map(str::to_owned)
    }

    fn yaml_text(&self) -> Result<&str> {
        if let Some(text) = self.yaml.get() {
            return Ok(text);
        }
        let text = yaml::value_to_document(self.body(), &self.key.to_string())?;
        Ok(self.yaml.get_or_init(|| text))
    }
}

/// The key of an object from its identity fields; apiVersion, kind and name must be non-empty.
fn object_key(
    api_version: Option<String>,
    kind: Option<String>,
    namespace: Option<String>,
    name: Option<String>,
) -> Result<ObjectKey> {
    let given = |text: Option<String>, field: &'static str| {
        text.filter(|s| !s.is_empty())
            .ok_or(Error::Incomplete { field })
    };
    Ok(ObjectKey {
        api_version: given(api_version, "apiVersion")?,
        kind: given(kind, "kind")?,
        namespace: given(namespace, "metadata.namespace").ok(),
        name: given(name, "metadata.name")?,
    })
}

/// Objects in insertion order, at most one per [`ObjectKey`].
///
/// Rendering is a pure function of the content: equal sets give byte-identical YAML, so an
/// unchanged registry produces an unchanged git tree and no commit.
///
/// ```
/// use k8s_openapi::api::core::v1::Namespace;
/// use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
/// use manifests_core::ManifestSet;
///
/// let ns = Namespace {
///     metadata: ObjectMeta { name: Some("team-a".into()), ..Default::default() },
///     ..Default::default()
/// };
/// let mut set = ManifestSet::new();
/// set.push(&ns)?;
/// assert!(set.push(&ns).is_err(), "a duplicate is refused");
/// assert_eq!(set.to_yaml()?, "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n");
/// # Ok::<(), manifests_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ManifestSet {
    items: Vec<Manifest>,
    keys: HashSet<ObjectKey>,
}

impl ManifestSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a typed object at the end; a second object with the same key is an error.
    pub fn push<T: Serialize>(&mut self, object: &T) -> Result<()> {
        self.insert(Manifest::new(object)?)
    }

    /// Adds an already serialized object at the end; a second object with the same key is an error.
    pub fn insert(&mut self, manifest: Manifest) -> Result<()> {
        if !self.keys.insert(manifest.key.clone()) {
            return Err(Error::Duplicate(manifest.key));
        }
        self.items.push(manifest);
        Ok(())
    }

    /// Appends every object of `other`, in its order; stops at the first duplicate.
    pub fn extend(&mut self, other: ManifestSet) -> Result<()> {
        other.items.into_iter().try_for_each(|m| self.insert(m))
    }

    /// The objects in order.
    pub fn iter(&self) -> impl Iterator<Item = &Manifest> {
        self.items.iter()
    }

    /// Number of objects.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the set holds no object.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The object with this key, if present.
    pub fn get(&self, key: &ObjectKey) -> Option<&Manifest> {
        self.items.iter().find(|m| &m.key == key)
    }

    /// All objects as one multi-document YAML text, each document opened by `---`.
    pub fn to_yaml(&self) -> Result<String> {
        let mut out = String::new();
        for manifest in &self.items {
            out.push_str("---\n");
            out.push_str(manifest.yaml_text()?);
        }
        Ok(out)
    }

    /// The objects grouped into files by kind, in order of first appearance: `deployment.yaml`,
    /// `service.yaml`, `virtualservice.yaml`, … (several objects of one kind share its file). Kinds
    /// are unique per API group in everything this crate emits; a kind that two groups share gets
    /// the group in its file name.
    pub fn files(&self) -> Result<Vec<(String, String)>> {
        let mut files: Vec<(String, String)> = Vec::new();
        for manifest in &self.items {
            let name = self.file_name(&manifest.key);
            let document = manifest.yaml_text()?;
            let at = files
                .iter()
                .position(|(n, _)| *n == name)
                .unwrap_or_else(|| {
                    files.push((name, String::with_capacity(document.len() + 4)));
                    files.len() - 1
                });
            let text = &mut files[at].1;
            text.push_str("---\n");
            text.push_str(document);
        }
        Ok(files)
    }

    fn file_name(&self, key: &ObjectKey) -> String {
        let kind = key.kind.to_ascii_lowercase();
        let shared = self
            .items
            .iter()
            .any(|m| m.key.kind == key.kind && m.key.api_version != key.api_version);
        if shared {
            let group = key.api_version.rsplit_once('/').map_or("core", |(g, _)| g);
            format!("{kind}.{group}.yaml")
        } else {
            format!("{kind}.yaml")
        }
    }

    /// Reads a multi-document YAML text back (what [`to_yaml`](Self::to_yaml), `kubectl
    /// kustomize` or `kubectl get -o yaml` wrote); `context` names the source in errors. See
    /// [`extend_from_yaml`](Self::extend_from_yaml).
    pub fn from_yaml(text: &str, context: &str) -> Result<Self> {
        let mut set = Self::new();
        set.extend_from_yaml(text, context)?;
        Ok(set)
    }

    /// Appends the objects of a multi-document YAML text. A `kind: List` document (what `kubectl
    /// get … -o yaml` prints) contributes its items; kustomize's own files
    /// (`kustomize.config.k8s.io`) are not cluster objects and are skipped. A document that is
    /// not an object, or an object already present, is an error naming `context`.
    ///
    /// ```
    /// let dump = "apiVersion: v1\nkind: List\nmetadata: {resourceVersion: \"\"}\nitems:\n\
    ///             - {apiVersion: v1, kind: Namespace, metadata: {name: team-a}}\n\
    ///             - {apiVersion: v1, kind: Namespace, metadata: {name: team-b}}\n";
    /// let set = manifests_core::ManifestSet::from_yaml(dump, "dump.yaml")?;
    /// assert_eq!(set.len(), 2);
    /// # Ok::<(), manifests_core::Error>(())
    /// ```
    pub fn extend_from_yaml(&mut self, text: &str, context: &str) -> Result<()> {
        let located = |e: Error| Error::In {
            context: context.to_owned(),
            source: Box::new(e),
        };
        for body in yaml::from_documents::<Value>(text, context)? {
            let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
            let api_version = body
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if api_version.starts_with("kustomize.config.k8s.io/") {
                continue;
            }
            let items = body.get("items").and_then(Value::as_array);
            match items {
                Some(items) if api_version == "v1" && kind.ends_with("List") => {
                    for item in items {
                        self.insert(Manifest::from_value(item.clone()).map_err(located)?)
                            .map_err(located)?;
                    }
                }
                _ => self
                    .insert(Manifest::from_value(body).map_err(located)?)
                    .map_err(located)?,
            }
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a ManifestSet {
    type Item = &'a Manifest;
    type IntoIter = std::slice::Iter<'a, Manifest>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}
