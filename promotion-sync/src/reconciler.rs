//! One reconcile pass: registry → desired deployments → complete mirrors → manifests → one commit.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use artifact_store::{Location, Mirror, MirrorReport, Resolver, collect_garbage, is_complete};
use futures::StreamExt;
use gitops_writer::{
    BlobId, ChangeSet, CommitInfo, Content, FileContent, GitOpsWriter, Outcome, Signature,
};
use manifests_core::ServingTarget;
use registry_reader::{Fingerprint, ModelRegistry, PromotionFilter};
use serde::Serialize;

use crate::desired::{Deployment, channel_name, deployments};
use crate::layout::{self, CurrentDir, Deployed, KUSTOMIZATION, RenderKey, TargetProbe};
use crate::message::{Change, commit_message};
use crate::pass_cache::PassCache;
use crate::{Error, Result};

/// How the reconciler runs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Kubernetes namespace of the serving objects.
    pub namespace: String,
    /// The managed directory in the repository (default `deployments`).
    pub prefix: String,
    /// Which stages and aliases are deployed.
    pub filter: PromotionFilter,
    /// Author and committer of the commits.
    pub author: Signature,
    /// Push after committing (off: commit in the local clone only, for dry runs and tests).
    pub push: bool,
    /// Versions mirrored at the same time (default 4; each mirror copies 16 files at a time).
    pub mirror_concurrency: usize,
    /// Remove mirrors no deployment refers to, keeping the newest N per model; None (the default)
    /// keeps every mirror.
    pub keep_mirrors: Option<usize>,
    /// The directories that versions with local sources (plain paths, `file://`) may be copied
    /// from; a version whose source lies elsewhere is a problem, not a copy. None (the default)
    /// allows any path: set it whenever people other than this process's operators can write the
    /// registry.
    pub local_source_roots: Option<Vec<std::path::PathBuf>>,
}

impl Settings {
    /// Defaults for `namespace`.
    pub fn new(namespace: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            prefix: "deployments".into(),
            filter: PromotionFilter::default(),
            author: Signature {
                name: "mlflow-gitops".into(),
                email: "mlflow-gitops@localhost".into(),
            },
            push: true,
            mirror_concurrency: 4,
            keep_mirrors: None,
            local_source_roots: None,
        }
    }
}

/// A version that could not be deployed this pass; its channels keep what they served.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// MLflow model name.
    pub model: String,
    /// Version, when known.
    pub version: Option<u64>,
    /// Channels it would have served.
    pub channels: Vec<String>,
    /// What went wrong.
    pub reason: String,
    /// Channels that kept their previous deployment.
    pub kept: Vec<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "model {}", layout::display_name(&self.model))?;
        if let Some(v) = self.version {
            write!(f, " version {v}")?;
        }
        write!(f, ": {}", self.reason)?;
        if !self.kept.is_empty() {
            write!(f, " (kept: {})", self.kept.join(", "))?;
        }
        Ok(())
    }
}

/// A mirror made during the pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mirrored {
    /// MLflow model name.
    pub model: String,
    /// Version.
    pub version: u64,
    /// Files in the mirror.
    pub files: usize,
    /// Files copied now.
    pub uploaded: usize,
    /// Bytes copied now.
    pub uploaded_bytes: u64,
}

/// The commit a pass made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Commit {
    /// Commit id.
    pub id: String,
    /// Paths added, modified and removed (relative to the repository).
    pub added: Vec<String>,
    /// Modified paths.
    pub modified: Vec<String>,
    /// Removed paths.
    pub removed: Vec<String>,
    /// One line per deployment change.
    pub changes: Vec<String>,
}

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    /// The registry's fingerprint equalled the last clean pass's: nothing was read or written.
    pub unchanged_registry: bool,
    /// Deployments (model, channel) in the managed prefix after the pass.
    pub deployments: usize,
    /// Mirrors copied during the pass.
    pub mirrored: Vec<Mirrored>,
    /// Versions reported and skipped.
    pub problems: Vec<Problem>,
    /// The commit, when the desired state differed from the repository.
    pub commit: Option<Commit>,
    /// The pushed commit, when a push moved the remote branch.
    pub pushed: Option<String>,
    /// Wall time.
    #[serde(with = "millis")]
    pub elapsed: Duration,
}

mod millis {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u128(d.as_millis())
    }
}

/// What a dry run would write.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// Files (relative to the prefix) that would be added, with their content.
    pub added: BTreeMap<String, String>,
    /// Files that would change: (old, new).
    pub modified: BTreeMap<String, (String, String)>,
    /// Files that would be removed, with their old content.
    pub removed: BTreeMap<String, String>,
    /// Versions whose mirror is not complete yet (a real pass would copy them).
    pub to_mirror: Vec<String>,
    /// Versions reported and skipped.
    pub problems: Vec<Problem>,
}

/// The reconcile pass, composed of a registry, a mirror and a git writer.
pub struct Reconciler<R: ModelRegistry, W: GitOpsWriter> {
    registry: R,
    writer: W,
    target: Box<dyn ServingTarget>,
    probe: TargetProbe,
    resolver: Arc<Resolver>,
    mirror_root: Location,
    mirror: Mirror,
    settings: Settings,
    last_clean: Option<Fingerprint>,
    cache: Option<PassCache>,
    published: Option<Published>,
}

/// The desired files of a pass, and what stands behind them.
struct Desired {
    files: layout::Files,
    changes: Vec<Change>,
    problems: Vec<Problem>,
    deployments: usize,
    referenced_mirrors: BTreeSet<String>,
    dirs: BTreeMap<String, CurrentDir>,
}

/// What the remote's managed prefix holds after this process's last published pass (blob ids,
/// what each directory serves and was rendered from), so the next pass need not list, read or
/// re-render it: in the daemon, a pass after one new promotion renders one directory. Trusted
/// only while the remote head is the one recorded; any other head (someone else pushed, a fetch
/// moved it) is listed from git again.
struct Published {
    head: String,
    dirs: BTreeMap<String, CurrentDir>,
}

impl<R: ModelRegistry, W: GitOpsWriter> Reconciler<R, W> {
    /// A reconciler mirroring into `mirror_root` (a URI the resolver opens).
    pub fn new(
        registry: R,
        writer: W,
        target: Box<dyn ServingTarget>,
        resolver: Arc<Resolver>,
        mirror_root: &str,
        settings: Settings,
    ) -> Result<Self> {
        let mirror_root = resolver.resolve(mirror_root)?;
        if settings.prefix.trim_matches('/').is_empty() {
            return Err(Error::Config {
                field: "prefix".into(),
                reason: "the managed prefix may not be the repository root".into(),
            });
        }
        Ok(Self {
            registry,
            writer,
            probe: TargetProbe::of(target.as_ref()).or_else(|error| {
                // A target that cannot render the sample still works; only the work directory's
                // index is not shared with other processes.
                tracing::warn!(%error, target = target.name(), "cannot probe the serving target");
                TargetProbe::unique()
            })?,
            target,
            resolver,
            mirror_root,
            mirror: Mirror::new(),
            settings,
            last_clean: None,
            cache: None,
            published: None,
        })
    }

    /// Uses `mirror` (concurrency, retries, progress hook) for the copies.
    pub fn with_mirror(mut self, mirror: Mirror) -> Self {
        self.mirror = mirror;
        self
    }

    /// Remembers clean passes across processes (see [`PassCache`]), so a one-shot run on an
    /// unchanged registry and repository does no work beyond the fetch.
    pub fn with_cache(mut self, cache: PassCache) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The git writer (to fetch before a pass, or inspect after).
    pub fn writer_mut(&mut self) -> &mut W {
        &mut self.writer
    }

    /// One pass. Mirrors complete before any manifest refers to them; the managed prefix changes
    /// in one commit or not at all; a bad version is reported and its channels keep what they
    /// served; a failure of the registry, the mirror root or git fails the whole pass with nothing
    /// partial committed.
    pub async fn run_once(&mut self) -> Result<PassReport> {
        let started = Instant::now();
        let fingerprint = self.registry.fingerprint().await?;
        let unchanged = self.last_clean == Some(fingerprint)
            || match &self.cache {
                Some(cache) => cache.matches(&fingerprint, self.writer.head()?.as_deref()),
                None => false,
            };
        if unchanged {
            self.last_clean = Some(fingerprint);
            return Ok(PassReport {
                unchanged_registry: true,
                elapsed: started.elapsed(),
                ..Default::default()
            });
        }
        if let Some(cache) = &self.cache {
            cache.clear();
        }
        let mut phases = Phases::new(started);
        let promoted = self.registry.promoted(&self.settings.filter).await?;
        phases.mark("registry");
        let (mut current, index_complete) = self.current_state(true)?;
        phases.mark("read_repo");
        let wanted = deployments(&promoted.versions);

        let mut problems = registry_problems(&promoted.errors);
        // The deployments hold what the rest of the pass needs.
        drop(promoted);
        let committed = committed_mirrors(&current);
        let (ready, mirrored, mirror_problems) = self.mirror_all(&wanted, true, &committed).await?;
        phases.mark("mirror");
        problems.extend(mirror_problems);
        let mut desired = self.desired(&wanted, &ready, &mut current, problems)?;
        // What the desired state was made from goes before the commit is built beside it.
        drop((current, wanted, ready, committed));
        phases.mark("render");

        let mut report = PassReport {
            deployments: desired.deployments,
            mirrored,
            ..Default::default()
        };
        let mut change = ChangeSet::new(&self.settings.prefix)?;
        for (path, file) in std::mem::take(&mut desired.files) {
            change.insert_file(&path, file)?;
        }
        let message = commit_message(&self.settings.prefix, &desired.changes, &desired.problems)?;
        let info = CommitInfo {
            author: self.settings.author.clone(),
            committer: self.settings.author.clone(),
            message,
        };
        let outcome = self.writer.apply(&change, &info)?;
        // The writer keeps what a push may need by id: the rendered bytes go before the push.
        drop(change);
        if let Outcome::Committed {
            id,
            added,
            modified,
            removed,
        } = outcome
        {
            phases.mark("commit");
            report.commit = Some(Commit {
                id,
                added,
                modified,
                removed,
                changes: desired.changes.iter().map(Change::line).collect(),
            });
            if self.settings.push {
                report.pushed = self.writer.push()?.pushed;
                phases.mark("push");
            }
        }
        if let Some(keep) = self.settings.keep_mirrors {
            collect_garbage(&self.mirror_root, &desired.referenced_mirrors, keep).await?;
        }
        // Unchanged or pushed: the remote's prefix now holds exactly the desired files.
        if report.commit.is_none() || report.pushed.is_some() {
            let mut dirs = std::mem::take(&mut desired.dirs);
            crate::current::settle(&mut dirs)?;
            if let (Some(cache), true) = (&self.cache, report.pushed.is_some() || !index_complete) {
                cache.record_dirs(&dirs);
            }
            self.published = self.writer.head()?.map(|head| Published { head, dirs });
        }
        report.problems = desired.problems;
        // A pass with problems is repeated at the next poll even if the registry stays the same:
        // missing artifacts may arrive, a flaky store may recover.
        self.last_clean = report.problems.is_empty().then_some(fingerprint);
        // Only a state the remote holds can be trusted by the next process.
        let published = report.commit.is_none() || report.pushed.is_some();
        if let (Some(cache), Some(_), true) = (&self.cache, self.last_clean, published)
            && let Some(head) = self.writer.head()?
        {
            cache.record(&fingerprint, &head);
        }
        report.elapsed = started.elapsed();
        tracing::debug!(phases = %phases, deployments = report.deployments, "pass timing");
        Ok(report)
    }

    /// What a pass would write, without copying or committing anything.
    pub async fn plan(&mut self) -> Result<Plan> {
        let promoted = self.registry.promoted(&self.settings.filter).await?;
        let (mut current_dirs, _) = self.current_state(false)?;
        let wanted = deployments(&promoted.versions);
        let committed = committed_mirrors(&current_dirs);
        let (ready, to_mirror, _) = self.mirror_all(&wanted, false, &committed).await?;
        let problems = registry_problems(&promoted.errors);
        // In a plan, versions not mirrored yet are shown as they would be deployed.
        let mut assumed = ready.clone();
        for d in &wanted {
            assumed
                .entry(d.mirror_path())
                .or_insert_with(|| self.mirror_location(d).uri().to_owned());
        }
        let desired = self.desired(&wanted, &assumed, &mut current_dirs, problems)?;
        let mut plan = Plan {
            to_mirror: to_mirror
                .iter()
                .map(|m| format!("{} {}", m.model, m.version))
                .collect(),
            problems: desired.problems,
            ..Default::default()
        };
        let current = self.writer.current_blobs(&self.settings.prefix)?;
        for (path, file) in &desired.files {
            let new = match &file.content {
                Content::Bytes(bytes) => BlobId::of(bytes)?,
                Content::Blob(id) => *id,
            };
            match current.get(path) {
                None => {
                    plan.added.insert(path.clone(), self.text(file)?);
                }
                Some((old, _)) if *old != new => {
                    let old = self.text(&FileContent::blob(*old))?;
                    plan.modified.insert(path.clone(), (old, self.text(file)?));
                }
                Some(_) => {}
            }
        }
        for (path, (old, _)) in &current {
            if !desired.files.contains_key(path) {
                let old = self.text(&FileContent::blob(*old))?;
                plan.removed.insert(path.clone(), old);
            }
        }
        Ok(plan)
    }

    /// A file's text, for showing it in a plan.
    fn text(&mut self, file: &FileContent) -> Result<String> {
        let bytes = match &file.content {
            Content::Bytes(bytes) => bytes.to_vec(),
            Content::Blob(id) => self.writer.read_blob(*id)?,
        };
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn mirror_location(&self, deployment: &Deployment) -> Location {
        let (model, version) = deployment.mirror_path();
        self.mirror_root.child(&model).child(&version)
    }

    /// Makes (or, when `copy` is false, only checks) the mirror of every wanted version. Returns
    /// the mirror URI of each complete one, keyed by (model dir, version); the mirrors copied (or,
    /// when not copying, those still to copy); and the versions whose mirror failed.
    async fn mirror_all(
        &self,
        wanted: &[Deployment],
        copy: bool,
        committed: &BTreeSet<String>,
    ) -> Result<(
        BTreeMap<(String, String), String>,
        Vec<Mirrored>,
        Vec<Problem>,
    )> {
        let mut versions: BTreeMap<(String, String), (&Deployment, Vec<String>)> = BTreeMap::new();
        for d in wanted {
            versions
                .entry(d.mirror_path())
                .or_insert_with(|| (d, Vec::new()))
                .1
                .push(d.channel.clone());
        }
        let results: Vec<_> = futures::stream::iter(versions)
            .map(|(key, (d, channels))| async move {
                let dst = self.mirror_location(d);
                // A committed manifest only ever points at a complete mirror (mirrors finish before
                // the commit, and garbage collection spares referenced ones): no request needed.
                let outcome = if committed.contains(dst.uri()) {
                    Ok(None)
                } else {
                    self.mirror_one(d, &dst, copy).await
                };
                (key, d, channels, dst, outcome)
            })
            .buffer_unordered(self.settings.mirror_concurrency.max(1))
            .collect()
            .await;
        let mut ready = BTreeMap::new();
        let mut mirrored = Vec::new();
        let mut problems = Vec::new();
        for (key, d, channels, dst, outcome) in results {
            match outcome {
                Ok(None) => {
                    ready.insert(key, dst.uri().to_owned());
                }
                Ok(Some(copied)) => {
                    if copy {
                        ready.insert(key, dst.uri().to_owned());
                    }
                    mirrored.push(Mirrored {
                        model: d.model.clone(),
                        version: d.version,
                        files: copied.files,
                        uploaded: copied.uploaded,
                        uploaded_bytes: copied.uploaded_bytes,
                    });
                }
                Err(e) if fails_the_pass(&e) => return Err(e),
                Err(e) => problems.push(Problem {
                    model: d.model.clone(),
                    version: Some(d.version),
                    channels,
                    reason: format!("mirror failed: {e}"),
                    kept: Vec::new(),
                }),
            }
        }
        mirrored.sort_by(|a, b| (&a.model, a.version).cmp(&(&b.model, b.version)));
        Ok((ready, mirrored, problems))
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
        self.check_local_source(&src)?;
        Ok(Some(self.mirror.mirror(&src, dst).await?))
    }

    /// Refuses a local source outside the allowed roots: whoever can write the registry could
    /// otherwise have this process copy any file it can read (its own git key, say) into the
    /// bucket that model servers read.
    fn check_local_source(&self, src: &Location) -> Result<()> {
        let (Some(roots), Some(path)) = (&self.settings.local_source_roots, src.local_path())
        else {
            return Ok(());
        };
        if roots.iter().any(|root| path.starts_with(root)) {
            return Ok(());
        }
        Err(Error::SourceNotAllowed {
            uri: src.uri().to_owned(),
            roots: roots.clone(),
        })
    }

    /// The managed prefix as the remote holds it, by directory, and whether every directory's
    /// render inputs are known: from memory when the remote head is still the one this process
    /// published (`consume` hands that memory over instead of copying it), from git and the work
    /// directory's index otherwise.
    fn current_state(&mut self, consume: bool) -> Result<(BTreeMap<String, CurrentDir>, bool)> {
        let head = self.writer.head()?;
        if let Some(published) = self.published.take()
            && head.as_ref() == Some(&published.head)
        {
            if consume {
                return Ok((published.dirs, true));
            }
            let dirs = published.dirs.clone();
            self.published = Some(published);
            return Ok((dirs, true));
        }
        let index = self
            .cache
            .as_ref()
            .and_then(PassCache::load_dirs)
            .unwrap_or_default();
        crate::current::read(&mut self.writer, &self.settings.prefix, index)
    }

    /// The managed prefix's files: every deployment whose mirror is complete, rendered; channels
    /// of failed versions keep their current files. The files `current_dirs` keeps are moved out
    /// of it, not copied (thousands of them in a large registry).
    fn desired(
        &self,
        wanted: &[Deployment],
        ready: &BTreeMap<(String, String), String>,
        current_dirs: &mut BTreeMap<String, CurrentDir>,
        mut problems: Vec<Problem>,
    ) -> Result<Desired> {
        let mut dirs: BTreeMap<String, CurrentDir> = BTreeMap::new();
        let jobs: Vec<(&Deployment, &String, String)> = wanted
            .iter()
            .filter_map(|d| Some((d, ready.get(&d.mirror_path())?, d.dir())))
            .collect();
        // Rendering is a pure function of its inputs: a directory rendered from the same key
        // keeps its files by blob id. What is rendered (everything, the first time) is spread
        // over the cores.
        let (target, namespace) = (self.target.as_ref(), self.settings.namespace.as_str());
        let probe = self.probe;
        let current = &*current_dirs;
        // None: the directory's current files are kept.
        let rendered = crate::parallel::map(&jobs, |(d, uri, dir)| -> Result<_> {
            let key = RenderKey::of(probe, namespace, d, uri)?;
            match current.get(dir) {
                Some(current) if current.rendered_from == Some(key) => Ok((key, None)),
                _ => Ok((
                    key,
                    Some(layout::render_deployment(target, namespace, d, uri)?),
                )),
            }
        });
        for ((d, uri, dir), rendered) in jobs.into_iter().zip(rendered) {
            match rendered {
                Ok((key, files)) => {
                    let files = match files {
                        Some(files) => layout::DirFiles::from(files),
                        None => take_files(current_dirs, &dir),
                    };
                    let deployed = Deployed {
                        model: d.model.clone(),
                        channel: d.channel.clone(),
                        version: d.version.to_string(),
                        run_id: d.run_id.clone(),
                        model_uri: uri.clone(),
                    };
                    let dir_state = CurrentDir {
                        deployed: Some(deployed),
                        files,
                        rendered_from: Some(key),
                    };
                    dirs.insert(dir, dir_state);
                }
                Err(e) => problems.push(Problem {
                    model: d.model.clone(),
                    version: Some(d.version),
                    channels: vec![d.channel.clone()],
                    reason: format!("cannot render: {e}"),
                    kept: Vec::new(),
                }),
            }
        }
        // Keep the last good deployment of every channel whose new version failed.
        for problem in &mut problems {
            for channel in &problem.channels {
                let dir = format!(
                    "{}/{}",
                    manifests_core::k8s_label(&problem.model),
                    manifests_core::k8s_label(channel)
                );
                if dirs.contains_key(&dir) {
                    continue;
                }
                if let Some(
                    current @ CurrentDir {
                        deployed: Some(_), ..
                    },
                ) = current_dirs.get(&dir)
                {
                    let kept = CurrentDir {
                        deployed: current.deployed.clone(),
                        rendered_from: current.rendered_from,
                        files: take_files(current_dirs, &dir),
                    };
                    dirs.insert(dir, kept);
                    problem.kept.push(channel.clone());
                }
            }
        }

        let mut files = BTreeMap::new();
        let mut index = Vec::new();
        let mut referenced_mirrors = BTreeSet::new();
        for (dir, state) in &dirs {
            for (name, file) in state.files.iter() {
                files.insert(format!("{dir}/{name}"), file.clone());
            }
            let Some(deployed) = &state.deployed else {
                continue;
            };
            if let Some(rest) = deployed
                .model_uri
                .strip_prefix(self.mirror_root.uri().trim_end_matches('/'))
            {
                referenced_mirrors.insert(rest.trim_start_matches('/').to_owned());
            }
            index.push((dir.as_str(), deployed));
        }
        let listed: Vec<String> = dirs.keys().cloned().collect();
        files.insert(
            KUSTOMIZATION.to_owned(),
            FileContent::bytes(layout::kustomization(&listed)?),
        );
        files.insert(
            "README.md".to_owned(),
            FileContent::bytes(layout::readme(&index)?),
        );

        let changes = crate::message::changes(current_dirs, &dirs);
        Ok(Desired {
            files,
            changes,
            deployments: dirs.len(),
            problems,
            referenced_mirrors,
            dirs,
        })
    }
}

/// Moves a current directory's files out (what it serves stays, for the commit message).
fn take_files(current_dirs: &mut BTreeMap<String, CurrentDir>, dir: &str) -> layout::DirFiles {
    current_dirs
        .get_mut(dir)
        .map(|current| std::mem::take(&mut current.files))
        .unwrap_or_default()
}

/// The mirror URIs the managed prefix refers to now.
fn committed_mirrors(current: &BTreeMap<String, CurrentDir>) -> BTreeSet<String> {
    current
        .values()
        .filter_map(|dir| dir.deployed.as_ref().map(|d| d.model_uri.clone()))
        .collect()
}

fn registry_problems(errors: &[registry_reader::VersionError]) -> Vec<Problem> {
    errors
        .iter()
        .map(|e| Problem {
            model: e.name.clone(),
            version: e.version,
            channels: e.channels.iter().map(channel_name).collect(),
            reason: e.reason.clone(),
            kept: Vec::new(),
        })
        .collect()
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

/// Where a pass spent its time, for the debug log: `registry=12ms read_repo=3ms …`.
struct Phases {
    last: Instant,
    spent: Vec<(&'static str, Duration)>,
}

impl Phases {
    fn new(started: Instant) -> Self {
        Self {
            last: started,
            spent: Vec::new(),
        }
    }

    fn mark(&mut self, phase: &'static str) {
        let now = Instant::now();
        self.spent.push((phase, now - self.last));
        self.last = now;
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, (phase, spent)) in self.spent.iter().enumerate() {
            let gap = if i == 0 { "" } else { " " };
            write!(f, "{gap}{phase}={}ms", spent.as_millis())?;
        }
        Ok(())
    }
}
