//! Integer ids (request ids, progress tokens) in any spelling JSON allows.
//!
//! MCP's schema types them `string | integer`, and JSON Schema's `integer` is any number
//! without a fractional part, whatever its size or spelling: `7`, `7.0`, `7e0`, `-0` and
//! `18446744073709551615` are all integers. [`read`] turns one into a single canonical form,
//! so that the same value always makes the same [`RequestId`](super::RequestId) (a
//! cancellation spelled `7.0` finds request `7`).

/// The most decimal digits an integer id may have: beyond `u128`, and small enough that an
/// exponent (`1e999999999`) cannot make the server write a huge number.
pub(crate) const MAX_DIGITS: usize = 40;

/// An integer id's value.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Integer {
    /// The value fits an `i64`.
    Small(i64),
    /// Outside `i64`: its decimal digits, with a leading `-` when negative, no leading zeros.
    Big(Box<str>),
}

/// The value of the JSON number `text` when it is an integer of at most [`MAX_DIGITS`]
/// digits; `None` for a fraction, a larger integer, or anything that is not a JSON number.
pub(crate) fn read(text: &str) -> Option<Integer> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (&rest[..at], exponent(&rest[at + 1..])?),
        None => (rest, 0),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return None,
        None => (mantissa, ""),
    };
    let well_formed = whole == "0" || (!whole.is_empty() && !whole.starts_with('0'));
    if !well_formed || !is_digits(whole) || !is_digits(fraction) {
        return None;
    }
    // The value is `significant × 10^scale`, with no zero at either end of `significant`.
    let all = [whole, fraction].concat();
    let significant = all.trim_start_matches('0');
    if significant.is_empty() {
        return Some(Integer::Small(0));
    }
    let trimmed = significant.trim_end_matches('0');
    let scale = exponent
        .saturating_sub(fraction.len() as i64)
        .saturating_add((significant.len() - trimmed.len()) as i64);
    // A negative scale leaves a non-zero digit after the point.
    let zeros = usize::try_from(scale).ok()?;
    if trimmed.len().saturating_add(zeros) > MAX_DIGITS {
        return None;
    }
    let mut canonical = String::with_capacity(1 + trimmed.len() + zeros);
    if negative {
        canonical.push('-');
    }
    canonical.push_str(trimmed);
    canonical.extend(std::iter::repeat_n('0', zeros));
    Some(match canonical.parse() {
        Ok(small) => Integer::Small(small),
        Err(_) => Integer::Big(canonical.into_boxed_str()),
    })
}

/// Writes an integer's decimal `digits` as a JSON number: serde's integer types stop at 128
/// bits, JSON's do not.
pub(crate) fn serialize_digits<S: serde::Serializer>(
    digits: &str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::Serialize;
    serde_json::value::RawValue::from_string(digits.to_owned())
        .map_err(serde::ser::Error::custom)?
        .serialize(serializer)
}

/// A JSON string or integer, as ids and progress tokens are.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StringOrInteger {
    /// The string, unescaped.
    String(Box<str>),
    /// The integer's value.
    Integer(Integer),
}

/// The string or integer the JSON value `raw` spells; `None` for anything else (fractions and
/// integers past [`MAX_DIGITS`] included).
pub(crate) fn string_or_integer(raw: &str) -> Option<StringOrInteger> {
    if raw.starts_with('"') {
        serde_json::from_str(raw).ok().map(StringOrInteger::String)
    } else {
        read(raw).map(StringOrInteger::Integer)
    }
}

/// Reads a string or an integer through serde, for `Deserialize` impls: any deserializer,
/// buffered ones (tagged enums) included. Integers are exact to 64 bits; past that serde
/// hands over the nearest `f64`, whose value is taken ([`string_or_integer`] reads the text
/// exactly where there is one).
pub(crate) struct StringOrIntegerVisitor;

impl serde::de::Visitor<'_> for StringOrIntegerVisitor {
    type Value = StringOrInteger;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string or an integer of at most 40 digits")
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<StringOrInteger, E> {
        Ok(StringOrInteger::Integer(Integer::Small(v)))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<StringOrInteger, E> {
        Ok(StringOrInteger::Integer(i64::try_from(v).map_or_else(
            |_| Integer::Big(v.to_string().into()),
            Integer::Small,
        )))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<StringOrInteger, E> {
        // `{v:.0}` writes every digit of an integral `f64` (no exponent), which `read` takes.
        let integral = v.is_finite() && v.fract() == 0.0;
        integral
            .then(|| read(&format!("{v:.0}")))
            .flatten()
            .map(StringOrInteger::Integer)
            .ok_or_else(|| E::invalid_value(serde::de::Unexpected::Float(v), &self))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<StringOrInteger, E> {
        Ok(StringOrInteger::String(v.into()))
    }
}

/// An exponent's value, saturated: anything past `i64` is out of range anyway.
fn exponent(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !is_digits(digits) {
        return None;
    }
    let magnitude = digits.bytes().fold(0i64, |value, digit| {
        value
            .saturating_mul(10)
            .saturating_add(i64::from(digit - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

fn is_digits(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big(digits: &str) -> Option<Integer> {
        Some(Integer::Big(digits.into()))
    }

    #[test]
    fn integers_in_every_spelling() {
        let cases = [
            ("0", Some(Integer::Small(0))),
            ("-0", Some(Integer::Small(0))),
            ("0.000", Some(Integer::Small(0))),
            ("0e-7", Some(Integer::Small(0))),
            ("7", Some(Integer::Small(7))),
            ("7.0", Some(Integer::Small(7))),
            ("7E0", Some(Integer::Small(7))),
            ("700e-2", Some(Integer::Small(7))),
            ("1.5e1", Some(Integer::Small(15))),
            ("1e3", Some(Integer::Small(1000))),
            ("-42", Some(Integer::Small(-42))),
            ("-9223372036854775808", Some(Integer::Small(i64::MIN))),
            ("9223372036854775807", Some(Integer::Small(i64::MAX))),
            ("9223372036854775808", big("9223372036854775808")),
            ("-9223372036854775809", big("-9223372036854775809")),
            ("18446744073709551615", big("18446744073709551615")),
            ("1.8446744073709551615e19", big("18446744073709551615")),
            ("1e39", big(&format!("1{}", "0".repeat(39)))),
        ];
        for (text, expected) in cases {
            assert_eq!(read(text), expected, "{text}");
        }
    }

    #[test]
    fn serde_reads_the_same_values_to_64_bits_and_floats_by_their_value() {
        use serde::Deserializer as _;
        let through_serde = |text: &str| {
            let mut deserializer = serde_json::Deserializer::from_str(text);
            deserializer.deserialize_any(StringOrIntegerVisitor).ok()
        };
        for text in [
            "7",
            "-7",
            "7.0",
            "2e1",
            "-0",
            "18446744073709551615",
            "1e20",
        ] {
            let exact = string_or_integer(text).expect(text);
            assert_eq!(through_serde(text), Some(exact), "{text}");
        }
        // Past 64 bits, serde's `f64`: its value, not the text's.
        assert_eq!(
            through_serde("123456789012345678901234567890"),
            Some(StringOrInteger::Integer(
                big("123456789012345677877719597056").unwrap()
            ))
        );
        for text in ["1.5", "1e40", "true", "null", "[1]"] {
            assert_eq!(through_serde(text), None, "{text}");
        }
        assert_eq!(
            through_serde(r#""a\"b""#),
            Some(StringOrInteger::String(r#"a"b"#.into()))
        );
    }

    #[test]
    fn fractions_huge_values_and_non_numbers_are_not_integers() {
        for text in [
            "0.5",
            "7.01",
            "1e-1",
            "15e-1",
            "-0.1",
            "1e40",
            "1e999999999999999999999",
            "1e-999999999999999999999",
            "12345678901234567890123456789012345678901",
            "",
            "-",
            "01",
            "-01",
            "1.",
            ".5",
            "1e",
            "1e+",
            "+1",
            "0x10",
            "1_000",
            " 1",
            "\"7\"",
            "NaN",
            "Infinity",
        ] {
            assert_eq!(read(text), None, "{text}");
        }
    }
}
