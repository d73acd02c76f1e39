//! One reconcile pass: registry → desired deployments → complete mirrors → manifests → one
//! commit. Each step lives in its own module; this one runs them in order and keeps what a
//! daemon remembers between passes.

mod builder;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use artifact_store::collect_garbage;
use gitops_writer::{ChangeSet, CommitInfo, GitOpsWriter, Outcome, Proposal, PushAttempt};
use manifests_core::ServingTarget;
use registry_reader::{Fingerprint, ModelRegistry};

pub use builder::ReconcilerBuilder;

use crate::deployment::{Deployment, deployments};
use crate::desired::{Desired, Renderer, desired};
use crate::layout::{CurrentDir, Ready, TargetProbe};
use crate::message::{Change, commit_message};
use crate::mirroring::Mirroring;
use crate::pass_cache::PassCache;
use crate::phases::Phases;
use crate::report::{Commit, PassReport, Plan, Problem, Review, ReviewState, registry_problems};
use crate::review::{self, Gate};
use crate::serving_config;
use crate::settings::Settings;
use crate::{Error, Result};

/// The reconcile pass, composed of a registry, a mirror and a git writer. Made by
/// [`Reconciler::builder`].
pub struct Reconciler<R, W> {
    registry: R,
    /// Behind a lock only so that git work can run on tokio's blocking threads: the pass holds
    /// it for one git step at a time, and nothing else takes it.
    writer: Arc<Mutex<W>>,
    target: Box<dyn ServingTarget>,
    probe: TargetProbe,
    mirroring: Mirroring,
    settings: Settings,
    last_clean: Option<Fingerprint>,
    cache: Option<PassCache>,
    published: Option<Published>,
    /// The gated channels (`Settings::review`) and their branches.
    gate: Gate,
}

/// How many times a pass starts over when the remote moves under it before it fails.
const MAX_PASS_ATTEMPTS: u32 = 6;

/// Up to half of `backoff`, from the clock's nanoseconds: enough to break a lockstep.
fn jitter(backoff: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    backoff.mul_f64(f64::from(nanos % 1000) / 2000.0)
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

impl<R: ModelRegistry, W: GitOpsWriter + Send + 'static> Reconciler<R, W> {
    /// A reconciler reading `registry`, writing with `writer` and mirroring into `mirror_root`
    /// (a URI the resolver opens). Defaults: [`MlflowServe`](manifests_core::MlflowServe),
    /// [`Settings::new("models")`](Settings::new), a default resolver and mirror, no pass cache.
    pub fn builder(
        registry: R,
        writer: W,
        mirror_root: impl Into<String>,
    ) -> ReconcilerBuilder<R, W> {
        ReconcilerBuilder::new(registry, writer, mirror_root.into())
    }

    /// One pass. Mirrors complete before any manifest refers to them; the managed prefix changes
    /// in one commit or not at all; a bad version is reported and its channels keep what they
    /// served; a failure of the registry, the mirror root or git fails the whole pass with nothing
    /// partial committed.
    ///
    /// When the remote branch moved since it was read (another replica or a human pushed), the
    /// commit is dropped and the pass starts over from a fresh fetch and a fresh registry read,
    /// instead of re-applying files derived from an older read: two replicas of the daemon never
    /// undo each other's commits.
    pub async fn run_once(&mut self) -> Result<PassReport> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(50);
        for attempt in 1..=MAX_PASS_ATTEMPTS {
            if let Some(report) = self.pass(started, attempt > 1).await? {
                return Ok(report);
            }
            tracing::info!(attempt, "the remote moved during the pass: starting over");
            // Jitter keeps two replicas that collided from colliding again in lockstep.
            tokio::time::sleep(backoff + jitter(backoff)).await;
            backoff = backoff.saturating_mul(2);
        }
        Err(Error::Contended {
            attempts: MAX_PASS_ATTEMPTS,
        })
    }

    /// One attempt of a pass; None when the remote moved under it (nothing was pushed).
    async fn pass(&mut self, started: Instant, moved: bool) -> Result<Option<PassReport>> {
        let fingerprint = self.registry.fingerprint().await?;
        if !moved
            && self
                .nothing_changed_since_a_clean_pass(&fingerprint)
                .await?
        {
            self.last_clean = Some(fingerprint);
            return Ok(Some(PassReport {
                unchanged_registry: true,
                elapsed: started.elapsed(),
                ..Default::default()
            }));
        }
        if let Some(cache) = &self.cache {
            cache.clear();
        }
        let mut phases = Phases::new(started);
        // Fetched before the registry is read, so what is committed on a head never comes from
        // an older read than the commits under it. Review mode also needs to see human merges.
        if moved || self.gate.is_on() {
            self.git(|w| Ok(w.refresh()?)).await?;
            phases.mark("fetch");
        }
        let promoted = self.registry.promoted(&self.settings.filter).await?;
        phases.mark("registry");
        let (mut current, index_complete) = self.current_state(true).await?;
        phases.mark("read_repo");
        let wanted = deployments(&promoted.versions);
        let mut problems = registry_problems(&promoted.errors);
        // The deployments hold what the rest of the pass needs.
        drop(promoted);
        let committed = committed_mirrors(&current);
        let own_image = self.own_image_versions(&wanted);
        let mirrors = self
            .mirroring
            .mirror_all(&wanted, true, &committed, &own_image)
            .await?;
        phases.mark("mirror");
        problems.extend(mirrors.problems);
        let on_target = self.on_target(&current);
        let Desired {
            files,
            changes,
            problems,
            notes,
            dirs,
        } = desired(
            self.renderer(),
            &wanted,
            &mirrors.ready,
            &mut current,
            problems,
        )?;
        // What the desired state was made from goes before the commit is built beside it.
        drop((current, wanted, mirrors.ready, committed));
        phases.mark("render");
        let (files, dirs, changes, proposals) = if self.gate.is_on() {
            let split = review::split(&self.gate, dirs, on_target, changes);
            let files = crate::desired::prefix_files(&split.target)?;
            (files, split.target, split.changes, split.proposals)
        } else {
            (files, dirs, changes, Vec::new())
        };

        let mut report = PassReport {
            deployments: dirs.len(),
            mirrored: mirrors.mirrored,
            notes,
            ..Default::default()
        };
        report.commit = self.commit(files, &changes, &problems).await?;
        if report.commit.is_some() {
            phases.mark("commit");
            if self.settings.push {
                match self.git(|w| Ok(w.push_once()?)).await? {
                    PushAttempt::Moved => return Ok(None),
                    PushAttempt::Pushed(id) => report.pushed = Some(id),
                    PushAttempt::Nothing => {}
                }
                phases.mark("push");
            }
        }
        if self.settings.push && self.gate.is_on() {
            match self.review(&dirs, proposals, &problems).await? {
                Some(reviews) => report.reviews = reviews,
                None => return Ok(None),
            }
            phases.mark("review");
        }
        if let Some(keep) = self.settings.keep_mirrors {
            let referenced = self.mirroring.referenced(served_mirrors(&dirs));
            collect_garbage(&self.mirroring.root, &referenced, keep).await?;
        }
        // Unchanged or pushed: the remote's prefix now holds exactly the desired files.
        let published = report.commit.is_none() || report.pushed.is_some();
        if published {
            let record_index = report.pushed.is_some() || !index_complete;
            self.remember_published(dirs, record_index).await?;
        }
        report.problems = problems;
        // A pass with problems is repeated at the next poll even if the registry stays the same:
        // missing artifacts may arrive, a flaky store may recover. So is one with pending
        // reviews: a human merge changes nothing in the registry.
        let pending = report.reviews.iter().any(|r| r.state.is_pending());
        self.last_clean = (report.problems.is_empty() && !pending).then_some(fingerprint);
        // Only a state the remote holds can be trusted by the next process.
        if published && self.last_clean.is_some() {
            self.record_clean_pass(&fingerprint).await?;
        }
        report.elapsed = started.elapsed();
        tracing::debug!(phases = %phases, deployments = report.deployments, "pass timing");
        Ok(Some(report))
    }

    /// Pushes each proposal to its review branch (on the target's new head) and deletes the
    /// review branches nothing is proposed on any more; None when a branch moved under it.
    async fn review(
        &self,
        target: &BTreeMap<String, CurrentDir>,
        proposals: Vec<review::Proposed>,
        problems: &[Problem],
    ) -> Result<Option<Vec<Review>>> {
        let root = self.gate.branch_root.clone();
        let listed = self.git(move |w| Ok(w.review_branches(&root)?)).await?;
        let mut reviews = Vec::new();
        let mut proposed = BTreeSet::new();
        for proposal in proposals {
            let branch = self.gate.branch(&proposal.dir);
            let mut change = ChangeSet::new(&self.settings.prefix)?;
            for (path, file) in
                crate::desired::prefix_files(&review::with_proposal(target, &proposal))?
            {
                change.insert_file(&path, file)?;
            }
            let info = self.commit_info(&proposal.changes, problems)?;
            let options = self.settings.push_options.clone();
            let on = branch.clone();
            let outcome = self
                .git(move |w| Ok(w.propose(&on, &change, &info, &options)?))
                .await?;
            let state = match outcome {
                Proposal::Moved => return Ok(None),
                // The target holds it already: the branch, if any, is closed below.
                Proposal::OnTarget => continue,
                Proposal::Unchanged { .. } => ReviewState::Pending,
                Proposal::Pushed { created: true, .. } => ReviewState::Opened,
                Proposal::Pushed { created: false, .. } => ReviewState::Updated,
            };
            proposed.insert(branch.clone());
            reviews.push(Review {
                branch,
                changes: proposal.changes.iter().map(Change::line).collect(),
                state,
            });
        }
        for branch in listed.into_keys() {
            if !self.gate.manages(&branch) || proposed.contains(&branch) {
                continue;
            }
            let on = branch.clone();
            if !self.git(move |w| Ok(w.delete_branch(&on)?)).await? {
                return Ok(None);
            }
            reviews.push(Review {
                branch,
                changes: Vec::new(),
                state: ReviewState::Closed,
            });
        }
        Ok(Some(reviews))
    }

    /// What a pass would write, without copying or committing anything.
    pub async fn plan(&mut self) -> Result<Plan> {
        let promoted = self.registry.promoted(&self.settings.filter).await?;
        let (mut current, _) = self.current_state(false).await?;
        let wanted = deployments(&promoted.versions);
        let committed = committed_mirrors(&current);
        let mirrors = self
            .mirroring
            .mirror_all(
                &wanted,
                false,
                &committed,
                &self.own_image_versions(&wanted),
            )
            .await?;
        let problems = registry_problems(&promoted.errors);
        // In a plan, versions not mirrored yet are shown as they would be deployed.
        let mut assumed = mirrors.ready;
        for d in &wanted {
            assumed
                .entry(d.mirror_path())
                .or_insert_with(|| Ready::at(self.mirroring.location(d).uri()));
        }
        let on_target = self.on_target(&current);
        let desired = desired(self.renderer(), &wanted, &assumed, &mut current, problems)?;
        let (files, changes, reviews) = if self.gate.is_on() {
            let split = review::split(&self.gate, desired.dirs, on_target, desired.changes);
            let reviews = split
                .proposals
                .iter()
                .flat_map(|p| {
                    let branch = self.gate.branch(&p.dir);
                    p.changes
                        .iter()
                        .map(move |c| format!("{branch}: {}", c.line()))
                })
                .collect();
            let files = crate::desired::prefix_files(&split.target)?;
            (files, split.changes, reviews)
        } else {
            (desired.files, desired.changes, Vec::new())
        };
        let mut plan = Plan {
            changes: changes.iter().map(Change::line).collect(),
            reviews,
            notes: desired.notes,
            to_mirror: mirrors
                .mirrored
                .iter()
                .map(|m| format!("{} {}", m.model, m.version))
                .collect(),
            problems: desired.problems,
            ..Default::default()
        };
        let prefix = self.settings.prefix.clone();
        self.git(move |writer| {
            let current = writer.current_blobs(&prefix)?;
            crate::plan::diff(writer, &files, &current, &mut plan)?;
            Ok(plan)
        })
        .await
    }

    /// What the target holds for gated channels, kept before the desired state takes its files.
    fn on_target(&self, current: &BTreeMap<String, CurrentDir>) -> BTreeMap<String, CurrentDir> {
        current
            .iter()
            .filter(|(dir, _)| self.gate.gates(dir))
            .map(|(dir, state)| (dir.clone(), state.clone()))
            .collect()
    }

    /// The versions (mirror paths) whose every channel is served by a profile with an image the
    /// target knows nothing of: the environment check does not apply to them.
    fn own_image_versions(&self, wanted: &[Deployment]) -> BTreeSet<(String, String)> {
        let mut checked = BTreeSet::new();
        let mut own = BTreeSet::new();
        for d in wanted {
            let profile = self.settings.serving.profile_for(d).ok().flatten();
            if serving_config::has_own_image(self.target.as_ref(), profile.as_deref()) {
                own.insert(d.mirror_path());
            } else {
                checked.insert(d.mirror_path());
            }
        }
        own.retain(|version| !checked.contains(version));
        own
    }

    fn renderer(&self) -> Renderer<'_> {
        Renderer {
            target: self.target.as_ref(),
            namespace: &self.settings.namespace,
            probe: self.probe,
            serving: &self.settings.serving,
        }
    }

    /// Runs git work on tokio's blocking threads, so a slow fetch, a large commit or a push's
    /// retry waits never stall the runtime (the watch loop, the metrics endpoint).
    async fn git<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut W) -> Result<T> + Send + 'static,
    {
        let writer = Arc::clone(&self.writer);
        let joined = tokio::task::spawn_blocking(move || {
            // A panic in earlier git work is re-raised below; the writer itself rereads the
            // repository's state at every step, so its lock is still usable.
            let mut writer = writer.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut writer)
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Err(Error::Cancelled),
            },
        }
    }

    /// Whether `fingerprint` is the last clean pass's, in this process or (by the pass cache)
    /// in an earlier one on the same remote head: then the pass does nothing.
    async fn nothing_changed_since_a_clean_pass(&self, fingerprint: &Fingerprint) -> Result<bool> {
        if self.last_clean.as_ref() == Some(fingerprint) {
            return Ok(true);
        }
        let Some(cache) = &self.cache else {
            return Ok(false);
        };
        let head = self.git(|w| Ok(w.head()?)).await?;
        Ok(cache.matches(fingerprint, head.as_deref()))
    }

    /// The managed prefix as the remote holds it, by directory, and whether every directory's
    /// render inputs are known: from memory when the remote head is still the one this process
    /// published (`consume` hands that memory over instead of copying it), from git and the work
    /// directory's index otherwise.
    async fn current_state(
        &mut self,
        consume: bool,
    ) -> Result<(BTreeMap<String, CurrentDir>, bool)> {
        let head = self.git(|w| Ok(w.head()?)).await?;
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
        let prefix = self.settings.prefix.clone();
        self.git(move |writer| crate::current::read(writer, &prefix, index))
            .await
    }

    /// Makes the managed prefix hold `files` in one commit; None when it already does.
    async fn commit(
        &self,
        files: crate::layout::Files,
        changes: &[Change],
        problems: &[Problem],
    ) -> Result<Option<Commit>> {
        let mut change = ChangeSet::new(&self.settings.prefix)?;
        for (path, file) in files {
            change.insert_file(&path, file)?;
        }
        let info = self.commit_info(changes, problems)?;
        // The change set moves into the git step and is dropped there: the writer keeps what a
        // push may need by id, so the rendered bytes go before the push.
        let outcome = self.git(move |w| Ok(w.apply(&change, &info)?)).await?;
        Ok(match outcome {
            Outcome::Unchanged => None,
            Outcome::Committed {
                id,
                added,
                modified,
                removed,
            } => Some(Commit {
                id,
                added,
                modified,
                removed,
                changes: changes.iter().map(Change::line).collect(),
            }),
        })
    }

    /// The author, committer and message of a commit of `changes`.
    fn commit_info(&self, changes: &[Change], problems: &[Problem]) -> Result<CommitInfo> {
        let (prefix, ui) = (
            &self.settings.prefix,
            self.settings.mlflow_ui_url.as_deref(),
        );
        let message = match &self.settings.commit_template {
            Some(template) => template.render(prefix, changes, problems, ui),
            None => commit_message(prefix, changes, problems, ui)?,
        };
        Ok(CommitInfo {
            author: self.settings.author.clone(),
            committer: self.settings.author.clone(),
            message,
        })
    }

    /// Keeps what the remote's prefix now holds for the next pass (and, when `record_index`,
    /// in the work directory's index for the next process).
    async fn remember_published(
        &mut self,
        mut dirs: BTreeMap<String, CurrentDir>,
        record_index: bool,
    ) -> Result<()> {
        crate::current::settle(&mut dirs)?;
        if let (Some(cache), true) = (&self.cache, record_index) {
            cache.record_dirs(&dirs);
        }
        let head = self.git(|w| Ok(w.head()?)).await?;
        self.published = head.map(|head| Published { head, dirs });
        Ok(())
    }

    /// Records a clean pass on the remote's head for the next process.
    async fn record_clean_pass(&self, fingerprint: &Fingerprint) -> Result<()> {
        if let Some(cache) = &self.cache
            && let Some(head) = self.git(|w| Ok(w.head()?)).await?
        {
            cache.record(fingerprint, &head);
        }
        Ok(())
    }
}

/// The mirror URIs the managed prefix refers to now.
fn committed_mirrors(current: &BTreeMap<String, CurrentDir>) -> BTreeSet<String> {
    served_mirrors(current).map(str::to_owned).collect()
}

/// The mirror URI each directory serves.
fn served_mirrors(dirs: &BTreeMap<String, CurrentDir>) -> impl Iterator<Item = &str> {
    dirs.values()
        .filter_map(|dir| dir.deployed.as_ref().map(|d| d.model_uri.as_str()))
}
