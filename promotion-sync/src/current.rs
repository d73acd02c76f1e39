//! What the managed prefix holds now, by deployment directory, read with as little work as a
//! fresh process can: list the files' blob ids (tree objects only), take what each directory
//! serves and was rendered from out of the work directory's index when the directory holds
//! exactly the indexed blobs, and read and parse only the directories the index does not know
//! (the first run, a directory a person edited).

use std::collections::BTreeMap;

use gitops_writer::{Content, FileContent, GitOpsWriter};

use crate::Result;
use crate::layout::{self, CurrentDir, DirFiles};

/// The managed prefix's deployment directories, and whether `index` described all of them.
pub(crate) fn read(
    writer: &mut impl GitOpsWriter,
    prefix: &str,
    mut index: BTreeMap<String, CurrentDir>,
) -> Result<(BTreeMap<String, CurrentDir>, bool)> {
    let blobs = writer.current_blobs(prefix)?;
    let dirs = layout::by_directory(&blobs, |&(id, mode)| FileContent {
        content: Content::Blob(id),
        mode,
    });
    let mut out = BTreeMap::new();
    let mut unknown = Vec::new();
    for (dir, files) in dirs {
        let files = DirFiles::from(files);
        match index.remove(&dir) {
            // The index is keyed by content: the same blobs were rendered from the same inputs,
            // whichever commit holds them.
            Some(known) if known.files == files && known.deployed.is_some() => {
                out.insert(dir, known);
            }
            _ => unknown.push((dir, files)),
        }
    }
    let complete = unknown.is_empty();
    let mut loaded = Vec::with_capacity(unknown.len());
    for (dir, files) in unknown {
        let mut manifests = BTreeMap::new();
        for (name, file) in files.iter() {
            if let (true, Content::Blob(id)) = (layout::is_manifest(name), &file.content) {
                manifests.insert(name.to_owned(), writer.read_blob(*id)?);
            }
        }
        loaded.push((dir, files, manifests));
    }
    // Parsing is most of a first run's read-back (1,500 directories): spread over the cores.
    let deployed =
        crate::parallel::map(&loaded, |(_, _, manifests)| layout::deployed_of(manifests));
    for ((dir, files, _), deployed) in loaded.into_iter().zip(deployed) {
        let current = CurrentDir {
            deployed,
            files,
            rendered_from: None,
        };
        out.insert(dir, current);
    }
    Ok((out, complete))
}

/// Replaces every file's bytes by its blob id, once the repository holds them: what a process
/// remembers of a published directory is then a few ids, not its files.
pub(crate) fn settle(dirs: &mut BTreeMap<String, CurrentDir>) -> Result<()> {
    for dir in dirs.values_mut() {
        for file in dir.files.contents_mut() {
            if let Content::Bytes(bytes) = &file.content {
                file.content = Content::Blob(gitops_writer::BlobId::of(bytes)?);
            }
        }
    }
    Ok(())
}
