//! `policy verify DIR`

use std::path::{Path, PathBuf};

use manifests_core::{Manifest, ManifestSet};
use policy_gen::{Cluster, verify as verify_set};

use crate::failure::{Failure, Outcome, usage};

/// Verifies the manifests under `dir`; exit 1 when the report has findings.
pub fn verify(dir: &Path, json: bool) -> Outcome {
    let mut set = ManifestSet::new();
    for file in yaml_files(dir)? {
        let text = std::fs::read_to_string(&file)?;
        let context = file.display().to_string();
        for body in manifests_core::yaml::from_documents::<serde_json::Value>(&text, &context)
            .map_err(usage)?
        {
            // kustomize's own files are not cluster objects.
            if body.get("kind").and_then(|k| k.as_str()) == Some("Kustomization") {
                continue;
            }
            set.insert(Manifest::from_value(body).map_err(|e| usage(format!("{context}: {e}")))?)
                .map_err(|e| usage(format!("{context}: {e}")))?;
        }
    }
    let cluster = Cluster::from_manifests(&set)?.with_platform(&Default::default());
    let report = verify_set(&set, &cluster)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{report}");
    }
    if report.is_clean() {
        Ok(())
    } else {
        Err(Failure::Runtime(anyhow::anyhow!(
            "isolation findings in {}",
            dir.display()
        )))
    }
}

fn yaml_files(dir: &Path) -> Outcome<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| usage(format!("{}: {e}", dir.display())))?;
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
