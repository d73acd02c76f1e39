//! Which MLflow schema generation a registry database has, from its catalog.
//!
//! Feature detection instead of alembic revision numbers, so unknown future revisions that only add
//! tables still read: `registered_model_aliases` (MLflow ≥ 2.3), `storage_location` (≥ 2.8),
//! `logged_models` (≥ 3.0), the `workspace` key column (≥ 3.10).

use std::collections::{BTreeMap, BTreeSet};

/// What the registry database offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Schema {
    /// `workspace` column on the registry tables (MLflow ≥ 3.10).
    pub(crate) workspace: bool,
    /// `model_versions.storage_location` (MLflow ≥ 2.8).
    pub(crate) storage_location: bool,
    /// `registered_model_aliases` (MLflow ≥ 2.3).
    pub(crate) aliases: bool,
    /// `logged_models` (MLflow ≥ 3.0; absent when the registry has its own database).
    pub(crate) logged_models: bool,
    /// `runs` (absent when the registry has its own database).
    pub(crate) runs: bool,
    /// `model_version_tags`.
    pub(crate) version_tags: bool,
    /// `registered_model_tags` (needed to recognise prompts).
    pub(crate) model_tags: bool,
}

impl Schema {
    /// Reads the schema from (table, column) catalog rows; `Err` names what makes it no registry.
    pub(crate) fn from_catalog(
        rows: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Schema, String> {
        let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (table, column) in rows {
            // MySQL on case-insensitive file systems may report upper-case names.
            tables
                .entry(table.to_ascii_lowercase())
                .or_default()
                .insert(column.to_ascii_lowercase());
        }
        let versions = tables
            .get("model_versions")
            .ok_or("there is no `model_versions` table (is this the tracking database of an MLflow without a registry, or not MLflow at all?)")?;
        for needed in [
            "name",
            "version",
            "current_stage",
            "source",
            "last_updated_time",
        ] {
            if !versions.contains(needed) {
                return Err(format!("`model_versions` has no `{needed}` column"));
            }
        }
        let has = |t: &str| tables.contains_key(t);
        Ok(Schema {
            workspace: versions.contains("workspace"),
            storage_location: versions.contains("storage_location"),
            aliases: has("registered_model_aliases"),
            logged_models: has("logged_models"),
            runs: has("runs"),
            version_tags: has("model_version_tags"),
            model_tags: has("registered_model_tags"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog(tables: &[(&str, &[&str])]) -> Vec<(String, String)> {
        tables
            .iter()
            .flat_map(|(t, cols)| cols.iter().map(move |c| (t.to_string(), c.to_string())))
            .collect()
    }

    #[test]
    fn generations_are_told_apart() {
        let v1 = [
            "name",
            "version",
            "current_stage",
            "source",
            "run_id",
            "last_updated_time",
        ];
        let one =
            Schema::from_catalog(catalog(&[("model_versions", &v1), ("runs", &["run_uuid"])]))
                .unwrap();
        assert_eq!(
            one,
            Schema {
                runs: true,
                ..Schema::default()
            }
        );

        let mut v3 = v1.to_vec();
        v3.extend(["storage_location", "workspace"]);
        let three = Schema::from_catalog(catalog(&[
            ("MODEL_VERSIONS", &v3),
            ("registered_model_aliases", &["alias"]),
            ("logged_models", &["model_id"]),
            ("model_version_tags", &["key"]),
            ("registered_model_tags", &["key"]),
        ]))
        .unwrap();
        assert!(three.workspace && three.storage_location && three.aliases && three.logged_models);
        assert!(!three.runs);
    }

    #[test]
    fn not_a_registry() {
        assert!(
            Schema::from_catalog(catalog(&[("runs", &["run_uuid"])]))
                .unwrap_err()
                .contains("model_versions")
        );
        let err = Schema::from_catalog(catalog(&[("model_versions", &["name"])])).unwrap_err();
        assert!(err.contains("version"), "{err}");
    }
}
