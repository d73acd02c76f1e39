//! Kubernetes resource quantities (`500m`, `4Gi`, `1e3`), read the way the API server reads them,
//! so a value the cluster would refuse is refused before it reaches git.

/// The value of a quantity in base units (cores, bytes, devices), or None when `text` is not a
/// quantity Kubernetes accepts or is negative (no resource request may be).
///
/// The grammar is the API server's: a decimal number, then one binary suffix (`Ki` … `Ei`), one
/// decimal suffix (`n`, `u`, `m`, `k`, `M`, `G`, `T`, `P`, `E`) or a decimal exponent (`e3`).
///
/// ```
/// use manifests_core::quantity::parse;
/// assert_eq!(parse("500m"), Some(0.5));
/// assert_eq!(parse("4Gi"), Some(4.0 * 1024.0 * 1024.0 * 1024.0));
/// assert_eq!(parse("2e3"), Some(2000.0));
/// assert_eq!(parse("4GB"), None);
/// assert_eq!(parse("-1"), None);
/// ```
pub fn parse(text: &str) -> Option<f64> {
    let text = text.strip_prefix('+').unwrap_or(text);
    let digits = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(digits);
    if !is_decimal(number) {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "Ki" => 1024f64,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        exponent => 10f64.powi(decimal_exponent(exponent)?),
    };
    Some(value * scale)
}

/// Whether `text` is a whole quantity (a count of devices, as extended resources must be).
pub fn is_whole(text: &str) -> bool {
    parse(text).is_some_and(|v| v.fract() == 0.0)
}

/// `1`, `1.`, `1.5` or `.5`: digits with at most one point, at least one digit.
fn is_decimal(number: &str) -> bool {
    let mut parts = number.splitn(2, '.');
    let whole = parts.next().unwrap_or_default();
    let fraction = parts.next();
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    all_digits(whole)
        && fraction.is_none_or(all_digits)
        && (!whole.is_empty() || fraction.is_some_and(|f| !f.is_empty()))
}

/// `e3`, `E-2`, `e+6`: the exponent, when `suffix` is one the API server reads (whole exponents;
/// the API server's fractional ones are not worth the risk of misreading).
fn decimal_exponent(suffix: &str) -> Option<i32> {
    let rest = suffix.strip_prefix(['e', 'E'])?;
    let digits = rest.strip_prefix(['+', '-']).unwrap_or(rest);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 3 {
        return None;
    }
    rest.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_servers_forms_are_read_and_others_refused() {
        assert_eq!(parse("2"), Some(2.0));
        assert_eq!(parse("0.5"), Some(0.5));
        assert_eq!(parse(".5"), Some(0.5));
        assert_eq!(parse("1."), Some(1.0));
        assert_eq!(parse("+3"), Some(3.0));
        assert_eq!(parse("250m"), Some(0.25));
        assert_eq!(parse("1Ki"), Some(1024.0));
        assert_eq!(parse("1k"), Some(1000.0));
        assert_eq!(parse("1E-2"), Some(0.01));
        for bad in [
            "", ".", "-1", "1.2.3", "1KB", "1ki", "1 Gi", "Gi", "1e", "1e1.5", "1Gi ", "0x10",
            "1e9999", "nan", "inf",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert!(is_whole("2"));
        assert!(!is_whole("500m"));
    }
}
