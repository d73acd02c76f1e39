//! manifests-core: render 10,000 serving specs to YAML (the render step of a cold pass over a
//! large registry), per target: with the targets' own settings, and with a serving profile on
//! every spec and a 90/10 traffic split on every route.

use std::collections::BTreeMap;
use std::hint::black_box;

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use manifests_core::{KServe, MlflowServe, ServingSpec, ServingTarget, conformance};

fn specs() -> Vec<ServingSpec> {
    (0..10_000)
        .map(|i| ServingSpec {
            namespace: "team-a".into(),
            model: format!("Wine Model {i}"),
            version: (i % 17 + 1).to_string(),
            channel: if i % 2 == 0 { "production" } else { "champion" }.into(),
            model_uri: format!("s3://mlflow/models/wine-model-{i}/{}", i % 17 + 1),
            run_id: Some(format!("{i:032x}")),
            source: Some(format!("models:/m-{i:032x}")),
            tags: BTreeMap::from([("owner".into(), "team-a".into())]),
            install: Vec::new(),
            profile: None,
            traffic: None,
        })
        .collect()
}

/// [`specs`] with a profile each (the conformance suite's GPU and autoscaled ones, alternating)
/// and, on every production route, 90% to itself and 10% to `challenger` (plus, when `mirror`, a
/// full copy to `staging`).
fn profiled_specs(mirror: bool) -> Vec<ServingSpec> {
    let profiles = conformance::sample_profiles();
    specs()
        .into_iter()
        .enumerate()
        .map(|(i, mut spec)| {
            spec.profile = Some(Arc::clone(&profiles[i / 2 % 2]));
            if spec.channel == "production" {
                let uri = spec.model_uri.clone();
                spec.traffic = Some(conformance::sample_split(&uri, &uri, mirror));
            }
            spec
        })
        .collect()
}

fn render_all(target: &dyn ServingTarget, specs: &[ServingSpec]) -> usize {
    specs
        .iter()
        .map(|spec| {
            target
                .render(spec)
                .and_then(|set| set.files())
                .map(|files| files.iter().map(|(_, text)| text.len()).sum::<usize>())
                .expect("render")
        })
        .sum()
}

fn render(c: &mut Criterion) {
    let specs = specs();
    // KServe splits in Standard mode and has no mirror.
    let standard = KServe {
        deployment_mode: Some("Standard".into()),
        ..KServe::default()
    };
    let (serve, kserve) = (MlflowServe::default(), KServe::default());
    let (profiled, profiled_kserve) = (profiled_specs(true), profiled_specs(false));
    let cases: [(&str, &dyn ServingTarget, &[ServingSpec]); 4] = [
        ("mlflow_serve", &serve, &specs),
        ("kserve", &kserve, &specs),
        ("mlflow_serve_profiles_and_splits", &serve, &profiled),
        ("kserve_profiles_and_splits", &standard, &profiled_kserve),
    ];
    let mut group = c.benchmark_group("render_10k_specs");
    group.sample_size(10);
    for (name, target, specs) in cases {
        // Bytes of YAML written: profiles and splits write more objects and fields per spec.
        let bytes = render_all(target, specs) as u64;
        group.throughput(Throughput::Bytes(bytes));
        group.bench_function(name, |b| b.iter(|| black_box(render_all(target, specs))));
    }
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
