//! The managed prefix's files, as DESIGN.md's output contract lays them out:
//!
//! ```text
//! <prefix>/kustomization.yaml                 every <model>/<channel> directory
//! <prefix>/README.md                          index: model, channel, version, run, mirror
//! <prefix>/<model>/<channel>/kustomization.yaml, deployment.yaml, service.yaml, virtualservice.yaml
//!                                             (or inferenceservice.yaml)
//! ```

use std::collections::BTreeMap;

use askama::Template;
use bytes::Bytes;
use manifests_core::{ServingSpec, ServingTarget, yaml};
use serde::Serialize;

use crate::desired::Deployment;
use crate::{Error, Result};

/// File contents by path. The bytes are shared, not copied, between the pass that renders them,
/// the daemon's memory of what it published and the git writer's last change set.
pub type Files = BTreeMap<String, Bytes>;

/// A deployment directory as the repository holds it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentDir {
    /// What it serves, read from its manifests' annotations (None when unreadable).
    pub deployed: Option<Deployed>,
    /// Its files, by name relative to the directory.
    pub files: Files,
}

/// The file every directory gets, listing its resources.
pub const KUSTOMIZATION: &str = "kustomization.yaml";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Kustomization<'a> {
    api_version: &'a str,
    kind: &'a str,
    resources: &'a [String],
}

/// A kustomization.yaml listing `resources`, written by the YAML emitter like every manifest.
pub fn kustomization(resources: &[String]) -> Result<Vec<u8>> {
    let doc = Kustomization {
        api_version: "kustomize.config.k8s.io/v1beta1",
        kind: "Kustomization",
        resources,
    };
    Ok(yaml::to_document(&doc, KUSTOMIZATION)?.into_bytes())
}

/// What one deployment directory serves (read back from its annotations for the commit message
/// and for keeping a channel whose new version is bad).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployed {
    /// MLflow model name.
    pub model: String,
    /// Channel.
    pub channel: String,
    /// MLflow version.
    pub version: String,
    /// Run id, if recorded.
    pub run_id: Option<String>,
    /// The mirror the manifests point at.
    pub model_uri: String,
}

/// The files of one deployment directory (names relative to it), including its kustomization.
pub fn render_deployment(
    target: &dyn ServingTarget,
    namespace: &str,
    deployment: &Deployment,
    model_uri: &str,
) -> Result<Files> {
    let spec = ServingSpec {
        namespace: namespace.to_owned(),
        model: deployment.model.clone(),
        version: deployment.version.to_string(),
        channel: deployment.channel.clone(),
        model_uri: model_uri.to_owned(),
        run_id: deployment.run_id.clone(),
        source: Some(deployment.source.clone()),
        tags: deployment.tags.clone(),
    };
    let set = target.render(&spec)?;
    let mut files = BTreeMap::new();
    let mut names = Vec::new();
    for (name, text) in set.files()? {
        names.push(name.clone());
        files.insert(name, Bytes::from(text));
    }
    files.insert(KUSTOMIZATION.to_owned(), kustomization(&names)?.into());
    Ok(files)
}

/// Groups the managed prefix's current files by deployment directory and reads what each serves.
/// Files outside any `<model>/<channel>/` directory (the top-level index) are left out.
pub fn current_deployments(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, CurrentDir> {
    let mut dirs: BTreeMap<String, Files> = BTreeMap::new();
    for (path, bytes) in files {
        let mut parts = path.splitn(3, '/');
        if let (Some(model), Some(channel), Some(rest)) = (parts.next(), parts.next(), parts.next())
        {
            dirs.entry(format!("{model}/{channel}"))
                .or_default()
                .insert(rest.to_owned(), Bytes::copy_from_slice(bytes));
        }
    }
    let dirs: Vec<(String, Files)> = dirs.into_iter().collect();
    // Parsing is most of a fresh process's read-back (1,500 directories): spread over the cores.
    let deployed = crate::parallel::map(&dirs, |(_, files)| {
        // Every object of a directory carries the same annotations: read the smallest.
        let mut manifests: Vec<_> = files
            .iter()
            .filter(|(name, _)| name.as_str() != KUSTOMIZATION && name.ends_with(".yaml"))
            .collect();
        manifests.sort_by_key(|(_, bytes)| bytes.len());
        manifests
            .into_iter()
            .find_map(|(name, bytes)| read_annotations(name, bytes))
    });
    dirs.into_iter()
        .zip(deployed)
        .map(|((dir, files), deployed)| (dir, CurrentDir { deployed, files }))
        .collect()
}

/// Just the part of a manifest the read-back needs: deserializing into it skips building a tree of
/// the whole object (the read-back of 1,500 directories took 262 ms that way).
#[derive(serde::Deserialize)]
struct AnnotatedObject {
    metadata: AnnotatedMeta,
}

#[derive(serde::Deserialize)]
struct AnnotatedMeta {
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

fn read_annotations(name: &str, bytes: &[u8]) -> Option<Deployed> {
    let text = std::str::from_utf8(bytes).ok()?;
    let object = yaml::from_documents::<AnnotatedObject>(text, name)
        .ok()?
        .into_iter()
        .next()?;
    let annotations = object.metadata.annotations;
    let get = |key: &str| {
        annotations
            .get(&format!("{}{key}", manifests_core::meta::ANNOTATION_PREFIX))
            .cloned()
    };
    Some(Deployed {
        model: get("model")?,
        channel: get("channel")?,
        version: get("version")?,
        run_id: get("run-id"),
        model_uri: get("model-uri").unwrap_or_default(),
    })
}

/// A row of the README index; free text is made table-safe.
struct Row {
    model: String,
    channel: String,
    version: String,
    run: String,
    mirror: String,
    dir: String,
}

#[derive(Template)]
#[template(path = "readme.md")]
struct Readme<'a> {
    rows: &'a [Row],
}

/// The README index of every deployment (`(dir, deployed)` pairs, sorted).
pub fn readme(deployed: &[(String, Deployed)]) -> Result<Vec<u8>> {
    let rows: Vec<Row> = deployed
        .iter()
        .map(|(dir, d)| Row {
            model: table_cell(&d.model),
            channel: table_cell(&d.channel),
            version: table_cell(&d.version),
            run: table_cell(d.run_id.as_deref().unwrap_or("")),
            mirror: table_cell(&d.model_uri),
            dir: dir.clone(),
        })
        .collect();
    let text = Readme { rows: &rows }
        .render()
        .map_err(|e| Error::Template {
            name: "readme.md",
            message: e.to_string(),
        })?;
    Ok(text.into_bytes())
}

/// Markdown-table-safe text: pipes escaped, line breaks and other control characters as spaces.
fn table_cell(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .replace('|', "\\|")
}

/// A name for a one-line message: as is when printable, quoted with escapes otherwise.
pub fn display_name(text: &str) -> String {
    if text.is_empty() || text.chars().any(char::is_control) {
        format!("{text:?}")
    } else {
        text.to_owned()
    }
}
