//! criterion benchmarks of the hot paths of every crate; results are recorded in `BENCHMARKS.md`.
//!
//! Status: each library issue adds its benchmarks here.

#![forbid(unsafe_code)]
