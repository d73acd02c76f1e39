//! The `mlflow-gitops` command-line tool and daemon, and small example programs, one idea each,
//! showing how another Rust service embeds each crate of this workspace.
//!
//! Status: the binary comes with the promotion-sync issue; see `DESIGN.md` for its CLI contract.
