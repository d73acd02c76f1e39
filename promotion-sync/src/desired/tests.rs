use gitops_writer::Content;
use manifests_core::MlflowServe;

use super::*;

fn wine(version: u64, channel: &str) -> Deployment {
    Deployment {
        model: "wine".into(),
        version,
        channel: channel.into(),
        artifact_uri: format!("file:///registry/wine/{version}"),
        run_id: Some("r1".into()),
        source: "models:/m-1".into(),
        ..Default::default()
    }
}

fn ready(wanted: &[Deployment]) -> BTreeMap<(String, String), Ready> {
    wanted
        .iter()
        .map(|d| {
            let uri = format!("s3://mirror/wine/{}", d.version);
            (d.mirror_path(), Ready::at(uri))
        })
        .collect()
}

fn run(
    wanted: &[Deployment],
    current: &mut BTreeMap<String, CurrentDir>,
    problems: Vec<Problem>,
) -> Desired {
    run_with(&ServingConfig::default(), wanted, current, problems)
}

fn run_with(
    serving: &ServingConfig,
    wanted: &[Deployment],
    current: &mut BTreeMap<String, CurrentDir>,
    problems: Vec<Problem>,
) -> Desired {
    let target = MlflowServe::default();
    let renderer = Renderer {
        target: &target,
        namespace: "team",
        probe: TargetProbe::of(&target).unwrap(),
        serving,
    };
    desired(renderer, wanted, &ready(wanted), current, problems).unwrap()
}

#[test]
fn ready_deployments_are_rendered_and_listed() {
    let wanted = [wine(3, "production")];
    let out = run(&wanted, &mut BTreeMap::new(), Vec::new());
    assert!(out.files.contains_key("wine/production/deployment.yaml"));
    assert!(out.files.contains_key("kustomization.yaml"));
    assert!(out.files.contains_key("README.md"));
    assert_eq!(out.changes.len(), 1);
    assert_eq!(
        out.changes[0].line(),
        "wine production: new, version 3 (run r1)"
    );
}

#[test]
fn an_unchanged_render_key_keeps_files_by_blob_id() {
    let wanted = [wine(3, "production")];
    let mut first = run(&wanted, &mut BTreeMap::new(), Vec::new()).dirs;
    crate::current::settle(&mut first).unwrap();
    let again = run(&wanted, &mut first, Vec::new());
    assert!(again.changes.is_empty());
    let kept = &again.dirs["wine/production"];
    assert!(
        kept.files
            .iter()
            .all(|(_, file)| matches!(file.content, Content::Blob(_))),
        "kept files are not re-rendered"
    );
}

#[test]
fn a_failed_version_keeps_what_its_channel_served() {
    let served = run(&[wine(3, "production")], &mut BTreeMap::new(), Vec::new()).dirs;
    let mut current = served.clone();
    let failed = Problem::new("wine", Some(4), vec!["production".into()], "mirror failed");
    // Version 4 is wanted but not ready: its mirror failed.
    let out = desired(
        Renderer {
            target: &MlflowServe::default(),
            namespace: "team",
            probe: TargetProbe::of(&MlflowServe::default()).unwrap(),
            serving: &ServingConfig::default(),
        },
        &[wine(4, "production")],
        &BTreeMap::new(),
        &mut current,
        vec![failed],
    )
    .unwrap();
    assert_eq!(out.problems[0].kept, ["production"]);
    assert_eq!(out.dirs["wine/production"], served["wine/production"]);
    assert!(out.changes.is_empty(), "nothing changes for a kept channel");
}

fn split_config() -> ServingConfig {
    let rule = crate::TrafficRule {
        models: "wine".into(),
        route: "production".into(),
        split: BTreeMap::from([("production".into(), 90), ("challenger".into(), 10)]),
        mirror: Some(crate::MirrorRule {
            to: "staging".into(),
            percent: 100,
        }),
    };
    ServingConfig::new(BTreeMap::new(), Vec::new(), vec![rule]).unwrap()
}

fn route_weights(out: &Desired) -> Vec<(String, Option<i32>)> {
    let Some(FileContent {
        content: Content::Bytes(bytes),
        ..
    }) = out.files.get("wine/production/virtualservice.yaml")
    else {
        panic!("the route is rendered");
    };
    let text = std::str::from_utf8(bytes).unwrap();
    let set = manifests_core::ManifestSet::from_yaml(text, "route").unwrap();
    let route: manifests_core::crds::istio::VirtualService =
        set.iter().next().unwrap().decode().unwrap();
    route.spec.http[0]
        .route
        .iter()
        .map(|r| (r.destination.host.clone(), r.weight))
        .collect()
}

#[test]
fn a_split_routes_over_the_channels_that_exist_and_says_what_it_left_out() {
    let config = split_config();
    let both = [wine(3, "production"), wine(4, "challenger")];
    let out = run_with(&config, &both, &mut BTreeMap::new(), Vec::new());
    let weights: Vec<Option<i32>> = route_weights(&out).into_iter().map(|(_, w)| w).collect();
    assert_eq!(weights, [Some(90), Some(10)]);
    assert_eq!(
        out.notes,
        [
            "model wine: route production: staging not served; traffic production 90%, challenger 10%"
        ]
    );
    let line = out
        .changes
        .iter()
        .map(Change::line)
        .find(|l| l.starts_with("wine production"))
        .unwrap();
    assert_eq!(
        line,
        "wine production: new, version 3 (run r1), traffic production 90%, challenger 10%"
    );

    let alone = run_with(
        &config,
        &[wine(3, "production")],
        &mut BTreeMap::new(),
        Vec::new(),
    );
    assert_eq!(route_weights(&alone).len(), 1);
    assert_eq!(
        route_weights(&alone)[0].1,
        Some(100),
        "all of it to the route"
    );
    assert!(
        alone.notes[0].contains("challenger, staging not served"),
        "{:?}",
        alone.notes
    );

    let all = [
        wine(3, "production"),
        wine(4, "challenger"),
        wine(2, "staging"),
    ];
    let out = run_with(&config, &all, &mut BTreeMap::new(), Vec::new());
    assert!(out.notes.is_empty(), "{:?}", out.notes);
}

#[test]
fn a_failed_challenger_still_takes_its_share_with_the_version_it_served() {
    let config = split_config();
    let served = run_with(
        &config,
        &[wine(3, "production"), wine(4, "challenger")],
        &mut BTreeMap::new(),
        Vec::new(),
    )
    .dirs;
    let mut current = served.clone();
    // Challenger's version 5 failed: it keeps version 4, and the route keeps sending it 10%.
    let failed = Problem::new("wine", Some(5), vec!["challenger".into()], "mirror failed");
    let out = run_with(
        &config,
        &[wine(3, "production")],
        &mut current,
        vec![failed],
    );
    assert_eq!(out.problems[0].kept, ["challenger"]);
    // The route's inputs are unchanged (version 4 still serves challenger): kept as it was.
    assert_eq!(out.dirs["wine/production"], served["wine/production"]);
    let weights: Vec<Option<i32>> = route_weights(&out).into_iter().map(|(_, w)| w).collect();
    assert_eq!(weights, [Some(90), Some(10)]);
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(64))]

    /// Whatever a version's profile tag says, the other channels' files are what they would be
    /// without it; a tag naming no profile keeps its own channel as it was.
    #[test]
    fn an_unknown_profile_never_changes_another_channels_files(tag in ".{0,40}") {
        let profiles = BTreeMap::from([(
            "large".to_owned(),
            manifests_core::serving::Profile {
                replicas: Some(3),
                ..Default::default()
            },
        )]);
        let config = ServingConfig::new(profiles, Vec::new(), Vec::new()).unwrap();
        let others = [wine(2, "staging"), wine(2, "champion")];
        let mut wanted = vec![wine(3, "production")];
        wanted.extend(others.iter().cloned());
        let before = run_with(&config, &wanted, &mut BTreeMap::new(), Vec::new()).dirs;
        let mut current = before.clone();
        wanted[0].tags.insert(crate::PROFILE_TAG.into(), tag.clone());
        let after = run_with(&config, &wanted, &mut current, Vec::new());
        for other in &others {
            proptest::prop_assert_eq!(&after.dirs[&other.dir()], &before[&other.dir()]);
        }
        if tag != "large" {
            proptest::prop_assert_eq!(after.problems.len(), 1);
            proptest::prop_assert_eq!(&after.problems[0].kept, &["production".to_owned()]);
            proptest::prop_assert_eq!(&after.dirs["wine/production"], &before["wine/production"]);
        }
    }
}
