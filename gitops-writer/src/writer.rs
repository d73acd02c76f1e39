//! [`GixWriter`]: the subtree is built and committed with gix in a private bare clone; fetch and
//! push go through a [`Transport`].
//!
//! Crash safety: commits are written as objects without moving any local ref, then pushed as
//! `<commit>:refs/heads/<branch>`. Killed at any instant, the clone holds at most unreferenced
//! objects, and the next `apply` rebuilds from the remote's head.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use gix::ObjectId;
use gix::objs::tree::EntryKind;

use redaction::BoxError;

use crate::objects::NewObjects;
use crate::signing::CommitSigner;
use crate::subtree;
use crate::transport::{GitCli, Pushed, Transport};
use crate::{
    BlobId, ChangeSet, CommitInfo, Error, FileMode, GitOpsWriter, Outcome, Proposal, PushAttempt,
};

mod review;

/// A commit made by `apply` and not pushed yet: the prefix's tree it sets (None: the prefix is
/// removed) and its commit info, to re-apply on the new head when a push is rejected.
struct Pending {
    commit: ObjectId,
    prefix: String,
    tree: Option<ObjectId>,
    info: CommitInfo,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The commit now at the head of the remote branch, if this push moved it.
    pub pushed: Option<String>,
    /// Push attempts made (rejections re-applied the change set on the new remote head).
    pub attempts: u32,
}

/// A git writer over a private bare clone at `work_dir`.
pub struct GixWriter<T: Transport = GitCli> {
    dir: PathBuf,
    branch: String,
    transport: T,
    repo: gix::Repository,
    /// The commit of the last `apply`, until it is pushed. Nothing else of the managed subtree is
    /// held between calls: with thousands of files, it lives in tree objects, not in memory.
    pending: Option<Pending>,
    max_push_attempts: u32,
    backoff: Duration,
    /// Signs every commit when set.
    signer: Option<CommitSigner>,
    /// The review branches and their heads, as last listed.
    reviews: BTreeMap<String, ObjectId>,
    /// Held for the writer's life: one writer per work directory.
    _lock: File,
}

impl<T: Transport> std::fmt::Debug for GixWriter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GixWriter")
            .field("dir", &self.dir)
            .field("branch", &self.branch)
            .field("remote", &self.transport.remote())
            .finish_non_exhaustive()
    }
}

impl GixWriter<GitCli> {
    /// Opens (or creates) the bare clone at `work_dir` for `remote_url`'s `branch`, and fetches.
    pub fn open(
        remote_url: &str,
        work_dir: &Path,
        branch: &str,
    ) -> Result<GixWriter<GitCli>, Error> {
        GixWriter::with_transport(GitCli::new(remote_url)?, work_dir, branch)
    }
}

impl<T: Transport> GixWriter<T> {
    /// Like [`open`](GixWriter::open) with a transport of the caller's (ssh or token auth, or a
    /// fault-injecting wrapper in tests).
    pub fn with_transport(
        transport: T,
        work_dir: &Path,
        branch: &str,
    ) -> Result<GixWriter<T>, Error> {
        crate::path::validate(branch).map_err(|_| Error::InvalidPath {
            path: branch.to_owned(),
            reason: "not a valid branch name",
        })?;
        let io = |source: BoxError| Error::Repository {
            dir: work_dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(work_dir).map_err(|e| io(e.into()))?;
        let lock = File::create(work_dir.join("mlflow-gitops.lock")).map_err(|e| io(e.into()))?;
        lock_work_dir(&lock).map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => Error::Busy {
                dir: work_dir.to_owned(),
            },
            std::fs::TryLockError::Error(e) => io(e.into()),
        })?;
        let repo_dir = work_dir.join("repo.git");
        if repo_dir.join("HEAD").is_file() {
            remove_stale_locks(&repo_dir);
        } else {
            init_private_clone(&repo_dir).map_err(io)?;
        }
        let repo = match open_repo(&repo_dir) {
            Ok(repo) => repo,
            // A clone that cannot be opened holds nothing usable; the remote has what was pushed.
            Err(_) => {
                init_private_clone(&repo_dir).map_err(io)?;
                open_repo(&repo_dir).map_err(|e| io(e.into()))?
            }
        };
        let mut writer = GixWriter {
            dir: repo_dir,
            branch: branch.to_owned(),
            transport,
            repo,
            pending: None,
            max_push_attempts: 5,
            backoff: Duration::from_millis(200),
            signer: None,
            reviews: BTreeMap::new(),
            _lock: lock,
        };
        writer.fetch()?;
        Ok(writer)
    }

    /// How many times a rejected push is retried (fetch, re-apply, push) before giving up, and the
    /// first backoff between attempts (doubled each time). Defaults: 5, 200 ms.
    pub fn with_retries(mut self, attempts: u32, first_backoff: Duration) -> GixWriter<T> {
        self.max_push_attempts = attempts.max(1);
        self.backoff = first_backoff;
        self
    }

    /// Signs every commit from now on with `signer` (also the ones re-made after a rejected push).
    pub fn with_signer(mut self, signer: CommitSigner) -> GixWriter<T> {
        self.signer = Some(signer);
        self
    }

    /// Updates the local view of the remote branch.
    pub fn fetch(&mut self) -> Result<(), Error> {
        self.transport.fetch(&self.dir, &self.branch)?;
        // The handle never rescans for packs on its own (see `open_repo`): reopen to see the new one.
        self.repo = open_repo(&self.dir).map_err(|e| self.error(e))?;
        Ok(())
    }

    /// The remote branch head as last fetched (or pushed), if the branch exists.
    fn base(&self) -> Result<Option<ObjectId>, Error> {
        let name = format!("refs/remotes/origin/{}", self.branch);
        match self.repo.try_find_reference(name.as_str()) {
            Ok(Some(mut reference)) => reference
                .peel_to_id()
                .map(|id| Some(id.detach()))
                .map_err(|e| self.error(e)),
            Ok(None) => Ok(None),
            Err(e) => Err(self.error(e)),
        }
    }

    fn error(&self, e: impl Into<BoxError>) -> Error {
        Error::Repository {
            dir: self.dir.clone(),
            source: e.into(),
        }
    }

    /// The base commit (None: the branch does not exist yet) and its root tree.
    fn base_tree(&self) -> Result<(Option<ObjectId>, ObjectId), Error> {
        let base = self.base()?;
        let root = match base {
            Some(commit) => self
                .repo
                .find_commit(commit)
                .and_then(|c| c.tree_id())
                .map_err(|e| self.error(e))?
                .detach(),
            None => ObjectId::empty_tree(self.repo.object_hash()),
        };
        Ok((base, root))
    }

    /// The tree at `prefix` in `root`; None when there is none (or a file is there instead).
    fn prefix_tree(&self, root: ObjectId, prefix: &str) -> Result<Option<ObjectId>, Error> {
        let root = self.repo.find_tree(root).map_err(|e| self.error(e))?;
        let entry = root
            .lookup_entry_by_path(prefix)
            .map_err(|e| self.error(e))?;
        Ok(entry.filter(|e| e.mode().is_tree()).map(|e| e.object_id()))
    }

    /// Writes a commit on `base` whose tree is `root` with `prefix` set to `tree` (removed when
    /// None), after the new objects it refers to.
    fn commit_tree(
        &mut self,
        (base, root): (Option<ObjectId>, ObjectId),
        prefix: &str,
        tree: Option<ObjectId>,
        mut objects: NewObjects,
        info: &CommitInfo,
    ) -> Result<ObjectId, Error> {
        let root = self.root_with(root, prefix, tree, &mut objects)?;
        self.write_commit(base.into_iter().collect(), root, objects, info)
    }

    /// The root tree `root` with `prefix` set to `tree` (removed when None), written into
    /// `objects`.
    fn root_with(
        &self,
        root: ObjectId,
        prefix: &str,
        tree: Option<ObjectId>,
        objects: &mut NewObjects,
    ) -> Result<ObjectId, Error> {
        // Only the trees above the prefix are loaded and rewritten; a file where the prefix
        // should be is replaced by the directory.
        let mut editor = self
            .repo
            .edit_tree(root)
            .map_err(|e| self.error(e))?
            .detach();
        match tree {
            Some(id) => editor.upsert(prefix.split('/'), EntryKind::Tree, id),
            None => editor.remove(prefix.split('/')),
        }
        .map_err(|e| self.error(e))?;
        editor
            .write(|tree| objects.object(tree))
            .map_err(|e| self.error(e))
    }

    /// Writes a commit of `root` on `parents` (signed when a signer is set), after the new
    /// objects it refers to.
    fn write_commit(
        &mut self,
        parents: Vec<ObjectId>,
        root: ObjectId,
        mut objects: NewObjects,
        info: &CommitInfo,
    ) -> Result<ObjectId, Error> {
        let now = gix::date::Time::now_local_or_utc();
        let signature = |s: &crate::Signature| gix::actor::Signature {
            name: s.name.as_str().into(),
            email: s.email.as_str().into(),
            time: now,
        };
        let mut commit = gix::objs::Commit {
            tree: root,
            parents: parents.into(),
            author: signature(&info.author),
            committer: signature(&info.committer),
            encoding: None,
            message: info.message.as_str().into(),
            extra_headers: Vec::new(),
        };
        if let Some(signer) = &self.signer {
            // What git verifies: the object as it is without the signature header.
            let mut payload = Vec::new();
            gix::objs::WriteTo::write_to(&commit, &mut payload).map_err(|e| self.error(e))?;
            let signature = signer.sign(&payload)?;
            commit
                .extra_headers
                .push(("gpgsig".into(), signature.into()));
        }
        let id = objects.object(&commit).map_err(|e| self.error(e))?;
        if objects.write(&self.repo).map_err(|e| self.error(e))? {
            self.repo = open_repo(&self.dir).map_err(|e| self.error(e))?;
        }
        Ok(id)
    }

    /// Packs what the passes left loose after a push; the handle must reopen to see a new pack.
    fn after_push(&mut self) -> Result<(), Error> {
        self.transport.maintain(&self.dir)?;
        self.repo = open_repo(&self.dir).map_err(|e| self.error(e))?;
        Ok(())
    }
}

impl<T: Transport> GitOpsWriter for GixWriter<T> {
    fn head(&mut self) -> Result<Option<String>, Error> {
        Ok(self.base()?.map(|id| id.to_string()))
    }

    fn current_blobs(
        &mut self,
        prefix: &str,
    ) -> Result<BTreeMap<String, (BlobId, FileMode)>, Error> {
        let (_, root) = self.base_tree()?;
        let mut files = BTreeMap::new();
        if let Some(tree) = self.prefix_tree(root, prefix.trim_matches('/'))? {
            subtree::walk_files(&self.repo, tree, |path, id, mode| {
                let mode = if mode.is_executable() {
                    FileMode::Executable
                } else {
                    FileMode::Regular
                };
                files.insert(path, (BlobId(id), mode));
            })?;
        }
        Ok(files)
    }

    fn read_blob(&mut self, id: BlobId) -> Result<Vec<u8>, Error> {
        let blob = self.repo.find_blob(id.0).map_err(|e| self.error(e))?;
        Ok(blob.detach().data)
    }

    fn apply(&mut self, change: &ChangeSet, info: &CommitInfo) -> Result<Outcome, Error> {
        // A commit not pushed yet is replaced (its objects stay unreferenced until gc).
        self.pending = None;
        let base = self.base_tree()?;
        let prefix = change.prefix();
        let old = self.prefix_tree(base.1, prefix)?;
        let mut objects = NewObjects::new(self.repo.object_hash());
        let built = subtree::build(&self.repo, change, old, &mut objects)?;
        if built.tree == old {
            return Ok(Outcome::Unchanged);
        }
        let commit = self.commit_tree(base, prefix, built.tree, objects, info)?;
        self.pending = Some(Pending {
            commit,
            prefix: prefix.to_owned(),
            tree: built.tree,
            info: info.clone(),
        });
        let full = |paths: Vec<String>| -> Vec<String> {
            paths.into_iter().map(|p| format!("{prefix}/{p}")).collect()
        };
        Ok(Outcome::Committed {
            id: commit.to_string(),
            added: full(built.diff.added),
            modified: full(built.diff.modified),
            removed: full(built.diff.removed),
        })
    }

    fn push(&mut self) -> Result<PushReport, Error> {
        let mut attempts = 0;
        let mut backoff = self.backoff;
        while let Some(commit) = self.pending.as_ref().map(|p| p.commit) {
            attempts += 1;
            match self
                .transport
                .push(&self.dir, &commit.to_string(), &self.branch, &[])?
            {
                Pushed::Accepted => {
                    self.pending = None;
                    self.after_push()?;
                    return Ok(PushReport {
                        pushed: Some(commit.to_string()),
                        attempts,
                    });
                }
                Pushed::RejectedNonFastForward if attempts < self.max_push_attempts => {
                    std::thread::sleep(backoff);
                    backoff = backoff.saturating_mul(2);
                    self.fetch()?;
                    let mut pending = self.pending.take().expect("checked by the loop");
                    let base = self.base_tree()?;
                    // The remote may already hold exactly our files (another writer pushed them).
                    if self.prefix_tree(base.1, &pending.prefix)? != pending.tree {
                        // Every object but the commit was written by the first attempt.
                        let objects = NewObjects::new(self.repo.object_hash());
                        pending.commit = self.commit_tree(
                            base,
                            &pending.prefix,
                            pending.tree,
                            objects,
                            &pending.info,
                        )?;
                        self.pending = Some(pending);
                    }
                }
                Pushed::RejectedNonFastForward => {
                    return Err(Error::Contended {
                        remote: self.transport.remote().to_owned(),
                        attempts,
                    });
                }
            }
        }
        Ok(PushReport {
            pushed: None,
            attempts,
        })
    }

    fn push_once(&mut self) -> Result<PushAttempt, Error> {
        let Some(pending) = self.pending.take() else {
            return Ok(PushAttempt::Nothing);
        };
        let commit = pending.commit.to_string();
        match self.transport.push(&self.dir, &commit, &self.branch, &[])? {
            Pushed::Accepted => {
                self.after_push()?;
                Ok(PushAttempt::Pushed(commit))
            }
            Pushed::RejectedNonFastForward => {
                self.fetch()?;
                Ok(PushAttempt::Moved)
            }
        }
    }

    fn refresh(&mut self) -> Result<(), Error> {
        self.fetch()
    }

    fn review_branches(&mut self, prefix: &str) -> Result<BTreeMap<String, String>, Error> {
        self.list_reviews(prefix)
    }

    fn propose(
        &mut self,
        branch: &str,
        change: &ChangeSet,
        info: &CommitInfo,
        push_options: &[String],
    ) -> Result<Proposal, Error> {
        self.propose_review(branch, change, info, push_options)
    }

    fn delete_branch(&mut self, branch: &str) -> Result<bool, Error> {
        self.delete_review(branch)
    }
}

/// Creates the private bare clone under a staging name and renames it into place, so a process
/// killed while creating it never leaves a half-made repository where the next run looks (found
/// by the kill campaign: the rerun refused to initialize the non-empty directory). The caller
/// holds the work directory's lock, so the staging name is ours alone.
fn init_private_clone(dir: &Path) -> Result<(), BoxError> {
    let staging = dir.with_file_name(".repo.git.init");
    // The path goes into the message; the io::Error's kind stays for code that inspects it.
    let at = |what: &str, path: &Path, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
    };
    for leftover in [&staging, dir] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover).map_err(|e| at("removing", leftover, e))?;
        }
    }
    gix::init_bare(&staging)?;
    std::fs::rename(&staging, dir).map_err(|e| at("renaming", &staging, e).into())
}

/// Takes the work directory's lock, waiting up to a second for it. The wait is for a lock whose
/// writer is already gone: a child process that another thread of the same process is starting
/// holds a copy of every descriptor (this lock's too) until it executes its program, so a writer
/// dropped and reopened at that moment would otherwise find its own directory busy. A second is
/// far longer than that window and far shorter than a real second writer's lifetime.
fn lock_work_dir(lock: &File) -> Result<(), std::fs::TryLockError> {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        match lock.try_lock() {
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Opens the bare repository with pack refreshing off: by default every lookup of a missing object
/// (each new blob we write) rescans the pack directory. Fetches reopen the repository instead.
fn open_repo(dir: &Path) -> Result<gix::Repository, gix::Error> {
    let mut repo = gix::open(dir)?;
    repo.objects.refresh_never();
    Ok(repo)
}

/// Removes git lock files older than a minute from our private clone: left by a `git` killed
/// with us, they would block every later fetch. Younger ones may belong to a still-running git.
fn remove_stale_locks(dir: &Path) {
    let Ok(entries) = walk(dir) else { return };
    let cutoff = SystemTime::now() - Duration::from_secs(60);
    for path in entries {
        let stale = path.extension().is_some_and(|e| e == "lock")
            && std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < cutoff);
        if stale {
            let _ = std::fs::remove_file(&path);
        }
    }
}

fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                // Objects never carry locks; skipping them keeps this cheap on large clones.
                if path.file_name().is_some_and(|n| n != "objects") {
                    stack.push(path);
                }
            } else {
                out.push(path);
            }
        }
    }
    Ok(out)
}
