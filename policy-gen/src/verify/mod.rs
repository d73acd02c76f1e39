//! Verification of a set of manifests: who reaches whom, what leaks between tenants, what a
//! tenant needs and is denied, and what would leak if tenants deleted their own policies.

mod checks;
mod report;
mod search;

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use manifests_core::ManifestSet;
use manifests_core::crds::istio::AuthorizationPolicy;
use manifests_core::crds::network_policy_api::ClusterNetworkPolicy;
use manifests_core::tenant::Isolation;

pub use report::{
    AmbiguousPriority, Flow, HeaderTrust, Leak, MissingDefaultDeny, Report, Undoable,
    UnmatchedSelector, Unreachable,
};

use crate::Result;
use crate::cluster::{Cluster, PodId};
use crate::cluster_policy::ClusterPolicy;
use crate::evaluate::Evaluator;
use crate::policy::Policy;
use crate::tenancy::{TenantRule, Tenants};
use search::{AnyWorld, first_allowed_flow};

/// Policy kinds other tools evaluate and this verifier does not: listed in the report, since
/// the verdict holds only if they allow nothing more.
const NOT_EVALUATED: [(&str, &str); 6] = [
    ("policy.networking.k8s.io", "AdminNetworkPolicy"),
    ("policy.networking.k8s.io", "BaselineAdminNetworkPolicy"),
    ("cilium.io", "CiliumNetworkPolicy"),
    ("cilium.io", "CiliumClusterwideNetworkPolicy"),
    ("crd.projectcalico.org", "NetworkPolicy"),
    ("crd.projectcalico.org", "GlobalNetworkPolicy"),
];

/// Settings of [`verify_with`].
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Which namespaces are tenants (default [`TenantRule::Auto`]).
    pub tenants: TenantRule,
    /// The platform: system namespaces, DNS namespace and pods (default: Kubeflow with Istio).
    pub isolation: Isolation,
}

impl VerifyOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Picks the tenants by `rule`.
    pub fn tenants(mut self, rule: TenantRule) -> Self {
        self.tenants = rule;
        self
    }

    /// Describes the platform the tenants depend on.
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = isolation;
        self
    }
}

/// Verifies with the default [`VerifyOptions`].
pub fn verify(manifests: &ManifestSet, cluster: &Cluster) -> Result<Report> {
    verify_with(manifests, cluster, &VerifyOptions::default())
}

/// Verifies the NetworkPolicies, ClusterNetworkPolicies and AuthorizationPolicies of `manifests`
/// on `cluster` (build it with [`Cluster::from_manifests`] and add the platform with
/// [`Cluster::with_platform`]).
pub fn verify_with(
    manifests: &ManifestSet,
    cluster: &Cluster,
    options: &VerifyOptions,
) -> Result<Report> {
    let read = ReadPolicies::from(manifests)?;
    let evaluator =
        Evaluator::with_cluster_policies(cluster, &read.policies, &read.cluster_policies);
    let tenants = Tenants::resolve(&options.tenants, cluster, &options.isolation)?;

    let names: Vec<&str> = cluster
        .namespaces()
        .iter()
        .map(|n| n.name.as_str())
        .collect();
    let pods_of: BTreeMap<&str, Vec<PodId>> = names
        .iter()
        .map(|n| (*n, cluster.pods_in(n).collect()))
        .collect();
    let (matrix, leaks) = reachability(&evaluator, &names, &pods_of, &tenants);
    let undoable_isolation = undoable_isolation(cluster, &read, &evaluator, &tenants, &pods_of);

    Ok(Report {
        tenant_rule: tenants.rule,
        tenants: tenants.namespaces.clone(),
        platform: tenants.platform.clone(),
        representative_pods: cluster.representatives().map(str::to_owned).collect(),
        matrix,
        leaks,
        missing_default_deny: checks::missing_default_deny(&read.policies, &tenants),
        header_trust_without_principal: read.header_trust,
        dns_unreachable: checks::dns_unreachable(&evaluator, &tenants, &options.isolation),
        ingress_denied: checks::ingress_denied(&evaluator, &tenants, &options.isolation),
        unmatched_selectors: checks::unmatched_selectors(
            cluster,
            &read.policies,
            &read.cluster_policies,
        ),
        ambiguous_priorities: checks::ambiguous_priorities(&evaluator),
        undoable_isolation,
        not_evaluated: read.not_evaluated,
    })
}

/// Pods by namespace.
type PodsOf<'a> = BTreeMap<&'a str, Vec<PodId>>;

/// Which namespace reaches which (some pod to some pod on some port), and an example flow of
/// every leak between two tenants.
fn reachability(
    evaluator: &Evaluator<'_>,
    names: &[&str],
    pods_of: &PodsOf<'_>,
    tenants: &Tenants,
) -> (BTreeMap<String, BTreeMap<String, bool>>, Vec<Leak>) {
    let mut matrix = BTreeMap::new();
    let mut leaks = Vec::new();
    for from in names {
        let mut row = BTreeMap::new();
        for to in names {
            let found = first_allowed_flow(evaluator, &pods_of[from], &pods_of[to], from, to);
            if let Some((src, dst, port, proto)) = found
                && from != to
                && tenants.contains(from)
                && tenants.contains(to)
            {
                leaks.push(checks::flow(evaluator, src, dst, port, proto));
            }
            row.insert((*to).to_owned(), found.is_some());
        }
        matrix.insert((*from).to_owned(), row);
    }
    (matrix, leaks)
}

/// The tenants other tenants could reach by deleting their own NetworkPolicies. The world after
/// every tenant deleted its policies is evaluated beside this one; a flow passes a side if either
/// world lets it (each side depends only on its own namespace's policies), which covers every
/// choice of tenants deleting theirs.
fn undoable_isolation(
    cluster: &Cluster,
    read: &ReadPolicies,
    evaluator: &Evaluator<'_>,
    tenants: &Tenants,
    pods_of: &PodsOf<'_>,
) -> Vec<Undoable> {
    let kept: Vec<Policy> = read
        .policies
        .iter()
        .filter(|p| !tenants.contains(&p.namespace))
        .cloned()
        .collect();
    let deleted = Evaluator::with_cluster_policies(cluster, &kept, &read.cluster_policies);
    let any_world = AnyWorld([&deleted, evaluator]);
    tenants
        .namespaces
        .iter()
        .filter_map(|to| {
            let reached_by: Vec<String> = tenants
                .namespaces
                .iter()
                .filter(|from| *from != to)
                .filter(|from| {
                    let (src, dst) = (&pods_of[from.as_str()], &pods_of[to.as_str()]);
                    first_allowed_flow(&any_world, src, dst, from, to).is_some()
                })
                .cloned()
                .collect();
            (!reached_by.is_empty()).then(|| Undoable {
                tenant: to.clone(),
                reached_by,
            })
        })
        .collect()
}

/// The policy objects of a manifest set, normalized.
struct ReadPolicies {
    policies: Vec<Policy>,
    cluster_policies: Vec<ClusterPolicy>,
    header_trust: Vec<HeaderTrust>,
    not_evaluated: Vec<String>,
}

impl ReadPolicies {
    fn from(manifests: &ManifestSet) -> Result<Self> {
        let mut read = Self {
            policies: Vec::new(),
            cluster_policies: Vec::new(),
            header_trust: Vec::new(),
            not_evaluated: Vec::new(),
        };
        for manifest in manifests {
            let key = manifest.key();
            let group = key.api_version.rsplit_once('/').map_or("", |(g, _)| g);
            match (key.api_version.as_str(), key.kind.as_str()) {
                ("networking.k8s.io/v1", "NetworkPolicy") => {
                    let policy: NetworkPolicy = manifest.decode()?;
                    read.policies.push(Policy::from_k8s(&policy, "default")?);
                }
                ("policy.networking.k8s.io/v1alpha2", "ClusterNetworkPolicy") => {
                    let policy: ClusterNetworkPolicy = manifest.decode()?;
                    read.cluster_policies
                        .push(ClusterPolicy::from_k8s(&policy)?);
                }
                ("security.istio.io/v1" | "security.istio.io/v1beta1", "AuthorizationPolicy") => {
                    let policy: AuthorizationPolicy = manifest.decode()?;
                    read.header_trust.extend(trusting_rules(
                        &policy,
                        key.namespace.as_deref().unwrap_or("default"),
                        &key.name,
                    ));
                }
                (_, kind) if NOT_EVALUATED.contains(&(group, kind)) => {
                    read.not_evaluated.push(key.to_string());
                }
                _ => {}
            }
        }
        Ok(read)
    }
}

/// Rules of an ALLOW policy that condition on a request header but accept any caller identity.
fn trusting_rules(policy: &AuthorizationPolicy, namespace: &str, name: &str) -> Vec<HeaderTrust> {
    let allow = policy.spec.action.as_deref().is_none_or(|a| a == "ALLOW");
    if !allow {
        return Vec::new();
    }
    policy
        .spec
        .rules
        .iter()
        .enumerate()
        .flat_map(|(index, rule)| {
            let principal_required =
                !rule.from.is_empty() && rule.from.iter().all(|f| !f.source.principals.is_empty());
            rule.when
                .iter()
                .filter(move |c| c.key.starts_with("request.headers[") && !principal_required)
                .map(move |c| HeaderTrust {
                    policy: format!("{namespace}/{name}"),
                    rule: index,
                    header: c.key.clone(),
                })
        })
        .collect()
}
