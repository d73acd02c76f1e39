//! gitops-writer's integration tests as one test binary: one link instead of 8, and the
//! long tests of different files run side by side on every core.

// Shared by the modules below; each uses its own subset.
#[allow(dead_code)]
mod common;

mod conformance;
mod crash;
mod https;
mod review;
mod signing;
mod ssh;
mod subtree_diff;
mod writer;
