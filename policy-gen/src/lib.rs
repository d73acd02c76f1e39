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
//! Verifying manifests we did not write, such as a cluster dump:
//!
//! ```
//! use policy_gen::{Cluster, TenantRule, VerifyOptions, verify_with};
//!
//! // Two hand-written policies for a team namespace, and no Namespace object at all.
//! let yaml = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n\
//!             metadata: {name: deny-all, namespace: qooba}\n\
//!             spec: {podSelector: {}, policyTypes: [Ingress, Egress]}\n";
//! let manifests = manifests_core::ManifestSet::from_yaml(yaml, "policies.yaml")?;
//! let cluster = Cluster::from_manifests(&manifests)?.with_platform(&Default::default());
//! let report = verify_with(&manifests, &cluster, &VerifyOptions::new().tenants(TenantRule::Auto))?;
//! assert_eq!(report.tenants, ["qooba"], "no tenant label anywhere: every non-platform namespace");
//! assert_eq!(report.dns_unreachable.len(), 2, "UDP and TCP 53 are both denied");
//! assert!(!report.is_clean());
//! # Ok::<(), policy_gen::Error>(())
//! ```
//!
//! What it provides:
//! - [`isolation_policies`]: NetworkPolicies (default deny, same namespace, system namespaces by the
//!   API server's name label, DNS over UDP and TCP to the DNS pods, named external CIDRs), Istio
//!   PeerAuthentication STRICT and an AuthorizationPolicy trusting the user header only from the
//!   ingress gateway's identity; optionally a ClusterNetworkPolicy (Admin tier) per tenant that
//!   tenants cannot delete ([`cluster_policy_name`]).
//! - [`Evaluator`]: `networking.k8s.io/v1` semantics in full (policyTypes defaulting, empty vs absent
//!   selectors, AND vs OR peers, matchExpressions, ipBlock with except, endPort, named ports,
//!   TCP/UDP/SCTP, both sides of a connection, default allow), inside the tiers of
//!   `policy.networking.k8s.io/v1alpha2` ClusterNetworkPolicy (Admin, then NetworkPolicy, then
//!   Baseline; priorities; Accept / Deny / Pass; namespaces, pods and networks peers; protocols
//!   with ports, ranges and named ports), each [`Verdict`] naming the policies or rule.
//! - [`Cluster::from_manifests`]: namespaces from every object, pods from Pods, Deployments,
//!   StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs, Kubeflow Notebooks and KServe
//!   InferenceServices, a representative pod where a namespace declares none; `kind: List` dumps
//!   are read by [`manifests_core::ManifestSet::from_yaml`].
//! - [`verify`] / [`verify_with`]: the namespace reachability matrix; findings (leaks between
//!   tenants, tenants without default deny, DNS unreachable over UDP or TCP, ingress from the
//!   gateway or a system namespace denied to pods serving users, header-trusting authorization
//!   rules without a principal) and warnings (selectors matching nothing, isolation that tenants
//!   could undo by deleting their NetworkPolicies, cluster policies of equal priority, policy kinds
//!   not evaluated); tenants chosen by [`TenantRule`]; JSON (serde) and text.
//!
//! Out of scope: hostNetwork pods and node traffic (implementation-defined), Service IP
//! translation, the experimental ClusterNetworkPolicy peers (`nodes`, `domainNames`: refused, not
//! ignored), the older AdminNetworkPolicy API and CNI-specific kinds (listed as not evaluated);
//! Istio policies are checked for the header-trust pattern, not evaluated request by request.

#![forbid(unsafe_code)]

mod cidr;
mod cluster;
mod cluster_policy;
mod error;
mod evaluate;
mod generate;
mod inventory;
mod policy;
mod selector;
mod tenancy;
mod verify;

pub use cidr::Cidr;
pub use cluster::{Cluster, ContainerPort, Endpoint, NAME_LABEL, Namespace, Pod, PodId};
pub use cluster_policy::{ClusterPeer, ClusterPods, ClusterPolicy, ClusterRule, ProtocolMatch};
pub use error::{Error, Result};
pub use evaluate::{Direction, Evaluator, Side, Verdict};
pub use generate::{AUTHORIZATION_POLICY, cluster_policy_name, isolation_policies};
pub use inventory::REPRESENTATIVE_POD;
pub use policy::{NsScope, Peer, Policy, PortSpec, Proto, Rule};
pub use selector::{Labels, Op, Requirement, Selector};
pub use tenancy::{AppliedRule, TenantRule, Tenants};
pub use verify::{
    AmbiguousPriority, Flow, HeaderTrust, Leak, MissingDefaultDeny, Report, Undoable,
    UnmatchedSelector, Unreachable, VerifyOptions, verify, verify_with,
};
