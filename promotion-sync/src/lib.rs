//! The reconcile pass: registry → promoted versions → verified mirror → rendered manifests → one
//! commit of the managed prefix → push; and the `watch` loop that repeats it.
//!
//! Status: this crate is being built (issue "promotion-sync"). It composes `registry-reader`,
//! `artifact-store`, `manifests-core`, `policy-gen` and `gitops-writer`.
