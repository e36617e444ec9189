//! Integral numbers written as floats (`5.0`, `2e1`), read as the integers JSON Schema takes
//! them for: its `integer` is any number without a fractional part (2020-12, §6.1.1 of the
//! validation vocabulary), while serde's integer types refuse a float. A client that checks
//! its arguments against the advertised schema must not then be refused by the handler.

/// Whether `arguments` may hold a float-spelled number (a digit followed by `.`, `e` or
/// `E`): a cheap test so that the rewrite below runs only where it can change something.
pub(crate) fn may_hold_float(arguments: &str) -> bool {
    arguments
        .as_bytes()
        .windows(2)
        .any(|pair| pair[0].is_ascii_digit() && matches!(pair[1], b'.' | b'e' | b'E'))
}

/// `arguments` with every number outside strings that is exactly an integer, by its text
/// (`5.0`, `2e1`, `1.50e2`; not `5.1`, nor `-0.0`, whose sign a float field keeps), written
/// as that integer; `None` when there is none.
pub(crate) fn as_integers(arguments: &str) -> Option<String> {
    let bytes = arguments.as_bytes();
    let mut out = String::with_capacity(arguments.len());
    let mut changed = false;
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                // Past the string: a backslash escapes the next byte.
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
                at += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = at;
                while at < bytes.len()
                    && matches!(bytes[at], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    at += 1;
                }
                if let Some(integer) = integer_text(&arguments[start..at]) {
                    out.push_str(&arguments[copied..start]);
                    out.push_str(&integer);
                    copied = at;
                    changed = true;
                }
            }
            _ => at += 1,
        }
    }
    if !changed {
        return None;
    }
    out.push_str(&arguments[copied.min(arguments.len())..]);
    Some(out)
}

/// The most digits an integer written here may have: more than any integer type holds, so
/// that `1e1000000` is not written out (serde refuses it either way).
const MAX_DIGITS: usize = 40;

/// The integer `token` (a JSON number with a fraction or an exponent) is exactly, as text;
/// `None` for a number that is not an integer, not written that way, or negative zero.
fn integer_text(token: &str) -> Option<String> {
    let (negative, unsigned) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], unsigned[at + 1..].parse::<i64>().ok()?),
        None if unsigned.contains('.') => (unsigned, 0),
        None => return None,
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if whole.is_empty()
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits: String = [whole, fraction].concat();
    // Where the decimal point falls in `digits` once the exponent is applied.
    let point = i64::try_from(whole.len()).ok()?.checked_add(exponent)?;
    let point = usize::try_from(point.max(0)).ok()?;
    if digits
        .get(point.min(digits.len())..)?
        .bytes()
        .any(|b| b != b'0')
    {
        return None;
    }
    let mut integer: String = digits[..point.min(digits.len())]
        .trim_start_matches('0')
        .to_owned();
    if integer.is_empty() {
        // Zero: `-0.0` stays as written, a float field keeps its sign.
        return (!negative).then(|| "0".to_owned());
    }
    if point > MAX_DIGITS {
        return None;
    }
    integer.extend(std::iter::repeat_n('0', point.saturating_sub(digits.len())));
    if negative {
        integer.insert(0, '-');
    }
    Some(integer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integral_floats_become_integers_and_nothing_else_changes() {
        assert_eq!(
            as_integers(r#"{"n":5.0,"m":-2e3,"x":1.5,"s":"7.0","big":1e300,"e":"a\"1.0"}"#)
                .as_deref(),
            Some(r#"{"n":5,"m":-2000,"x":1.5,"s":"7.0","big":1e300,"e":"a\"1.0"}"#)
        );
        assert_eq!(as_integers(r#"{"n":5,"x":1.5}"#), None);
        assert!(may_hold_float(r#"{"n":5.0}"#) && may_hold_float(r#"{"n":1e3}"#));
        assert!(!may_hold_float(r#"{"n":5,"name":"e."}"#));
    }

    #[test]
    fn only_exact_integers_are_rewritten() {
        for (token, integer) in [
            ("5.0", Some("5")),
            ("1.50e2", Some("150")),
            ("15000e-2", Some("150")),
            ("9007199254740993.0", Some("9007199254740993")),
            ("4503599627370497.5", None),
            ("5.0000000000000001", None),
            ("0.0", Some("0")),
            ("-0.0", None),
            ("-7.00", Some("-7")),
            ("1e1000000", None),
            ("1e-5", None),
            ("0.5e1", Some("5")),
        ] {
            assert_eq!(integer_text(token).as_deref(), integer, "{token}");
        }
    }
}
