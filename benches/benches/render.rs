//! manifests-core: render 10,000 serving specs to YAML (the render step of a cold pass over a
//! large registry), per target.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use manifests_core::{KServe, MlflowServe, ServingSpec, ServingTarget};

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
    let mut group = c.benchmark_group("render_10k_specs");
    group.sample_size(10);
    group.bench_function("mlflow_serve", |b| {
        b.iter(|| black_box(render_all(&MlflowServe::default(), &specs)))
    });
    group.bench_function("kserve", |b| {
        b.iter(|| black_box(render_all(&KServe::default(), &specs)))
    });
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
