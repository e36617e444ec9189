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
            // jsonwebtoken also says this of an `exp` that is not a number.
            "exp" => "token lacks a numeric exp claim",
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
}
