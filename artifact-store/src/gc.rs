//! Optional garbage collection of mirrors nobody references any more.

use std::collections::{BTreeMap, BTreeSet};

use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use crate::copy::store_error;
use crate::manifest::MANIFEST_NAME;
use crate::{Location, Result, Side};

/// What [`collect_garbage`] removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Mirrors removed, as `<model>/<version>`.
    pub removed: Vec<String>,
    /// Objects deleted in all.
    pub objects_deleted: usize,
}

/// Removes mirrors under `root` (laid out `<model>/<version>/…`) that are not in `referenced`
/// (`<model>/<version>` strings), keeping the `keep_newest` highest unreferenced versions of each
/// model for a quick rollback. Within a mirror the completion manifest goes first, so a mirror
/// interrupted half-deleted is incomplete, never complete with files missing.
///
/// Off unless called: the reconciler runs it only when the operator asks.
pub async fn collect_garbage(
    root: &Location,
    referenced: &BTreeSet<String>,
    keep_newest: usize,
) -> Result<GcReport> {
    let prefix = root.prefix();
    let listed: Vec<object_store::ObjectMeta> = root
        .store()
        .list((!prefix.as_ref().is_empty()).then_some(prefix))
        .try_collect()
        .await
        .map_err(|source| store_error("list", Side::Destination, root.uri().to_owned(), source))?;

    // model -> version -> relative paths of its objects
    let mut mirrors: BTreeMap<String, BTreeMap<String, Vec<Path>>> = BTreeMap::new();
    for meta in listed {
        let Some(parts) = meta.location.prefix_match(prefix) else {
            continue;
        };
        let relative: Path = parts.collect();
        let mut segments = relative.parts();
        let (Some(model), Some(version)) = (segments.next(), segments.next()) else {
            continue;
        };
        mirrors
            .entry(model.as_ref().to_owned())
            .or_default()
            .entry(version.as_ref().to_owned())
            .or_default()
            .push(relative);
    }

    let mut report = GcReport::default();
    for (model, versions) in mirrors {
        let mut unreferenced: Vec<(&String, &Vec<Path>)> = versions
            .iter()
            .filter(|(version, _)| !referenced.contains(&format!("{model}/{version}")))
            .collect();
        // Newest first: MLflow versions are integers; anything else sorts after them by text.
        unreferenced.sort_by(|a, b| version_order(b.0).cmp(&version_order(a.0)));
        for (version, objects) in unreferenced.into_iter().skip(keep_newest) {
            let mut objects = objects.clone();
            objects.sort_by_key(|p| p.filename() != Some(MANIFEST_NAME));
            for relative in &objects {
                root.store()
                    .delete(&root.key(relative))
                    .await
                    .map_err(|source| {
                        store_error("delete", Side::Destination, root.uri_of(relative), source)
                    })?;
            }
            report.objects_deleted += objects.len();
            report.removed.push(format!("{model}/{version}"));
        }
    }
    Ok(report)
}

fn version_order(version: &str) -> (u8, u64, &str) {
    match version.parse::<u64>() {
        Ok(n) => (1, n, ""),
        Err(_) => (0, 0, version),
    }
}
