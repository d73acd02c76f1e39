//! A store decorator that fails chosen requests: the only test double here, for fault injection.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

/// Decides from the request number (1-based) and operation whether that request fails.
pub type FailWhen = Box<dyn Fn(usize, &str) -> bool + Send + Sync>;

/// Wraps a store and fails request number `n` (1-based) when `should_fail(n)` says so, with a
/// generic (transient-looking) error, as a dropped connection would.
pub struct Failing {
    inner: Arc<dyn ObjectStore>,
    requests: AtomicUsize,
    should_fail: FailWhen,
}

impl Failing {
    pub fn new(
        inner: Arc<dyn ObjectStore>,
        should_fail: impl Fn(usize, &str) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner,
            requests: AtomicUsize::new(0),
            should_fail: Box::new(should_fail),
        }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    fn check(&self, operation: &str) -> Result<()> {
        let n = self.requests.fetch_add(1, Ordering::SeqCst) + 1;
        if (self.should_fail)(n, operation) {
            return Err(object_store::Error::Generic {
                store: "Failing",
                source: format!("injected failure of request {n} ({operation})").into(),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for Failing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Failing({})", self.inner)
    }
}

impl fmt::Display for Failing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Failing({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Failing {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.check("put")?;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.check("put_multipart")?;
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.check("get")?;
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        if let Err(e) = self.check("list") {
            return Box::pin(futures::stream::once(async move { Err(e) }));
        }
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.check("list_with_delimiter")?;
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.check("copy")?;
        self.inner.copy_opts(from, to, options).await
    }
}
