//! Reading the validated claims, and turning validation errors into challenge text.

use jsonwebtoken::errors::ErrorKind;
use serde_json::{Map, Value};

/// The scopes of a token: `scope` (space separated, RFC 8693 / RFC 9068) and `scp` (an array,
/// or a space separated string, as some providers send it), merged.
pub(crate) fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for name in ["scope", "scp"] {
        match claims.get(name) {
            Some(Value::String(s)) => out.extend(s.split_ascii_whitespace().map(str::to_owned)),
            Some(Value::Array(items)) => out.extend(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .flat_map(str::split_ascii_whitespace)
                    .map(str::to_owned),
            ),
            _ => {}
        }
    }
    out
}

/// Whether the `aud` claim (a string or an array of strings) names `resource`. Scheme and
/// host compare without regard to case: the spec's canonical URI is lower-case, and servers
/// SHOULD accept upper-case scheme and host for interoperability (a client may have sent
/// its `resource` parameter so, and the authorization server copied it). The rest of the
/// URI (port, path) compares exactly.
pub(crate) fn audience_includes(aud: Option<&Value>, resource: &str) -> bool {
    match aud {
        Some(Value::String(aud)) => same_resource(aud, resource),
        Some(Value::Array(auds)) => auds
            .iter()
            .any(|aud| aud.as_str().is_some_and(|aud| same_resource(aud, resource))),
        _ => false,
    }
}

/// `scheme://authority` and the rest, which starts at the first `/`, `?` or `#`.
fn split_uri(uri: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = uri.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((scheme, &rest[..end], &rest[end..]))
}

fn same_resource(a: &str, b: &str) -> bool {
    match (split_uri(a), split_uri(b)) {
        (Some((a_scheme, a_host, a_rest)), Some((b_scheme, b_host, b_rest))) => {
            a_scheme.eq_ignore_ascii_case(b_scheme)
                && a_host.eq_ignore_ascii_case(b_host)
                && a_rest == b_rest
        }
        _ => a == b,
    }
}

/// The `error_description` for a failed validation. Fixed texts only: nothing from the token
/// is echoed back.
pub(crate) fn describe(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "token expired",
        ErrorKind::ImmatureSignature => "token not yet valid",
        ErrorKind::InvalidAudience => "token audience does not include this resource",
        ErrorKind::InvalidIssuer => "token issuer not accepted",
        ErrorKind::InvalidSignature => "invalid token signature",
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => "token algorithm not allowed",
        ErrorKind::MissingRequiredClaim(claim) => match claim.as_str() {
            // jsonwebtoken also says this of an `exp` that is not a number of seconds it can
            // read (text, or 1e30).
            "exp" => "token lacks a valid exp claim",
            "aud" => "token lacks the aud claim",
            "iss" => "token lacks the iss claim",
            "sub" => "token lacks the sub claim",
            _ => "token lacks a required claim",
        },
        ErrorKind::InvalidClaimFormat(_) => "malformed token claim",
        ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidKeyFormat => "unusable signing key",
        _ => "malformed token",
    }
}

/// A NumericDate in whole seconds, rounded down: RFC 7519 allows fractions (`1.7e9`,
/// `1763000000.5`), and a token valid until then is valid until the second before.
pub(crate) fn numeric_date(value: &Value) -> Option<u64> {
    value.as_u64().or_else(|| {
        let seconds = value.as_f64()?;
        // Saturates at u64::MAX, far beyond any real expiry.
        (seconds.is_finite() && seconds >= 0.0).then(|| seconds.floor() as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_and_scp() {
        let claims = serde_json::json!({"scope": "a  b", "scp": ["c", "d e", 3]});
        let Value::Object(claims) = claims else {
            unreachable!()
        };
        assert_eq!(scopes(&claims), ["a", "b", "c", "d", "e"]);
        let Value::Object(none) = serde_json::json!({"scope": 5}) else {
            unreachable!()
        };
        assert!(scopes(&none).is_empty());
    }

    #[test]
    fn scheme_and_host_compare_without_case_the_rest_exactly() {
        let resource = "https://mcp.example.com/mcp";
        let includes = |aud: Value| audience_includes(Some(&aud), resource);
        assert!(includes(Value::from("https://mcp.example.com/mcp")));
        assert!(includes(Value::from("HTTPS://MCP.EXAMPLE.COM/mcp")));
        assert!(includes(Value::from("Https://Mcp.Example.com/mcp")));
        assert!(includes(serde_json::json!([
            "other",
            "HTTPS://mcp.example.com/mcp"
        ])));
        assert!(!includes(Value::from("https://mcp.example.com/MCP")));
        assert!(!includes(Value::from("https://mcp.example.com/mcp/")));
        assert!(!includes(Value::from("https://mcp.example.com:8443/mcp")));
        assert!(!includes(Value::from("https://mcp.example.com.evil/mcp")));
        assert!(!includes(serde_json::json!([])));
        assert!(!includes(serde_json::json!(5)));
        assert!(!audience_includes(None, resource));
    }
}
