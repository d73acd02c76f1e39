//! Moving and hashing one file, with memory bounded whatever its size.

use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, WriteMultipart};
use sha2::{Digest, Sha256};

use crate::manifest::FileEntry;
use crate::{Error, Location, Result, Side};

/// Copies `relative` from `src` to `dst`, hashing on the way. Files up to `part_size` go in one
/// atomic put; larger ones stream through a multipart upload holding at most `part_size ×
/// (parts_in_flight + 1)` bytes. An interrupted multipart upload never becomes a visible object.
pub(crate) async fn copy_file(
    src: &Location,
    dst: &Location,
    relative: &Path,
    listed_size: u64,
    part_size: usize,
    parts_in_flight: usize,
) -> Result<FileEntry> {
    let src_uri = || src.uri_of(relative);
    let dst_uri = || dst.uri_of(relative);
    let found = src
        .store()
        .get(&src.key(relative))
        .await
        .map_err(|source| store_error("get", Side::Source, src_uri(), source))?;
    let mut hasher = Sha256::new();
    let mut read = 0u64;
    if listed_size <= part_size as u64 {
        let bytes = found
            .bytes()
            .await
            .map_err(|source| store_error("get", Side::Source, src_uri(), source))?;
        read = bytes.len() as u64;
        check_size(&src_uri, listed_size, read)?;
        hasher.update(&bytes);
        dst.store()
            .put(&dst.key(relative), bytes.into())
            .await
            .map_err(|source| store_error("put", Side::Destination, dst_uri(), source))?;
    } else {
        let upload = dst
            .store()
            .put_multipart(&dst.key(relative))
            .await
            .map_err(|source| {
                store_error("start upload of", Side::Destination, dst_uri(), source)
            })?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, part_size);
        let mut stream = found.into_stream();
        let streamed: Result<()> = async {
            while let Some(chunk) = stream.next().await {
                let chunk =
                    chunk.map_err(|source| store_error("get", Side::Source, src_uri(), source))?;
                hasher.update(&chunk);
                read += chunk.len() as u64;
                writer
                    .wait_for_capacity(parts_in_flight)
                    .await
                    .map_err(|source| {
                        store_error("upload part of", Side::Destination, dst_uri(), source)
                    })?;
                writer.write(&chunk);
            }
            check_size(&src_uri, listed_size, read)
        }
        .await;
        if let Err(e) = streamed {
            // Best effort: a dangling upload costs storage until the bucket's lifecycle rule runs.
            let _ = writer.abort().await;
            return Err(e);
        }
        writer.finish().await.map_err(|source| {
            store_error("complete upload of", Side::Destination, dst_uri(), source)
        })?;
    }
    Ok(FileEntry {
        size: read,
        sha256: hex(&hasher.finalize()),
    })
}

/// Size and sha256 of an object, streamed.
pub(crate) async fn hash_object(
    location: &Location,
    side: Side,
    relative: &Path,
) -> Result<FileEntry> {
    let uri = || location.uri_of(relative);
    let found = location
        .store()
        .get(&location.key(relative))
        .await
        .map_err(|source| store_error("get", side, uri(), source))?;
    let mut stream = found.into_stream();
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|source| store_error("get", side, uri(), source))?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
    }
    Ok(FileEntry {
        size,
        sha256: hex(&hasher.finalize()),
    })
}

fn check_size(uri: &dyn Fn() -> String, listed: u64, read: u64) -> Result<()> {
    if listed == read {
        Ok(())
    } else {
        Err(Error::SourceChanged {
            uri: uri(),
            listed,
            read,
        })
    }
}

pub(crate) fn store_error(
    operation: &'static str,
    side: Side,
    uri: String,
    source: object_store::Error,
) -> Error {
    Error::Store {
        operation,
        uri,
        side,
        source,
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
