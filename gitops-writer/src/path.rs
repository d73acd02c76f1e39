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

#[cfg(test)]
mod tests {
    use super::validate;

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
