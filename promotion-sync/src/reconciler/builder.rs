//! Building a [`Reconciler`]: three things it cannot do without, the rest with defaults.

use std::sync::{Arc, Mutex};

use artifact_store::{Mirror, Resolver};
use gitops_writer::GitOpsWriter;
use manifests_core::{MlflowServe, ServingTarget};
use registry_reader::ModelRegistry;

use super::Reconciler;
use crate::Result;
use crate::environment::Packages;
use crate::layout::TargetProbe;
use crate::mirroring::Mirroring;
use crate::pass_cache::PassCache;
use crate::review::Gate;
use crate::settings::Settings;

/// Builds a [`Reconciler`] (see [`Reconciler::builder`]).
#[must_use = "a builder does nothing until `build` is called"]
pub struct ReconcilerBuilder<R, W> {
    registry: R,
    writer: W,
    mirror_root: String,
    target: Option<Box<dyn ServingTarget>>,
    resolver: Option<Arc<Resolver>>,
    mirror: Option<Mirror>,
    settings: Option<Settings>,
    cache: Option<PassCache>,
}

impl<R: ModelRegistry, W: GitOpsWriter + Send + 'static> ReconcilerBuilder<R, W> {
    pub(super) fn new(registry: R, writer: W, mirror_root: String) -> Self {
        Self {
            registry,
            writer,
            mirror_root,
            target: None,
            resolver: None,
            mirror: None,
            settings: None,
            cache: None,
        }
    }

    /// Renders the manifests with `target` (default: [`MlflowServe::default`]).
    pub fn target(mut self, target: Box<dyn ServingTarget>) -> Self {
        self.target = Some(target);
        self
    }

    /// Opens sources and the mirror root with `resolver` (default: [`Resolver::default`], which
    /// knows no S3 endpoint or `mlflow-artifacts:/` destination).
    pub fn resolver(mut self, resolver: Arc<Resolver>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Copies with `mirror` (concurrency, retries, progress hook).
    pub fn mirror(mut self, mirror: Mirror) -> Self {
        self.mirror = Some(mirror);
        self
    }

    /// Runs with `settings` (default: [`Settings::new("models")`](Settings::new)).
    pub fn settings(mut self, settings: Settings) -> Self {
        self.settings = Some(settings);
        self
    }

    /// Remembers clean passes across processes (see [`PassCache`]), so a one-shot run on an
    /// unchanged registry and repository does no work beyond the fetch.
    pub fn cache(mut self, cache: PassCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The reconciler; fails when the mirror root cannot be opened or a setting is unusable
    /// (the error names it).
    pub fn build(self) -> Result<Reconciler<R, W>> {
        let settings = self.settings.unwrap_or_else(|| Settings::new("models"));
        settings.checked_prefix()?;
        settings.check_ui_url()?;
        let resolver = self.resolver.unwrap_or_default();
        let root = resolver.resolve(&self.mirror_root)?;
        let target = self
            .target
            .unwrap_or_else(|| Box::new(MlflowServe::default()));
        settings.serving.check_with(target.as_ref())?;
        let probe = TargetProbe::of(target.as_ref()).or_else(|error| {
            // A target that cannot render the sample still works; only the work directory's
            // index is not shared with other processes.
            tracing::warn!(%error, target = target.name(), "cannot probe the serving target");
            TargetProbe::unique()
        })?;
        let packages = target.image_packages().map(Packages::parse);
        if packages.is_none() {
            // Say so once: with an image of the user's choosing, nothing is checked for them.
            tracing::info!(
                target = target.name(),
                "the serving image's package list is unknown: models' environments are not checked"
            );
        }
        let mirroring = Mirroring {
            resolver,
            root,
            mirror: self.mirror.unwrap_or_default(),
            concurrency: settings.mirror_concurrency,
            local_source_roots: settings.local_source_roots.clone(),
            packages,
            installs: target.installs_packages(),
            checked: Default::default(),
        };
        settings.check_review()?;
        let gate = Gate::new(&settings.review, &settings.prefix);
        // The serving configuration and the gated channels shape the output too: a change of
        // either is no clean pass.
        let mut identity = settings.serving.digest();
        if gate.is_on() {
            identity.push_str(&format!(" review {:?}", settings.review));
        }
        let cache = self.cache.map(|cache| cache.with_identity(&identity));
        Ok(Reconciler {
            registry: self.registry,
            writer: Arc::new(Mutex::new(self.writer)),
            target,
            probe,
            mirroring,
            settings,
            last_clean: None,
            cache,
            published: None,
            gate,
        })
    }
}
