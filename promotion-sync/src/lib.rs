//! The reconcile pass: registry → promoted versions → verified mirror → rendered manifests → one
//! commit of the managed prefix → push; and the `watch` loop that repeats it.
//!
//! Before a version's manifests change, its mirrored `MLmodel` and `requirements.txt` are checked
//! against the serving image's package list when the target knows it ([`environment`]); a
//! version the image cannot serve is a [`Problem`] and its channels keep what they served.
//!
//! Every part is behind a trait, so a service can plug in its own. Here the registry is a
//! hand-written one, the mirror is in memory and the repository a local bare one:
//!
//! ```
//! # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use registry_reader::{Channel, Fingerprint, ModelRegistry, ModelVersion, Promoted, PromotionFilter, Stage};
//!
//! /// One model, version 3 in Production, whose files are in `dir`.
//! struct OneModel { dir: String }
//!
//! #[async_trait::async_trait]
//! impl ModelRegistry for OneModel {
//!     async fn promoted(&self, _: &PromotionFilter) -> Result<Promoted, registry_reader::Error> {
//!         Ok(Promoted {
//!             versions: vec![ModelVersion {
//!                 workspace: "default".into(), name: "iris".into(), version: 3,
//!                 stage: Stage::Production, aliases: vec![], channels: vec![Channel::Stage(Stage::Production)],
//!                 tags: Default::default(), model_tags: Default::default(),
//!                 source: "models:/m-1".into(), run_id: None,
//!                 status: "READY".into(), artifact_uri: self.dir.clone(), last_updated_ms: 0,
//!             }],
//!             errors: vec![],
//!         })
//!     }
//!     async fn fingerprint(&self) -> Result<Fingerprint, registry_reader::Error> {
//!         Ok(Fingerprint([7; 32]))
//!     }
//! }
//!
//! let tmp = tempfile::tempdir()?;
//! let model = tmp.path().join("model");
//! std::fs::create_dir(&model)?;
//! std::fs::write(model.join("MLmodel"), "flavors: {}\n")?;
//! let remote = tmp.path().join("deploy.git");
//! std::process::Command::new("git").args(["init", "--quiet", "--bare"]).arg(&remote).status()?;
//!
//! let writer = gitops_writer::GixWriter::open(&format!("file://{}", remote.display()), &tmp.path().join("work"), "main")?;
//! let registry = OneModel { dir: model.display().to_string() };
//! let mut sync = promotion_sync::Reconciler::builder(registry, writer, "memory://mirror")
//!     .target(Box::new(manifests_core::MlflowServe::default()))
//!     .resolver(Arc::new(artifact_store::Resolver::default()))
//!     .settings(promotion_sync::Settings::new("team-a"))
//!     .build()?;
//! let report = sync.run_once().await?;
//! assert_eq!(report.commit.unwrap().changes, ["iris production: new, version 3"]);
//! assert!(sync.run_once().await?.unchanged_registry, "same fingerprint: no work");
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]

mod current;
mod deployment;
mod desired;
pub mod environment;
mod error;
mod http;
mod layout;
mod message;
mod message_template;
mod metrics;
mod mirroring;
mod parallel;
mod pass_cache;
mod phases;
mod plan;
mod reconciler;
mod report;
mod review;
mod serving_config;
mod settings;
mod watch;
mod webhook;

pub use deployment::{Deployment, PROFILE_TAG, channel_name, deployments};
pub use error::{Error, Result};
pub use http::serve_http;
pub use layout::Deployed;
pub use message::Change;
pub use message_template::MessageTemplate;
pub use metrics::Metrics;
pub use pass_cache::PassCache;
pub use reconciler::{Reconciler, ReconcilerBuilder};
pub use report::{Commit, Mirrored, PassReport, Plan, Problem, Review, ReviewState};
pub use review::REVIEW_BRANCH_ROOT;
pub use serving_config::{DEFAULT_PROFILE, MirrorRule, ProfileRule, ServingConfig, TrafficRule};
pub use settings::Settings;
pub use watch::{WatchOptions, watch};
pub use webhook::{
    Delivery, Refusal, Verdict, WEBHOOK_EVENTS, WEBHOOK_PATH, WebhookEvent, WebhookReceiver,
    WebhookSecret,
};
