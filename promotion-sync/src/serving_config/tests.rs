use super::*;

fn config() -> ServingConfig {
    let profiles = BTreeMap::from([
        (
            "large".to_owned(),
            Profile {
                replicas: Some(3),
                ..Default::default()
            },
        ),
        ("auto".to_owned(), Profile::default()),
        (DEFAULT_PROFILE.to_owned(), Profile::default()),
    ]);
    let rules = vec![ProfileRule {
        models: "fraud-*".into(),
        channels: Some(vec!["production".into()]),
        profile: "auto".into(),
    }];
    ServingConfig::new(profiles, rules, Vec::new()).unwrap()
}

fn deployment(model: &str, channel: &str) -> Deployment {
    Deployment {
        model: model.into(),
        version: 4,
        channel: channel.into(),
        ..Default::default()
    }
}

fn profile_of(config: &ServingConfig, d: &Deployment) -> Option<String> {
    config.profile_for(d).unwrap().map(|p| p.name.clone())
}

#[test]
fn the_version_tag_then_the_model_tag_then_rules_then_default_pick_the_profile() {
    let config = config();
    let mut d = deployment("fraud-eu", "production");
    assert_eq!(profile_of(&config, &d).as_deref(), Some("auto"));
    assert_eq!(
        profile_of(&config, &deployment("fraud-eu", "staging")).as_deref(),
        Some("default"),
        "the rule names production only"
    );
    d.model_profile = Some("large".into());
    assert_eq!(profile_of(&config, &d).as_deref(), Some("large"));
    d.tags.insert(PROFILE_TAG.into(), "default".into());
    assert_eq!(profile_of(&config, &d).as_deref(), Some("default"));
    assert_eq!(
        profile_of(&ServingConfig::default(), &deployment("x", "y")),
        None
    );
}

#[test]
fn a_tag_naming_no_profile_is_refused_with_the_tag_named() {
    let mut d = deployment("wine", "production");
    d.tags.insert(PROFILE_TAG.into(), "huge\n".into());
    let reason = config().profile_for(&d).unwrap_err();
    assert!(
        reason.contains("version tag mlflow-gitops.profile=\"huge\\n\""),
        "{reason}"
    );
    assert!(reason.contains("defined: auto, default, large"), "{reason}");
}

#[test]
fn configuration_errors_name_the_key() {
    let rule = |profile: &str| ProfileRule {
        models: "*".into(),
        channels: None,
        profile: profile.into(),
    };
    let error = ServingConfig::new(BTreeMap::new(), vec![rule("gpu")], Vec::new()).unwrap_err();
    assert!(error.to_string().contains("rules[0].profile"), "{error}");
    let split = |pairs: &[(&str, u32)]| TrafficRule {
        models: "*".into(),
        route: "production".into(),
        split: pairs.iter().map(|(c, w)| ((*c).to_owned(), *w)).collect(),
        mirror: None,
    };
    let error = ServingConfig::new(
        BTreeMap::new(),
        Vec::new(),
        vec![split(&[("production", 90)])],
    )
    .unwrap_err();
    assert!(error.to_string().contains("sum to 90"), "{error}");
    let mut to_itself = split(&[("production", 100)]);
    to_itself.mirror = Some(MirrorRule {
        to: "production".into(),
        percent: 100,
    });
    let error = ServingConfig::new(BTreeMap::new(), Vec::new(), vec![to_itself]).unwrap_err();
    assert!(
        error.to_string().contains("traffic[0].mirror.to"),
        "{error}"
    );
    let bad = BTreeMap::from([(
        "gpu".to_owned(),
        Profile {
            replicas: Some(-1),
            ..Default::default()
        },
    )]);
    let error = ServingConfig::new(bad, Vec::new(), Vec::new()).unwrap_err();
    assert!(
        error.to_string().contains("profiles.gpu.replicas"),
        "{error}"
    );
}

#[test]
fn a_split_over_a_missing_channel_falls_back_and_says_so() {
    let rule = TrafficRule {
        models: "*".into(),
        route: "production".into(),
        split: BTreeMap::from([("production".into(), 90), ("challenger".into(), 10)]),
        mirror: Some(MirrorRule {
            to: "staging".into(),
            percent: 100,
        }),
    };
    let all = |c: &str| Some(format!("s3://m/{c}"));
    let (traffic, note) = resolve_traffic(&rule, all);
    assert_eq!(
        traffic.unwrap().to_string(),
        "production 90%, challenger 10%; mirror staging 100%"
    );
    assert_eq!(note, None);
    let only_production = |c: &str| (c == "production").then(|| "s3://m/1".to_owned());
    let (traffic, note) = resolve_traffic(&rule, only_production);
    assert_eq!(traffic.unwrap().to_string(), "production 100%");
    assert_eq!(
        note.as_deref(),
        Some("route production: challenger, staging not served; traffic production 100%")
    );
}

#[test]
fn globs_match_whole_names() {
    for (pattern, text, matches) in [
        ("fraud-*", "fraud-eu", true),
        ("fraud-*", "fraud-", true),
        ("fraud-*", "anti-fraud-eu", false),
        ("*-eu", "fraud-eu", true),
        ("f?aud*", "fraud", true),
        ("*", "", true),
        ("a*b*c", "aXbYbZc", true),
        ("a*b*c", "aXbYbZ", false),
        ("Wine Quality / *", "Wine Quality / ElasticNet", true),
        ("ß*", "ßeta", true),
    ] {
        assert_eq!(glob_match(pattern, text), matches, "{pattern} {text}");
    }
}
