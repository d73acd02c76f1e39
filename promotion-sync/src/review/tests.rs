use std::collections::{BTreeMap, BTreeSet};

use gitops_writer::FileContent;

use super::*;
use crate::layout::{CurrentDir, Deployed};
use crate::report::ReviewState;

fn deployed(model: &str, channel: &str, version: u64) -> Deployed {
    Deployed {
        model: model.into(),
        channel: channel.into(),
        version: version.to_string(),
        run_id: None,
        model_uri: format!("s3://mirror/{model}/{version}"),
        profile: None,
        traffic: None,
    }
}

fn dir(model: &str, channel: &str, version: u64) -> (String, CurrentDir) {
    let files = [(
        "deployment.yaml".to_owned(),
        FileContent::bytes(format!("{model} {channel} {version}\n")),
    )];
    (
        format!("{model}/{channel}"),
        CurrentDir {
            deployed: Some(deployed(model, channel, version)),
            files: files.into_iter().collect(),
            rendered_from: None,
        },
    )
}

fn gate() -> Gate {
    Gate::new(&BTreeSet::from(["production".to_owned()]), "deployments/")
}

#[test]
fn gated_changes_are_proposed_and_the_target_keeps_its_own() {
    let desired = BTreeMap::from([
        dir("wine", "production", 4),
        dir("wine", "staging", 5),
        dir("iris", "production", 1),
        dir("fraud", "production", 2),
    ]);
    let on_target = BTreeMap::from([
        dir("wine", "production", 3),
        dir("iris", "production", 1),
        dir("old", "production", 9),
    ]);
    let changes = vec![
        Change::Updated {
            old: deployed("wine", "production", 3),
            new: deployed("wine", "production", 4),
        },
        Change::Added(deployed("wine", "staging", 5)),
        Change::Added(deployed("fraud", "production", 2)),
        Change::Removed(deployed("old", "production", 9)),
    ];
    let split = split(&gate(), desired, on_target, changes);

    let target_versions: Vec<(&str, &str)> = split
        .target
        .iter()
        .map(|(d, s)| (d.as_str(), s.deployed.as_ref().unwrap().version.as_str()))
        .collect();
    assert_eq!(
        target_versions,
        [
            ("iris/production", "1"),
            ("old/production", "9"),
            ("wine/production", "3"),
            ("wine/staging", "5"),
        ],
        "the target keeps every gated directory as it holds it, and takes the ungated ones"
    );
    assert_eq!(
        split.changes.iter().map(Change::line).collect::<Vec<_>>(),
        ["wine staging: new, version 5"]
    );
    let proposed: Vec<(&str, Option<&str>, Vec<String>)> = split
        .proposals
        .iter()
        .map(|p| {
            (
                p.dir.as_str(),
                p.state
                    .as_ref()
                    .map(|s| s.deployed.as_ref().unwrap().version.as_str()),
                p.changes.iter().map(Change::line).collect(),
            )
        })
        .collect();
    assert_eq!(
        proposed,
        [
            (
                "fraud/production",
                Some("2"),
                vec!["fraud production: new, version 2".to_owned()]
            ),
            (
                "old/production",
                None,
                vec!["old production: removed (was 9)".to_owned()]
            ),
            (
                "wine/production",
                Some("4"),
                vec!["wine production: 3 → 4".to_owned()]
            ),
        ],
        "iris/production is the same on both sides: nothing to review"
    );

    let wine = &split.proposals[2];
    let on_branch = with_proposal(&split.target, wine);
    assert_eq!(
        on_branch["wine/production"]
            .deployed
            .as_ref()
            .unwrap()
            .version,
        "4"
    );
    assert_eq!(on_branch.len(), split.target.len());
    let removal = with_proposal(&split.target, &split.proposals[1]);
    assert!(!removal.contains_key("old/production"));
}

#[test]
fn branches_are_named_per_directory_under_the_prefix() {
    let gate = gate();
    assert_eq!(
        gate.branch("wine/production"),
        "mlflow-gitops/review/deployments/wine/production"
    );
    assert!(gate.gates("wine/production"));
    assert!(!gate.gates("wine/staging"));
    assert!(gate.manages("mlflow-gitops/review/deployments/wine/production"));
    assert!(
        !gate.manages("mlflow-gitops/review/deployments/team/wine/production"),
        "a deeper branch belongs to another prefix"
    );
    assert!(!gate.manages("mlflow-gitops/review/deployments-b/wine/production"));
    assert!(!Gate::new(&BTreeSet::new(), "deployments").is_on());
    assert!(ReviewState::Updated.is_pending() && !ReviewState::Closed.is_pending());
}

/// A directory map from (model index, channel index, version) triples.
fn dirs(entries: &[(u8, u8, u64)]) -> BTreeMap<String, CurrentDir> {
    const CHANNELS: [&str; 3] = ["production", "staging", "champion"];
    entries
        .iter()
        .map(|&(m, c, v)| dir(&format!("m{}", m % 4), CHANNELS[usize::from(c % 3)], v))
        .collect()
}

proptest::proptest! {
    /// Whatever the registry wants and the target holds, the target's gated directories come
    /// out exactly as they were (nothing a human merged is undone), its ungated ones as wanted,
    /// and each gated directory that differs is proposed once.
    #[test]
    fn the_target_keeps_its_gated_directories_whatever_is_wanted(
        wanted in proptest::collection::vec((0u8..4, 0u8..3, 1u64..4), 0..12),
        held in proptest::collection::vec((0u8..4, 0u8..3, 1u64..4), 0..12),
    ) {
        let gate = gate();
        let (wanted, held) = (dirs(&wanted), dirs(&held));
        let split = split(&gate, wanted.clone(), held.clone(), Vec::new());
        let gated = |map: &BTreeMap<String, CurrentDir>, keep: bool| -> BTreeMap<String, CurrentDir> {
            map.iter()
                .filter(|(d, _)| gate.gates(d) == keep)
                .map(|(d, s)| (d.clone(), s.clone()))
                .collect()
        };
        proptest::prop_assert_eq!(gated(&split.target, true), gated(&held, true));
        proptest::prop_assert_eq!(gated(&split.target, false), gated(&wanted, false));
        let differing: Vec<&String> = wanted
            .keys()
            .chain(held.keys())
            .filter(|d| gate.gates(d))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .filter(|d| match (wanted.get(*d), held.get(*d)) {
                (Some(w), Some(h)) => !w.files.same_as(&h.files),
                (None, None) => false,
                _ => true,
            })
            .collect();
        let proposed: Vec<&String> = split.proposals.iter().map(|p| &p.dir).collect();
        proptest::prop_assert_eq!(proposed, differing);
        for proposal in &split.proposals {
            let on_branch = with_proposal(&split.target, proposal);
            proptest::prop_assert_eq!(on_branch.get(&proposal.dir), wanted.get(&proposal.dir));
        }
    }
}
