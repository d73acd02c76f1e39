//! `tenant render`

use std::path::Path;

use manifests_core::{ManifestSet, TenantSpec, tenant_components};
use policy_gen::isolation_policies;

use crate::failure::{Outcome, usage};

/// Writes the workspace and its isolation policies to `out`, with a kustomization.yaml.
pub fn render(namespace: &str, config: Option<&Path>, out: &Path) -> Outcome {
    let mut spec = match config {
        None => TenantSpec::default(),
        Some(path) => read_spec(path)?,
    };
    spec.namespace = namespace.to_owned();
    let mut set: ManifestSet = tenant_components(&spec).map_err(usage)?;
    set.extend(isolation_policies(&spec).map_err(usage)?)?;
    std::fs::create_dir_all(out)?;
    let mut names = Vec::new();
    for (name, text) in set.files()? {
        std::fs::write(out.join(&name), text)?;
        names.push(name);
    }
    let kustomization = manifests_core::kustomization(&names)?;
    std::fs::write(out.join(manifests_core::KUSTOMIZATION_FILE), kustomization)?;
    println!(
        "{} objects in {} files under {}",
        set.len(),
        names.len() + 1,
        out.display()
    );
    Ok(())
}

/// Reads a TenantSpec from YAML, or TOML by extension.
pub fn read_spec(path: &Path) -> Outcome<TenantSpec> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("--config {}: {e}", path.display())))?;
    let context = path.display().to_string();
    if path.extension().is_some_and(|e| e == "toml") {
        return toml::from_str(&text).map_err(|e| usage(format!("--config {context}: {e}")));
    }
    let mut docs =
        manifests_core::yaml::from_documents::<TenantSpec>(&text, &context).map_err(usage)?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        n => Err(usage(format!(
            "--config {context}: expected one TenantSpec document, found {n}"
        ))),
    }
}
