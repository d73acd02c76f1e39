//! A fast writer of the block YAML serde-saphyr writes, for the JSON trees objects are kept as.
//!
//! Rendering thousands of deployments spends most of its time in the general serializer's
//! per-string checks and allocations. Here the structure is written directly and most strings
//! (names, label keys, quantities like `512Mi`, paths, URLs) pass one byte scan that proves them
//! plain; every other string is written by serde-saphyr itself, so the quoting rules that keep
//! YAML 1.1 readers from misreading a value stay serde-saphyr's alone. Whatever this writer does
//! not handle (floats, strings serde-saphyr writes over several lines, sequences directly inside
//! sequences) makes it return None, and the whole document goes through serde-saphyr. A test
//! compares both writers byte for byte.

use serde_json::{Map, Value};

/// `value` as serde-saphyr writes it (block style, indent 2), or None when it holds something
/// left to serde-saphyr.
pub(crate) fn document(value: &Value) -> Option<String> {
    let mut out = String::with_capacity(1024);
    match value {
        Value::Object(map) if !map.is_empty() => entries(map, 0, false, &mut out)?,
        _ => return None,
    }
    Some(out)
}

/// The entries of `map` at `indent`; with `in_item`, the first one follows a `- ` already
/// written.
fn entries(map: &Map<String, Value>, indent: usize, in_item: bool, out: &mut String) -> Option<()> {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !in_item {
            pad(indent, out);
        }
        self::key(key, out)?;
        out.push(':');
        match value {
            Value::Object(child) if !child.is_empty() => {
                out.push('\n');
                entries(child, indent + 2, false, out)?;
            }
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                sequence(items, indent, out)?;
            }
            scalar_value => {
                out.push(' ');
                scalar(scalar_value, out)?;
                out.push('\n');
            }
        }
    }
    Some(())
}

/// The items of a sequence, each `- ` at `indent`.
fn sequence(items: &[Value], indent: usize, out: &mut String) -> Option<()> {
    for item in items {
        pad(indent, out);
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => entries(map, indent + 2, true, out)?,
            Value::Array(inner) if !inner.is_empty() => return None,
            other => {
                scalar(other, out)?;
                out.push('\n');
            }
        }
    }
    Some(())
}

fn scalar(value: &Value, out: &mut String) -> Option<()> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_i64() || n.is_u64() => out.push_str(&n.to_string()),
        Value::Number(_) => return None,
        Value::String(s) => string(s, out)?,
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
    Some(())
}

/// A string in value position: plain when one scan proves serde-saphyr writes it plain, else
/// as serde-saphyr writes it there (None when that takes several lines).
fn string(s: &str, out: &mut String) -> Option<()> {
    if is_plain(s) {
        out.push_str(s);
        return Some(());
    }
    // Versions, ports, whole quantities (`3`, `8080`, `0.0.0.0`): double-quoted, as serde-saphyr
    // quotes anything a reader could take for a number.
    if s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        out.push('"');
        out.push_str(s);
        out.push('"');
        return Some(());
    }
    // serde-saphyr quotes by position (a key `-` is written `"-"`, a value `'-'`): ask it
    // with the string in the same position.
    let text = saphyr(&[("k", s)])?;
    out.push_str(text.strip_prefix("k: ")?);
    Some(())
}

/// A mapping key, as [`string`] writes values (serde-saphyr quotes every key holding a `:`).
fn key(s: &str, out: &mut String) -> Option<()> {
    if is_plain(s) && !s.contains(':') {
        out.push_str(s);
        return Some(());
    }
    let text = saphyr(&[(s, "v")])?;
    out.push_str(text.strip_suffix(": v")?);
    Some(())
}

/// serde-saphyr's one-line document for a one-entry mapping, without its newline.
fn saphyr(entry: &[(&str, &str); 1]) -> Option<String> {
    let options = serde_saphyr::ser_options! { indent_step: 2 };
    let map: std::collections::BTreeMap<&str, &str> = entry.iter().copied().collect();
    let text = serde_saphyr::to_string_with_options(&map, options).ok()?;
    let text = text.strip_suffix('\n')?;
    (!text.contains('\n')).then(|| text.to_owned())
}

/// Letters, digits and `._/-:` only, starting with a letter or `/` (or `-` or `--` and a
/// letter), not ending with `:` and not a word YAML 1.1 reads as a bool or null: no reader takes it
/// for anything but a string. Anything else is left to serde-saphyr, whose rules are the
/// reference.
pub(crate) fn is_plain(s: &str) -> bool {
    let bytes = s.as_bytes();
    let starts_well = match bytes {
        [first, ..] if first.is_ascii_alphabetic() || *first == b'/' => true,
        [b'-', b'-', third, ..] => third.is_ascii_alphabetic(),
        [b'-', second, ..] => second.is_ascii_alphabetic(),
        _ => false,
    };
    starts_well
        && !s.ends_with(':')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._/-:".contains(b))
        && !is_yaml11_word(s)
}

fn is_yaml11_word(s: &str) -> bool {
    const WORDS: [&str; 12] = [
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf", "infinity",
    ];
    s.len() <= 8 && WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

fn pad(indent: usize, out: &mut String) {
    out.extend(std::iter::repeat_n(' ', indent));
}

#[cfg(test)]
mod tests;
