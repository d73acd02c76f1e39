//! Render a team's workspace to stdout as one multi-document YAML stream.
//!
//! `cargo run -p manifests-core --example render_tenant -- team-a`

use manifests_core::{TenantSpec, tenant_components};

fn main() -> Result<(), manifests_core::Error> {
    let namespace = std::env::args().nth(1).unwrap_or_else(|| "team-a".into());
    let spec = TenantSpec {
        namespace,
        ..Default::default()
    };
    print!("{}", tenant_components(&spec)?.to_yaml()?);
    Ok(())
}
