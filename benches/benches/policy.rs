//! policy-gen: verify 200 generated tenants × 20 pods (plus the platform namespaces), with every
//! finding kind: leaks, default deny, DNS, ingress into the 4 pods per tenant that serve users,
//! selectors, and what tenants could undo; then the same with each tenant's ClusterNetworkPolicy.
//!
//! Goal (issues 7 and 21): < 2 s. Run: `cargo bench -p benches --bench policy`.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use manifests_core::tenant::{ClusterIsolation, Isolation, TENANT_LABEL};
use manifests_core::{ManifestSet, TenantSpec};
use policy_gen::{Cluster, ContainerPort, Pod, Proto, isolation_policies, verify};

const TENANTS: usize = 200;
const PODS: usize = 20;

fn setup(cluster_policy: bool) -> (ManifestSet, Cluster) {
    let mut manifests = ManifestSet::new();
    let mut cluster = Cluster::new().with_platform(&Isolation::default());
    for t in 0..TENANTS {
        let ns = format!("team-{t:03}");
        let mut spec = TenantSpec {
            namespace: ns.clone(),
            ..Default::default()
        };
        if cluster_policy {
            spec.isolation.cluster_network_policy = Some(ClusterIsolation::default());
        }
        manifests
            .extend(isolation_policies(&spec).expect("policies"))
            .expect("unique");
        cluster.add_namespace(&ns, BTreeMap::from([(TENANT_LABEL.to_owned(), ns.clone())]));
        for p in 0..PODS {
            let id = cluster.add_pod(Pod {
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
            if p % 5 == 0 {
                cluster.mark_user_facing(id);
            }
        }
    }
    (manifests, cluster)
}

fn policy(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    group.sample_size(10);
    for (name, cluster_policy) in [
        ("200_tenants_x_20_pods", false),
        ("200_tenants_x_20_pods_cluster_policy", true),
    ] {
        let (manifests, cluster) = setup(cluster_policy);
        let report = verify(&manifests, &cluster).expect("verify");
        assert!(report.is_clean(), "{report}");
        assert_eq!(report.undoable_isolation.is_empty(), cluster_policy);
        group.bench_function(name, |b| {
            b.iter(|| black_box(verify(&manifests, &cluster).expect("verify")))
        });
    }
    group.finish();
}

criterion_group!(benches, policy);
criterion_main!(benches);
