//! Traffic between the channels of one model: a route channel's endpoint shares its requests
//! with other channels by weight (a canary) and may mirror a copy of them to one more (a shadow).
//! The arithmetic is here and pure; which split applies to which model is the caller's choice.

use std::collections::BTreeMap;
use std::fmt;

/// How the requests to a route channel's endpoint are served, resolved against the channels that
/// exist: weights always sum to 100.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// The channels that take a share: the route first (unless it takes none), then the others
    /// by channel name.
    pub split: Vec<Backend>,
    /// A channel that gets a copy of a percentage of the requests (responses discarded).
    pub mirror: Option<Mirror>,
}

/// One channel's share of a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    /// The channel.
    pub channel: String,
    /// Percent of the requests, 0–100.
    pub weight: u32,
    /// The mirror URI of the version the channel serves (KServe's canary loads it itself).
    pub model_uri: String,
}

/// The channel requests are copied to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirror {
    /// The channel.
    pub channel: String,
    /// Percent of the requests copied, 0–100.
    pub percent: u32,
}

impl fmt::Display for Traffic {
    /// `production 90%, challenger 10%; mirror staging 100%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, backend) in self.split.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{} {}%", backend.channel, backend.weight)?;
        }
        if let Some(mirror) = &self.mirror {
            write!(f, "; mirror {} {}%", mirror.channel, mirror.percent)?;
        }
        Ok(())
    }
}

/// `weights` (channel → weight, summing to 100) over only the channels for which `exists` holds,
/// scaled back to a sum of 100: the largest remainders get the rounding, ties by channel order.
/// Channels whose weights were all 0 share equally. None when no channel exists.
///
/// ```
/// use std::collections::BTreeMap;
/// use manifests_core::serving::traffic::rebalance;
/// let split = BTreeMap::from([("a".to_owned(), 50), ("b".to_owned(), 25), ("c".to_owned(), 25)]);
/// let without_c = rebalance(&split, |c| c != "c").unwrap();
/// assert_eq!(without_c, BTreeMap::from([("a".to_owned(), 67), ("b".to_owned(), 33)]));
/// ```
pub fn rebalance(
    weights: &BTreeMap<String, u32>,
    exists: impl Fn(&str) -> bool,
) -> Option<BTreeMap<String, u32>> {
    let present: Vec<(&String, u64)> = weights
        .iter()
        .filter(|(channel, _)| exists(channel))
        .map(|(channel, weight)| (channel, u64::from(*weight)))
        .collect();
    if present.is_empty() {
        return None;
    }
    let total: u64 = present.iter().map(|(_, w)| w).sum();
    let shares: Vec<(&String, u64)> = if total == 0 {
        present.iter().map(|(c, _)| (*c, 1)).collect()
    } else {
        present
    };
    let total: u64 = shares.iter().map(|(_, w)| w).sum();
    let mut out: Vec<(&String, u64, u64)> = shares
        .iter()
        .map(|(c, w)| (*c, w * 100 / total, w * 100 % total))
        .collect();
    let given: u64 = out.iter().map(|(_, w, _)| w).sum();
    let mut order: Vec<usize> = (0..out.len()).collect();
    // Largest remainder first; the sort is stable, so equal remainders keep channel order.
    order.sort_by(|&a, &b| out[b].2.cmp(&out[a].2));
    for &i in order.iter().take((100 - given) as usize) {
        out[i].1 += 1;
    }
    Some(
        out.into_iter()
            .map(|(c, w, _)| (c.clone(), w as u32))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
        pairs.iter().map(|(c, w)| ((*c).to_owned(), *w)).collect()
    }

    #[test]
    fn a_missing_channel_gives_its_share_to_the_others() {
        let wanted = split(&[("production", 90), ("challenger", 10)]);
        assert_eq!(rebalance(&wanted, |_| true), Some(wanted.clone()));
        assert_eq!(
            rebalance(&wanted, |c| c == "production"),
            Some(split(&[("production", 100)]))
        );
        assert_eq!(rebalance(&wanted, |_| false), None);
        let zero = split(&[("a", 0), ("b", 0), ("c", 100)]);
        assert_eq!(
            rebalance(&zero, |c| c != "c"),
            Some(split(&[("a", 50), ("b", 50)]))
        );
        let thirds = split(&[("a", 1), ("b", 1), ("c", 1), ("d", 97)]);
        assert_eq!(
            rebalance(&thirds, |c| c != "d"),
            Some(split(&[("a", 34), ("b", 33), ("c", 33)]))
        );
    }

    #[test]
    fn traffic_reads_as_people_write_it() {
        let traffic = Traffic {
            split: vec![
                Backend {
                    channel: "production".into(),
                    weight: 90,
                    model_uri: "s3://m/1".into(),
                },
                Backend {
                    channel: "challenger".into(),
                    weight: 10,
                    model_uri: "s3://m/2".into(),
                },
            ],
            mirror: Some(Mirror {
                channel: "staging".into(),
                percent: 100,
            }),
        };
        assert_eq!(
            traffic.to_string(),
            "production 90%, challenger 10%; mirror staging 100%"
        );
    }
}
