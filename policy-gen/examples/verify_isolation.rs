//! Generate isolation for three teams and print who reaches whom.
//!
//! `cargo run -p policy-gen --example verify_isolation`

use manifests_core::{ManifestSet, TenantSpec, tenant_components};
use policy_gen::{Cluster, isolation_policies, verify};

fn main() -> Result<(), policy_gen::Error> {
    let mut manifests = ManifestSet::new();
    for team in ["team-a", "team-b", "team-c"] {
        let spec = TenantSpec {
            namespace: team.into(),
            ..Default::default()
        };
        manifests.extend(tenant_components(&spec)?)?;
        manifests.extend(isolation_policies(&spec)?)?;
    }
    let cluster = Cluster::from_manifests(&manifests)?.with_platform(&Default::default());
    println!("{}", verify(&manifests, &cluster)?);
    Ok(())
}
