//! Tenant isolation policies, and a NetworkPolicy evaluator that proves them.
//!
//! ```
//! use manifests_core::{TenantSpec, tenant_components};
//! use policy_gen::{Cluster, isolation_policies, verify};
//!
//! let mut manifests = manifests_core::ManifestSet::new();
//! for team in ["team-a", "team-b"] {
//!     let spec = TenantSpec { namespace: team.into(), ..Default::default() };
//!     manifests.extend(tenant_components(&spec)?)?;
//!     manifests.extend(isolation_policies(&spec)?)?;
//! }
//! let cluster = Cluster::from_manifests(&manifests)?.with_platform(&Default::default());
//! let report = verify(&manifests, &cluster)?;
//! assert!(report.is_clean(), "{report}");
//! assert!(!report.reaches("team-a", "team-b"));
//! assert!(report.reaches("team-a", "kube-system"), "DNS still works");
//! # Ok::<(), policy_gen::Error>(())
//! ```
//!
//! What it provides:
//! - [`isolation_policies`]: NetworkPolicies (default deny, same namespace, system namespaces by the
//!   API server's name label, DNS over UDP and TCP to the DNS pods, named external CIDRs), Istio
//!   PeerAuthentication STRICT and an AuthorizationPolicy trusting the user header only from the
//!   ingress gateway's identity.
//! - [`Evaluator`]: `networking.k8s.io/v1` semantics in full (policyTypes defaulting, empty vs absent
//!   selectors, AND vs OR peers, matchExpressions, ipBlock with except, endPort, named ports,
//!   TCP/UDP/SCTP, both sides of a connection, default allow), each [`Verdict`] naming the policies.
//! - [`verify`]: the namespace reachability matrix, leaks between tenants, tenants without default
//!   deny, and header-trusting authorization rules without a principal; JSON (serde) and text.
//!
//! Out of scope: hostNetwork pods and node traffic (implementation-defined), Service IP
//! translation, AdminNetworkPolicy/ClusterNetworkPolicy, CNI-specific kinds; Istio policies are
//! checked for the header-trust pattern, not evaluated request by request.

#![forbid(unsafe_code)]

mod cidr;
mod cluster;
mod error;
mod evaluate;
mod generate;
mod policy;
mod selector;
mod verify;

pub use cidr::Cidr;
pub use cluster::{Cluster, ContainerPort, Endpoint, NAME_LABEL, Namespace, Pod, PodId};
pub use error::{Error, Result};
pub use evaluate::{Direction, Evaluator, Side, Verdict};
pub use generate::{AUTHORIZATION_POLICY, isolation_policies};
pub use policy::{NsScope, Peer, Policy, PortSpec, Proto, Rule};
pub use selector::{Labels, Op, Requirement, Selector};
pub use verify::{HeaderTrust, Leak, MissingDefaultDeny, Report, verify};
