//! The platform's serving configuration: named [`Profile`]s, the rules that pick one per model
//! and channel, and the traffic splits between a model's channels. Registry content may only
//! name a profile (the `mlflow-gitops.profile` tag); every value comes from here.

use std::collections::BTreeMap;
use std::sync::Arc;

use manifests_core::serving::traffic::{Backend, Mirror, Traffic, rebalance};
use manifests_core::serving::{NamedProfile, Profile};
use manifests_core::{ServingSpec, ServingTarget};
use serde::{Deserialize, Serialize};

use crate::deployment::{Deployment, PROFILE_TAG};
use crate::{Error, Result};

/// The profile applied where no tag and no rule picks one, when the platform defines it.
pub const DEFAULT_PROFILE: &str = "default";

/// Which profile a model's channels get: the first rule whose glob matches the model name and
/// whose channels (all when absent) include the channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileRule {
    /// Glob on the MLflow model name as MLflow spells it: `*` any run of characters, `?` one.
    #[serde(default = "every_model")]
    pub models: String,
    /// Channels (`production`, `staging`, an alias); None: every channel.
    #[serde(default)]
    pub channels: Option<Vec<String>>,
    /// The profile's name.
    pub profile: String,
}

/// How one channel's endpoint (the route) shares its requests with the model's other channels.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficRule {
    /// Glob on the model name (every model when absent).
    #[serde(default = "every_model")]
    pub models: String,
    /// The channel whose endpoint users call.
    pub route: String,
    /// Channel → percent of the route's requests; the percents sum to 100.
    pub split: BTreeMap<String, u32>,
    /// A channel that gets a copy of a percentage of the requests.
    #[serde(default)]
    pub mirror: Option<MirrorRule>,
}

/// Where a route's requests are copied to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirrorRule {
    /// The channel.
    pub to: String,
    /// Percent of the requests copied (default 100).
    #[serde(default = "all_requests")]
    pub percent: u32,
}

fn every_model() -> String {
    "*".into()
}

fn all_requests() -> u32 {
    100
}

/// Profiles, rules and splits, checked: every rule names a defined profile, every split sums to
/// 100. The default (nothing defined) serves every channel as the target sets it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServingConfig {
    profiles: BTreeMap<String, Arc<NamedProfile>>,
    rules: Vec<ProfileRule>,
    traffic: Vec<TrafficRule>,
}

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Config {
        field: field.into(),
        reason: reason.into(),
    }
}

impl ServingConfig {
    /// The configuration, refused with the failing key named when a profile would not render, a
    /// rule names an undefined profile or a split does not sum to 100.
    pub fn new(
        profiles: BTreeMap<String, Profile>,
        rules: Vec<ProfileRule>,
        traffic: Vec<TrafficRule>,
    ) -> Result<ServingConfig> {
        let profiles = profiles
            .into_iter()
            .map(|(name, profile)| {
                let named = NamedProfile::new(name.clone(), profile)
                    .map_err(|e| invalid(format!("profiles.{name}"), e.to_string()))?;
                Ok((name, named))
            })
            .collect::<Result<BTreeMap<_, _>>>()?;
        for (i, rule) in rules.iter().enumerate() {
            if !profiles.contains_key(&rule.profile) {
                return Err(invalid(
                    format!("rules[{i}].profile"),
                    format!("no profile {:?} is defined", rule.profile),
                ));
            }
        }
        for (i, rule) in traffic.iter().enumerate() {
            check_traffic(&format!("traffic[{i}]"), rule)?;
        }
        Ok(ServingConfig {
            profiles,
            rules,
            traffic,
        })
    }

    /// Whether nothing is configured (every channel served as the target sets it).
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty() && self.traffic.is_empty()
    }

    /// The defined profiles, by name.
    pub fn profiles(&self) -> impl Iterator<Item = &Arc<NamedProfile>> {
        self.profiles.values()
    }

    /// The profile of `deployment`'s channel: the one its version's tag names, else its
    /// registered model's, else the first matching rule's, else `default` when defined. A tag
    /// naming no defined profile is an error naming the tag (the channel keeps what it had).
    pub fn profile_for(
        &self,
        deployment: &Deployment,
    ) -> std::result::Result<Option<Arc<NamedProfile>>, String> {
        let tagged = [
            ("version", deployment.tags.get(PROFILE_TAG)),
            ("registered model", deployment.model_profile.as_ref()),
        ];
        if let Some((on, name)) = tagged.into_iter().find_map(|(on, v)| Some((on, v?))) {
            return match self.profiles.get(name) {
                Some(profile) => Ok(Some(Arc::clone(profile))),
                None => Err(format!(
                    "the {on} tag {PROFILE_TAG}={} names no profile the platform defines ({})",
                    crate::layout::display_name(name),
                    self.defined()
                )),
            };
        }
        let rule = self.rules.iter().find(|r| {
            glob_match(&r.models, &deployment.model)
                && r.channels
                    .as_ref()
                    .is_none_or(|c| c.contains(&deployment.channel))
        });
        let name = rule.map_or(DEFAULT_PROFILE, |r| r.profile.as_str());
        Ok(self.profiles.get(name).cloned())
    }

    /// The traffic rule of `model`'s `channel` as a route, if any (the first that matches).
    pub fn route(&self, model: &str, channel: &str) -> Option<&TrafficRule> {
        self.traffic
            .iter()
            .find(|t| t.route == channel && glob_match(&t.models, model))
    }

    /// The whole configuration as text: equal texts, equal configurations.
    pub fn digest(&self) -> String {
        let profiles: BTreeMap<&String, &Profile> = self
            .profiles
            .iter()
            .map(|(name, named)| (name, &named.profile))
            .collect();
        serde_json::to_string(&(profiles, &self.rules, &self.traffic)).unwrap_or_default()
    }

    /// Renders a sample channel with every profile and every split on `target`, so what the
    /// target cannot express (KServe has no place for an image or a mirror) is refused before
    /// the first pass, with the configuration key named.
    pub fn check_with(&self, target: &dyn ServingTarget) -> Result<()> {
        let sample = ServingSpec {
            namespace: "probe".into(),
            model: "probe".into(),
            version: "1".into(),
            channel: "production".into(),
            model_uri: "s3://probe/1".into(),
            ..Default::default()
        };
        let refused = |at: String| {
            move |e: manifests_core::Error| invalid(at, format!("{} target: {e}", target.name()))
        };
        for profile in self.profiles.values() {
            let spec = ServingSpec {
                profile: Some(Arc::clone(profile)),
                ..sample.clone()
            };
            target
                .render(&spec)
                .map_err(refused(format!("profiles.{}", profile.name)))?;
        }
        for (i, rule) in self.traffic.iter().enumerate() {
            let uri = |c: &str| Some(format!("s3://probe/{c}"));
            let spec = ServingSpec {
                channel: rule.route.clone(),
                traffic: resolve_traffic(rule, uri).0,
                ..sample.clone()
            };
            target
                .render(&spec)
                .map_err(refused(format!("traffic[{i}]")))?;
        }
        Ok(())
    }

    fn defined(&self) -> String {
        if self.profiles.is_empty() {
            return "none defined".into();
        }
        let names: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
        format!("defined: {}", names.join(", "))
    }
}

fn check_traffic(at: &str, rule: &TrafficRule) -> Result<()> {
    if rule.split.is_empty() {
        return Err(invalid(format!("{at}.split"), "names no channel"));
    }
    let total: u64 = rule.split.values().map(|w| u64::from(*w)).sum();
    if total != 100 {
        return Err(invalid(
            format!("{at}.split"),
            format!("the weights sum to {total}, not 100"),
        ));
    }
    if let Some(mirror) = &rule.mirror {
        if mirror.percent > 100 {
            return Err(invalid(format!("{at}.mirror.percent"), "at most 100"));
        }
        if mirror.to == rule.route {
            return Err(invalid(
                format!("{at}.mirror.to"),
                "a route cannot mirror to itself",
            ));
        }
    }
    Ok(())
}

/// A route's traffic over the channels that exist (`uri_of` gives each existing channel's mirror
/// URI), and, when a channel the rule names is missing, what was done about it.
pub(crate) fn resolve_traffic(
    rule: &TrafficRule,
    uri_of: impl Fn(&str) -> Option<String>,
) -> (Option<Traffic>, Option<String>) {
    let Some(weights) = rebalance(&rule.split, |c| uri_of(c).is_some()) else {
        let note = format!(
            "route {}: no channel of its split ({}) is served; the route serves all of its requests",
            rule.route,
            names(rule.split.keys())
        );
        return (None, Some(note));
    };
    let mut split: Vec<Backend> = weights
        .into_iter()
        .filter_map(|(channel, weight)| {
            let model_uri = uri_of(&channel)?;
            Some(Backend {
                channel,
                weight,
                model_uri,
            })
        })
        .collect();
    // The route first, as people read a split.
    split.sort_by_key(|b| b.channel != rule.route);
    let mirror = rule.mirror.as_ref().and_then(|m| {
        uri_of(&m.to).map(|_| Mirror {
            channel: m.to.clone(),
            percent: m.percent,
        })
    });
    let missing: Vec<&String> = rule
        .split
        .keys()
        .chain(rule.mirror.as_ref().map(|m| &m.to))
        .filter(|c| uri_of(c).is_none())
        .collect();
    let traffic = Traffic { split, mirror };
    let note = (!missing.is_empty()).then(|| {
        format!(
            "route {}: {} not served; traffic {traffic}",
            rule.route,
            names(missing.into_iter())
        )
    });
    (Some(traffic), note)
}

fn names<'a>(channels: impl Iterator<Item = &'a String>) -> String {
    channels.map(String::as_str).collect::<Vec<_>>().join(", ")
}

/// Whether `profile` names an image whose packages `target` does not know: the environment
/// check, made against the target's image, says nothing about it.
pub(crate) fn has_own_image(target: &dyn ServingTarget, profile: Option<&NamedProfile>) -> bool {
    profile.is_some_and(|p| {
        p.profile.image.is_some() && target.profile_packages(Some(&p.profile)).is_none()
    })
}

/// `*` matches any run of characters (none included), `?` exactly one; everything else itself.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where the last `*` was, and the text position it has absorbed up to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests;
