//! Real components for the tests of every crate in this workspace, each on a free 127.0.0.1 port,
//! isolated per test and cleaned up on drop:
//!
//! - [`s3::SeaweedFs`]: a SeaweedFS `weed mini` S3 server that checks SigV4 signatures, with a fresh
//!   [`s3::Bucket`] per test (one server may be shared by a test binary: [`s3::SeaweedFs::shared`]).
//! - [`mlflow::Scenario`]: an MLflow Model Registry built by MLflow's own Python client on a
//!   [`databases::Database`] of the test's choice (SQLite file, MariaDB or PostgreSQL database), with
//!   MLflow's own answers ([`mlflow::Report`]) as the expected values.
//! - [`mlflow_server::MlflowServer`]: a real `mlflow server` on such a registry, for REST clients.
//! - [`model_server::ModelServer`]: `mlflow models serve` on a model URI, answering `/invocations`.
//! - [`git::GitRemote`]: an empty bare remote and a clone, with helpers that read history through the
//!   `git` CLI.
//! - [`git_https::GitHttpsServer`]: git over https (TLS, basic-auth token) on 127.0.0.1.
//! - [`ssh::SshServer`]: an OpenSSH server on 127.0.0.1 with its own host key, for git over ssh.
//! - [`kube`]: `kubectl kustomize`, `kubernetes-validate --strict`, the real CRD schemas and a
//!   YAML 1.1 reader, judging generated manifests.
//! - [`proxy::TcpProxy`]: a TCP forwarder that can cut and restore a real server's network, for
//!   outage tests.
//! - [`tools`]: where the pinned tools live (the venv made by `.ci/run`).
//!
//! Helpers panic, with the command that fixes the problem, when a component is missing or fails:
//! a test that cannot get its real component must fail loudly, never skip.
//!
//! ```no_run
//! let bucket = testkit::s3::SeaweedFs::shared().bucket();
//! let remote = testkit::git::GitRemote::new();
//! let registry = testkit::mlflow::Scenario::new()
//!     .model(testkit::mlflow::ModelSpec::new("wine").version(
//!         testkit::mlflow::VersionSpec::logged_model().stage("Production").alias("champion"),
//!     ))
//!     .build(testkit::databases::Backend::Sqlite);
//! assert_eq!(registry.report().versions.len(), 1);
//! # let _ = (bucket, remote);
//! ```

#![forbid(unsafe_code)]

pub mod bulk;
pub mod databases;
pub mod git;
pub mod git_https;
pub mod kserve;
pub mod kube;
pub mod mlflow;
pub mod mlflow_server;
pub mod model_server;
pub mod package_index;
pub mod pod;
pub mod podman;
mod process;
pub mod proxy;
pub mod s3;
pub mod signing;
pub mod ssh;
pub mod tools;
pub mod webhook_scene;

pub use process::unique_name;
