//! testkit's integration tests as one test binary: one link instead of 5, and the
//! long tests of different files run side by side on every core.

mod bulk_is_right;
mod git_is_real;
mod kube_is_real;
mod mlflow_is_real;
mod s3_is_real;
