//! Multi round-trip requests of the modern era (2026-07-28).
//!
//! A handler that calls `ctx.sample()`, `ctx.elicit()` or `ctx.list_roots()` does not wait on
//! a stream: the router answers `resultType: "input_required"` with the questions and a sealed
//! `requestState`; the client retries the same request with `inputResponses` and the state,
//! and the handler runs again from the top, this time finding its answers. Each question is
//! keyed by its position in the handler's sequence of questions, so the handler code is the
//! same as in the legacy era.
//!
//! The state carries the answers of earlier rounds, sealed with HMAC-SHA256 under a server
//! key and bound to the request (principal, method, params), so a client can neither forge it
//! nor replay it for another request or another principal.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use tokio::sync::Notify;

type HmacSha256 = Hmac<Sha256>;

/// The answers known to one run of a handler, and the questions it asked that have none.
#[derive(Debug, Default)]
pub struct InputRound {
    answers: BTreeMap<String, Box<RawValue>>,
    asked: Mutex<Vec<AskedInput>>,
    /// Keys whose answers the handler read: only those are carried to the next round.
    used: Mutex<std::collections::BTreeSet<String>>,
    waiting: Notify,
}

/// A question the handler asked that the client must answer in the next round.
#[derive(Debug, Clone)]
pub struct AskedInput {
    /// The key the answer must come back under.
    pub key: String,
    /// `sampling/createMessage`, `elicitation/create` or `roots/list`.
    pub method: &'static str,
    /// The request's params.
    pub params: Box<RawValue>,
}

/// What the context does with a question.
pub(crate) enum InputWait {
    /// The answer arrived with this request.
    Answered(Box<RawValue>),
    /// The question is recorded; the round ends with `input_required`.
    Asked,
}

impl InputRound {
    /// A round that already knows these answers (from `inputResponses` and the opened state).
    pub fn new(answers: BTreeMap<String, Box<RawValue>>) -> Self {
        Self {
            answers,
            asked: Mutex::new(Vec::new()),
            used: Mutex::new(std::collections::BTreeSet::new()),
            waiting: Notify::new(),
        }
    }

    /// The default key of the `sequence`-th question of a handler run (handlers may name
    /// their questions instead, e.g. `ctx.elicit_keyed("user_name", ..)`).
    pub fn key(sequence: usize) -> String {
        format!("input-{sequence}")
    }

    pub(crate) fn answer_or_ask(
        &self,
        method: &'static str,
        params: Box<RawValue>,
        key: String,
    ) -> InputWait {
        if let Some(answer) = self.answers.get(&key) {
            self.used
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert(key);
            return InputWait::Answered(answer.clone());
        }
        self.asked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(AskedInput {
                key,
                method,
                params,
            });
        self.waiting.notify_one();
        InputWait::Asked
    }

    /// Resolves once the handler has asked at least one unanswered question.
    pub async fn asked(&self) {
        loop {
            if !self.asked_inputs_is_empty() {
                return;
            }
            self.waiting.notified().await;
        }
    }

    fn asked_inputs_is_empty(&self) -> bool {
        self.asked
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_empty()
    }

    /// Takes the questions asked so far.
    pub fn take_asked(&self) -> Vec<AskedInput> {
        std::mem::take(
            &mut *self
                .asked
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// The answers known to this round.
    pub fn answers(&self) -> &BTreeMap<String, Box<RawValue>> {
        &self.answers
    }

    /// The answers the handler actually read: what the next round's state carries (keys
    /// the handler never asked for are dropped, so junk cannot ride along).
    pub fn used_answers(&self) -> BTreeMap<String, Box<RawValue>> {
        let used = self
            .used
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.answers
            .iter()
            .filter(|(key, _)| used.contains(*key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }
}

/// Seals and opens `requestState` values.
///
/// ```
/// use std::collections::BTreeMap;
/// use std::time::Duration;
/// use mcp_core::RequestStateSealer;
///
/// let sealer = RequestStateSealer::new(b"a server secret of at least 32 bytes!!", Duration::from_secs(600));
/// let binding = RequestStateSealer::binding(&["alice", "tools/call", r#"{"name":"x"}"#]);
/// let state = sealer.seal(&binding, &BTreeMap::new()).unwrap();
/// assert!(sealer.open(&state, &binding).is_ok());
/// let other = RequestStateSealer::binding(&["mallory", "tools/call", r#"{"name":"x"}"#]);
/// assert!(sealer.open(&state, &other).is_err());
/// ```
#[derive(Clone)]
pub struct RequestStateSealer {
    key: Vec<u8>,
    max_age: Duration,
}

impl std::fmt::Debug for RequestStateSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestStateSealer")
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct SealedState {
    /// Binding digest (hex is not needed: base64 of the SHA-256).
    b: String,
    /// Expiry, seconds since the epoch.
    e: u64,
    /// The answers so far.
    a: BTreeMap<String, Box<RawValue>>,
}

/// Why a `requestState` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    /// Not produced by this server (bad encoding or signature).
    Forged,
    /// Produced for another request or principal.
    WrongRequest,
    /// Too old.
    Expired,
}

impl std::fmt::Display for StateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StateError::Forged => "requestState is not valid",
            StateError::WrongRequest => "requestState belongs to another request",
            StateError::Expired => "requestState has expired",
        })
    }
}

impl std::error::Error for StateError {}

impl RequestStateSealer {
    /// A sealer with this secret key and maximum state age.
    pub fn new(key: &[u8], max_age: Duration) -> Self {
        Self {
            key: key.to_vec(),
            max_age,
        }
    }

    /// A sealer with a random key (states do not survive a restart or cross nodes).
    pub fn random(max_age: Duration) -> Self {
        let key: [u8; 32] = rand::random();
        Self::new(&key, max_age)
    }

    /// The binding digest of a request: hash of its identifying parts.
    pub fn binding(parts: &[&str]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_be_bytes());
            hasher.update(part.as_bytes());
        }
        hasher.finalize().into()
    }

    /// Seals the answers for a request.
    pub fn seal(
        &self,
        binding: &[u8; 32],
        answers: &BTreeMap<String, Box<RawValue>>,
    ) -> Result<String, serde_json::Error> {
        let expires = now_secs().saturating_add(self.max_age.as_secs());
        let payload = serde_json::to_vec(&SealedState {
            b: URL_SAFE_NO_PAD.encode(binding),
            e: expires,
            a: answers.clone(),
        })?;
        let mut mac = self.mac();
        mac.update(&payload);
        let tag = mac.finalize().into_bytes();
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        ))
    }

    /// Checks a state and returns the answers it carries.
    pub fn open(
        &self,
        state: &str,
        binding: &[u8; 32],
    ) -> Result<BTreeMap<String, Box<RawValue>>, StateError> {
        let (payload, tag) = state.split_once('.').ok_or(StateError::Forged)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| StateError::Forged)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| StateError::Forged)?;
        let mut mac = self.mac();
        mac.update(&payload);
        mac.verify_slice(&tag).map_err(|_| StateError::Forged)?;
        let sealed: SealedState =
            serde_json::from_slice(&payload).map_err(|_| StateError::Forged)?;
        if sealed.b != URL_SAFE_NO_PAD.encode(binding) {
            return Err(StateError::WrongRequest);
        }
        if sealed.e < now_secs() {
            return Err(StateError::Expired);
        }
        Ok(sealed.a)
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length.
        HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length")
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
