//! The new objects of one commit, held until the commit is complete and then written: as loose
//! objects when there are few, as one pack when there are many.
//!
//! A first commit of thousands of files used to write every blob and tree as its own loose object
//! (a temporary file, a rename, often a new fan-out directory each): 10,000 files took ~10 s.
//! One pack is a single sequential file plus its index. Small commits stay loose, so a daemon
//! making a commit per promotion does not pile up tiny packs between git's automatic repacks.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use bytes::Bytes;
use gix::ObjectId;
use gix::objs::{Kind, Write as _, WriteTo};
use gix::odb::pack;
use gix::zlib::Status;
use gix::zlib::stream::deflate::{Compress, FlushCompress};

/// From this many new objects on, a commit's objects are written as one pack.
const PACK_FROM: usize = 64;

/// New objects, deduplicated by id, in the order they were added.
pub(crate) struct NewObjects {
    hash: gix::hash::Kind,
    seen: HashSet<ObjectId>,
    objects: Vec<(Kind, Bytes)>,
}

impl NewObjects {
    pub(crate) fn new(hash: gix::hash::Kind) -> NewObjects {
        NewObjects {
            hash,
            seen: HashSet::new(),
            objects: Vec::new(),
        }
    }

    /// Adds a blob whose id the caller has computed already.
    pub(crate) fn blob(&mut self, id: ObjectId, data: Bytes) {
        self.insert(Kind::Blob, id, data);
    }

    /// Adds a tree or commit; returns its id.
    pub(crate) fn object(&mut self, object: &impl WriteTo) -> Result<ObjectId, String> {
        let (id, data) = self.encode(object)?;
        self.insert(object.kind(), id, data);
        Ok(id)
    }

    /// A tree or commit's id and encoding, without adding it (it may exist already).
    pub(crate) fn encode(&self, object: &impl WriteTo) -> Result<(ObjectId, Bytes), String> {
        let mut data = Vec::with_capacity(object.size() as usize);
        object.write_to(&mut data).map_err(|e| e.to_string())?;
        let id =
            gix::objs::compute_hash(self.hash, object.kind(), &data).map_err(|e| e.to_string())?;
        Ok((id, data.into()))
    }

    /// Adds an object encoded by [`encode`](Self::encode).
    pub(crate) fn insert(&mut self, kind: Kind, id: ObjectId, data: Bytes) {
        if self.seen.insert(id) {
            self.objects.push((kind, data));
        }
    }

    /// Writes every object into `repo`'s object database. Nothing refers to them until the
    /// commit is pushed, so a crash part-way leaves only unreferenced objects (or a temporary
    /// pack file that git's gc removes). Returns whether a pack was written (a handle with pack
    /// refreshing off must then be reopened to see it).
    pub(crate) fn write(self, repo: &gix::Repository) -> Result<bool, String> {
        if self.objects.len() < PACK_FROM {
            for (kind, data) in &self.objects {
                repo.objects
                    .write_buf(*kind, data)
                    .map_err(|e| e.to_string())?;
            }
            return Ok(false);
        }
        let pack_dir = repo.objects.store_ref().path().join("pack");
        write_pack(self.hash, &self.objects, &pack_dir)?;
        Ok(true)
    }
}

/// Encodes `objects` as a version-2 pack of whole (undeltified) entries and lets gix index it
/// into `pack_dir`, which moves the pack and its index into place only when both are complete.
fn write_pack(
    hash: gix::hash::Kind,
    objects: &[(Kind, Bytes)],
    pack_dir: &Path,
) -> Result<(), String> {
    let count = u32::try_from(objects.len()).map_err(|_| "too many objects for one pack")?;
    let mut data = Vec::new();
    data.extend_from_slice(&pack::data::header::encode(pack::data::Version::V2, count));
    // One compressor for all entries: making one allocates its whole state.
    let mut compress = Compress::new(gix::zlib::Compression::BEST_SPEED);
    // In git's own order: commits, then all trees together, then blobs. Reading a subtree's
    // trees then touches a few pages of the pack; with each tree between its files, a daemon
    // comparing 500 directories had most of a large pack mapped (resident memory).
    let order = [Kind::Commit, Kind::Tag, Kind::Tree, Kind::Blob];
    let in_order = order
        .iter()
        .flat_map(|want| objects.iter().filter(move |(kind, _)| kind == want));
    for (kind, content) in in_order {
        let header = match kind {
            Kind::Blob => pack::data::entry::Header::Blob,
            Kind::Tree => pack::data::entry::Header::Tree,
            Kind::Commit => pack::data::entry::Header::Commit,
            Kind::Tag => pack::data::entry::Header::Tag,
        };
        header
            .write_to(content.len() as u64, &mut data)
            .map_err(|e| e.to_string())?;
        deflate(&mut compress, content, &mut data)?;
    }
    let mut hasher = gix::hash::hasher(hash);
    hasher.update(&data);
    let checksum = hasher.try_finalize().map_err(|e| e.to_string())?;
    data.extend_from_slice(checksum.as_slice());

    let outcome = pack::Bundle::write_to_directory(
        &mut data.as_slice(),
        Some(pack_dir),
        &mut gix::progress::Discard,
        &AtomicBool::new(false),
        None::<gix::objs::find::Never>,
        hash,
        pack::bundle::write::Options {
            thread_limit: Some(1),
            ..Default::default()
        },
    )
    .map_err(|e| format!("writing a pack: {e}"))?;
    // The .keep file guards a fetched pack until refs point at it; ours are guarded like loose
    // objects are, by gc's grace period for unreferenced objects, so the pack may be repacked.
    if let Some(keep) = outcome.keep_path {
        std::fs::remove_file(&keep).map_err(|e| format!("removing {}: {e}", keep.display()))?;
    }
    Ok(())
}

/// Appends `input` as one complete zlib stream to `out`.
fn deflate(compress: &mut Compress, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    compress.reset();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let (read, written) = (compress.total_in(), compress.total_out());
        let status = compress
            .compress(input, &mut buf, FlushCompress::Finish)
            .map_err(|e| e.to_string())?;
        let consumed = (compress.total_in() - read) as usize;
        let produced = (compress.total_out() - written) as usize;
        out.extend_from_slice(&buf[..produced]);
        input = &input[consumed..];
        match status {
            Status::StreamEnd => return Ok(()),
            _ if consumed == 0 && produced == 0 => return Err("zlib made no progress".into()),
            _ => {}
        }
    }
}
