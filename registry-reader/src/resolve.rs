//! Where a version's files are: MLflow's location strings, classified and resolved.
//!
//! Mirrors MLflow's own code: `get_model_version_download_uri` is `storage_location or source`;
//! `models:/m-<id>` is a logged model (`logged_models.artifact_location`); `runs:/<run>/<path>` is
//! `runs.artifact_uri + "/" + path`; `mlflow-artifacts:/<path>` is the tracking server's
//! `--artifacts-destination` + `/<path>`; a bare path is a local file (MLflow's
//! `path_to_local_file_uri`, i.e. Python's `pathlib.Path.as_uri`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Longest location accepted. MLflow's column is VARCHAR(500), but SQLite does not enforce it.
pub const MAX_LOCATION_LEN: usize = 4096;

/// A location string, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A concrete URI (`s3://`, `file://`, `gs://`, …), ready to copy from.
    Uri(String),
    /// `models:/m-<id>`: a logged model (MLflow ≥ 3).
    LoggedModel(String),
    /// `runs:/<run_id>/<path>`.
    Run {
        /// The run id.
        run_id: String,
        /// The path under the run's artifact root (may be empty).
        path: String,
    },
    /// `models:/<name>/<version>`: another registered version's files.
    RegisteredVersion {
        /// Registered model name.
        name: String,
        /// Its version.
        version: u64,
    },
    /// `mlflow-artifacts:/<path>`: relative to the tracking server's artifacts destination.
    MlflowArtifacts(String),
}

/// Classifies a location string from the registry; `Err` says why it cannot be served.
pub fn classify(location: &str) -> Result<Location, String> {
    if location.is_empty() {
        return Err("the version has no source and no storage location".to_owned());
    }
    if location.len() > MAX_LOCATION_LEN {
        return Err(format!(
            "its location is {} bytes long (limit {MAX_LOCATION_LEN})",
            location.len()
        ));
    }
    if location.chars().any(char::is_control) {
        return Err(format!(
            "its location {location:?} contains control characters"
        ));
    }
    if location.split(['/', '\\']).any(|segment| segment == "..") {
        return Err(format!(
            "its location {location:?} contains a `..` path segment"
        ));
    }
    if let Some(rest) = location.strip_prefix("models:/") {
        return classify_models_uri(location, rest.trim_start_matches('/'));
    }
    if let Some(rest) = location.strip_prefix("runs:/") {
        let rest = rest.trim_start_matches('/');
        let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
        if run_id.is_empty()
            || !run_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(format!("{location:?} names no valid run id"));
        }
        return Ok(Location::Run {
            run_id: run_id.to_owned(),
            path: path.trim_matches('/').to_owned(),
        });
    }
    if let Some(rest) = location.strip_prefix("mlflow-artifacts:") {
        // `mlflow-artifacts://host:port/path` names a server; the path is what maps to the destination.
        let path = match rest.strip_prefix("//") {
            Some(with_host) => with_host.split_once('/').map_or("", |(_, p)| p),
            None => rest,
        };
        return Ok(Location::MlflowArtifacts(path.trim_matches('/').to_owned()));
    }
    if location.starts_with('/') {
        return Ok(Location::Uri(file_uri(location)));
    }
    if has_scheme(location) {
        return Ok(Location::Uri(location.to_owned()));
    }
    Err(format!(
        "its location {location:?} is a relative path; MLflow resolves those against the writer's \
         working directory, which a reader cannot know"
    ))
}

fn classify_models_uri(location: &str, rest: &str) -> Result<Location, String> {
    if rest.starts_with("m-") && !rest.contains('/') {
        return Ok(Location::LoggedModel(rest.to_owned()));
    }
    match rest.rsplit_once('/') {
        Some((name, version)) if !name.is_empty() => match version.parse::<u64>() {
            Ok(version) => Ok(Location::RegisteredVersion {
                name: name.to_owned(),
                version,
            }),
            Err(_) => Err(format!(
                "{location:?} names a stage or `latest`, not a fixed version; its files would change \
                 under the deployment"
            )),
        },
        _ => Err(format!(
            "{location:?} is not a logged model (models:/m-<id>) nor a registered version \
             (models:/<name>/<version>)"
        )),
    }
}

/// Whether `s` starts with a URI scheme (`[a-zA-Z][a-zA-Z0-9+.-]*:`), as opposed to a path.
fn has_scheme(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
}

/// Python's `quote(path, safe="/")`: everything but ASCII letters, digits, `_.-~/` is escaped.
const PATH_QUOTE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');

/// The `file://` URI of an absolute local path, byte for byte as MLflow's `path_to_local_file_uri`.
pub fn file_uri(path: &str) -> String {
    format!("file://{}", utf8_percent_encode(path, PATH_QUOTE))
}

/// `base` + `/` + `path`, the way MLflow appends an artifact path to a URI; a bare-path base
/// becomes a `file://` URI.
pub fn join(base: &str, path: &str) -> String {
    let base = if base.starts_with('/') {
        file_uri(base)
    } else {
        base.to_owned()
    };
    if path.is_empty() {
        return base;
    }
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_mlflow_location() {
        let cases = [
            (
                "models:/m-8cb675fc40e747d8ae52afb5f6e9a102",
                Location::LoggedModel("m-8cb675fc40e747d8ae52afb5f6e9a102".into()),
            ),
            (
                "runs:/979ad34b/sk_model",
                Location::Run {
                    run_id: "979ad34b".into(),
                    path: "sk_model".into(),
                },
            ),
            (
                "runs:/979ad34b",
                Location::Run {
                    run_id: "979ad34b".into(),
                    path: String::new(),
                },
            ),
            (
                "models:/wine quality/3",
                Location::RegisteredVersion {
                    name: "wine quality".into(),
                    version: 3,
                },
            ),
            (
                "mlflow-artifacts:/2/models/m-1/artifacts",
                Location::MlflowArtifacts("2/models/m-1/artifacts".into()),
            ),
            (
                "mlflow-artifacts://mlflow:5000/2/x",
                Location::MlflowArtifacts("2/x".into()),
            ),
            (
                "s3://bucket/1/abc/artifacts/model",
                Location::Uri("s3://bucket/1/abc/artifacts/model".into()),
            ),
            (
                "file:///tmp/a/model",
                Location::Uri("file:///tmp/a/model".into()),
            ),
            (
                "/tmp/my models/ü",
                Location::Uri("file:///tmp/my%20models/%C3%BC".into()),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(classify(input), Ok(expected), "{input}");
        }
    }

    #[test]
    fn unservable_locations_say_why() {
        for (input, needle) in [
            ("", "no source"),
            ("models:/wine/Production", "stage or `latest`"),
            ("models:/wine@champion", "not a logged model"),
            ("relative/dir", "relative path"),
            ("s3://b/x\ny", "control characters"),
            ("/srv/models/../../etc", "`..`"),
            ("runs://", "no valid run id"),
        ] {
            let err = classify(input).unwrap_err();
            assert!(err.contains(needle), "{input:?}: {err}");
        }
        assert!(
            classify(&format!("s3://b/{}", "x".repeat(MAX_LOCATION_LEN)))
                .unwrap_err()
                .contains("bytes long")
        );
    }

    #[test]
    fn join_appends_like_mlflow() {
        assert_eq!(
            join("s3://b/1/run/artifacts", "model"),
            "s3://b/1/run/artifacts/model"
        );
        assert_eq!(
            join("s3://b/1/run/artifacts/", "/model"),
            "s3://b/1/run/artifacts/model"
        );
        assert_eq!(join("/tmp/a", ""), "file:///tmp/a");
    }
}
