//! The managed subtree as git trees: built from a change set one directory at a time, and compared
//! with the base commit's subtree only where tree ids differ.
//!
//! The writer used to hold the whole subtree as a map of paths (two while applying, one between
//! passes): with thousands of managed files those maps were most of what a daemon's pass added to
//! its memory. Here the change set's sorted paths are walked once, with one open directory per
//! level; a directory whose tree id equals the base's is neither written nor compared.

use std::collections::BTreeMap;

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};
use gix::objs::Tree;
use gix::objs::tree::{Entry, EntryKind, EntryMode};

use crate::objects::NewObjects;
use crate::{ChangeSet, Content, Error, FileMode};

/// Paths (relative to the prefix) that a new subtree adds, modifies and removes.
#[derive(Debug, Default)]
pub(crate) struct Diff {
    pub(crate) added: Vec<String>,
    pub(crate) modified: Vec<String>,
    pub(crate) removed: Vec<String>,
}

/// The new subtree: its tree id (None when it holds no file) and how it differs from the base.
pub(crate) struct Built {
    pub(crate) tree: Option<ObjectId>,
    pub(crate) diff: Diff,
}

/// Builds the tree of `change`'s files, adding to `objects` every blob and tree the base subtree
/// (`old`, the prefix's tree in the base commit, if there is one) lacks, and lists the changes.
pub(crate) fn build(
    repo: &gix::Repository,
    change: &ChangeSet,
    old: Option<ObjectId>,
    objects: &mut NewObjects,
) -> Result<Built, Error> {
    let mut build = Builder {
        repo,
        change,
        objects,
        diff: Diff::default(),
    };
    let mut stack = vec![Open::new(String::new(), old)];
    let mut tree = None;
    for (path, file) in change.files() {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        while !is_within(dir, &stack.last().expect("the root stays open").path) {
            let done = stack.pop().expect("checked by the loop");
            let parent = stack.last_mut().expect("the root is never closed here");
            build.close(done, Some(parent))?;
        }
        while let Some(next) = next_component(dir, &stack.last().expect("open").path) {
            let parent = stack.last_mut().expect("open");
            let old = parent.old_tree(repo, next)?;
            let path = match parent.path.as_str() {
                "" => next.to_owned(),
                p => format!("{p}/{next}"),
            };
            stack.push(Open::new(path, old));
        }
        let id = match &file.content {
            Content::Blob(id) => id.0,
            Content::Bytes(bytes) => {
                gix::objs::compute_hash(repo.object_hash(), gix::objs::Kind::Blob, bytes)
                    .map_err(|e| repo_error(repo, e))?
            }
        };
        let kind = match file.mode {
            FileMode::Regular => EntryKind::Blob,
            FileMode::Executable => EntryKind::BlobExecutable,
        };
        stack.last_mut().expect("open").entries.push(Entry {
            mode: kind.into(),
            filename: name.into(),
            oid: id,
        });
    }
    while let Some(done) = stack.pop() {
        tree = build.close(done, stack.last_mut())?;
    }
    let mut diff = build.diff;
    for list in [&mut diff.added, &mut diff.modified, &mut diff.removed] {
        list.sort();
    }
    Ok(Built { tree, diff })
}

/// Calls `each(path, id, mode)` for every file (any non-tree entry) under `tree`, with paths
/// relative to it.
pub(crate) fn walk_files(
    repo: &gix::Repository,
    tree: ObjectId,
    mut each: impl FnMut(String, ObjectId, EntryMode),
) -> Result<(), Error> {
    let mut stack = vec![(String::new(), tree)];
    while let Some((dir, id)) = stack.pop() {
        for (name, (mode, id)) in read_tree(repo, id)? {
            let path = join(&dir, name.as_bstr());
            if mode.is_tree() {
                stack.push((path, id));
            } else {
                each(path, id, mode);
            }
        }
    }
    Ok(())
}

/// A directory of the new subtree while its files are added.
struct Open {
    /// Relative to the prefix; empty for the prefix itself.
    path: String,
    entries: Vec<Entry>,
    /// Its tree id in the base, when the base has a tree there.
    old: Option<ObjectId>,
    /// The base tree's entries by name, read when first needed.
    old_entries: Option<BTreeMap<BString, (EntryMode, ObjectId)>>,
}

impl Open {
    fn new(path: String, old: Option<ObjectId>) -> Open {
        Open {
            path,
            entries: Vec::new(),
            old,
            old_entries: None,
        }
    }

    fn old_entries(
        &mut self,
        repo: &gix::Repository,
    ) -> Result<&BTreeMap<BString, (EntryMode, ObjectId)>, Error> {
        if self.old_entries.is_none() {
            let entries = match self.old {
                Some(id) => read_tree(repo, id)?,
                None => BTreeMap::new(),
            };
            self.old_entries = Some(entries);
        }
        Ok(self.old_entries.as_ref().expect("set above"))
    }

    /// The base's tree id of the subdirectory `name`, if the base has a tree there.
    fn old_tree(&mut self, repo: &gix::Repository, name: &str) -> Result<Option<ObjectId>, Error> {
        Ok(
            match self.old_entries(repo)?.get(name.as_bytes().as_bstr()) {
                Some((mode, id)) if mode.is_tree() => Some(*id),
                _ => None,
            },
        )
    }
}

struct Builder<'a> {
    repo: &'a gix::Repository,
    change: &'a ChangeSet,
    objects: &'a mut NewObjects,
    diff: Diff,
}

impl Builder<'_> {
    /// Makes `dir`'s tree, enters it into its parent, and, when it differs from the base's,
    /// keeps its new objects and lists its changes. Returns its id (None for an empty root).
    fn close(
        &mut self,
        mut dir: Open,
        parent: Option<&mut Open>,
    ) -> Result<Option<ObjectId>, Error> {
        if dir.entries.is_empty() {
            // Only the root can be empty: every other directory was opened for a file.
            self.compare(&mut dir, &BTreeMap::new())?;
            return Ok(None);
        }
        // Already in git's order, where a directory sorts as if its name ended in '/': entries
        // arrive in the byte order of full paths, which puts a directory where `name/` sorts
        // (the property test mixes in names with '-', '.' and '0', which sort around '/').
        let tree = Tree {
            entries: std::mem::take(&mut dir.entries),
        };
        let (id, data) = self
            .objects
            .encode(&tree)
            .map_err(|e| repo_error(self.repo, e))?;
        if dir.old != Some(id) {
            self.objects.insert(gix::objs::Kind::Tree, id, data);
            let new = tree
                .entries
                .iter()
                .map(|e| (e.filename.clone(), (e.mode, e.oid)))
                .collect();
            self.compare(&mut dir, &new)?;
        }
        if let Some(parent) = parent {
            let name = dir.path.rsplit('/').next().expect("split yields one");
            parent.entries.push(Entry {
                mode: EntryKind::Tree.into(),
                filename: name.into(),
                oid: id,
            });
        }
        Ok(Some(id))
    }

    /// Lists how `dir`'s files (`new`, its direct entries) differ from the base's, and adds the
    /// blobs the base lacks. Subdirectories are compared when they are closed.
    fn compare(
        &mut self,
        dir: &mut Open,
        new: &BTreeMap<BString, (EntryMode, ObjectId)>,
    ) -> Result<(), Error> {
        dir.old_entries(self.repo)?;
        let (old, dir) = (dir.old_entries.as_ref().expect("read above"), &dir.path);
        let mut gone = Vec::new();
        for (name, &(mode, id)) in new {
            let path = join(dir, name.as_bstr());
            let before = old.get(name).copied();
            if mode.is_tree() {
                // A file replaced by a directory; the directory's files are listed when it closes.
                if before.is_some_and(|(old_mode, _)| !old_mode.is_tree()) {
                    self.diff.removed.push(path);
                }
                continue;
            }
            match before {
                Some(same) if same == (mode, id) => continue,
                // A directory replaced by a file.
                Some((old_mode, old_id)) if old_mode.is_tree() => {
                    gone.push((path.clone(), old_id));
                    self.diff.added.push(path.clone());
                }
                Some(_) => self.diff.modified.push(path.clone()),
                None => self.diff.added.push(path.clone()),
            }
            self.add_blob(&path, id)?;
        }
        for (name, &(mode, id)) in old {
            if new.contains_key(name) {
                continue;
            }
            let path = join(dir, name.as_bstr());
            if mode.is_tree() {
                gone.push((path, id));
            } else {
                self.diff.removed.push(path);
            }
        }
        for (path, tree) in gone {
            let removed = &mut self.diff.removed;
            walk_files(self.repo, tree, |file, _, _| {
                removed.push(format!("{path}/{file}"));
            })?;
        }
        Ok(())
    }

    /// Adds the bytes of a new or changed file; a file kept by id must be in the repository
    /// already, or the commit would refer to nothing.
    fn add_blob(&mut self, path: &str, id: ObjectId) -> Result<(), Error> {
        match self.change.files().get(path).map(|f| &f.content) {
            Some(Content::Bytes(bytes)) => self.objects.blob(id, bytes.clone()),
            _ if self.repo.has_object(id) => {}
            _ => {
                return Err(Error::MissingBlob {
                    path: path.to_owned(),
                    id: id.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// A tree's entries by name.
fn read_tree(
    repo: &gix::Repository,
    id: ObjectId,
) -> Result<BTreeMap<BString, (EntryMode, ObjectId)>, Error> {
    let tree = repo.find_tree(id).map_err(|e| repo_error(repo, e))?;
    tree.iter()
        .map(|entry| {
            let entry = entry.map_err(|e| repo_error(repo, e))?;
            Ok((
                entry.filename().to_owned(),
                (entry.mode(), entry.object_id()),
            ))
        })
        .collect()
}

/// Whether `dir` is `base` or lies under it (`base` empty: the prefix itself).
fn is_within(dir: &str, base: &str) -> bool {
    base.is_empty()
        || dir
            .strip_prefix(base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The first component of `dir` below `base` (which contains it), None when they are equal.
fn next_component<'d>(dir: &'d str, base: &str) -> Option<&'d str> {
    let rest = if base.is_empty() {
        dir
    } else {
        dir.strip_prefix(base)?.strip_prefix('/')?
    };
    rest.split('/').next().filter(|c| !c.is_empty())
}

fn join(dir: &str, name: &BStr) -> String {
    let name = name.to_str_lossy();
    if dir.is_empty() {
        name.into_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn repo_error(repo: &gix::Repository, e: impl std::fmt::Display) -> Error {
    Error::Repository {
        dir: repo.path().to_owned(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_walk_down_from_the_open_directory() {
        assert!(is_within("a/b", ""));
        assert!(is_within("a/b", "a"));
        assert!(is_within("a", "a"));
        assert!(!is_within("ab/c", "a"));
        assert!(!is_within("a", "a/b"));
        assert_eq!(next_component("a/b/c", ""), Some("a"));
        assert_eq!(next_component("a/b/c", "a"), Some("b"));
        assert_eq!(next_component("a/b", "a/b"), None);
        assert_eq!(next_component("", ""), None);
    }
}
