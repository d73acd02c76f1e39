//! The mirror step of a pass: every wanted version's artifacts complete under the mirror root
//! before any manifest refers to them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use artifact_store::{Location, Mirror, MirrorReport, Resolver, is_complete};
use futures::StreamExt;

use crate::deployment::Deployment;
use crate::environment::{self, Mismatch, Packages};
use crate::layout::Ready;
use crate::report::{Mirrored, Problem};
use crate::{Error, Result};

/// Where mirrors go and how they are made.
pub(crate) struct Mirroring {
    pub(crate) resolver: Arc<Resolver>,
    pub(crate) root: Location,
    pub(crate) mirror: Mirror,
    pub(crate) concurrency: usize,
    pub(crate) local_source_roots: Option<Vec<PathBuf>>,
    /// The serving image's packages, when the target knows them: each newly served version's
    /// recorded needs are checked against them.
    pub(crate) packages: Option<Packages>,
    /// Whether the target installs what the image lacks (the environment step) instead of the
    /// channel keeping its previous version.
    pub(crate) installs: bool,
    /// Each checked mirror's outcome: a complete mirror never changes, so it is read once per
    /// process.
    pub(crate) checked: std::sync::Mutex<BTreeMap<String, Checked>>,
}

/// What the environment check made of one mirror.
pub(crate) type Checked = std::result::Result<Vec<String>, String>;

/// Why a version is not ready.
enum NotReady {
    /// Its mirror or the check's read failed.
    Failed(Error),
    /// The serving image cannot serve it as recorded.
    Environment(String),
}

/// A version whose mirror is complete, and what its pods install first.
type Outcome = std::result::Result<(Option<MirrorReport>, Vec<String>), NotReady>;

/// What the mirror step found or made.
#[derive(Debug, Default)]
pub(crate) struct Mirrors {
    /// Each complete version's mirror (and environment step), by (model dir, version).
    pub(crate) ready: BTreeMap<(String, String), Ready>,
    /// The mirrors copied (or, when only checking, those still to copy).
    pub(crate) mirrored: Vec<Mirrored>,
    /// The versions whose mirror failed.
    pub(crate) problems: Vec<Problem>,
}

/// A version to mirror and the channels that want it.
type Wanted<'a> = BTreeMap<(String, String), (&'a Deployment, Vec<String>)>;

impl Mirroring {
    /// Where `deployment`'s version is mirrored.
    pub(crate) fn location(&self, deployment: &Deployment) -> Location {
        let (model, version) = deployment.mirror_path();
        self.root.child(&model).child(&version)
    }

    /// Makes (or, when `copy` is false, only checks) the mirror of every wanted version. A
    /// version whose mirror `committed` refers to is complete already: a committed manifest only
    /// ever points at a complete mirror (mirrors finish before the commit, and garbage collection
    /// spares referenced ones), so it costs no request, except, when the target installs packages,
    /// the environment check's two reads once per process (what to install is not in git's
    /// annotations, and must not vanish from the next render). The versions in `own_image` are
    /// served only by profiles with images of their own, which the check knows nothing of.
    pub(crate) async fn mirror_all(
        &self,
        wanted: &[Deployment],
        copy: bool,
        committed: &BTreeSet<String>,
        own_image: &BTreeSet<(String, String)>,
    ) -> Result<Mirrors> {
        let results: Vec<_> = futures::stream::iter(by_version(wanted))
            .map(|(key, (d, channels))| async move {
                let dst = self.location(d);
                let check = !own_image.contains(&key);
                let outcome = if !committed.contains(dst.uri()) {
                    self.mirror_and_check(d, &dst, copy, check).await
                } else if copy && check && self.installs {
                    self.checked_environment(&dst)
                        .await
                        .map(|install| (None, install))
                } else {
                    Ok((None, Vec::new()))
                };
                (key, d, channels, dst, outcome)
            })
            .buffer_unordered(self.concurrency.max(1))
            .collect()
            .await;
        let mut out = Mirrors::default();
        for (key, d, channels, dst, outcome) in results {
            let ready = |install| Ready {
                uri: dst.uri().to_owned(),
                install,
            };
            match outcome {
                Ok((None, install)) => {
                    out.ready.insert(key, ready(install));
                }
                Ok((Some(copied), install)) => {
                    if copy {
                        out.ready.insert(key, ready(install));
                    }
                    out.mirrored.push(Mirrored {
                        model: d.model.clone(),
                        version: d.version,
                        files: copied.files,
                        uploaded: copied.uploaded,
                        uploaded_bytes: copied.uploaded_bytes,
                    });
                }
                Err(NotReady::Failed(e)) if fails_the_pass(&e) => return Err(e),
                Err(NotReady::Failed(e)) => out.problems.push(Problem::new(
                    d.model.clone(),
                    Some(d.version),
                    channels,
                    format!("mirror failed: {e}"),
                )),
                Err(NotReady::Environment(reason)) => out.problems.push(Problem::new(
                    d.model.clone(),
                    Some(d.version),
                    channels,
                    reason,
                )),
            }
        }
        out.mirrored
            .sort_by(|a, b| (&a.model, a.version).cmp(&(&b.model, b.version)));
        Ok(out)
    }

    /// [`mirror_one`](Self::mirror_one), then, for a version about to be served, the check of
    /// its recorded environment against the serving image (before any manifest refers to it).
    async fn mirror_and_check(
        &self,
        d: &Deployment,
        dst: &Location,
        copy: bool,
        check: bool,
    ) -> Outcome {
        let copied = self
            .mirror_one(d, dst, copy)
            .await
            .map_err(NotReady::Failed)?;
        let install = if copy && check {
            self.checked_environment(dst).await?
        } else {
            Vec::new()
        };
        Ok((copied, install))
    }

    /// The packages `dst`'s model needs installed first (none when the image holds everything,
    /// or when nothing is known of the image), remembered per mirror; NotReady when the image
    /// cannot serve it and the target does not install.
    async fn checked_environment(
        &self,
        dst: &Location,
    ) -> std::result::Result<Vec<String>, NotReady> {
        let Some(packages) = &self.packages else {
            return Ok(Vec::new());
        };
        let known = self.checked.lock().map(|c| c.get(dst.uri()).cloned());
        let checked = match known {
            Ok(Some(checked)) => checked,
            _ => {
                let checked = match check_environment(dst, packages, self.installs).await {
                    Err(NotReady::Failed(e)) => return Err(NotReady::Failed(e)),
                    Err(NotReady::Environment(reason)) => Err(reason),
                    Ok(install) => Ok(install),
                };
                if let Ok(mut cache) = self.checked.lock() {
                    cache.insert(dst.uri().to_owned(), checked.clone());
                }
                checked
            }
        };
        checked.map_err(NotReady::Environment)
    }

    /// None when the mirror is already complete; the copy's report otherwise (an empty report
    /// when only checking).
    async fn mirror_one(
        &self,
        d: &Deployment,
        dst: &Location,
        copy: bool,
    ) -> Result<Option<MirrorReport>> {
        if is_complete(dst).await? {
            return Ok(None);
        }
        if !copy {
            return Ok(Some(MirrorReport::default()));
        }
        let src = self.resolver.resolve(&d.artifact_uri)?;
        check_local_source(self.local_source_roots.as_deref(), &src)?;
        Ok(Some(self.mirror.mirror(&src, dst).await?))
    }

    /// The mirrors (relative to the root) that `model_uris` refer to, for garbage collection.
    pub(crate) fn referenced<'a>(
        &self,
        model_uris: impl Iterator<Item = &'a str>,
    ) -> BTreeSet<String> {
        let root = self.root.uri().trim_end_matches('/');
        model_uris
            .filter_map(|uri| uri.strip_prefix(root))
            .map(|rest| rest.trim_start_matches('/').to_owned())
            .collect()
    }
}

/// Reads the mirror's `MLmodel` and `requirements.txt` (MLflow writes both) and compares them
/// with the image's packages: what to install first (when `installs` and every mismatch can be
/// installed), or why the image cannot serve it.
async fn check_environment(
    dst: &Location,
    packages: &Packages,
    installs: bool,
) -> std::result::Result<Vec<String>, NotReady> {
    let read = |name| async move { dst.read(name).await.map_err(|e| NotReady::Failed(e.into())) };
    let Some(mlmodel) = read("MLmodel").await? else {
        return Err(NotReady::Environment(
            "no MLmodel in its artifacts: MLflow cannot serve it".into(),
        ));
    };
    let requirements = read("requirements.txt").await?;
    let text = |bytes: &bytes::Bytes| String::from_utf8_lossy(bytes).into_owned();
    let mismatches = environment::check(
        &text(&mlmodel),
        requirements.as_ref().map(text).as_deref(),
        packages,
    )
    .map_err(NotReady::Environment)?;
    if mismatches.is_empty() {
        return Ok(Vec::new());
    }
    let install: Option<Vec<String>> = mismatches.iter().map(Mismatch::installable).collect();
    match install {
        Some(install) if installs => Ok(install),
        _ => {
            let listed: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
            Err(NotReady::Environment(format!(
                "the serving image cannot serve it: {}",
                listed.join("; ")
            )))
        }
    }
}

/// The wanted versions, each once, with the channels that serve it.
fn by_version(wanted: &[Deployment]) -> Wanted<'_> {
    let mut versions: Wanted<'_> = BTreeMap::new();
    for d in wanted {
        versions
            .entry(d.mirror_path())
            .or_insert_with(|| (d, Vec::new()))
            .1
            .push(d.channel.clone());
    }
    versions
}

/// Refuses a local source outside the allowed roots: whoever can write the registry could
/// otherwise have this process copy any file it can read (its own git key, say) into the bucket
/// that model servers read.
fn check_local_source(roots: Option<&[PathBuf]>, src: &Location) -> Result<()> {
    let (Some(roots), Some(path)) = (roots, src.local_path()) else {
        return Ok(());
    };
    if roots.iter().any(|root| path.starts_with(root)) {
        return Ok(());
    }
    Err(Error::SourceNotAllowed {
        uri: src.uri().to_owned(),
        roots: roots.to_vec(),
    })
}

/// Whether a failed mirror stops the whole pass instead of skipping its version: an outage of a
/// store, or any store failure at the destination, would fail every version alike, and skipping
/// them all would commit a repository emptied by a network blip.
fn fails_the_pass(error: &Error) -> bool {
    match error {
        Error::Mirror(e) => e.is_outage() || e.side() == Some(artifact_store::Side::Destination),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(model: &str, version: u64, channel: &str) -> Deployment {
        Deployment {
            model: model.into(),
            version,
            channel: channel.into(),
            artifact_uri: format!("file:///registry/{model}/{version}"),
            ..Default::default()
        }
    }

    #[test]
    fn a_version_on_two_channels_is_mirrored_once() {
        let wanted = [
            deployment("wine", 3, "champion"),
            deployment("wine", 3, "production"),
            deployment("wine", 4, "staging"),
        ];
        let versions = by_version(&wanted);
        let channels: Vec<_> = versions
            .iter()
            .map(|((model, version), (_, channels))| {
                (model.as_str(), version.as_str(), channels.clone())
            })
            .collect();
        assert_eq!(
            channels,
            [
                (
                    "wine",
                    "3",
                    vec!["champion".to_owned(), "production".to_owned()]
                ),
                ("wine", "4", vec!["staging".to_owned()]),
            ]
        );
    }

    #[test]
    fn local_sources_only_from_the_allowed_roots() {
        let resolver = Resolver::default();
        let inside = resolver.resolve("/registry/artifacts/1/model").unwrap();
        let outside = resolver.resolve("/root/.ssh").unwrap();
        let roots = [PathBuf::from("/registry")];
        assert!(check_local_source(Some(&roots), &inside).is_ok());
        let refused = check_local_source(Some(&roots), &outside).unwrap_err();
        assert!(
            matches!(refused, Error::SourceNotAllowed { .. }),
            "{refused}"
        );
        assert!(refused.to_string().contains("/root/.ssh"), "{refused}");
        assert!(
            check_local_source(None, &outside).is_ok(),
            "no roots: any path"
        );
        let remote = resolver.resolve("memory://bucket/model").unwrap();
        assert!(
            check_local_source(Some(&roots), &remote).is_ok(),
            "not a local path"
        );
    }

    #[test]
    fn only_store_failures_fail_the_pass() {
        let not_allowed = Error::SourceNotAllowed {
            uri: "/etc".into(),
            roots: vec![],
        };
        assert!(!fails_the_pass(&not_allowed));
    }

    #[test]
    fn referenced_mirrors_are_relative_to_the_root() {
        let mirroring = Mirroring {
            resolver: Arc::new(Resolver::default()),
            root: Resolver::default()
                .resolve("memory://bucket/mirror")
                .unwrap(),
            mirror: Mirror::new(),
            concurrency: 1,
            local_source_roots: None,
            packages: None,
            installs: false,
            checked: Default::default(),
        };
        let location = mirroring.location(&deployment("Wine Quality", 2, "production"));
        let uris = [location.uri(), "s3://elsewhere/wine/1"];
        let referenced = mirroring.referenced(uris.into_iter());
        assert_eq!(referenced.len(), 1, "{referenced:?}");
        let only = referenced.iter().next().unwrap();
        assert!(only.ends_with("/2") && !only.starts_with('/'), "{only}");
    }
}
