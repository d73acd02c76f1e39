//! manifests-core's integration tests as one test binary: one link instead of 3, and the
//! long tests of different files run side by side on every core.

// Shared by the modules below; each uses its own subset.
#[allow(dead_code)]
mod common;

mod golden;
mod profiles;
mod properties;
mod validation;
