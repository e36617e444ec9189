//! Integral numbers written as floats (`5.0`, `1e3`), read as the integers JSON Schema takes
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

/// `arguments` with every number outside strings that is integral and exactly representable
/// (within ±2^53) written as an integer; `None` when there is none.
pub(crate) fn as_integers(arguments: &str) -> Option<String> {
    /// Past this an `f64` no longer holds every integer: such numbers are left as written.
    const EXACT: f64 = 9_007_199_254_740_992.0;
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
                let token = &arguments[start..at];
                if token.contains(['.', 'e', 'E'])
                    && let Ok(value) = token.parse::<f64>()
                    && value.fract() == 0.0
                    && value.abs() <= EXACT
                {
                    out.push_str(&arguments[copied..start]);
                    // Exact: integral and within ±2^53.
                    out.push_str(&(value as i64).to_string());
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
}
