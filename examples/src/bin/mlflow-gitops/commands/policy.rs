//! `policy verify PATH…`

use std::path::{Path, PathBuf};

use manifests_core::ManifestSet;
use policy_gen::{Cluster, TenantRule, VerifyOptions, verify_with};

use crate::failure::{Failure, Outcome, usage};

/// Verifies the manifests in `paths`; exit 1 when the report has findings (or, with `strict`,
/// warnings).
pub fn verify(
    paths: &[PathBuf],
    json: bool,
    tenants: Option<TenantRule>,
    strict: bool,
    config: Option<&Path>,
) -> Outcome {
    let isolation = match config {
        Some(path) => super::tenant::read_spec(path)?.isolation,
        None => Default::default(),
    };
    let mut set = ManifestSet::new();
    for path in paths {
        for file in yaml_files(path)? {
            let text = std::fs::read_to_string(&file)?;
            set.extend_from_yaml(&text, &file.display().to_string())
                .map_err(usage)?;
        }
    }
    let cluster = Cluster::from_manifests(&set)
        .map_err(usage)?
        .with_platform(&isolation);
    let options = VerifyOptions::new()
        .tenants(tenants.unwrap_or_default())
        .isolation(isolation);
    let report = verify_with(&set, &cluster, &options).map_err(usage)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    let shown = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    if !report.is_clean() {
        Err(Failure::Runtime(anyhow::anyhow!(
            "{} isolation findings in {shown}",
            report.findings()
        )))
    } else if strict && report.warnings() > 0 {
        Err(Failure::Runtime(anyhow::anyhow!(
            "{} warnings in {shown} (--strict)",
            report.warnings()
        )))
    } else {
        Ok(())
    }
}

/// `path` itself when it is a file, else the YAML files below it, in name order.
fn yaml_files(path: &Path) -> Outcome<Vec<PathBuf>> {
    let metadata =
        std::fs::metadata(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let entries = std::fs::read_dir(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.is_dir() {
            files.extend(yaml_files(&path)?);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}
