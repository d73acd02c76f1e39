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
use gix::bstr::ByteSlice;
use gix::objs::tree::EntryKind;

use crate::objects::NewObjects;
use crate::transport::{GitCli, Pushed, Transport};
use crate::{BlobId, ChangeSet, CommitInfo, Content, Error, FileMode, GitOpsWriter, Outcome};

/// path (relative to the prefix) → (blob id, mode).
type Files = BTreeMap<String, (ObjectId, FileMode)>;

/// The files under `prefix` in commit `base` (`None`: the branch does not exist yet).
struct Known {
    base: Option<ObjectId>,
    prefix: String,
    files: Files,
}

/// A commit made by `apply` and not pushed yet: what it holds under the prefix (by id, so no
/// bytes are kept) and its commit info, to re-apply on the new head when a push is rejected.
struct Pending {
    commit: ObjectId,
    prefix: String,
    files: Files,
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
    /// The managed subtree's files in a known base commit, so an unchanged base is not re-read.
    known: Option<Known>,
    /// The commit of the last `apply`, until it is pushed. The file maps are the writer's main
    /// memory with thousands of managed files: it holds one between passes (`known`), two while
    /// applying (`known` and the new files, which become `pending`, then `known`).
    pending: Option<Pending>,
    max_push_attempts: u32,
    backoff: Duration,
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
        let io = |message: String| Error::Repository {
            dir: work_dir.to_owned(),
            message,
        };
        std::fs::create_dir_all(work_dir).map_err(|e| io(e.to_string()))?;
        let lock =
            File::create(work_dir.join("mlflow-gitops.lock")).map_err(|e| io(e.to_string()))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Busy {
                    dir: work_dir.to_owned(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e.to_string())),
        }
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
                open_repo(&repo_dir).map_err(io)?
            }
        };
        let mut writer = GixWriter {
            dir: repo_dir,
            branch: branch.to_owned(),
            transport,
            repo,
            known: None,
            pending: None,
            max_push_attempts: 5,
            backoff: Duration::from_millis(200),
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

    /// Updates the local view of the remote branch.
    pub fn fetch(&mut self) -> Result<(), Error> {
        self.transport.fetch(&self.dir, &self.branch)?;
        // The handle never rescans for packs on its own (see `open_repo`): reopen to see the new one.
        self.repo = open_repo(&self.dir).map_err(|message| Error::Repository {
            dir: self.dir.clone(),
            message,
        })?;
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

    fn error(&self, e: impl std::fmt::Display) -> Error {
        Error::Repository {
            dir: self.dir.clone(),
            message: e.to_string(),
        }
    }

    /// Builds the commit that makes `prefix` hold exactly `new` on the current base; None when it
    /// already does. New blobs' bytes come from `contents`; without it (a re-apply after a
    /// rejected push) every blob must exist already, as the first commit wrote them.
    fn commit_on_base(
        &mut self,
        prefix: &str,
        new: &Files,
        contents: Option<&ChangeSet>,
        info: &CommitInfo,
    ) -> Result<Option<(ObjectId, Outcome)>, Error> {
        let base = self.base()?;
        let base_tree = match base {
            Some(commit) => self
                .repo
                .find_commit(commit)
                .and_then(|c| c.tree_id())
                .map_err(|e| self.error(e))?
                .detach(),
            None => ObjectId::empty_tree(self.repo.object_hash()),
        };
        let known_matches = self
            .known
            .as_ref()
            .is_some_and(|k| k.base == base && k.prefix == prefix);
        if !known_matches {
            // The stale map goes before the new one is read: never two of them at once.
            self.known = None;
            let files = self.subtree_files(base_tree, prefix)?;
            self.known = Some(Known {
                base,
                prefix: prefix.to_owned(),
                files,
            });
        }
        let old = &self.known.as_ref().expect("set above").files;
        if old == new {
            return Ok(None);
        }

        let full = |p: &String| format!("{prefix}/{p}");
        let added: Vec<String> = new
            .keys()
            .filter(|p| !old.contains_key(*p))
            .map(full)
            .collect();
        let modified: Vec<String> = new
            .iter()
            .filter(|(p, v)| old.get(*p).is_some_and(|o| o != *v))
            .map(|(p, _)| full(p))
            .collect();
        let removed: Vec<String> = old
            .keys()
            .filter(|p| !new.contains_key(*p))
            .map(full)
            .collect();

        // Only changed paths are edited: the editor loads and rewrites just the trees above them.
        // Paths were validated when the change set was built, so the plumbing editor suffices.
        let mut editor = self
            .repo
            .edit_tree(base_tree)
            .map_err(|e| self.error(e))?
            .detach();
        if old.is_empty() {
            // A file (not a directory) where the prefix should be is replaced.
            editor
                .remove(prefix.split('/'))
                .map_err(|e| self.error(e))?;
        }
        for path in &removed {
            editor.remove(path.split('/')).map_err(|e| self.error(e))?;
        }
        let mut objects = NewObjects::new(self.repo.object_hash());
        for (path, &(id, mode)) in new {
            if old.get(path) == Some(&(id, mode)) {
                continue;
            }
            let bytes = contents.and_then(|set| match &set.files().get(path)?.content {
                Content::Bytes(bytes) => Some(bytes),
                Content::Blob(_) => None,
            });
            match bytes {
                Some(bytes) => objects.blob(id, bytes.clone()),
                // Kept by id: it must exist already, or the commit would refer to nothing.
                None if self.repo.has_object(id) => {}
                None => {
                    return Err(Error::MissingBlob {
                        path: path.clone(),
                        id: id.to_string(),
                    });
                }
            }
            let kind = match mode {
                FileMode::Regular => EntryKind::Blob,
                FileMode::Executable => EntryKind::BlobExecutable,
            };
            editor
                .upsert(format!("{prefix}/{path}").split('/'), kind, id)
                .map_err(|e| self.error(e))?;
        }
        let root = editor
            .write(|tree| objects.object(tree))
            .map_err(|e| self.error(e))?;

        let now = gix::date::Time::now_local_or_utc();
        let signature = |s: &crate::Signature| gix::actor::Signature {
            name: s.name.as_str().into(),
            email: s.email.as_str().into(),
            time: now,
        };
        let commit = gix::objs::Commit {
            tree: root,
            parents: base.into_iter().collect(),
            author: signature(&info.author),
            committer: signature(&info.committer),
            encoding: None,
            message: info.message.as_str().into(),
            extra_headers: Vec::new(),
        };
        let id = objects.object(&commit).map_err(|e| self.error(e))?;
        if objects.write(&self.repo).map_err(|e| self.error(e))? {
            self.repo = open_repo(&self.dir).map_err(|e| self.error(e))?;
        }
        let outcome = Outcome::Committed {
            id: id.to_string(),
            added,
            modified,
            removed,
        };
        Ok(Some((id, outcome)))
    }

    /// path (relative to `prefix`) → (blob id, mode) of every file under `prefix` in `tree`.
    fn subtree_files(
        &self,
        tree: ObjectId,
        prefix: &str,
    ) -> Result<BTreeMap<String, (ObjectId, FileMode)>, Error> {
        let mut files = BTreeMap::new();
        let root = self.repo.find_tree(tree).map_err(|e| self.error(e))?;
        let Some(entry) = root
            .lookup_entry_by_path(prefix)
            .map_err(|e| self.error(e))?
        else {
            return Ok(files);
        };
        if !entry.mode().is_tree() {
            // A file where the prefix should be: it is replaced by the managed directory.
            return Ok(files);
        }
        let mut stack = vec![(String::new(), entry.object_id())];
        while let Some((dir, id)) = stack.pop() {
            let tree = self.repo.find_tree(id).map_err(|e| self.error(e))?;
            for entry in tree.iter() {
                let entry = entry.map_err(|e| self.error(e))?;
                let name = entry.filename().to_str_lossy();
                let path = if dir.is_empty() {
                    name.into_owned()
                } else {
                    format!("{dir}/{name}")
                };
                let mode = entry.mode();
                if mode.is_tree() {
                    stack.push((path, entry.object_id()));
                } else {
                    let file_mode = if mode.is_executable() {
                        FileMode::Executable
                    } else {
                        FileMode::Regular
                    };
                    files.insert(path, (entry.object_id(), file_mode));
                }
            }
        }
        Ok(files)
    }

    /// The blob ids the change set's files will have (hashed, not written).
    fn hash_files(&self, change: &ChangeSet) -> Result<Files, Error> {
        change
            .files()
            .iter()
            .map(|(path, file)| {
                let id = match &file.content {
                    Content::Blob(id) => id.0,
                    Content::Bytes(bytes) => gix::objs::compute_hash(
                        self.repo.object_hash(),
                        gix::objs::Kind::Blob,
                        bytes,
                    )
                    .map_err(|e| self.error(e))?,
                };
                Ok((path.clone(), (id, file.mode)))
            })
            .collect()
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
        let Some(base) = self.base()? else {
            return Ok(BTreeMap::new());
        };
        let tree = self
            .repo
            .find_commit(base)
            .and_then(|c| c.tree_id())
            .map_err(|e| self.error(e))?
            .detach();
        let files = self.subtree_files(tree, prefix.trim_matches('/'))?;
        Ok(files
            .into_iter()
            .map(|(path, (id, mode))| (path, (BlobId(id), mode)))
            .collect())
    }

    fn read_blob(&mut self, id: BlobId) -> Result<Vec<u8>, Error> {
        let blob = self.repo.find_blob(id.0).map_err(|e| self.error(e))?;
        Ok(blob.detach().data)
    }

    fn apply(&mut self, change: &ChangeSet, info: &CommitInfo) -> Result<Outcome, Error> {
        // A commit not pushed yet is replaced (its objects stay unreferenced until gc).
        self.pending = None;
        let new = self.hash_files(change)?;
        let prefix = change.prefix();
        let Some((commit, outcome)) = self.commit_on_base(prefix, &new, Some(change), info)? else {
            return Ok(Outcome::Unchanged);
        };
        self.pending = Some(Pending {
            commit,
            prefix: prefix.to_owned(),
            files: new,
            info: info.clone(),
        });
        Ok(outcome)
    }

    fn push(&mut self) -> Result<PushReport, Error> {
        let mut attempts = 0;
        let mut backoff = self.backoff;
        while let Some(commit) = self.pending.as_ref().map(|p| p.commit) {
            attempts += 1;
            match self
                .transport
                .push(&self.dir, &commit.to_string(), &self.branch)?
            {
                Pushed::Accepted => {
                    // The pushed commit is the new base, and its subtree is exactly what we built.
                    let Pending { prefix, files, .. } =
                        self.pending.take().expect("checked by the loop");
                    self.known = Some(Known {
                        base: Some(commit),
                        prefix,
                        files,
                    });
                    // Pack what the passes left loose; the handle must reopen to see a new pack.
                    self.transport.maintain(&self.dir)?;
                    self.repo = open_repo(&self.dir).map_err(|e| self.error(e))?;
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
                    // The remote may already hold exactly our files (another writer pushed them).
                    let rebuilt =
                        self.commit_on_base(&pending.prefix, &pending.files, None, &pending.info)?;
                    if let Some((commit, _)) = rebuilt {
                        pending.commit = commit;
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
}

/// Creates the private bare clone under a staging name and renames it into place, so a process
/// killed while creating it never leaves a half-made repository where the next run looks (found
/// by the kill campaign: the rerun refused to initialize the non-empty directory). The caller
/// holds the work directory's lock, so the staging name is ours alone.
fn init_private_clone(dir: &Path) -> Result<(), String> {
    let staging = dir.with_file_name(".repo.git.init");
    for leftover in [&staging, dir] {
        if leftover.exists() {
            std::fs::remove_dir_all(leftover)
                .map_err(|e| format!("removing {}: {e}", leftover.display()))?;
        }
    }
    gix::init_bare(&staging).map_err(|e| e.to_string())?;
    std::fs::rename(&staging, dir).map_err(|e| format!("renaming {}: {e}", staging.display()))
}

/// Opens the bare repository with pack refreshing off: by default every lookup of a missing object
/// (each new blob we write) rescans the pack directory. Fetches reopen the repository instead.
fn open_repo(dir: &Path) -> Result<gix::Repository, String> {
    let mut repo = gix::open(dir).map_err(|e| e.to_string())?;
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
