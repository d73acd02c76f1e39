//! The managed prefix's files, as DESIGN.md's output contract lays them out:
//!
//! ```text
//! <prefix>/kustomization.yaml                 every <model>/<channel> directory
//! <prefix>/README.md                          index: model, channel, version, run, mirror
//! <prefix>/<model>/<channel>/kustomization.yaml, deployment.yaml, service.yaml, virtualservice.yaml
//!                                             (or inferenceservice.yaml)
//! ```

use std::borrow::Cow;
use std::collections::BTreeMap;

use askama::Template;
use gitops_writer::{BlobId, FileContent};
use manifests_core::{ServingSpec, ServingTarget, yaml};

use crate::deployment::Deployment;
use crate::{Error, Result};

/// File contents by path: bytes just rendered (shared, not copied, with the git writer's change
/// set), or the blob id of a file the repository holds already (kept without reading it).
pub type Files = BTreeMap<String, FileContent>;

/// One deployment directory's files by name, sorted. A slice, not a map: a directory holds a
/// handful of files, a map's smallest node has room for eleven, and a daemon keeps the files of
/// every directory it manages between passes (1,500 directories at 1,000 promoted versions).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirFiles(Box<[(Box<str>, FileContent)]>);

impl DirFiles {
    /// The files by name, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &FileContent)> {
        self.0.iter().map(|(name, file)| (&**name, file))
    }

    /// Whether two versions of a directory hold the same files (compared by blob id).
    pub fn same_as(&self, other: &DirFiles) -> bool {
        let ids = |files: &DirFiles| -> Vec<(String, Option<BlobId>)> {
            files
                .iter()
                .map(|(name, file)| {
                    let id = match &file.content {
                        gitops_writer::Content::Bytes(bytes) => BlobId::of(bytes).ok(),
                        gitops_writer::Content::Blob(id) => Some(*id),
                    };
                    (name.to_owned(), id)
                })
                .collect()
        };
        ids(self) == ids(other)
    }

    /// The files' contents, to change in place.
    pub fn contents_mut(&mut self) -> impl Iterator<Item = &mut FileContent> {
        self.0.iter_mut().map(|(_, file)| file)
    }
}

impl From<BTreeMap<String, FileContent>> for DirFiles {
    fn from(files: BTreeMap<String, FileContent>) -> DirFiles {
        DirFiles(
            files
                .into_iter()
                .map(|(name, file)| (name.into_boxed_str(), file))
                .collect(),
        )
    }
}

impl FromIterator<(String, FileContent)> for DirFiles {
    fn from_iter<I: IntoIterator<Item = (String, FileContent)>>(files: I) -> DirFiles {
        // Through a map: sorted, and the last of two equal names wins, as in a map.
        files.into_iter().collect::<BTreeMap<_, _>>().into()
    }
}

/// A deployment directory as the repository holds it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentDir {
    /// What it serves, read from its manifests' annotations (None when unreadable).
    pub deployed: Option<Deployed>,
    /// Its files, by name relative to the directory.
    pub files: DirFiles,
    /// What its files were rendered from, when this process or the work directory's index knows
    /// it: a deployment with the same key needs no rendering, its files are kept by id.
    pub rendered_from: Option<RenderKey>,
}

/// A version ready to serve: its complete mirror, and the packages its pods install first
/// because the serving image lacks them (the environment step; usually none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// The mirror's URI.
    pub uri: String,
    /// Requirements the pods install before serving.
    pub install: Vec<String>,
}

impl Ready {
    /// Served from the mirror at `uri`, installing nothing.
    pub fn at(uri: impl Into<String>) -> Ready {
        Ready {
            uri: uri.into(),
            install: Vec::new(),
        }
    }
}

/// Everything a deployment directory's files are rendered from (the serving target's
/// [`TargetProbe`] and the whole [`ServingSpec`]: namespace, model, version, channel, run,
/// source, tags, mirror URI, packages installed, profile, traffic), as one hash: equal keys,
/// equal files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RenderKey(pub BlobId);

/// What a serving target makes of a fixed sample deployment, hashed: a changed target setting or
/// a program whose manifests differ gives another probe, so nothing rendered by the old one is
/// kept by [`RenderKey`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TargetProbe(pub BlobId);

impl TargetProbe {
    /// Renders the sample with `target`.
    pub fn of(target: &dyn ServingTarget) -> Result<TargetProbe> {
        let sample = Deployment {
            model: "Probe Model".into(),
            version: 7,
            channel: "production".into(),
            artifact_uri: "s3://probe/artifacts".into(),
            run_id: Some("0123456789abcdef".into()),
            source: "models:/m-0123456789abcdef".into(),
            tags: [("team".to_owned(), "probe: a".to_owned())].into(),
            model_profile: None,
        };
        // With the environment step on, the sample installs a package, so the step's settings
        // (the package index) are part of the probe too.
        let mut ready = Ready::at("s3://probe/mirror/7");
        if target.installs_packages() {
            ready.install.push("probe-package==1.0".into());
        }
        let spec = serving_spec("probe", &sample, &ready);
        let files = render_deployment(target, &spec)?;
        let mut text = Vec::new();
        for (name, file) in &files {
            if let gitops_writer::Content::Bytes(bytes) = &file.content {
                text.extend_from_slice(name.as_bytes());
                text.push(0);
                text.extend_from_slice(bytes);
                text.push(0);
            }
        }
        Ok(TargetProbe(BlobId::of(&text)?))
    }

    /// A probe no other process has, for a target that cannot render the sample: this process
    /// still keeps what it rendered itself, but never trusts another process's index.
    pub fn unique() -> Result<TargetProbe> {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nonce = format!(
            "unprobed target, process {}, {:?}, {}",
            std::process::id(),
            std::time::SystemTime::now(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        Ok(TargetProbe(BlobId::of(nonce.as_bytes())?))
    }
}

impl RenderKey {
    /// The key of `spec` rendered by the probed target.
    pub fn of(probe: TargetProbe, spec: &ServingSpec) -> Result<RenderKey> {
        // Length-prefixed fields: no two different inputs give the same bytes.
        let mut text = Vec::with_capacity(256);
        let mut field = |part: &str| {
            text.extend_from_slice(&(part.len() as u64).to_le_bytes());
            text.extend_from_slice(part.as_bytes());
        };
        let run = spec.run_id.as_deref();
        let source = spec.source.as_deref();
        let counts = format!("{} {}", spec.tags.len(), spec.install.len());
        let probe = probe.0.to_string();
        let profile = match &spec.profile {
            // The settings, not just the name: a profile edited in place re-renders its channels.
            Some(named) => serde_json::to_string(&(&named.name, &named.profile)).map_err(|e| {
                Error::Config {
                    field: "profiles".into(),
                    reason: e.to_string(),
                }
            })?,
            None => String::new(),
        };
        let traffic = spec.traffic.as_ref().map(traffic_key).unwrap_or_default();
        for part in [
            probe.as_str(),
            &spec.namespace,
            &spec.model,
            &spec.version,
            &spec.channel,
            if run.is_some() { "run" } else { "no run" },
            run.unwrap_or_default(),
            if source.is_some() {
                "source"
            } else {
                "no source"
            },
            source.unwrap_or_default(),
            &spec.model_uri,
            &counts,
            &profile,
            &traffic,
        ] {
            field(part);
        }
        for (name, value) in &spec.tags {
            field(name);
            field(value);
        }
        for requirement in &spec.install {
            field(requirement);
        }
        Ok(RenderKey(BlobId::of(&text)?))
    }
}

/// A traffic split as text that tells every split apart (channels are length-prefixed).
fn traffic_key(traffic: &manifests_core::Traffic) -> String {
    let mut key = String::new();
    for b in &traffic.split {
        key.push_str(&format!(
            "{}:{}{}{}:{}",
            b.channel.len(),
            b.channel,
            b.model_uri.len(),
            b.model_uri,
            b.weight
        ));
        key.push('\n');
    }
    if let Some(m) = &traffic.mirror {
        key.push_str(&format!(
            "mirror {}:{}:{}",
            m.channel.len(),
            m.channel,
            m.percent
        ));
    }
    key
}

/// What `deployment` is served as in `namespace` from `ready`, before a profile or split applies.
pub fn serving_spec(namespace: &str, deployment: &Deployment, ready: &Ready) -> ServingSpec {
    ServingSpec {
        namespace: namespace.to_owned(),
        model: deployment.model.clone(),
        version: deployment.version.to_string(),
        channel: deployment.channel.clone(),
        model_uri: ready.uri.clone(),
        run_id: deployment.run_id.clone(),
        source: Some(deployment.source.clone()),
        tags: deployment.tags.clone(),
        install: ready.install.clone(),
        profile: None,
        traffic: None,
    }
}

/// The file every directory gets, listing its resources.
pub const KUSTOMIZATION: &str = manifests_core::KUSTOMIZATION_FILE;

/// A kustomization.yaml listing `resources`.
pub fn kustomization(resources: &[String]) -> Result<Vec<u8>> {
    Ok(manifests_core::kustomization(resources)?.into_bytes())
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
    /// The serving profile, when one applies.
    pub profile: Option<String>,
    /// How the channel's endpoint shares its requests (`production 90%, challenger 10%`), when
    /// it is a route.
    pub traffic: Option<String>,
}

impl Deployed {
    /// What `spec` serves.
    pub fn of(spec: &ServingSpec) -> Deployed {
        Deployed {
            model: spec.model.clone(),
            channel: spec.channel.clone(),
            version: spec.version.clone(),
            run_id: spec.run_id.clone(),
            model_uri: spec.model_uri.clone(),
            profile: spec.profile.as_ref().map(|p| p.name.clone()),
            traffic: spec.traffic.as_ref().map(ToString::to_string),
        }
    }
}

/// The files of one deployment directory (names relative to it), including its kustomization.
pub fn render_deployment(target: &dyn ServingTarget, spec: &ServingSpec) -> Result<Files> {
    let set = target.render(spec)?;
    let mut files = BTreeMap::new();
    let mut names = Vec::new();
    for (name, text) in set.files()? {
        names.push(name.clone());
        files.insert(name, FileContent::bytes(text));
    }
    files.insert(
        KUSTOMIZATION.to_owned(),
        FileContent::bytes(kustomization(&names)?),
    );
    Ok(files)
}

/// The managed prefix's files (`<model>/<channel>/<name>` paths) by directory, each file mapped by
/// `f`; files outside any deployment directory (the top-level index) are left out.
pub fn by_directory<T, U>(
    files: &BTreeMap<String, T>,
    f: impl Fn(&T) -> U,
) -> BTreeMap<String, BTreeMap<String, U>> {
    let mut dirs: BTreeMap<String, BTreeMap<String, U>> = BTreeMap::new();
    for (path, file) in files {
        let mut parts = path.splitn(3, '/');
        if let (Some(model), Some(channel), Some(rest)) = (parts.next(), parts.next(), parts.next())
        {
            dirs.entry(format!("{model}/{channel}"))
                .or_default()
                .insert(rest.to_owned(), f(file));
        }
    }
    dirs
}

/// Whether a directory's file is one of its manifests, which carry what the directory serves.
pub fn is_manifest(name: &str) -> bool {
    name != KUSTOMIZATION && name.ends_with(".yaml")
}

/// What a directory serves, from its manifests' annotations (every object of a directory carries
/// the same: the smallest is read). None when no manifest carries them.
pub fn deployed_of(files: &BTreeMap<String, impl AsRef<[u8]>>) -> Option<Deployed> {
    let mut manifests: Vec<_> = files
        .iter()
        .filter(|(name, _)| is_manifest(name))
        .map(|(name, bytes)| (name, bytes.as_ref()))
        .collect();
    manifests.sort_by_key(|(_, bytes)| bytes.len());
    manifests
        .into_iter()
        .find_map(|(name, bytes)| read_annotations(name, bytes))
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
        profile: get("profile"),
        traffic: get("traffic"),
    })
}

/// A row of the README index; free text is made table-safe.
struct Row<'a> {
    model: Cow<'a, str>,
    channel: Cow<'a, str>,
    version: Cow<'a, str>,
    run: Cow<'a, str>,
    mirror: Cow<'a, str>,
    profile: Cow<'a, str>,
    traffic: Cow<'a, str>,
    dir: &'a str,
}

#[derive(Template)]
#[template(path = "readme.md")]
struct Readme<'a> {
    rows: &'a [Row<'a>],
    /// Profile and traffic columns, only when some deployment has one: a repository that uses
    /// neither keeps the index it had.
    serving_columns: bool,
}

/// The README index of every deployment (`(dir, deployed)` pairs, sorted). Rows borrow what
/// they show: at thousands of deployments, copies were a good part of a pass's memory.
pub fn readme(deployed: &[(&str, &Deployed)]) -> Result<Vec<u8>> {
    let rows: Vec<Row> = deployed
        .iter()
        .map(|&(dir, d)| Row {
            model: table_cell(&d.model),
            channel: table_cell(&d.channel),
            version: table_cell(&d.version),
            run: table_cell(d.run_id.as_deref().unwrap_or("")),
            mirror: table_cell(&d.model_uri),
            profile: table_cell(d.profile.as_deref().unwrap_or("")),
            traffic: table_cell(d.traffic.as_deref().unwrap_or("")),
            dir,
        })
        .collect();
    let serving_columns = deployed
        .iter()
        .any(|(_, d)| d.profile.is_some() || d.traffic.is_some());
    let text = Readme {
        rows: &rows,
        serving_columns,
    }
    .render()
    .map_err(|e| Error::Template {
        name: "readme.md",
        source: e,
    })?;
    Ok(text.into_bytes())
}

/// Markdown-table-safe text: pipes escaped, line breaks and other control characters as spaces.
fn table_cell(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c == '|' || c.is_control()) {
        return Cow::Borrowed(text);
    }
    let mut cell = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '|' => cell.push_str("\\|"),
            c if c.is_control() => cell.push(' '),
            c => cell.push(c),
        }
    }
    Cow::Owned(cell)
}

/// A name for a one-line message: as is when printable, quoted with escapes otherwise.
pub fn display_name(text: &str) -> String {
    if text.is_empty() || text.chars().any(char::is_control) {
        format!("{text:?}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use manifests_core::{KServe, MlflowServe};

    use super::*;

    #[test]
    fn readme_cells_cannot_break_the_table() {
        assert!(matches!(
            table_cell("wine-model"),
            Cow::Borrowed("wine-model")
        ));
        assert_eq!(table_cell("a|b\nc\td"), "a\\|b c d");
        let deployed = Deployed {
            model: "fraud | v2".into(),
            channel: "production".into(),
            version: "3".into(),
            run_id: None,
            model_uri: "s3://m/fraud/3".into(),
            profile: None,
            traffic: None,
        };
        let text =
            String::from_utf8(readme(&[("fraud-v2/production", &deployed)]).unwrap()).unwrap();
        let row = text.lines().find(|l| l.contains("fraud")).unwrap();
        assert!(row.contains("fraud \\| v2"), "{row}");
        // Six columns: seven unescaped pipes, none of them from the model's name.
        let unescaped = row
            .char_indices()
            .filter(|&(i, c)| c == '|' && !row[..i].ends_with('\\'))
            .count();
        assert_eq!(unescaped, 7, "{row}");
    }

    #[test]
    fn a_directory_lists_its_files_sorted_once_each() {
        let files: DirFiles = [
            ("service.yaml".to_owned(), FileContent::bytes("s")),
            ("deployment.yaml".to_owned(), FileContent::bytes("old")),
            ("deployment.yaml".to_owned(), FileContent::bytes("new")),
        ]
        .into_iter()
        .collect();
        let listed: Vec<_> = files.iter().collect();
        assert_eq!(
            listed,
            [
                ("deployment.yaml", &FileContent::bytes("new")),
                ("service.yaml", &FileContent::bytes("s")),
            ]
        );
        let map: BTreeMap<String, FileContent> = listed
            .into_iter()
            .map(|(name, file)| (name.to_owned(), file.clone()))
            .collect();
        assert_eq!(DirFiles::from(map), files, "the same from a map");
    }

    fn deployment() -> Deployment {
        Deployment {
            model: "wine".into(),
            version: 3,
            channel: "production".into(),
            artifact_uri: "file:///m".into(),
            run_id: Some("abc".into()),
            source: "models:/m-1".into(),
            tags: [("owner".to_owned(), "a".to_owned())].into(),
            model_profile: None,
        }
    }

    fn key_of(probe: TargetProbe, namespace: &str, d: &Deployment, ready: &Ready) -> RenderKey {
        RenderKey::of(probe, &serving_spec(namespace, d, ready)).unwrap()
    }

    #[test]
    fn the_probe_changes_with_the_target_and_its_settings() {
        let plain = TargetProbe::of(&MlflowServe::default()).unwrap();
        assert_eq!(plain, TargetProbe::of(&MlflowServe::default()).unwrap());
        let scaled = MlflowServe {
            replicas: 3,
            ..MlflowServe::default()
        };
        assert_ne!(plain, TargetProbe::of(&scaled).unwrap());
        assert_ne!(plain, TargetProbe::of(&KServe::default()).unwrap());
        assert_ne!(
            TargetProbe::unique().unwrap(),
            TargetProbe::unique().unwrap()
        );
    }

    #[test]
    fn every_render_input_changes_the_key() {
        let probe = TargetProbe::of(&MlflowServe::default()).unwrap();
        let key = |namespace: &str, d: &Deployment, uri: &str| {
            key_of(probe, namespace, d, &Ready::at(uri))
        };
        let base = key("ns", &deployment(), "s3://b/wine/3");
        assert_eq!(base, key("ns", &deployment(), "s3://b/wine/3"));
        let changed: Vec<Deployment> = vec![
            Deployment {
                model: "wine2".into(),
                ..deployment()
            },
            Deployment {
                version: 4,
                ..deployment()
            },
            Deployment {
                channel: "staging".into(),
                ..deployment()
            },
            Deployment {
                run_id: None,
                ..deployment()
            },
            Deployment {
                run_id: Some(String::new()),
                ..deployment()
            },
            Deployment {
                source: "runs:/abc/model".into(),
                ..deployment()
            },
            Deployment {
                tags: BTreeMap::new(),
                ..deployment()
            },
            Deployment {
                tags: [("owner".to_owned(), "b".to_owned())].into(),
                ..deployment()
            },
        ];
        for d in &changed {
            assert_ne!(base, key("ns", d, "s3://b/wine/3"), "{d:?}");
        }
        assert_ne!(base, key("ns2", &deployment(), "s3://b/wine/3"));
        assert_ne!(base, key("ns", &deployment(), "s3://b/wine/4"));
        // Field boundaries are part of the key: moving text between fields changes it.
        assert_ne!(
            key(
                "nsw",
                &Deployment {
                    model: "ine".into(),
                    ..deployment()
                },
                "u"
            ),
            key("ns", &deployment(), "u")
        );
        let other = TargetProbe::of(&KServe::default()).unwrap();
        assert_ne!(
            base,
            key_of(other, "ns", &deployment(), &Ready::at("s3://b/wine/3"))
        );
        let installing = Ready {
            install: vec!["toolz==1.0.0".into()],
            ..Ready::at("s3://b/wine/3")
        };
        let with = |r: &[&str]| Ready {
            install: r.iter().map(|s| (*s).to_owned()).collect(),
            ..Ready::at("s3://b/wine/3")
        };
        assert_ne!(base, key_of(probe, "ns", &deployment(), &installing));
        // Field boundaries hold: two packages never hash like one joined.
        assert_ne!(
            key_of(probe, "ns", &deployment(), &with(&["a", "b"])),
            key_of(probe, "ns", &deployment(), &with(&["ab"]))
        );
    }
}
