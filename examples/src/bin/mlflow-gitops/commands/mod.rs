//! One module per subcommand.

pub mod mirror;
pub mod policy;
pub mod registry;
pub mod sync;
pub mod tenant;
