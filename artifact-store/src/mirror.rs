//! The mirror: a verified, resumable, recursive copy of one model directory.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use object_store::path::Path;

use crate::copy::{copy_file, hash_object, store_error};
use crate::manifest::{CompletionManifest, FileEntry, MANIFEST_NAME};
use crate::progress::{Progress, ProgressHook};
use crate::{Error, Location, Result, Side};

/// What one [`Mirror::mirror`] call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MirrorReport {
    /// Files in the mirror.
    pub files: usize,
    /// Their total size.
    pub bytes: u64,
    /// Files copied by this call.
    pub uploaded: usize,
    /// Bytes copied by this call.
    pub uploaded_bytes: u64,
    /// Files found already in place (verified by sha256) and kept.
    pub skipped: usize,
    /// Stray objects removed from inside the destination prefix.
    pub deleted: usize,
    /// The destination was already complete with the same content: nothing was written.
    pub already_complete: bool,
    /// Wall time of the call.
    pub elapsed: Duration,
}

/// Copies model directories between [`Location`]s.
///
/// A mirror is complete only when its completion manifest (every file's size and sha256) exists;
/// the manifest is written after every file is in place, so a crash at any instant leaves either a
/// complete mirror or one that the next call finishes, copying only what is missing or different.
/// Nothing outside the destination prefix is ever written or deleted.
#[derive(Clone)]
pub struct Mirror {
    concurrency: usize,
    part_size: usize,
    parts_in_flight: usize,
    retries: u32,
    backoff: Duration,
    progress: Option<ProgressHook>,
}

impl Default for Mirror {
    fn default() -> Self {
        Self {
            concurrency: 16,
            part_size: 8 * 1024 * 1024,
            parts_in_flight: 2,
            retries: 4,
            backoff: Duration::from_millis(200),
            progress: None,
        }
    }
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("concurrency", &self.concurrency)
            .field("part_size", &self.part_size)
            .field("parts_in_flight", &self.parts_in_flight)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl Mirror {
    /// A mirror with 16 files in flight, 8 MiB parts (2 in flight per file), 4 retries from 200 ms.
    pub fn new() -> Self {
        Self::default()
    }

    /// Files copied at the same time (at least 1).
    pub fn with_concurrency(mut self, files: usize) -> Self {
        self.concurrency = files.max(1);
        self
    }

    /// Files above this size go through multipart upload in parts of this size (at least 5 MiB,
    /// S3's minimum part size).
    pub fn with_part_size(mut self, bytes: usize) -> Self {
        self.part_size = bytes.max(5 * 1024 * 1024);
        self
    }

    /// Retries of a failed file after transient errors, with exponential backoff from `backoff`.
    pub fn with_retries(mut self, retries: u32, backoff: Duration) -> Self {
        self.retries = retries;
        self.backoff = backoff;
        self
    }

    /// Calls `hook` for every [`Progress`] event.
    pub fn with_progress(mut self, hook: ProgressHook) -> Self {
        self.progress = Some(hook);
        self
    }

    /// Mirrors everything under `src` to `dst`.
    ///
    /// Errors: [`Error::EmptySource`] when `src` holds no file; [`Error::Conflict`] when `dst` is a
    /// complete mirror of other content (a version is immutable, so it is never overwritten); a
    /// store error naming the object after the retries.
    pub async fn mirror(&self, src: &Location, dst: &Location) -> Result<MirrorReport> {
        let started = Instant::now();
        let sources = self
            .retrying("list", || list_files(src, Side::Source))
            .await?;
        if sources.is_empty() {
            return Err(Error::EmptySource {
                uri: src.uri().to_owned(),
            });
        }
        let total: u64 = sources.values().sum();
        self.emit(Progress::Planned {
            files: sources.len(),
            bytes: total,
        });

        if let Some(existing) = self
            .retrying(MANIFEST_NAME, || CompletionManifest::read(dst))
            .await?
        {
            self.check_same(src, dst, &sources, &existing).await?;
            return Ok(MirrorReport {
                files: sources.len(),
                bytes: total,
                skipped: sources.len(),
                already_complete: true,
                elapsed: started.elapsed(),
                ..Default::default()
            });
        }

        let present = self
            .retrying("list", || list_files(dst, Side::Destination))
            .await?;
        let results: Vec<(String, FileEntry, bool)> = futures::stream::iter(sources.iter())
            .map(|(relative, size)| {
                self.place(src, dst, relative, *size, present.get(relative).copied())
            })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;

        let deleted = self.delete_strays(dst, &present, &sources).await?;

        let mut report = MirrorReport {
            files: results.len(),
            bytes: total,
            deleted,
            ..Default::default()
        };
        let mut files = BTreeMap::new();
        for (path, entry, copied) in results {
            if copied {
                report.uploaded += 1;
                report.uploaded_bytes += entry.size;
            } else {
                report.skipped += 1;
            }
            files.insert(path, entry);
        }
        self.complete(dst, CompletionManifest::new(files)).await?;
        self.emit(Progress::Completed);
        report.elapsed = started.elapsed();
        Ok(report)
    }

    /// Deletes the destination's files that the source does not hold (a half-written earlier
    /// attempt of another layout); returns how many.
    async fn delete_strays(
        &self,
        dst: &Location,
        present: &BTreeMap<Path, u64>,
        sources: &BTreeMap<Path, u64>,
    ) -> Result<usize> {
        let mut deleted = 0;
        for stray in present.keys().filter(|k| !sources.contains_key(*k)) {
            let key = dst.key(stray);
            self.retrying(stray.as_ref(), || async {
                dst.store().delete(&key).await.map_err(|source| {
                    store_error("delete", Side::Destination, dst.uri_of(stray), source)
                })
            })
            .await?;
            deleted += 1;
        }
        Ok(deleted)
    }

    /// Writes the completion manifest, last, after every file is in place: from then on the
    /// mirror counts as complete. Another writer may have finished the same version meanwhile:
    /// then its manifest must agree with ours, or the mirror is a conflict.
    async fn complete(&self, dst: &Location, manifest: CompletionManifest) -> Result<()> {
        if let Some(existing) = self
            .retrying(MANIFEST_NAME, || CompletionManifest::read(dst))
            .await?
        {
            if let Some(detail) = existing.first_difference(&manifest) {
                return Err(Error::Conflict {
                    uri: dst.uri().to_owned(),
                    detail,
                });
            }
            return Ok(());
        }
        self.retrying(MANIFEST_NAME, || manifest.write(dst)).await
    }

    /// Puts one file in place: keeps a same-size object whose sha256 matches, copies otherwise.
    async fn place(
        &self,
        src: &Location,
        dst: &Location,
        relative: &Path,
        size: u64,
        present_size: Option<u64>,
    ) -> Result<(String, FileEntry, bool)> {
        let name = relative.to_string();
        let (entry, copied) = self
            .retrying(&name, || async {
                if present_size == Some(size) {
                    let (ours, theirs) = futures::try_join!(
                        hash_object(src, Side::Source, relative),
                        hash_object(dst, Side::Destination, relative)
                    )?;
                    if ours == theirs {
                        return Ok((ours, false));
                    }
                }
                let entry = copy_file(
                    src,
                    dst,
                    relative,
                    size,
                    self.part_size,
                    self.parts_in_flight,
                )
                .await?;
                Ok((entry, true))
            })
            .await?;
        let bytes = entry.size;
        self.emit(if copied {
            Progress::Copied {
                path: name.clone(),
                bytes,
            }
        } else {
            Progress::Kept {
                path: name.clone(),
                bytes,
            }
        });
        Ok((name, entry, copied))
    }

    /// A complete mirror exists: it must hold exactly the source's content.
    async fn check_same(
        &self,
        src: &Location,
        dst: &Location,
        sources: &BTreeMap<Path, u64>,
        existing: &CompletionManifest,
    ) -> Result<()> {
        let conflict = |detail: String| Error::Conflict {
            uri: dst.uri().to_owned(),
            detail,
        };
        let listed: BTreeMap<String, u64> =
            sources.iter().map(|(p, s)| (p.to_string(), *s)).collect();
        let recorded: BTreeMap<String, u64> = existing
            .files
            .iter()
            .map(|(p, f)| (p.clone(), f.size))
            .collect();
        if listed != recorded {
            let detail = listed
                .iter()
                .find(|(p, s)| recorded.get(*p) != Some(s))
                .map(|(p, _)| format!("{p} differs in size or is missing"))
                .unwrap_or_else(|| "the mirror holds files the source does not".into());
            return Err(conflict(detail));
        }
        let hashed: BTreeMap<String, FileEntry> = futures::stream::iter(sources.keys())
            .map(|relative| async move {
                let entry = self
                    .retrying(relative.as_ref(), || {
                        hash_object(src, Side::Source, relative)
                    })
                    .await?;
                Ok::<_, Error>((relative.to_string(), entry))
            })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        match existing.first_difference(&CompletionManifest::new(hashed)) {
            Some(detail) => Err(conflict(detail)),
            None => Ok(()),
        }
    }

    /// Runs `op` again after transient failures, waiting `backoff × 2^n` (at most 10 s) between.
    async fn retrying<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 0u32;
        loop {
            match op().await {
                Ok(value) => return Ok(value),
                Err(error) if attempt < self.retries && is_transient(&error) => {
                    attempt += 1;
                    tracing::debug!(%what, attempt, %error, "retrying");
                    self.emit(Progress::Retrying {
                        path: what.to_owned(),
                        attempt,
                        error: error.to_string(),
                    });
                    let delay = self.backoff.saturating_mul(1 << (attempt - 1).min(16));
                    tokio::time::sleep(delay.min(Duration::from_secs(10))).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn emit(&self, event: Progress) {
        if let Some(hook) = &self.progress {
            hook(&event);
        }
    }
}

/// True for failures worth another attempt: not a missing object, a refused credential or a bad
/// path, which would fail the same way again.
fn is_transient(error: &Error) -> bool {
    use object_store::Error as E;
    error.is_outage()
        && !matches!(
            error,
            Error::Store {
                source: E::PermissionDenied { .. } | E::Unauthenticated { .. },
                ..
            }
        )
}

/// Every object under `location` with its size, by path relative to it; the manifest excluded.
async fn list_files(location: &Location, side: Side) -> Result<BTreeMap<Path, u64>> {
    let prefix = location.prefix();
    let listed: Vec<object_store::ObjectMeta> = location
        .store()
        .list((!prefix.as_ref().is_empty()).then_some(prefix))
        .try_collect()
        .await
        .map_err(|source| store_error("list", side, location.uri().to_owned(), source))?;
    let manifest = Path::from(MANIFEST_NAME);
    Ok(listed
        .into_iter()
        .filter_map(|meta| {
            let relative: Path = meta.location.prefix_match(prefix)?.collect();
            (relative != manifest && !relative.as_ref().is_empty()).then_some((relative, meta.size))
        })
        .collect())
}

/// True when `dst` holds a completion manifest: one request, for the reconciler's fast path.
pub async fn is_complete(dst: &Location) -> Result<bool> {
    Ok(CompletionManifest::read(dst).await?.is_some())
}
