//! Generates the isolation policies of a team namespace and evaluates `networking.k8s.io/v1`
//! NetworkPolicy semantics to prove what can reach what.
//!
//! Status: this crate is being built (issue "policy-gen"). It will provide
//! `isolation_policies(&TenantSpec)`, a `Cluster` model with `reachable(src, dst, port, proto)`
//! naming the policies that decided, and `verify(manifests)` reporting cross-tenant leaks.
//! It performs no IO.
