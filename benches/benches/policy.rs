//! policy-gen: verify 200 generated tenants × 20 pods (plus the platform namespaces).
//!
//! Goal (issue 7): < 2 s. Run: `cargo bench -p benches --bench policy`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use manifests_core::tenant::{Isolation, TENANT_LABEL};
use manifests_core::{ManifestSet, TenantSpec};
use policy_gen::{Cluster, ContainerPort, Pod, Proto, isolation_policies, verify};

const TENANTS: usize = 200;
const PODS: usize = 20;

fn setup() -> (ManifestSet, Cluster) {
    let mut manifests = ManifestSet::new();
    let mut cluster = Cluster::new().with_platform(&Isolation::default());
    for t in 0..TENANTS {
        let ns = format!("team-{t:03}");
        let spec = TenantSpec {
            namespace: ns.clone(),
            ..Default::default()
        };
        manifests
            .extend(isolation_policies(&spec).expect("policies"))
            .expect("unique");
        cluster.add_namespace(&ns, BTreeMap::from([(TENANT_LABEL.to_owned(), ns.clone())]));
        for p in 0..PODS {
            cluster.add_pod(Pod {
                namespace: ns.clone(),
                name: format!("pod-{p}"),
                labels: BTreeMap::from([("app".to_owned(), format!("app-{}", p % 5))]),
                ip: None,
                ports: vec![ContainerPort {
                    name: Some("http".into()),
                    port: 8080,
                    proto: Proto::Tcp,
                }],
            });
        }
    }
    (manifests, cluster)
}

fn policy(c: &mut Criterion) {
    let (manifests, cluster) = setup();
    let report = verify(&manifests, &cluster).expect("verify");
    assert!(report.is_clean());
    let mut group = c.benchmark_group("verify");
    group.sample_size(10);
    group.bench_function("200_tenants_x_20_pods", |b| {
        b.iter(|| black_box(verify(&manifests, &cluster).expect("verify")))
    });
    group.finish();
}

criterion_group!(benches, policy);
criterion_main!(benches);
