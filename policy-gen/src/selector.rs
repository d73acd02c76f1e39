//! Label selectors with apimachinery's exact semantics.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Labels of a pod or namespace.
pub type Labels = BTreeMap<String, String>;

/// A selector operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Key present with a value in the set.
    In,
    /// Key absent, or present with a value outside the set (apimachinery matches an absent key;
    /// some analyzers get this wrong).
    NotIn,
    /// Key present.
    Exists,
    /// Key absent.
    DoesNotExist,
}

/// One `matchExpressions` term.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Requirement {
    /// Label key.
    pub key: String,
    /// Operator.
    pub op: Op,
    /// Values (for In and NotIn).
    pub values: BTreeSet<String>,
}

/// A label selector: `matchLabels` and every requirement must hold; empty matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Selector {
    /// Exact labels.
    pub match_labels: Labels,
    /// Expressions.
    pub requirements: Vec<Requirement>,
}

impl Selector {
    /// The selector matching everything.
    pub fn everything() -> Self {
        Self::default()
    }

    /// A selector of exact labels.
    pub fn labels<const N: usize>(pairs: [(&str, &str); N]) -> Self {
        Self {
            match_labels: pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            requirements: Vec::new(),
        }
    }

    /// Normalizes a Kubernetes selector; `what` names it in errors.
    pub fn from_k8s(selector: &LabelSelector) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for expr in selector.match_expressions.iter().flatten() {
            let op = match expr.operator.as_str() {
                "In" => Op::In,
                "NotIn" => Op::NotIn,
                "Exists" => Op::Exists,
                "DoesNotExist" => Op::DoesNotExist,
                other => return Err(format!("unknown selector operator {other:?}")),
            };
            let values: BTreeSet<String> = expr.values.iter().flatten().cloned().collect();
            match op {
                Op::In | Op::NotIn if values.is_empty() => {
                    return Err(format!("{op:?} on {:?} needs values", expr.key));
                }
                Op::Exists | Op::DoesNotExist if !values.is_empty() => {
                    return Err(format!("{op:?} on {:?} takes no values", expr.key));
                }
                _ => {}
            }
            requirements.push(Requirement {
                key: expr.key.clone(),
                op,
                values,
            });
        }
        Ok(Self {
            match_labels: selector.match_labels.clone().unwrap_or_default(),
            requirements,
        })
    }

    /// True when the selector matches everything.
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.requirements.is_empty()
    }

    /// Whether `labels` satisfy the selector.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.requirements.iter().all(|r| {
                let value = labels.get(&r.key);
                match r.op {
                    Op::In => value.is_some_and(|v| r.values.contains(v)),
                    Op::NotIn => value.is_none_or(|v| !r.values.contains(v)),
                    Op::Exists => value.is_some(),
                    Op::DoesNotExist => value.is_none(),
                }
            })
    }
}

/// `{a=b, c in (d, e), f notin (g), h, !i}`, as kubectl writes selectors; `{}` matches all.
impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut terms: Vec<String> = self
            .match_labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        for r in &self.requirements {
            let values = r.values.iter().cloned().collect::<Vec<_>>().join(", ");
            terms.push(match r.op {
                Op::In => format!("{} in ({values})", r.key),
                Op::NotIn => format!("{} notin ({values})", r.key),
                Op::Exists => r.key.clone(),
                Op::DoesNotExist => format!("!{}", r.key),
            });
        }
        write!(f, "{{{}}}", terms.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(key: &str, op: Op, values: &[&str]) -> Selector {
        Selector {
            match_labels: Labels::new(),
            requirements: vec![Requirement {
                key: key.into(),
                op,
                values: values.iter().map(|v| (*v).to_owned()).collect(),
            }],
        }
    }

    #[test]
    fn apimachinery_semantics() {
        let with = Labels::from([("tier".to_owned(), "web".to_owned())]);
        let without = Labels::new();
        assert!(Selector::everything().matches(&without));
        assert!(req("tier", Op::In, &["web"]).matches(&with));
        assert!(!req("tier", Op::In, &["web"]).matches(&without));
        assert!(req("tier", Op::NotIn, &["db"]).matches(&with));
        assert!(!req("tier", Op::NotIn, &["web"]).matches(&with));
        assert!(
            req("tier", Op::NotIn, &["web"]).matches(&without),
            "NotIn matches an absent key"
        );
        assert!(req("tier", Op::Exists, &[]).matches(&with));
        assert!(req("tier", Op::DoesNotExist, &[]).matches(&without));
        assert!(!Selector::labels([("tier", "db")]).matches(&with));
    }

    #[test]
    fn displays_as_kubectl_writes_it() {
        let mut selector = req("tier", Op::NotIn, &["db", "cache"]);
        selector.match_labels.insert("app".into(), "web".into());
        assert_eq!(selector.to_string(), "{app=web, tier notin (cache, db)}");
        assert_eq!(Selector::everything().to_string(), "{}");
        assert_eq!(req("x", Op::DoesNotExist, &[]).to_string(), "{!x}");
    }
}
