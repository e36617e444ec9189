//! Which key set verifies a token: one shared by every configured issuer, or each issuer's
//! own (discovered from its metadata), chosen by the token's `iss`, so that one authorization
//! server's key cannot sign for another.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::fetch::FetchError;
use super::keys::KeyStore;

/// The key sets of an authenticator.
pub(crate) enum IssuerKeys {
    /// One key set (an explicit JWKS or metadata URL) trusted for every configured issuer.
    Shared(Arc<KeyStore>),
    /// A key set per issuer, in the order configured.
    PerIssuer(Vec<(String, Arc<KeyStore>)>),
}

impl IssuerKeys {
    /// The key set that may verify `token`: the shared one, or the set of the issuer its
    /// (not yet verified) `iss` names; `None` when that is no configured issuer.
    pub(crate) fn for_token(&self, token: &str) -> Option<&Arc<KeyStore>> {
        match self {
            IssuerKeys::Shared(keys) => Some(keys),
            IssuerKeys::PerIssuer(sets) => match sets.as_slice() {
                // The claims check compares `iss` with the one issuer anyway.
                [(_, keys)] => Some(keys),
                _ => {
                    let issuer = claimed_issuer(token)?;
                    sets.iter()
                        .find(|(configured, _)| *configured == issuer)
                        .map(|(_, keys)| keys)
                }
            },
        }
    }

    /// Fetches every key set now; the first error, once all were tried.
    pub(crate) async fn refresh_now(&self) -> Result<(), FetchError> {
        match self {
            IssuerKeys::Shared(keys) => keys.refresh_now().await,
            IssuerKeys::PerIssuer(sets) => {
                let mut outcome = Ok(());
                for (_, keys) in sets {
                    let refreshed = keys.refresh_now().await;
                    if outcome.is_ok() {
                        outcome = refreshed;
                    }
                }
                outcome
            }
        }
    }
}

/// The `iss` of a token's payload, read before its signature is checked: it only picks the
/// key set, which must then verify the signature, and the claims check compares it again.
fn claimed_issuer(token: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Issuer {
        iss: String,
    }
    let payload = token.split('.').nth(1)?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Issuer>(&json).ok().map(|c| c.iss)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claimed_issuer_is_read_from_the_payload() {
        let payload = URL_SAFE_NO_PAD.encode(r#"{"iss":"https://as.example","sub":"a"}"#);
        assert_eq!(
            claimed_issuer(&format!("h.{payload}.s")).as_deref(),
            Some("https://as.example")
        );
        assert_eq!(claimed_issuer("h.!!.s"), None);
        let array = URL_SAFE_NO_PAD.encode(r#"{"iss":["a","b"]}"#);
        assert_eq!(claimed_issuer(&format!("h.{array}.s")), None);
    }
}
