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

pub(crate) mod typed;

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
    if is_plain(s) || is_plain_after_digit(s) {
        out.push_str(s);
        return Some(());
    }
    // Versions, ports, whole quantities (`3`, `8080`, `0.0.0.0`), the words YAML 1.1 reads as
    // bools or null (`true`, `on`), and text opening with a YAML indicator (a JSON annotation,
    // `*`): double-quoted, as serde-saphyr quotes anything a reader could take for a number, a
    // bool or structure.
    let number_like = s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if number_like || is_yaml11_word(s) || opens_with_indicator(s) {
        out.push('"');
        for c in s.chars() {
            if matches!(c, '"' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        return Some(());
    }
    // serde-saphyr quotes by position (a key `-` is written `"-"`, a value `'-'`): ask it
    // with the string in the same position.
    let text = saphyr(&[("k", s)])?;
    out.push_str(text.strip_prefix("k: ")?);
    Some(())
}

/// A mapping key, as [`string`] writes values.
fn key(s: &str, out: &mut String) -> Option<()> {
    if is_plain_key(s) {
        out.push_str(s);
        return Some(());
    }
    let text = saphyr(&[(s, "v")])?;
    out.push_str(text.strip_suffix(": v")?);
    Some(())
}

/// A key serde-saphyr writes plain: [`is_plain`] with only letters, digits, `._/-` and spaces
/// (it quotes keys holding `:`, `,` and others).
pub(crate) fn is_plain_key(s: &str) -> bool {
    is_plain_as(s, KEY)
}

/// serde-saphyr's one-line document for a one-entry mapping, without its newline.
fn saphyr(entry: &[(&str, &str); 1]) -> Option<String> {
    let options = serde_saphyr::ser_options! { indent_step: 2 };
    let map: std::collections::BTreeMap<&str, &str> = entry.iter().copied().collect();
    let text = serde_saphyr::to_string_with_options(&map, options).ok()?;
    let text = text.strip_suffix('\n')?;
    (!text.contains('\n')).then(|| text.to_owned())
}

/// serde-saphyr writes a string longer than this over several lines (folded).
const FOLD_WIDTH: usize = 80;

/// Printable ASCII starting with a letter or `/` (or `-` or `--` and a letter), at most
/// [`FOLD_WIDTH`] long, with no `: ` or ` #` and not ending with `:` or a space, and not a word
/// YAML 1.1 reads as a bool, null or float: no reader takes it for anything but a string.
/// Anything else is left to serde-saphyr, whose rules are the reference.
pub(crate) fn is_plain(s: &str) -> bool {
    is_plain_as(s, VALUE)
}

/// Bytes a plain value may hold, and the subset a plain key may hold.
const VALUE: u8 = 1;
const KEY: u8 = 2;

/// [`VALUE`] and [`KEY`] per byte: one table lookup per byte keeps the scan cheap for the
/// thousands of short strings a render writes.
static PLAIN_BYTES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'/' | b'-' | b' ') {
            table[b] = VALUE | KEY;
        } else if byte.is_ascii_graphic() {
            table[b] = VALUE;
        }
        b += 1;
    }
    table
};

fn is_plain_as(s: &str, class: u8) -> bool {
    let bytes = s.as_bytes();
    let starts_well = match bytes {
        [first, ..] if first.is_ascii_alphabetic() || *first == b'/' => true,
        [b'-', b'-', third, ..] => third.is_ascii_alphabetic(),
        [b'-', second, ..] => second.is_ascii_alphabetic(),
        _ => false,
    };
    if !starts_well || bytes.len() > FOLD_WIDTH || matches!(bytes.last(), Some(b':' | b' ')) {
        return false;
    }
    let mut previous = 0;
    for &b in bytes {
        let breaks = (previous == b':' && b == b' ') || (previous == b' ' && b == b'#');
        if PLAIN_BYTES[usize::from(b)] & class == 0 || breaks {
            return false;
        }
        previous = b;
    }
    !is_word_like(s)
}

/// Letters and digits only, starting with a digit, with a letter somewhere, and none of the
/// shapes YAML reads as a number (`1e5`, `0x1F`, `0o17`, `0b1`): quantities (`512Mi`, `100m`)
/// and hex identifiers, which serde-saphyr writes plain.
fn is_plain_after_digit(s: &str) -> bool {
    let bytes = s.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_digit)
        || bytes.len() > FOLD_WIDTH
        || !bytes.iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = &bytes[digits..];
    let exponent = matches!(rest, [b'e' | b'E', tail @ ..] if tail.iter().all(u8::is_ascii_digit));
    let radix = matches!(bytes, [b'0', b'x' | b'X' | b'o' | b'O' | b'b' | b'B', ..]);
    !rest.is_empty() && !exponent && !radix
}

/// Printable ASCII opening with a character that makes YAML read structure (`{`, `[`, `*`, `&`,
/// quotes, …), which serde-saphyr double-quotes (it single-quotes a lone `#`).
fn opens_with_indicator(s: &str) -> bool {
    let bytes = s.as_bytes();
    matches!(
        bytes.first(),
        Some(
            b',' | b':'
                | b'['
                | b']'
                | b'{'
                | b'}'
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'"'
                | b'%'
                | b'@'
                | b'`'
        )
    ) && s != "#"
        && bytes.iter().all(|b| (b' '..=b'~').contains(b))
}

/// The words, in any case, a YAML 1.1 reader takes for a bool, null or a float, which
/// serde-saphyr double-quotes (a test holds it to every spelling).
fn is_yaml11_word(s: &str) -> bool {
    const WORDS: [&str; 11] = [
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "nan", "inf",
    ];
    s.len() <= 5 && WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}

/// A word that may read as one of [`is_yaml11_word`] with a sign (`-inf`), or that is close
/// enough to leave to serde-saphyr (`infinity`).
fn is_word_like(s: &str) -> bool {
    let unsigned = s.trim_start_matches(['-', '+']);
    is_yaml11_word(unsigned) || unsigned.eq_ignore_ascii_case("infinity")
}

fn pad(indent: usize, out: &mut String) {
    const SPACES: &str = "                                                                ";
    let mut left = indent;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        left -= step;
    }
}

#[cfg(test)]
mod tests;
