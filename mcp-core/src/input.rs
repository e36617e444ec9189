//! Multi round-trip requests of the modern era (2026-07-28): [`InputRound`] and the sealed
//! `requestState` ([`RequestStateSealer`]).

use std::collections::{BTreeMap, BTreeSet};
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
///
/// Under 2026-07-28 a handler that calls `ctx.sample()`, `ctx.elicit()` or `ctx.list_roots()`
/// does not wait on a stream: the router answers `resultType: "input_required"` with the
/// questions and a sealed `requestState`; the client retries the same request with
/// `inputResponses` and the state, and **the handler runs again from the top**, this time
/// finding its answers (so side effects before a question repeat once per round; see
/// [`RequestContext::list_roots`](crate::RequestContext::list_roots)). Each question is keyed
/// by its position in the handler's sequence of questions ([`InputRound::key`]), so the
/// handler code is the same as in the legacy era.
///
/// ```
/// use mcp_core::InputRound;
///
/// // The router makes one round per run; a handler's first unnamed question is `input-0`.
/// let round = InputRound::default();
/// assert_eq!(InputRound::key(0), "input-0");
/// assert!(round.answers().is_empty() && round.take_asked().is_empty());
/// ```
#[derive(Debug, Default)]
pub struct InputRound {
    answers: BTreeMap<String, Box<RawValue>>,
    /// For answers whose question is known: the [digest](question_digest) of the question
    /// each answered. An answer is the handler's only if it asks that same question again.
    questions: BTreeMap<String, String>,
    asked: Mutex<Vec<AskedInput>>,
    /// Keys whose answers the handler read, with their questions' digests: only those are
    /// carried to the next round.
    used: Mutex<BTreeMap<String, String>>,
    waiting: Notify,
}

/// A digest of a question (its method and params), sealed with its key: an answer counts
/// only for the question it answered, even when a re-run asks something else under that key
/// (a question whose text comes from data that changed between rounds).
///
/// The params are read in a canonical spelling (keys sorted), so that a question built from a
/// `HashMap` is the same question in every run.
pub(crate) fn question_digest(method: &str, params: &RawValue) -> String {
    let params = crate::jsonrpc::canonical_json(params.get());
    let digest = RequestStateSealer::binding(&[method, &params]);
    URL_SAFE_NO_PAD.encode(&digest[..16])
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
        Self::with_questions(answers, BTreeMap::new())
    }

    /// A round whose answers are bound to the questions they answered (`questions`: key →
    /// [`question_digest`]); an answer whose key has no digest there is taken as it is.
    pub(crate) fn with_questions(
        answers: BTreeMap<String, Box<RawValue>>,
        questions: BTreeMap<String, String>,
    ) -> Self {
        Self {
            answers,
            questions,
            asked: Mutex::new(Vec::new()),
            used: Mutex::new(BTreeMap::new()),
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
            let question = question_digest(method, &params);
            // An answer to another question under this key is no answer to this one: asked
            // again, the client sees what it now answers.
            if self
                .questions
                .get(&key)
                .is_none_or(|answered| *answered == question)
            {
                self.used
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .insert(key, question);
                return InputWait::Answered(answer.clone());
            }
            // A question built from data that changes in every run (a timestamp) is never
            // answered: the handler's author must hear of it.
            tracing::warn!(
                key,
                method,
                "the question asked under this key differs from the one the client answered; \
                 asking again (a question must be the same in every run to be answered)"
            );
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
            .filter(|(key, _)| used.contains_key(*key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    }

    /// The questions the handler's [used answers](Self::used_answers) answered (key →
    /// digest), to seal with them.
    pub(crate) fn used_questions(&self) -> BTreeMap<String, String> {
        self.used
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// What a `requestState` carries from one round of a request to the next.
///
/// ```
/// use mcp_core::RoundState;
///
/// let round = RoundState::default().asking(["input-0"]);
/// assert!(round.asked.contains("input-0") && round.answers.is_empty());
/// ```
#[derive(Debug, Clone, Default)]
pub struct RoundState {
    /// The answers the handler read in earlier rounds.
    pub answers: BTreeMap<String, Box<RawValue>>,
    /// The keys of the questions the last round asked: the only keys whose answers the retry's
    /// `inputResponses` may bring.
    pub asked: BTreeSet<String>,
    /// The question each key stands for, answered or asked: a digest of its method and
    /// params. A key without one (a state sealed before they were recorded) binds nothing.
    pub questions: BTreeMap<String, String>,
}

impl RoundState {
    /// The same state, also asking the questions under `keys`.
    pub fn asking<I, K>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = K>,
        K: Into<String>,
    {
        self.asked.extend(keys.into_iter().map(Into::into));
        self
    }
}

/// Seals and opens `requestState` values.
///
/// The state carries the answers of earlier rounds and the keys of the questions the last
/// round asked, sealed with HMAC-SHA256 under a server key and bound to the request
/// (principal, method, params), so a client can neither forge it nor replay it for another
/// request or another principal. Only answers under those asked keys are taken from the
/// retry's `inputResponses`: the spec says to ignore what the server does not recognise, and a
/// handler must not find an answer to a question it never put to the client.
///
/// ```
/// use std::time::Duration;
/// use mcp_core::{RequestStateSealer, RoundState};
///
/// let sealer = RequestStateSealer::new(b"a server secret of at least 32 bytes!!", Duration::from_secs(600));
/// let binding = RequestStateSealer::binding(&["alice", "tools/call", r#"{"name":"x"}"#]);
/// let state = sealer.seal(&binding, &RoundState::default().asking(["input-0"])).unwrap();
/// assert!(sealer.open(&state, &binding).unwrap().asked.contains("input-0"));
/// let other = RequestStateSealer::binding(&["mallory", "tools/call", r#"{"name":"x"}"#]);
/// assert!(sealer.open(&state, &other).is_err());
/// ```
#[derive(Clone)]
pub struct RequestStateSealer {
    key: Vec<u8>,
    /// Keys being retired: states they sealed still open (see [`Self::also_opening`]).
    retired: Vec<Vec<u8>>,
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
    /// The keys the last round asked (absent in a state sealed before they were recorded:
    /// then no new answer is taken and the handler asks again).
    #[serde(default)]
    q: BTreeSet<String>,
    /// The questions' digests, by key (absent in older states: no binding then).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    d: BTreeMap<String, String>,
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

/// The shortest key a sealer takes: as long as the HMAC-SHA256 output (RFC 2104 §3). A
/// shorter one (an empty environment variable, say) would let clients forge states.
pub const MIN_REQUEST_STATE_KEY_BYTES: usize = 32;

/// Refuses a key too short to keep states unforgeable.
fn check_key(key: &[u8]) {
    assert!(
        key.len() >= MIN_REQUEST_STATE_KEY_BYTES,
        "a requestState key must have at least {MIN_REQUEST_STATE_KEY_BYTES} bytes (this one \
         has {}): a short key lets clients forge states",
        key.len()
    );
}

impl RequestStateSealer {
    /// A sealer with this secret key and maximum state age.
    ///
    /// # Panics
    ///
    /// When `key` is shorter than [`MIN_REQUEST_STATE_KEY_BYTES`], like a router built with
    /// two tools of one name: a configuration that cannot be served safely.
    ///
    /// ```should_panic
    /// let empty = std::env::var("UNSET_STATE_KEY").unwrap_or_default();
    /// mcp_core::RequestStateSealer::new(empty.as_bytes(), std::time::Duration::from_secs(600));
    /// ```
    pub fn new(key: &[u8], max_age: Duration) -> Self {
        check_key(key);
        Self {
            key: key.to_vec(),
            retired: Vec::new(),
            max_age,
        }
    }

    /// Also opens states sealed under `retired_key`, which seals nothing new: to rotate the
    /// key without failing the requests in flight, give every node the new key with the old
    /// one here, then drop the old one once `max_age` has passed.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcp_core::{RequestStateSealer, RoundState};
    ///
    /// let max_age = Duration::from_secs(600);
    /// let old = RequestStateSealer::new(b"the key of last month, 32 bytes long!", max_age);
    /// let new = RequestStateSealer::new(b"the key of this month, 32 bytes long!", max_age)
    ///     .also_opening(b"the key of last month, 32 bytes long!");
    /// let binding = RequestStateSealer::binding(&["alice", "tools/call"]);
    /// let in_flight = old.seal(&binding, &RoundState::default()).unwrap();
    /// assert!(new.open(&in_flight, &binding).is_ok());
    /// // What the new key seals, the old one does not open.
    /// let fresh = new.seal(&binding, &RoundState::default()).unwrap();
    /// assert!(old.open(&fresh, &binding).is_err());
    /// ```
    ///
    /// # Panics
    ///
    /// As [`new`](Self::new), when `retired_key` is shorter than
    /// [`MIN_REQUEST_STATE_KEY_BYTES`].
    #[must_use]
    pub fn also_opening(mut self, retired_key: &[u8]) -> Self {
        check_key(retired_key);
        self.retired.push(retired_key.to_vec());
        self
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

    /// Seals the state of a round for a request.
    pub fn seal(
        &self,
        binding: &[u8; 32],
        round: &RoundState,
    ) -> Result<String, serde_json::Error> {
        let expires = now_secs().saturating_add(self.max_age.as_secs());
        let payload = serde_json::to_vec(&SealedState {
            b: URL_SAFE_NO_PAD.encode(binding),
            e: expires,
            a: round.answers.clone(),
            q: round.asked.clone(),
            d: round.questions.clone(),
        })?;
        let mut mac = mac(&self.key);
        mac.update(&payload);
        let tag = mac.finalize().into_bytes();
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        ))
    }

    /// Checks a state and returns the round state it carries.
    pub fn open(&self, state: &str, binding: &[u8; 32]) -> Result<RoundState, StateError> {
        let (payload, tag) = state.split_once('.').ok_or(StateError::Forged)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| StateError::Forged)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| StateError::Forged)?;
        let genuine = std::iter::once(&self.key).chain(&self.retired).any(|key| {
            let mut mac = mac(key);
            mac.update(&payload);
            mac.verify_slice(&tag).is_ok()
        });
        if !genuine {
            return Err(StateError::Forged);
        }
        let sealed: SealedState =
            serde_json::from_slice(&payload).map_err(|_| StateError::Forged)?;
        if sealed.b != URL_SAFE_NO_PAD.encode(binding) {
            return Err(StateError::WrongRequest);
        }
        if sealed.e < now_secs() {
            return Err(StateError::Expired);
        }
        Ok(RoundState {
            answers: sealed.a,
            asked: sealed.q,
            questions: sealed.d,
        })
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length.
    HmacSha256::new_from_slice(key).expect("HMAC takes any key length")
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> RequestStateSealer {
        RequestStateSealer::new(b"0123456789abcdef0123456789abcdef", Duration::from_secs(60))
    }

    #[test]
    fn a_state_carries_the_keys_its_round_asked() {
        let binding = RequestStateSealer::binding(&["alice", "tools/call"]);
        let answer = RawValue::from_string(r#"{"roots":[]}"#.to_owned()).unwrap();
        let round = RoundState {
            answers: BTreeMap::from([("input-0".to_owned(), answer)]),
            ..RoundState::default()
        }
        .asking(["input-1", "user_name"]);
        let opened = sealer()
            .open(&sealer().seal(&binding, &round).unwrap(), &binding)
            .unwrap();
        assert_eq!(opened.answers.keys().collect::<Vec<_>>(), ["input-0"]);
        assert_eq!(
            opened.asked,
            BTreeSet::from(["input-1".into(), "user_name".into()])
        );
    }

    #[test]
    fn a_state_sealed_without_asked_keys_opens_asking_nothing() {
        // The shape sealed before the asked keys were recorded: it still opens, and no new
        // answer is taken (the handler asks again) rather than every one.
        let binding = RequestStateSealer::binding(&["alice", "tools/call"]);
        let payload = serde_json::json!({
            "b": URL_SAFE_NO_PAD.encode(binding),
            "e": now_secs() + 60,
            "a": {}
        })
        .to_string();
        let mut mac = mac(&sealer().key);
        mac.update(payload.as_bytes());
        let state = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        );
        let opened = sealer().open(&state, &binding).unwrap();
        assert!(opened.asked.is_empty() && opened.answers.is_empty());
    }
}
