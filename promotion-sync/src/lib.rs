//! The reconcile pass: registry → promoted versions → verified mirror → rendered manifests → one
//! commit of the managed prefix → push; and the `watch` loop that repeats it.

mod desired;
mod error;
pub mod http;
pub mod layout;
mod message;
mod metrics;
mod pass_cache;
mod reconciler;
mod watch;

pub use desired::{Deployment, channel_name, deployments};
pub use error::{Error, Result};
pub use message::Change;
pub use metrics::Metrics;
pub use pass_cache::PassCache;
pub use reconciler::{Commit, Mirrored, PassReport, Plan, Problem, Reconciler, Settings};
pub use watch::{WatchOptions, watch};
