//! JWKs made verification keys: each key parsed once per algorithm it may verify, and only
//! keys that are safe to verify with (no symmetric or encryption keys, RSA within bounds).

use std::str::FromStr;

use aws_lc_rs::signature::{ParsedPublicKey, VerificationAlgorithm};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind};

/// A verified-ready key: parsed once per algorithm it may be used with.
pub(crate) struct CachedKey {
    /// For jsonwebtoken's claim checks, which want a key of the token's family (it is not
    /// used for the signature).
    pub(crate) key: DecodingKey,
    /// The signature check of each allowed algorithm. Parsed here because building the key
    /// at every check (as `jsonwebtoken::decode` does) costs about a tenth of an RS256 check;
    /// RSA keys get one per algorithm, as the padding and digest belong to the parsed key.
    verifiers: Vec<(Algorithm, ParsedPublicKey)>,
}

impl CachedKey {
    /// The parsed key that checks `alg` signatures, if the key may be used with `alg`.
    pub(crate) fn verifier(&self, alg: Algorithm) -> Option<&ParsedPublicKey> {
        self.verifiers
            .iter()
            .find_map(|(a, key)| (*a == alg).then_some(key))
    }

    #[cfg(test)]
    fn algorithms(&self) -> Vec<Algorithm> {
        self.verifiers.iter().map(|(alg, _)| *alg).collect()
    }
}

/// Parses `key` for `alg` signatures, with the aws-lc algorithms jsonwebtoken verifies with:
/// RSA keys are (n, e), EC keys the uncompressed point, Ed25519 keys `x`.
fn parse_for(key: &DecodingKey, alg: Algorithm) -> Option<ParsedPublicKey> {
    use Algorithm::*;
    use aws_lc_rs::signature::{self as sig, RsaPublicKeyComponents};
    let bytes = match key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, e } => {
            let params: &'static sig::RsaParameters = match alg {
                RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
                RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
                RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
                PS256 => &sig::RSA_PSS_2048_8192_SHA256,
                PS384 => &sig::RSA_PSS_2048_8192_SHA384,
                PS512 => &sig::RSA_PSS_2048_8192_SHA512,
                _ => return None,
            };
            return RsaPublicKeyComponents { n, e }
                .to_parsed_public_key(params)
                .ok();
        }
        DecodingKeyKind::SecretOrDer(bytes) => bytes,
    };
    let algorithm: &'static dyn VerificationAlgorithm = match alg {
        ES256 => &sig::ECDSA_P256_SHA256_FIXED,
        ES384 => &sig::ECDSA_P384_SHA384_FIXED,
        EdDSA => &sig::ED25519,
        _ => return None,
    };
    ParsedPublicKey::new(algorithm, bytes).ok()
}

/// The RSA modulus sizes verified: shorter keys are too weak, longer ones make every check
/// a denial-of-service lever (the bounds aws-lc enforces for the RSA algorithms).
const RSA_MODULUS_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

/// A JWK number (base64url, padded or not: JWKs leave the padding out, but some servers
/// write it).
fn base64url_decode(number: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const BASE64URL: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    BASE64URL.decode(number).ok()
}

fn without_leading_zeros(number: &[u8]) -> &[u8] {
    let first = number.iter().position(|&b| b != 0).unwrap_or(number.len());
    &number[first..]
}

/// The size in bits of a JWK modulus (`n`: base64url, big-endian); 0 when it does not decode.
fn modulus_bits(n: &str) -> usize {
    let Some(bytes) = base64url_decode(n) else {
        return 0;
    };
    // Leading zero octets are not part of the size.
    match without_leading_zeros(&bytes) {
        [first, rest @ ..] => (rest.len() + 1) * 8 - first.leading_zeros() as usize,
        [] => 0,
    }
}

/// Builds the decoding key of `jwk` once, with the configured algorithms it may verify.
/// `None` for keys that must not or cannot be used: encryption keys, symmetric (`oct`) keys
/// (accepting those would let anyone who reads the JWKS forge tokens), unsupported curves,
/// RSA keys outside 2048 to 8192 bits, and keys whose declared `alg` is not allowed.
pub(crate) fn cached_key(jwk: &Jwk, allowed: &[Algorithm]) -> Option<CachedKey> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    use Algorithm::*;
    let family: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let bits = modulus_bits(&rsa.n);
            if !RSA_MODULUS_BITS.contains(&bits) {
                // aws-lc refuses such keys at every signature check: say so once, here.
                tracing::warn!(
                    kid = jwk.common.key_id.as_deref(),
                    bits,
                    "JWKS RSA key outside 2048 to 8192 bits; not used"
                );
                return None;
            }
            &[RS256, RS384, RS512, PS256, PS384, PS512]
        }
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => &[ES256],
            EllipticCurve::P384 => &[ES384],
            _ => &[],
        },
        AlgorithmParameters::OctetKeyPair(p) => match p.curve {
            EllipticCurve::Ed25519 => &[EdDSA],
            _ => &[],
        },
        AlgorithmParameters::OctetKey(_) => &[],
    };
    let declared = match jwk.common.key_algorithm {
        // Signature algorithms only; `RSA-OAEP` and friends fail to parse and the key is
        // skipped.
        Some(alg) => Some(Algorithm::from_str(&alg.to_string()).ok()?),
        None => None,
    };
    let algorithms: Vec<Algorithm> = family
        .iter()
        .copied()
        .filter(|alg| allowed.contains(alg) && declared.is_none_or(|d| d == *alg))
        .collect();
    if algorithms.is_empty() {
        return None;
    }
    let key = match &jwk.algorithm {
        // RFC 7518 writes `n` and `e` without leading zero octets, but some libraries add
        // one (a two's complement sign byte), and aws-lc refuses such numbers at every check.
        AlgorithmParameters::RSA(rsa) => DecodingKey::from_rsa_raw_components(
            without_leading_zeros(&base64url_decode(&rsa.n)?),
            without_leading_zeros(&base64url_decode(&rsa.e)?),
        ),
        _ => DecodingKey::from_jwk(jwk).ok()?,
    };
    let mut verifiers = Vec::with_capacity(algorithms.len());
    for alg in algorithms {
        let Some(parsed) = parse_for(&key, alg) else {
            // E.g. an EC point off its curve: no signature could ever verify with it.
            tracing::warn!(
                kid = jwk.common.key_id.as_deref(),
                "JWKS key does not parse; not used"
            );
            return None;
        };
        verifiers.push((alg, parsed));
    }
    Some(CachedKey { key, verifiers })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwk(json: serde_json::Value) -> Jwk {
        serde_json::from_value(json).unwrap()
    }

    const X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn refuses_symmetric_and_encryption_keys() {
        let all = [Algorithm::RS256, Algorithm::HS256, Algorithm::EdDSA];
        let oct = jwk(serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "kid": "h"}));
        assert!(cached_key(&oct, &all).is_none());
        let enc = jwk(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": X, "use": "enc"}));
        assert!(cached_key(&enc, &all).is_none());
        let ed = jwk(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": X}));
        assert_eq!(
            cached_key(&ed, &all).unwrap().algorithms(),
            [Algorithm::EdDSA]
        );
        assert!(cached_key(&ed, &[Algorithm::RS256]).is_none());
    }

    fn base64url(bytes: &[u8]) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa_jwk(modulus: &[u8]) -> Jwk {
        let n = base64url(modulus);
        jwk(serde_json::json!({"kty": "RSA", "n": n, "e": "AQAB", "kid": "r"}))
    }

    /// A modulus of exactly `bits` bits (top bit set), with `zeros` leading zero octets.
    fn modulus(bits: usize, zeros: usize) -> Vec<u8> {
        let mut bytes = vec![0; zeros];
        bytes.push(1 << ((bits - 1) % 8));
        bytes.resize(zeros + bits.div_ceil(8), 0xa5);
        bytes
    }

    #[test]
    fn rsa_keys_outside_2048_to_8192_bits_are_not_used() {
        let allowed = [Algorithm::RS256];
        for (bits, usable) in [
            (1024, false),
            (2047, false),
            (2048, true),
            (3072, true),
            (8192, true),
            (8193, false),
        ] {
            assert_eq!(modulus_bits(&base64url(&modulus(bits, 0))), bits);
            for zeros in [0, 1] {
                let key = cached_key(&rsa_jwk(&modulus(bits, zeros)), &allowed);
                assert_eq!(key.is_some(), usable, "{bits} bits, {zeros} leading zeros");
            }
        }
        let padded = format!("{}==", base64url(&modulus(2048, 0)));
        assert_eq!(modulus_bits(&padded), 2048);
        assert_eq!(modulus_bits("not base64!"), 0);
        assert_eq!(modulus_bits(""), 0);
    }

    #[test]
    fn rsa_numbers_with_leading_zero_octets_verify() {
        use base64::Engine;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let key = auth_fixtures::rsa_key("r");
        let mut padded = key.jwk.clone();
        for name in ["n", "e"] {
            let mut number = URL_SAFE_NO_PAD
                .decode(padded[name].as_str().unwrap())
                .unwrap();
            number.insert(0, 0);
            padded[name] = URL_SAFE_NO_PAD.encode(number).into();
        }
        let token = auth_fixtures::mint(&key, &serde_json::json!({"sub": "alice", "exp": 4e9}));
        let (message, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        for jwk_json in [key.jwk, padded] {
            let cached = cached_key(&jwk(jwk_json), &[Algorithm::RS256]).unwrap();
            let verifier = cached.verifier(Algorithm::RS256).unwrap();
            assert!(verifier.verify_sig(message.as_bytes(), &signature).is_ok());
            assert!(verifier.verify_sig(b"other", &signature).is_err());
            assert!(cached.verifier(Algorithm::PS256).is_none());
        }
    }

    #[test]
    fn keys_that_do_not_parse_are_not_used() {
        // The P-256 base point with its y coordinate changed: not on the curve.
        let point = |y: &str| {
            jwk(serde_json::json!({"kty": "EC", "crv": "P-256", "kid": "e",
                "x": "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY", "y": y}))
        };
        let allowed = [Algorithm::ES256];
        let on_curve = cached_key(
            &point("T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"),
            &allowed,
        );
        assert_eq!(on_curve.unwrap().algorithms(), [Algorithm::ES256]);
        assert!(
            cached_key(
                &point("T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfA"),
                &allowed
            )
            .is_none()
        );
        // A 31-byte Ed25519 key.
        let short =
            jwk(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": base64url(&[7; 31])}));
        assert!(cached_key(&short, &[Algorithm::EdDSA]).is_none());
    }

    #[test]
    fn declared_alg_narrows() {
        let allowed = [Algorithm::EdDSA];
        let ed = jwk(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": X, "alg": "EdDSA"}));
        assert!(cached_key(&ed, &allowed).is_some());
        let wrong =
            jwk(serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": X, "alg": "ES256"}));
        assert!(cached_key(&wrong, &allowed).is_none());
    }
}
