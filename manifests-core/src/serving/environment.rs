//! The environment step: packages a model needs that its serving image lacks, installed when the
//! pod starts. An init container of the serving image runs `pip install --target` into an
//! emptyDir from the platform's package index, and the model server finds them on `PYTHONPATH`.
//!
//! Why this shape: the root filesystem stays read-only (pip writes only to the emptyDir and
//! `/tmp`); the packages are pinned in the manifest, so the repository shows exactly what each pod
//! installs and Argo CD's diff shows a change; and every package the image already holds is
//! pinned to the image's own version while installing (a constraints file made from the image's
//! installed distributions), so a new package's dependencies never shadow the image's libraries
//! with other versions. `--env-manager virtualenv`/`uv` would instead rebuild the whole
//! environment (MLflow included) at every start, and needs a writable interpreter location.

use k8s_openapi::api::core::v1::{Container, EnvVar, VolumeMount};

use crate::meta;
use crate::{Error, Result};

/// Where the installed packages live in both containers.
pub const MODEL_ENV_DIR: &str = "/opt/model-env";

/// The volume holding them.
pub(crate) const VOLUME: &str = "model-env";

/// Run by the image's Python with the target directory and the requirements as arguments: pins
/// every installed distribution except the ones being replaced, then runs pip. A constant: no
/// registry text is ever part of it, and the requirements reach pip after `--`, so none can be
/// read as an option.
const INSTALL_SCRIPT: &str = r#"import re, subprocess, sys
from importlib import metadata
target, wanted = sys.argv[1], sys.argv[2:]
norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()
replaced = {norm(re.split(r"[\[<>=!~ ]", r, maxsplit=1)[0]) for r in wanted}
pins = sorted({f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions()
               if d.metadata["Name"] and norm(d.metadata["Name"]) not in replaced})
with open("/tmp/image-constraints.txt", "w") as f:
    f.write("\n".join(pins) + "\n")
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--no-cache-dir",
    "--disable-pip-version-check", "--no-input", "--target", target,
    "--constraint", "/tmp/image-constraints.txt", "--", *wanted]))
"#;

/// Whether `requirement` is one this step installs: a package name (PEP 503 characters), optional
/// extras, and version clauses such as `==1.2.3` or `>=1,<2`; no URL, path, marker or option.
pub fn is_installable(requirement: &str) -> bool {
    let (name, rest) = split_name(requirement);
    if name.is_empty() || !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return false;
    }
    let rest = match rest.strip_prefix('[') {
        Some(extras) => match extras.split_once(']') {
            Some((list, after)) if list.split(',').all(|e| is_name(e.trim())) => after,
            _ => return false,
        },
        None => rest,
    };
    let rest = rest.trim();
    rest.is_empty() || rest.split(',').all(|clause| is_clause(clause.trim()))
}

fn split_name(requirement: &str) -> (&str, &str) {
    let end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
        .unwrap_or(requirement.len());
    requirement.split_at(end)
}

fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

fn is_clause(clause: &str) -> bool {
    let version = ["===", "==", "!=", "~=", ">=", "<=", ">", "<"]
        .iter()
        .find_map(|op| clause.strip_prefix(op));
    version.is_some_and(|v| {
        let v = v.trim();
        !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".*+!_-".contains(c))
    })
}

/// Refuses an index pip would not use or that would put a credential in the manifest.
pub(crate) fn check_index(field: &str, url: &str) -> Result<()> {
    meta::check_no_credentials(field, url)?;
    let refuse = |reason: &str| {
        Err(Error::Invalid {
            field: field.into(),
            reason: format!("{url:?}: {reason}"),
        })
    };
    let Some((scheme, rest)) = url.split_once("://") else {
        return refuse("not a URL");
    };
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    match scheme {
        "https" if !host.is_empty() => Ok(()),
        "http" if ["127.0.0.1", "localhost"].contains(&host) => Ok(()),
        "http" => refuse("pip ignores a plain-http index outside localhost; use https"),
        _ => refuse("expected an https:// package index"),
    }
}

/// The init container installing `requirements` (each [`is_installable`]) from `index`.
pub(crate) fn init_container(
    image: &str,
    index: &str,
    requirements: &[String],
    tmp: &VolumeMount,
) -> Result<Container> {
    if let Some(bad) = requirements.iter().find(|r| !is_installable(r)) {
        return Err(Error::Invalid {
            field: "serving.install".into(),
            reason: format!("{bad:?} is not a package requirement this step installs"),
        });
    }
    let mut args = vec![
        "-c".to_owned(),
        INSTALL_SCRIPT.to_owned(),
        MODEL_ENV_DIR.to_owned(),
    ];
    args.extend(requirements.iter().cloned());
    Ok(Container {
        name: "environment".into(),
        image: Some(image.to_owned()),
        command: Some(vec!["python3".into()]),
        args: Some(args),
        env: Some(vec![
            meta::env("PIP_INDEX_URL", index),
            // pip's own files (its cache and config lookups) go to the writable /tmp.
            meta::env("HOME", "/tmp"),
        ]),
        security_context: Some(meta::restricted_container_security()),
        volume_mounts: Some(vec![tmp.clone(), mount(false)]),
        ..Default::default()
    })
}

/// The mount of the installed packages (read-only for the model server).
pub(crate) fn mount(read_only: bool) -> VolumeMount {
    VolumeMount {
        name: VOLUME.into(),
        mount_path: MODEL_ENV_DIR.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

/// What the model server needs to import them.
pub(crate) fn python_path() -> EnvVar {
    meta::env("PYTHONPATH", MODEL_ENV_DIR)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_package_requirements_are_installable() {
        for good in [
            "toolz==1.0.0",
            "scikit-learn==1.8.0",
            "zope.interface>=5,<7",
            "requests[socks]==2.32.3",
            "Humanize",
        ] {
            assert!(is_installable(good), "{good}");
        }
        for bad in [
            "",
            "--index-url=http://evil",
            "-e .",
            "git+https://github.com/x/y",
            "./local.whl",
            "pkg @ https://x/y.whl",
            "pkg==1.0; python_version<'3.9'",
            "pkg==1.0 --hash=sha256:00",
            "pkg==$(id)",
            "pkg[x",
        ] {
            assert!(!is_installable(bad), "{bad}");
        }
    }

    #[test]
    fn an_index_is_https_or_local_and_carries_no_credentials() {
        assert!(check_index("f", "https://pypi.example.com/simple").is_ok());
        assert!(check_index("f", "http://127.0.0.1:8000/simple").is_ok());
        for bad in [
            "http://devpi.team:3141/simple",
            "https://user:pw@pypi.example.com/simple",
            "ftp://x/simple",
            "pypi.example.com",
        ] {
            assert!(check_index("f", bad).is_err(), "{bad}");
        }
    }
}
