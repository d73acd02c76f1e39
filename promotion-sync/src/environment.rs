//! The model's environment against the serving image's: what MLflow recorded a model needs
//! (`requirements.txt`, and each flavor's library version in `MLmodel`) compared with the exact
//! package list of the image that will serve it, before any manifest for it changes. A pure
//! function of the three texts; the pass reads them from the mirror.

use std::collections::BTreeMap;
use std::fmt;

/// A package list: normalized name → version, as `pip freeze` writes it (`name==version`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packages(BTreeMap<String, String>);

impl Packages {
    /// Reads `name==version` lines; comments, blank lines and pip options are skipped.
    pub fn parse(text: &str) -> Packages {
        Packages(
            requirements(text)
                .filter_map(|r| r.ok())
                .filter_map(|r| Some((r.name, r.pinned?)))
                .collect(),
        )
    }

    /// The version of `name` (any spelling pip accepts), if the list holds it.
    pub fn version(&self, name: &str) -> Option<&str> {
        self.0.get(&normalize(name)).map(String::as_str)
    }
}

/// Why a model cannot be served by the image as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The model needs a package the image does not hold.
    Missing {
        /// The requirement as the model's `requirements.txt` (or its flavor) states it.
        requirement: String,
    },
    /// A flavor's library differs from the model's in major.minor: pickles and saved formats are
    /// not promised to load across those.
    FlavorVersion {
        /// The MLflow flavor (`sklearn`, `xgboost`, …).
        flavor: String,
        /// The package.
        package: String,
        /// The version the model was saved with.
        model: String,
        /// The version in the image.
        image: String,
    },
    /// A requirement that names no package index entry (a URL, a path): no image holds it.
    Unpinnable {
        /// The line.
        line: String,
    },
}

impl Mismatch {
    /// The requirement that installs what is missing, when an environment step can
    /// ([`is_installable`](manifests_core::serving::environment::is_installable)): the model's
    /// own requirement, or its flavor library at the version it was saved with.
    pub fn installable(&self) -> Option<String> {
        let requirement = match self {
            Mismatch::Missing { requirement } => requirement.clone(),
            Mismatch::FlavorVersion { package, model, .. } => format!("{package}=={model}"),
            Mismatch::Unpinnable { .. } => return None,
        };
        manifests_core::serving::environment::is_installable(&requirement).then_some(requirement)
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Missing { requirement } => write!(f, "needs {requirement}, not in the image"),
            Mismatch::FlavorVersion {
                flavor,
                package,
                model,
                image,
            } => write!(
                f,
                "flavor {flavor} was saved with {package} {model}, the image has {image}"
            ),
            Mismatch::Unpinnable { line } => {
                write!(
                    f,
                    "requirement {line:?} is not a package the image can hold"
                )
            }
        }
    }
}

/// The library each flavor loads with, and the `MLmodel` key holding the version it was saved
/// with (MLflow's flavor modules write these keys).
const FLAVOR_LIBRARIES: &[(&str, &str, &str)] = &[
    ("sklearn", "scikit-learn", "sklearn_version"),
    ("xgboost", "xgboost", "xgb_version"),
    ("lightgbm", "lightgbm", "lgb_version"),
    ("catboost", "catboost", "catboost_version"),
    ("pytorch", "torch", "pytorch_version"),
    ("tensorflow", "tensorflow", "keras_version"),
    ("keras", "keras", "keras_version"),
    ("statsmodels", "statsmodels", "statsmodels_version"),
    ("prophet", "prophet", "prophet_version"),
    ("transformers", "transformers", "transformers_version"),
    ("onnx", "onnx", "onnx_version"),
    ("spacy", "spacy", "spacy_version"),
];

/// What `mlmodel` (the `MLmodel` file) and `requirements` (the model's `requirements.txt`, if
/// MLflow wrote one) need that `image` lacks. An `MLmodel` that cannot be read is an error
/// naming what is wrong with it.
pub fn check(
    mlmodel: &str,
    requirements: Option<&str>,
    image: &Packages,
) -> Result<Vec<Mismatch>, String> {
    let flavors = flavors(mlmodel)?;
    let mut out = Vec::new();
    for requirement in requirements.map(self::requirements).into_iter().flatten() {
        match requirement {
            Err(line) => out.push(Mismatch::Unpinnable { line }),
            Ok(r) if image.version(&r.name).is_none() => out.push(Mismatch::Missing {
                requirement: r.text,
            }),
            Ok(_) => {}
        }
    }
    for (flavor, saved) in &flavors {
        let Some((_, package, key)) = FLAVOR_LIBRARIES.iter().find(|(f, _, _)| f == flavor) else {
            continue;
        };
        let Some(model) = saved.get(*key) else {
            continue;
        };
        match image.version(package) {
            None => {
                let requirement = format!("{package}=={model}");
                if !out.iter().any(|m| matches!(m, Mismatch::Missing { requirement: r } if normalize(name_of(r)) == normalize(package))) {
                    out.push(Mismatch::Missing { requirement });
                }
            }
            Some(image) if major_minor(image) != major_minor(model) => {
                out.push(Mismatch::FlavorVersion {
                    flavor: flavor.clone(),
                    package: (*package).to_owned(),
                    model: model.clone(),
                    image: image.to_owned(),
                })
            }
            Some(_) => {}
        }
    }
    Ok(out)
}

/// Each flavor of an `MLmodel` with its scalar settings (as text).
fn flavors(mlmodel: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>, String> {
    #[derive(serde::Deserialize)]
    struct MlModel {
        #[serde(default)]
        flavors: BTreeMap<String, serde_json::Value>,
    }
    let parsed: MlModel =
        serde_saphyr::from_str(mlmodel).map_err(|e| format!("MLmodel is not valid YAML: {e}"))?;
    Ok(parsed
        .flavors
        .into_iter()
        .map(|(flavor, settings)| {
            let scalars = settings
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(key, value)| {
                    let text = match value {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Number(n) => n.to_string(),
                        _ => return None,
                    };
                    Some((key.clone(), text))
                })
                .collect();
            (flavor, scalars)
        })
        .collect())
}

/// One requirement line: its package name (normalized), the version it pins (`==`), and the
/// line as written.
struct Requirement {
    name: String,
    pinned: Option<String>,
    text: String,
}

/// The requirements of a `requirements.txt`; a line naming no package (a URL, a path) is an
/// `Err` with the line.
fn requirements(text: &str) -> impl Iterator<Item = Result<Requirement, String>> + '_ {
    text.lines()
        .map(|line| line.split_once(" #").map_or(line, |(code, _)| code).trim())
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('-'))
        .map(|line| {
            let spec = line.split(';').next().unwrap_or(line).trim();
            let name = name_of(spec);
            let rest = spec[name.len()..].trim_start();
            let rest = match rest.strip_prefix('[') {
                Some(extras) => extras.split_once(']').map_or("", |(_, r)| r).trim_start(),
                None => rest,
            };
            let valid_rest = rest.is_empty() || rest.starts_with(['=', '<', '>', '!', '~']);
            if name.is_empty() || !valid_rest || spec.contains("://") || spec.contains(" @ ") {
                return Err(line.to_owned());
            }
            let pinned = rest
                .strip_prefix("==")
                .filter(|v| !v.contains([',', '*']))
                .map(|v| v.trim().to_owned());
            Ok(Requirement {
                name: normalize(name),
                pinned,
                text: spec.to_owned(),
            })
        })
}

/// The leading package name of a requirement.
fn name_of(spec: &str) -> &str {
    let end = spec
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(spec.len());
    &spec[..end]
}

/// PEP 503: lower case, runs of `-`, `_` and `.` as one `-`.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// `1.9` of `1.9.1` (and of `1.9.1rc1`, `1.9`).
fn major_minor(version: &str) -> String {
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or_default();
    let minor: String = parts
        .next()
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    format!("{major}.{minor}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: &str = "# pinned\nmlflow==3.17.2\nscikit-learn==1.9.1\npandas==3.1.1\ncloudpickle==3.1.3\nnumpy==2.4.6\n";

    const SKLEARN_MLMODEL: &str = "artifact_path: model\nflavors:\n  python_function:\n    env:\n      virtualenv: python_env.yaml\n    loader_module: mlflow.sklearn\n    python_version: 3.11.7\n  sklearn:\n    pickled_model: model.pkl\n    serialization_format: cloudpickle\n    sklearn_version: 1.9.1\nmlflow_version: 3.17.2\n";

    #[test]
    fn a_model_the_image_holds_everything_for_passes() {
        let requirements = "mlflow==3.17.2\ncloudpickle==3.1.3\nnumpy==2.4.6\npandas==3.1.1\nscikit-learn==1.9.1\n";
        let image = Packages::parse(IMAGE);
        assert_eq!(
            check(SKLEARN_MLMODEL, Some(requirements), &image),
            Ok(vec![])
        );
    }

    #[test]
    fn a_missing_package_and_an_other_sklearn_are_named() {
        let requirements = "mlflow==3.17.2\nscikit_learn==1.7.2\nlightgbm==4.6.0 # boosted\n";
        let mlmodel = SKLEARN_MLMODEL.replace("sklearn_version: 1.9.1", "sklearn_version: 1.7.2");
        let got = check(&mlmodel, Some(requirements), &Packages::parse(IMAGE)).unwrap();
        assert_eq!(
            got,
            vec![
                Mismatch::Missing {
                    requirement: "lightgbm==4.6.0".into()
                },
                Mismatch::FlavorVersion {
                    flavor: "sklearn".into(),
                    package: "scikit-learn".into(),
                    model: "1.7.2".into(),
                    image: "1.9.1".into(),
                },
            ]
        );
        assert_eq!(
            got[1].to_string(),
            "flavor sklearn was saved with scikit-learn 1.7.2, the image has 1.9.1"
        );
    }

    #[test]
    fn a_flavor_without_its_library_is_missing_once() {
        let mlmodel = "flavors:\n  xgboost:\n    xgb_version: 2.1.4\n    data: model.xgb\n";
        let image = Packages::parse(IMAGE);
        let alone = check(mlmodel, None, &image).unwrap();
        assert_eq!(
            alone,
            vec![Mismatch::Missing {
                requirement: "xgboost==2.1.4".into()
            }]
        );
        let with_requirements = check(mlmodel, Some("XGBoost>=2\n"), &image).unwrap();
        assert_eq!(
            with_requirements,
            vec![Mismatch::Missing {
                requirement: "XGBoost>=2".into()
            }]
        );
    }

    #[test]
    fn patch_versions_markers_extras_and_options_are_understood() {
        let image = Packages::parse("scikit-learn==1.9.3\nboto3==1.44.8\n");
        let requirements = "--extra-index-url https://example.invalid/simple\n-r base.txt\nboto3[crt]==1.40.0 ; python_version >= \"3.9\"\n";
        let mlmodel = SKLEARN_MLMODEL;
        assert_eq!(check(mlmodel, Some(requirements), &image), Ok(vec![]));
    }

    #[test]
    fn urls_and_paths_are_never_in_an_image() {
        let got = check(
            "flavors: {}\n",
            Some("git+https://example.invalid/repo.git\nmypkg @ file:///wheels/mypkg.whl\n"),
            &Packages::default(),
        )
        .unwrap();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got.iter().all(|m| matches!(m, Mismatch::Unpinnable { .. })));
    }

    #[test]
    fn an_unreadable_mlmodel_is_an_error() {
        let error = check("flavors: [unclosed", None, &Packages::default()).unwrap_err();
        assert!(error.contains("MLmodel"), "{error}");
    }

    #[test]
    fn names_compare_as_pip_does() {
        assert_eq!(normalize("Scikit_Learn"), "scikit-learn");
        assert_eq!(normalize("zope.interface"), "zope-interface");
        assert_eq!(major_minor("1.9.1rc1"), "1.9");
        assert_eq!(major_minor("2"), "2.");
    }
}
