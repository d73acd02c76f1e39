//! Kubernetes names for free-text MLflow names.
//!
//! MLflow model names are free text ("Wine Quality / ElasticNet v2", unicode, hundreds of
//! characters); a Service name must be an RFC 1035 label: `[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63
//! characters. The mapping here is deterministic and injective:
//!
//! - When every part is already a clean label piece, the name is the parts joined with `-`, unchanged
//!   (`iris` + `production` → `iris-production`). Clean means lowercase ASCII letters and digits; the
//!   first part may also hold single inner dashes and must start with a letter; later parts hold no
//!   dash at all, so the last dashes split the name back into its parts.
//! - Otherwise (upper case, other characters, a leading digit, dashes in a later part, too long) the
//!   readable part is followed by `--` and a 10-hex-digit hash of the exact input. A clean name never
//!   contains `--`, so the two forms cannot meet, and the hash tells apart everything the lossy
//!   readable part merges (`Iris` and `iris` stay distinct).

use sha2::{Digest, Sha256};

/// The longest name a Service (RFC 1035 label) may have.
pub const MAX_LABEL: usize = 63;

/// Hex digits of the hash appended to a lossy name: 40 bits, so a collision needs about a million
/// distinct names in one namespace before it becomes likely.
const HASH_HEX: usize = 10;

/// The Kubernetes name of one (model, channel) pair, e.g. `k8s_name("iris", "production")` is
/// `iris-production`. Always a valid RFC 1035 label of at most 63 characters; see the module docs for
/// why it is injective.
///
/// ```
/// use manifests_core::k8s_name;
/// assert_eq!(k8s_name("iris", "production"), "iris-production");
/// assert_ne!(k8s_name("Iris", "production"), k8s_name("iris", "production"));
/// assert!(manifests_core::naming::is_rfc1035_label(&k8s_name("Wine Quality / ElasticNet", "@champion")));
/// ```
pub fn k8s_name(model: &str, channel: &str) -> String {
    label_of(&[model, channel])
}

/// The Kubernetes name of one free-text string (a namespace-local object or a URL path segment),
/// with the same guarantees as [`k8s_name`].
pub fn k8s_label(text: &str) -> String {
    label_of(&[text])
}

/// True when `name` is an RFC 1035 label: 1–63 characters, lowercase letters, digits and `-`,
/// starting with a letter and ending with a letter or digit.
pub fn is_rfc1035_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_LABEL
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// True when `value` is a valid label value: empty, or at most 63 characters of `[A-Za-z0-9._-]`
/// starting and ending with an alphanumeric.
pub fn is_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return true;
    }
    bytes.len() <= MAX_LABEL
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// True when `name` is an RFC 1123 subdomain, as the names of Secrets, ConfigMaps and
/// ServiceAccounts must be: at most 253 characters, dot-separated lowercase alphanumeric labels
/// that may hold `-` inside.
pub fn is_dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes[0].is_ascii_alphanumeric()
                && bytes[bytes.len() - 1].is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        })
}

/// True when `key` is a valid label or annotation key: an optional DNS subdomain prefix and `/`,
/// then a name of at most 63 characters of `[A-Za-z0-9._-]` starting and ending with an
/// alphanumeric.
pub fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    prefix.is_none_or(is_dns_subdomain) && !name.is_empty() && is_label_value(name)
}

fn label_of(parts: &[&str]) -> String {
    if is_clean(parts) {
        return parts.join("-");
    }
    let digest = hash_of(parts);
    let mut readable = readable(parts);
    readable.truncate(MAX_LABEL - 2 - HASH_HEX);
    while readable.ends_with('-') {
        readable.pop();
    }
    if !readable.starts_with(|c: char| c.is_ascii_lowercase()) {
        readable.insert(0, 'x');
        readable.truncate(MAX_LABEL - 2 - HASH_HEX);
        while readable.ends_with('-') {
            readable.pop();
        }
    }
    format!("{readable}--{digest}")
}

fn is_clean(parts: &[&str]) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return false;
    };
    let total: usize = parts.iter().map(|p| p.len()).sum::<usize>() + parts.len() - 1;
    total <= MAX_LABEL
        && first.starts_with(|c: char| c.is_ascii_lowercase())
        && !first.ends_with('-')
        && !first.contains("--")
        && first
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && rest.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// The parts lowercased, every run of other characters turned into one dash.
fn readable(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        out.push('-');
        for c in part.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                out.push(c);
            } else if !out.ends_with('-') {
                out.push('-');
            }
        }
    }
    let trimmed = out.trim_matches('-');
    let mut collapsed = String::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        if !(c == '-' && collapsed.ends_with('-')) {
            collapsed.push(c);
        }
    }
    collapsed
}

/// A hash of the exact parts; each is length-prefixed so `("ab", "c")` and `("a", "bc")` differ.
fn hash_of(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(HASH_HEX);
    for byte in digest.iter().take(HASH_HEX / 2) {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_pairs_stay_readable() {
        assert_eq!(k8s_name("iris", "production"), "iris-production");
        assert_eq!(
            k8s_name("wine-quality", "champion"),
            "wine-quality-champion"
        );
        assert_eq!(k8s_label("qooba"), "qooba");
    }

    #[test]
    fn lossy_inputs_get_a_hash_and_stay_distinct() {
        let upper = k8s_name("Iris", "production");
        assert!(upper.starts_with("iris-production--"), "{upper}");
        assert_ne!(upper, k8s_name("iris", "production"));
        // The dash could belong to either part: both spellings must stay apart.
        assert_ne!(k8s_name("a-b", "c"), k8s_name("a", "b-c"));
        assert_ne!(k8s_name("ab", "c"), k8s_name("a", "bc"));
    }

    #[test]
    fn awkward_inputs_become_valid_labels() {
        for (model, channel) in [
            ("", ""),
            ("2fast", "production"),
            ("----", "-"),
            ("Ünïcödé 模型", "生产"),
            (&"x".repeat(300), "production"),
            ("a", &"b".repeat(80)),
        ] {
            let name = k8s_name(model, channel);
            assert!(is_rfc1035_label(&name), "{model:?}/{channel:?} -> {name:?}");
        }
    }

    #[test]
    fn label_values() {
        assert!(is_label_value(""));
        assert!(is_label_value("v1.2_3-x"));
        assert!(!is_label_value("-x"));
        assert!(!is_label_value(&"a".repeat(64)));
    }
}
