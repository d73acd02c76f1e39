//! Which namespaces are tenants: the ones `verify` holds to isolation.

use std::fmt;
use std::str::FromStr;

use manifests_core::tenant::{Isolation, TENANT_LABEL};
use serde::Serialize;

use crate::cluster::Cluster;
use crate::{Error, Result};

/// How `verify` picks the tenant namespaces.
///
/// ```
/// use policy_gen::TenantRule;
/// assert_eq!("labelled".parse::<TenantRule>().unwrap(), TenantRule::Labelled);
/// assert_eq!(
///     "team-a,team-b".parse::<TenantRule>().unwrap(),
///     TenantRule::Named(vec!["team-a".into(), "team-b".into()])
/// );
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum TenantRule {
    /// `labelled` when any namespace carries `mlflow-gitops.io/tenant`, else `all` (the default:
    /// a folder of hand-written or exported policies has no such label).
    #[default]
    Auto,
    /// Namespaces labelled `mlflow-gitops.io/tenant`.
    Labelled,
    /// Every namespace that is not a platform namespace: the system and DNS namespaces the
    /// [`Isolation`] settings name, and Kubernetes' own (`default`, `kube-*`).
    AllButPlatform,
    /// These namespaces.
    Named(Vec<String>),
}

impl FromStr for TenantRule {
    type Err = String;

    /// `auto`, `labelled` (or `labeled`), `all`, or a comma-separated list of namespaces.
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "auto" => Ok(Self::Auto),
            "labelled" | "labeled" => Ok(Self::Labelled),
            "all" => Ok(Self::AllButPlatform),
            list => {
                let names: Vec<String> = list
                    .split(',')
                    .map(|n| n.trim().to_owned())
                    .filter(|n| !n.is_empty())
                    .collect();
                if names.is_empty() {
                    Err(format!(
                        "{text:?}: expected labelled, all, auto or namespace names separated by commas"
                    ))
                } else {
                    Ok(Self::Named(names))
                }
            }
        }
    }
}

/// The rule that was applied, as the report names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliedRule {
    /// Namespaces labelled `mlflow-gitops.io/tenant`.
    Labelled,
    /// Every namespace but the platform's.
    AllButPlatform,
    /// The names given.
    Named,
}

impl fmt::Display for AppliedRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Labelled => "namespaces labelled mlflow-gitops.io/tenant",
            Self::AllButPlatform => "every namespace but the platform's",
            Self::Named => "the namespaces named",
        })
    }
}

/// The tenants, and how they were chosen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tenants {
    /// The rule applied.
    pub rule: AppliedRule,
    /// Tenant namespaces, by name.
    pub namespaces: Vec<String>,
    /// Platform namespaces present in the cluster (never tenants under `all`).
    pub platform: Vec<String>,
}

impl Tenants {
    /// Applies `rule` to `cluster`; a named namespace the cluster does not hold is an error (a
    /// typo would otherwise verify nothing).
    pub fn resolve(rule: &TenantRule, cluster: &Cluster, isolation: &Isolation) -> Result<Self> {
        let is_platform = |name: &str| {
            name == "default"
                || name.starts_with("kube-")
                || name == isolation.dns_namespace
                || isolation.system_namespaces.iter().any(|s| s == name)
        };
        let names = || cluster.namespaces().iter().map(|n| n.name.as_str());
        let labelled = || -> Vec<String> {
            cluster
                .namespaces()
                .iter()
                .filter(|n| n.labels.contains_key(TENANT_LABEL))
                .map(|n| n.name.clone())
                .collect()
        };
        let all_but_platform = || -> Vec<String> {
            names()
                .filter(|n| !is_platform(n))
                .map(str::to_owned)
                .collect()
        };
        let (rule, namespaces) = match rule {
            TenantRule::Auto => match labelled() {
                none if none.is_empty() => (AppliedRule::AllButPlatform, all_but_platform()),
                some => (AppliedRule::Labelled, some),
            },
            TenantRule::Labelled => (AppliedRule::Labelled, labelled()),
            TenantRule::AllButPlatform => (AppliedRule::AllButPlatform, all_but_platform()),
            TenantRule::Named(wanted) => {
                if let Some(missing) = wanted.iter().find(|w| cluster.namespace(w).is_none()) {
                    return Err(Error::InvalidSpec {
                        field: "tenants".into(),
                        reason: format!(
                            "namespace {missing:?} is in none of the manifests (namespaces seen: {})",
                            names().collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
                let chosen = names()
                    .filter(|n| wanted.iter().any(|w| w == n))
                    .map(str::to_owned)
                    .collect();
                (AppliedRule::Named, chosen)
            }
        };
        // By name, so the report does not depend on the order of the files read.
        let mut namespaces = namespaces;
        namespaces.sort();
        Ok(Self {
            rule,
            namespaces,
            platform: names()
                .filter(|n| is_platform(n))
                .map(str::to_owned)
                .collect(),
        })
    }

    /// Whether `namespace` is a tenant.
    pub fn contains(&self, namespace: &str) -> bool {
        self.namespaces.iter().any(|n| n == namespace)
    }
}
