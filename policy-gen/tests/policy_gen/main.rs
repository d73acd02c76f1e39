//! policy-gen's integration tests as one test binary: one link instead of 5, and the
//! long tests of different files run side by side on every core.

// Shared by the modules below; each uses its own subset.
#[allow(dead_code)]
mod common;

mod any_manifests;
mod cluster_policies;
mod e2e_scenarios;
mod generated;
mod properties;
