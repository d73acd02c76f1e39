//! [`BlobId`]: a file's content as git names it, so a caller can hand back a file the repository
//! already holds without reading or keeping its bytes.

use std::fmt;
use std::str::FromStr;

use gix::ObjectId;

/// The id of a blob (a file's content) in the repository: the SHA-1 git computes over it.
///
/// [`GitOpsWriter::current_blobs`](crate::GitOpsWriter::current_blobs) lists them;
/// [`ChangeSet::insert_blob`](crate::ChangeSet::insert_blob) keeps a file by its id; `of` gives
/// the id bytes will have, so a caller can recognize content it rendered before.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId(pub(crate) ObjectId);

impl BlobId {
    /// The id git gives `bytes` as a blob. Fails only on content crafted to collide (git's SHA-1
    /// is collision-detecting).
    ///
    /// ```
    /// // `printf 'hello\n' | git hash-object --stdin`
    /// let id = gitops_writer::BlobId::of(b"hello\n")?;
    /// assert_eq!(id.to_string(), "ce013625030ba8dba906f756967f9e9ca394464a");
    /// # Ok::<(), gitops_writer::Error>(())
    /// ```
    pub fn of(bytes: &[u8]) -> Result<BlobId, crate::Error> {
        gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, bytes)
            .map(BlobId)
            .map_err(|e| crate::Error::Hash { source: e.into() })
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for BlobId {
    type Err = crate::Error;

    /// Parses the 40 hexadecimal digits `Display` writes.
    fn from_str(hex: &str) -> Result<BlobId, crate::Error> {
        ObjectId::from_hex(hex.as_bytes())
            .map(BlobId)
            .map_err(|_| crate::Error::InvalidBlobId { id: hex.to_owned() })
    }
}
