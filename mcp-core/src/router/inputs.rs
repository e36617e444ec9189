//! Multi round-trip requests of the modern era, router side: a handler that asks the
//! client something ends the round with `input_required` and a sealed `requestState`; the
//! retry brings the answers back (see `crate::input` for the handler side).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;

use super::dispatch::{Binding, Call, MethodResult};
use super::encode::{Extras, ResultType};
use super::params::RequestMeta;
use crate::context::{HeldRound, RequestContext};
use crate::input::{InputRound, RequestStateSealer, RoundState};
use crate::jsonrpc::{ErrorObject, RawJson};
use crate::principal::Principal;

/// The answers a round starts with, and the questions they answered (key → digest).
type OpenedAnswers = (BTreeMap<String, Box<RawValue>>, BTreeMap<String, String>);

impl Call<'_> {
    /// Runs a handler with the context built from `meta`; in the modern era a handler that
    /// asks the client something ends the round with an `input_required` result instead of
    /// waiting.
    pub(crate) async fn run_with_inputs<T, F, Fut>(
        &self,
        binding: Binding<'_>,
        input_responses: Option<BTreeMap<String, Box<RawValue>>>,
        request_state: Option<String>,
        meta: Option<RequestMeta>,
        run: F,
    ) -> Result<Outcome<T>, ErrorObject>
    where
        F: FnOnce(RequestContext) -> Fut,
        Fut: Future<Output = Result<T, ErrorObject>>,
    {
        if !self.version.is_modern() {
            return run(self.context(meta, None)).await.map(Outcome::Complete);
        }
        let (answers, questions) = self.open_answers(binding, input_responses, request_state)?;
        // The round lives in the context; this clone of it is how the router watches it.
        let round = InputRound::with_questions(answers, questions);
        let ctx = self.context(meta, Some(HeldRound::Own(round)));
        let handler = run(ctx.clone());
        let round = ctx.input().expect("the context was given a round");
        tokio::select! {
            biased;
            result = handler => result.map(Outcome::Complete),
            () = round.asked() => self.input_required(binding, round).map(Outcome::InputRequired),
        }
    }

    /// [`open_answers`](Self::open_answers) in a round of its own, for a handler run that may
    /// outlive its request (a task).
    pub(crate) fn open_round(
        &self,
        binding: Binding<'_>,
        input_responses: Option<BTreeMap<String, Box<RawValue>>>,
        request_state: Option<String>,
    ) -> Result<Arc<InputRound>, ErrorObject> {
        let (answers, questions) = self.open_answers(binding, input_responses, request_state)?;
        Ok(Arc::new(InputRound::with_questions(answers, questions)))
    }

    /// The answers a modern request's round starts with: those sealed in `requestState` plus
    /// the new `inputResponses` to the questions the last round asked, with the questions
    /// they answered (key → digest). `binding` names the request (method, name, arguments).
    fn open_answers(
        &self,
        binding: Binding<'_>,
        input_responses: Option<BTreeMap<String, Box<RawValue>>>,
        request_state: Option<String>,
    ) -> Result<OpenedAnswers, ErrorObject> {
        let Some(state) = &request_state else {
            // A first call may carry answers ready before any question (the conformance
            // suite's `ignore-extra-params` calls so): the handler takes those it asks for and
            // never sees the rest. Nothing is sealed yet that they could replace. (The map as
            // it came: collecting it again cost more than the rest of the round.)
            return Ok((input_responses.unwrap_or_default(), BTreeMap::new()));
        };
        let responses = input_responses.into_iter().flatten();
        let RoundState {
            mut answers,
            asked,
            questions,
        } = self
            .inner
            .sealer
            .open(state, &self.binding(binding))
            .map_err(|e| ErrorObject::invalid_params(e.to_string()))?;
        for (key, answer) in responses {
            // The spec says to ignore responses the server does not recognise. On a retry,
            // taking one the last round did not ask for could replace an answer sealed in an
            // earlier round, which the handler acted on then.
            if asked.contains(&key) {
                answers.insert(key, answer);
            } else {
                tracing::debug!(
                    key,
                    "ignoring an inputResponses entry no question asked for"
                );
            }
        }
        Ok((answers, questions))
    }

    /// The digest a `requestState` is sealed to: the caller and the request. Hashing costs
    /// more than a small handler, so it is only done when a state is opened or sealed.
    fn binding(&self, binding: Binding<'_>) -> [u8; 32] {
        let subject = self.extensions.get::<Principal>().map_or("", Principal::id);
        let named = binding();
        let mut parts = Vec::with_capacity(named.len() + 1);
        parts.push(subject);
        parts.extend(named.iter().map(String::as_str));
        RequestStateSealer::binding(&parts)
    }

    /// The `input_required` result for the questions `round` asked.
    pub(crate) fn input_required(&self, binding: Binding<'_>, round: &InputRound) -> MethodResult {
        let asked = round.take_asked();
        let mut questions = round.used_questions();
        questions.extend(asked.iter().map(|input| {
            let digest = crate::input::question_digest(input.method, &input.params);
            (input.key.clone(), digest)
        }));
        let next = RoundState {
            answers: round.used_answers(),
            asked: asked.iter().map(|input| input.key.clone()).collect(),
            questions,
        };
        let state = self
            .inner
            .sealer
            .seal(&self.binding(binding), &next)
            .map_err(|e| ErrorObject::internal_error(e.to_string()))?;
        let mut requests = serde_json::Map::new();
        for input in asked {
            let params: serde_json::Value = serde_json::from_str(input.params.get())
                .map_err(|e| ErrorObject::internal_error(e.to_string()))?;
            requests.insert(
                input.key,
                serde_json::json!({ "method": input.method, "params": params }),
            );
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct InputRequired {
            input_requests: serde_json::Map<String, serde_json::Value>,
            request_state: String,
        }
        let extras = Extras {
            result_type: ResultType::InputRequired,
            cache: None,
            has_meta: false,
        };
        self.encode(
            &InputRequired {
                input_requests: requests,
                request_state: state,
            },
            extras,
        )
    }
}

/// What a handler run produced.
pub(crate) enum Outcome<T> {
    Complete(T),
    InputRequired(RawJson),
}

impl Call<'_> {
    /// Encodes what a handler run produced: its result with the `extras` it calls for, or
    /// the `input_required` result already encoded.
    pub(crate) fn encode_outcome<T: Serialize>(
        &self,
        outcome: Outcome<T>,
        extras: impl FnOnce(&T) -> Extras,
    ) -> MethodResult {
        match outcome {
            Outcome::Complete(result) => self.encode(&result, extras(&result)),
            Outcome::InputRequired(raw) => Ok(raw),
        }
    }
}
