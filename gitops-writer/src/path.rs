//! Safe repository paths: relative, `/`-separated, with no `..`, `.`, empty or `.git` segment.

use crate::Error;

/// Checks one repository path (the prefix, or a file path inside it).
pub(crate) fn validate(path: &str) -> Result<(), Error> {
    let bad = |reason| {
        Err(Error::InvalidPath {
            path: path.to_owned(),
            reason,
        })
    };
    if path.is_empty() {
        return bad("empty");
    }
    if path.starts_with('/') {
        return bad("absolute paths are outside the managed prefix");
    }
    if path.contains('\\') || path.contains('\0') {
        return bad("backslashes and NUL bytes are not allowed");
    }
    for segment in path.split('/') {
        match segment {
            "" => return bad("empty path segment (`//` or a trailing `/`)"),
            "." | ".." => return bad("`.` and `..` segments could leave the managed prefix"),
            s if s.eq_ignore_ascii_case(".git") => return bad("`.git` is reserved by git"),
            _ => {}
        }
    }
    Ok(())
}

/// Checks a branch name made by a program (a review branch): a safe path whose segments hold only
/// ASCII letters, digits, `-`, `_` and `.`, none starting with `.` or ending with `.lock`, so that
/// every such name is also a valid git ref whatever git version reads it.
pub(crate) fn validate_branch(branch: &str) -> Result<(), Error> {
    validate(branch)?;
    let plain = branch.split('/').all(|segment| {
        segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && !segment.starts_with('.')
            && !segment.ends_with(".lock")
            && !segment.contains("..")
    });
    if plain {
        Ok(())
    } else {
        Err(Error::InvalidPath {
            path: branch.to_owned(),
            reason: "a review branch name holds only ASCII letters, digits, `-`, `_`, `.` and `/`",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{validate, validate_branch};

    #[test]
    fn review_branches_are_plain_ref_names() {
        for ok in ["mlflow-gitops/review/wine/production", "a_b/c.d"] {
            assert!(validate_branch(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a b",
            "x/.hidden",
            "x/y.lock",
            "a..b",
            "a:b",
            "a~1",
            "a^",
            "@{u}",
            "x/",
        ] {
            assert!(validate_branch(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_plain_relative_paths_pass() {
        for ok in [
            "deployments",
            "deployments/wine/production/deployment.yaml",
            "a b/ü.yaml",
            ".hidden/x",
        ] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "..",
            "./a",
            "a//b",
            "a/",
            "a\\b",
            ".git/config",
            "x/.GIT/hooks",
            "a\0b",
        ] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }
}
