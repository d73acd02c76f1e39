//! registry-reader's integration tests as one test binary: one link instead of 6, and the
//! long tests of different files run side by side on every core.

// Declared first: its macros are used by the modules below.
#[macro_use]
mod backends;
// Shared by the modules below; each uses its own subset.
#[allow(dead_code)]
mod suite;

mod fingerprint;
mod hostile_rows;
mod old_schemas;
mod properties;
mod rest_registry;
mod sql_registry;
