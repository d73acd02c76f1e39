//! An embedder's own types run our conformance suites: a registry, a git writer and a serving
//! target written outside this workspace's crates (here, decorators that count what passes
//! through them, as a service might add metrics or audit logs) pass the same checks as ours.
//!
//! ```sh
//! bash .ci/run --setup     # MLflow, the databases, kubectl and kubernetes-validate
//! cargo run -p examples --example conformance
//! ```

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use gitops_writer::{ChangeSet, CommitInfo, GitOpsWriter, GixWriter, Outcome, PushReport};
use manifests_core::{ManifestSet, MlflowServe, ServingSpec, ServingTarget};
use registry_reader::{Fingerprint, ModelRegistry, Promoted, PromotionFilter, SqlRegistry};
use testkit::databases::Backend;

/// A registry that counts the reads it passes on.
struct CountingRegistry<R> {
    inner: R,
    reads: AtomicUsize,
}

#[async_trait::async_trait]
impl<R: ModelRegistry> ModelRegistry for CountingRegistry<R> {
    async fn promoted(&self, filter: &PromotionFilter) -> Result<Promoted, registry_reader::Error> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.inner.promoted(filter).await
    }

    async fn fingerprint(&self) -> Result<Fingerprint, registry_reader::Error> {
        self.inner.fingerprint().await
    }
}

/// A git writer that counts the commits it makes.
struct CountingWriter<W> {
    inner: W,
    commits: usize,
}

impl<W: GitOpsWriter> GitOpsWriter for CountingWriter<W> {
    fn apply(
        &mut self,
        change: &ChangeSet,
        info: &CommitInfo,
    ) -> Result<Outcome, gitops_writer::Error> {
        let outcome = self.inner.apply(change, info)?;
        if matches!(outcome, Outcome::Committed { .. }) {
            self.commits += 1;
        }
        Ok(outcome)
    }

    fn push(&mut self) -> Result<PushReport, gitops_writer::Error> {
        self.inner.push()
    }

    fn current_blobs(
        &mut self,
        prefix: &str,
    ) -> Result<
        std::collections::BTreeMap<String, (gitops_writer::BlobId, gitops_writer::FileMode)>,
        gitops_writer::Error,
    > {
        self.inner.current_blobs(prefix)
    }

    fn read_blob(&mut self, id: gitops_writer::BlobId) -> Result<Vec<u8>, gitops_writer::Error> {
        self.inner.read_blob(id)
    }

    fn head(&mut self) -> Result<Option<String>, gitops_writer::Error> {
        self.inner.head()
    }

    fn push_once(&mut self) -> Result<gitops_writer::PushAttempt, gitops_writer::Error> {
        self.inner.push_once()
    }

    fn refresh(&mut self) -> Result<(), gitops_writer::Error> {
        self.inner.refresh()
    }

    fn review_branches(
        &mut self,
        prefix: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, gitops_writer::Error> {
        self.inner.review_branches(prefix)
    }

    fn propose(
        &mut self,
        branch: &str,
        change: &ChangeSet,
        info: &CommitInfo,
        push_options: &[String],
    ) -> Result<gitops_writer::Proposal, gitops_writer::Error> {
        self.inner.propose(branch, change, info, push_options)
    }

    fn delete_branch(&mut self, branch: &str) -> Result<bool, gitops_writer::Error> {
        self.inner.delete_branch(branch)
    }
}

/// A serving target that counts what it renders.
struct CountingTarget<T> {
    inner: T,
    renders: AtomicUsize,
}

impl<T: ServingTarget> ServingTarget for CountingTarget<T> {
    fn name(&self) -> &str {
        "counting-mlflow-serve"
    }

    fn render(&self, spec: &ServingSpec) -> manifests_core::Result<ManifestSet> {
        self.renders.fetch_add(1, Ordering::Relaxed);
        self.inner.render(spec)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let built = registry_reader::conformance::scenario().build(Backend::Sqlite);
    let destination = format!("file://{}", built.artifacts_destination().display());
    let registry = CountingRegistry {
        inner: SqlRegistry::connect(&built.backend_store_uri())
            .await?
            .with_artifacts_destination(destination.clone()),
        reads: AtomicUsize::new(0),
    };
    registry_reader::conformance::run_all(&registry, &built, &destination).await;
    println!(
        "registry suite passed ({} reads)",
        registry.reads.load(Ordering::Relaxed)
    );

    let mut commits = 0;
    gitops_writer::conformance::run_all(&mut |url: &str, work: &Path| {
        // Each check's writers are dropped before the next check opens its own.
        commits += 1;
        CountingWriter {
            inner: GixWriter::open(url, work, "main").expect("open a writer"),
            commits: 0,
        }
    });
    println!("git writer suite passed ({commits} writers opened)");

    let target = CountingTarget {
        inner: MlflowServe::default(),
        renders: AtomicUsize::new(0),
    };
    manifests_core::conformance::run_all(&target);
    println!(
        "serving target suite passed ({} renders)",
        target.renders.load(Ordering::Relaxed)
    );
    Ok(())
}
