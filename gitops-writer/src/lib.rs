//! Makes one subtree of a git repository equal to a given set of files, in one commit, and pushes
//! it without ever forcing.
//!
//! Status: this crate is being built (issue "gitops-writer"). It will provide `trait GitOpsWriter`
//! with `apply(ChangeSet) -> Outcome` (`Unchanged` or one commit with the added, modified and
//! removed paths) on gix, and a push step behind a small trait (the system `git` until gix can push),
//! retrying a rejected non-fast-forward push by fetching and re-applying. It knows nothing about
//! MLflow or Kubernetes.
