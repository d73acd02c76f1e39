//! What `verify` found: findings (the setup leaks or is broken) and warnings (it may be), as
//! JSON (serde) and text.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::evaluate::{Direction, Side};
use crate::policy::Proto;
use crate::tenancy::AppliedRule;

/// One flow and how each side judged it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Flow {
    /// Source `namespace/pod`.
    pub from: String,
    /// Destination `namespace/pod`.
    pub to: String,
    /// Port.
    pub port: u16,
    /// Protocol.
    pub proto: Proto,
    /// The source's egress side.
    pub egress: Side,
    /// The destination's ingress side.
    pub ingress: Side,
}

/// An allowed flow between two tenants.
pub type Leak = Flow;

/// A tenant namespace that new pods would join unprotected in one direction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MissingDefaultDeny {
    /// Namespace.
    pub namespace: String,
    /// The direction no namespace-wide policy isolates.
    pub direction: Direction,
}

/// An AuthorizationPolicy rule that trusts a request header without requiring an mTLS principal:
/// any pod in the mesh can set that header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HeaderTrust {
    /// `namespace/name` of the AuthorizationPolicy.
    pub policy: String,
    /// Index of the rule.
    pub rule: usize,
    /// The condition key, e.g. `request.headers[kubeflow-userid]`.
    pub header: String,
}

/// Traffic a tenant needs that its policies (or a cluster policy) deny.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unreachable {
    /// The tenant namespace.
    pub namespace: String,
    /// What is cut off, e.g. `DNS over UDP 53` or `ingress from istio-system`.
    pub what: String,
    /// How many of the tenant's pods it concerns.
    pub pods: usize,
    /// One denied flow, with the policies that denied it.
    pub example: Flow,
}

/// A selector that matches nothing in the model: the policy does not do what it says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnmatchedSelector {
    /// `namespace/name` of a NetworkPolicy, or `ClusterNetworkPolicy name`.
    pub policy: String,
    /// Where the selector stands, e.g. `spec.ingress[0].from[1].namespaceSelector`.
    pub field: String,
    /// The selector.
    pub selector: String,
    /// `namespace` or `pod`: what it was meant to select.
    pub selects: String,
}

/// Two cluster policies of one tier with one priority that apply to the same pod: the API lets
/// the implementation pick either, so their order cannot be relied on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct AmbiguousPriority {
    /// The two policies.
    pub policies: [String; 2],
    /// Their priority.
    pub priority: u32,
}

/// A tenant that other tenants could reach once NetworkPolicies are deleted, as Kubeflow's
/// `kubeflow-edit` role lets every tenant do in its own namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Undoable {
    /// The tenant.
    pub tenant: String,
    /// Tenants that could then open a connection to it.
    pub reached_by: Vec<String>,
}

/// What [`verify`](crate::verify) found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// How the tenants were chosen.
    pub tenant_rule: AppliedRule,
    /// Tenant namespaces.
    pub tenants: Vec<String>,
    /// Platform namespaces present.
    pub platform: Vec<String>,
    /// Namespaces that declared no workload, modelled by one representative pod.
    pub representative_pods: Vec<String>,
    /// `from namespace -> to namespace -> reachable` (some pod reaches some served port).
    pub matrix: BTreeMap<String, BTreeMap<String, bool>>,
    /// Finding: flows from one tenant into another.
    pub leaks: Vec<Leak>,
    /// Finding: tenant namespaces without a namespace-wide default deny.
    pub missing_default_deny: Vec<MissingDefaultDeny>,
    /// Finding: header-trusting authorization rules without a principal condition.
    pub header_trust_without_principal: Vec<HeaderTrust>,
    /// Finding: tenants whose pods cannot reach the DNS pods (UDP and TCP 53 are both needed:
    /// large answers fall back to TCP).
    pub dns_unreachable: Vec<Unreachable>,
    /// Finding: tenants serving a UI or a model that the ingress gateway or a system namespace
    /// cannot reach.
    pub ingress_denied: Vec<Unreachable>,
    /// Warning: selectors that match no namespace or pod in the model.
    pub unmatched_selectors: Vec<UnmatchedSelector>,
    /// Warning: cluster policies whose order is left to the implementation.
    pub ambiguous_priorities: Vec<AmbiguousPriority>,
    /// Warning: tenants reachable from other tenants once NetworkPolicies are deleted (empty when
    /// a ClusterNetworkPolicy keeps them apart).
    pub undoable_isolation: Vec<Undoable>,
    /// Warning: policy objects of kinds this verifier does not evaluate (`kind namespace/name`);
    /// the verdict holds only if they allow nothing more than it assumes.
    pub not_evaluated: Vec<String>,
}

impl Report {
    /// True when there is no finding (warnings aside).
    pub fn is_clean(&self) -> bool {
        self.findings() == 0
    }

    /// Number of findings.
    pub fn findings(&self) -> usize {
        self.leaks.len()
            + self.missing_default_deny.len()
            + self.header_trust_without_principal.len()
            + self.dns_unreachable.len()
            + self.ingress_denied.len()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.unmatched_selectors.len()
            + self.ambiguous_priorities.len()
            + self.undoable_isolation.len()
            + self.not_evaluated.len()
    }

    /// Whether some pod of `from` reaches some pod of `to`.
    pub fn reaches(&self, from: &str, to: &str) -> bool {
        self.matrix
            .get(from)
            .and_then(|m| m.get(to))
            .copied()
            .unwrap_or(false)
    }
}

fn side(side: &Side) -> String {
    match side {
        Side::NotIsolated => "not isolated".into(),
        Side::External => "external".into(),
        Side::AllowedBy(p) => format!("allowed by {}", p.join(", ")),
        Side::DeniedBy(p) => format!("denied by {}", p.join(", ")),
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} -> {} {}/{} (egress: {}; ingress: {})",
            self.from,
            self.to,
            self.proto,
            self.port,
            side(&self.egress),
            side(&self.ingress)
        )
    }
}

/// At most `n` names, then how many more.
fn some(names: &[String], n: usize) -> String {
    let mut text = names.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > n {
        text.push_str(&format!(" (+{} more)", names.len() - n));
    }
    text
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_overview(f)?;
        self.write_findings(f)?;
        self.write_warnings(f)?;
        match (self.findings(), self.warnings()) {
            (0, 0) => write!(f, "clean"),
            (0, w) => write!(f, "clean, {w} warnings"),
            (n, w) => write!(f, "NOT CLEAN: {n} findings, {w} warnings"),
        }
    }
}

impl Report {
    /// The tenants, the representative pods and who reaches whom.
    fn write_overview(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} namespaces, {} tenants ({}): {}",
            self.matrix.len(),
            self.tenants.len(),
            self.tenant_rule,
            some(&self.tenants, 8)
        )?;
        if !self.representative_pods.is_empty() {
            writeln!(
                f,
                "no workload declared in {}: each modelled by one representative pod without labels",
                some(&self.representative_pods, 8)
            )?;
        }
        for (from, row) in &self.matrix {
            let reached: Vec<String> = row
                .iter()
                .filter(|(to, ok)| **ok && *to != from)
                .map(|(to, _)| to.clone())
                .collect();
            let reached = if reached.is_empty() {
                "(nothing else)".to_owned()
            } else {
                some(&reached, 12)
            };
            writeln!(f, "  {from} -> {reached}")?;
        }
        Ok(())
    }

    /// One line per finding (what makes the report not clean).
    fn write_findings(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for leak in &self.leaks {
            writeln!(f, "LEAK {leak}")?;
        }
        for gap in &self.missing_default_deny {
            writeln!(
                f,
                "NO DEFAULT DENY {} for {:?}",
                gap.namespace, gap.direction
            )?;
        }
        for trust in &self.header_trust_without_principal {
            writeln!(
                f,
                "HEADER TRUSTED WITHOUT PRINCIPAL {} rule {} ({})",
                trust.policy, trust.rule, trust.header
            )?;
        }
        for gap in &self.dns_unreachable {
            writeln!(
                f,
                "DNS UNREACHABLE {}: {} denied to {} pod(s), e.g. {}",
                gap.namespace, gap.what, gap.pods, gap.example
            )?;
        }
        for gap in &self.ingress_denied {
            writeln!(
                f,
                "INGRESS DENIED {}: {} denied to {} pod(s) serving users, e.g. {}",
                gap.namespace, gap.what, gap.pods, gap.example
            )?;
        }
        Ok(())
    }

    /// One line per warning.
    fn write_warnings(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for unmatched in &self.unmatched_selectors {
            writeln!(
                f,
                "warning: SELECTOR MATCHES NO {} {} {} {}",
                unmatched.selects.to_uppercase(),
                unmatched.policy,
                unmatched.field,
                unmatched.selector
            )?;
        }
        for ambiguous in &self.ambiguous_priorities {
            writeln!(
                f,
                "warning: SAME PRIORITY {} for {} and {}: their order is up to the CNI",
                ambiguous.priority, ambiguous.policies[0], ambiguous.policies[1]
            )?;
        }
        for undoable in &self.undoable_isolation {
            writeln!(
                f,
                "warning: UNDOABLE {} can be reached from {} once tenants delete their \
                 NetworkPolicies (a ClusterNetworkPolicy in the Admin tier prevents it)",
                undoable.tenant,
                some(&undoable.reached_by, 5)
            )?;
        }
        for object in &self.not_evaluated {
            writeln!(f, "warning: NOT EVALUATED {object}")?;
        }
        Ok(())
    }
}
