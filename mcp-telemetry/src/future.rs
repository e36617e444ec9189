//! The response future of [`Telemetry`](crate::Telemetry): runs the inner future inside the
//! call's span, catches its panics, and reports how the call ended, or that it was dropped.

use std::any::Any;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::future::CatchUnwind;
use mcp_core::McpResponse;
use mcp_core::jsonrpc::{ErrorObject, Response, codes};
use metrics::Gauge;
use pin_project_lite::pin_project;
use tracing::Span;
use tracing::field::display;

use crate::call::{CallInfo, capped, classify};
use crate::clock::Start;
use crate::hooks::{OnFailure, OnResponse, panic_message, run_hook};
use crate::outcome::{Failure, Outcome};
use crate::recorder::Held;

/// One instrumented call: what its end needs to be reported.
pub(crate) struct CallState<OnRes: OnResponse, OnFail: OnFailure> {
    info: CallInfo,
    span: Span,
    start: Start,
    in_flight: Held<Gauge>,
    on_response: OnRes,
    on_failure: OnFail,
    is_rate_limited: fn(&ErrorObject) -> bool,
    /// Set once the outcome is reported; a state dropped without it was abandoned.
    finished: bool,
}

impl<OnRes: OnResponse, OnFail: OnFailure> CallState<OnRes, OnFail> {
    pub(crate) fn new(
        info: CallInfo,
        span: Span,
        start: Start,
        in_flight: Held<Gauge>,
        on_response: OnRes,
        on_failure: OnFail,
        is_rate_limited: fn(&ErrorObject) -> bool,
    ) -> Self {
        Self {
            info,
            span,
            start,
            in_flight,
            on_response,
            on_failure,
            is_rate_limited,
            finished: false,
        }
    }

    pub(crate) fn span(&self) -> &Span {
        &self.span
    }

    /// Reports how the call ended: answered with `response`, or panicked with `payload` (then
    /// `response` is the [`panic_response`](Self::panic_response)). The response is only
    /// borrowed: it is the largest value here, and moving it costs more than reading it.
    #[inline(always)]
    fn finish(&mut self, response: &McpResponse, payload: Option<Box<dyn Any + Send>>) {
        self.finished = true;
        let latency = self.start.elapsed();
        if payload.is_none() && self.info.was_cancelled_alone() {
            // Transports do not send the answer of a cancelled request. (One whose whole
            // connection ended, as at the end of stdio's input, is still sent if it is ready
            // within the transport's grace: it counts as answered.)
            return self.finish_cancelled(latency);
        }
        let (mut outcome, error) = classify(self.info.method_index, response);
        if payload.is_some() {
            // A panicking notification has no error response to classify.
            outcome = Outcome::ProtocolError(codes::INTERNAL_ERROR);
        }
        record_outcome(&self.span, outcome, error);
        run_hook("on_response", &self.info, &self.span, || {
            self.on_response
                .on_response(&self.info, response, outcome, latency, &self.span);
        });
        let failure = match (&payload, outcome, error) {
            (Some(payload), _, _) => Some(Failure::Panicked(panic_message(&**payload))),
            (None, Outcome::ToolError, _) => Some(Failure::ToolError),
            (None, Outcome::ProtocolError(_), Some(error)) if (self.is_rate_limited)(error) => {
                Some(Failure::RateLimited(error))
            }
            (None, Outcome::ProtocolError(_), Some(error)) => Some(Failure::ProtocolError(error)),
            _ => None,
        };
        if let Some(failure) = failure {
            self.report_failure(failure, latency);
        }
    }

    #[cold]
    fn finish_cancelled(&mut self, latency: std::time::Duration) {
        record_error_type(&self.span, "cancelled");
        self.report_failure(Failure::Cancelled, latency);
    }

    fn report_failure(&self, failure: Failure<'_>, latency: std::time::Duration) {
        run_hook("on_failure", &self.info, &self.span, || {
            self.on_failure
                .on_failure(&self.info, failure, latency, &self.span);
        });
    }

    /// Reports a panic (in `call` or in the handler's future) and returns what to answer.
    #[cold]
    fn finish_panicked(&mut self, payload: Box<dyn Any + Send>) -> McpResponse {
        let response = self.panic_response();
        self.finish(&response, Some(payload));
        response
    }

    /// -32603 with nothing of the panic in it; nothing at all for a notification.
    fn panic_response(&self) -> McpResponse {
        match self.info.request_id() {
            Some(id) => McpResponse::Single(Response::error(
                Some(id.clone()),
                ErrorObject::internal_error("Internal error"),
            )),
            None => McpResponse::None,
        }
    }
}

impl<OnRes: OnResponse, OnFail: OnFailure> Drop for CallState<OnRes, OnFail> {
    fn drop(&mut self) {
        // Here rather than in a hook, so that replacing hooks cannot unbalance the gauge.
        self.in_flight.decrement(1.0);
        if !self.finished {
            // A transport that drops the call when the client cancels it (stdio does) fired
            // the request's own cancellation first: that is a cancellation, not a client gone.
            // (At the end of stdio's input every request's token fires, with the connection's:
            // those clients are gone.)
            if self.info.was_cancelled_alone() {
                return self.finish_cancelled(self.start.elapsed());
            }
            record_error_type(&self.span, "disconnected");
            self.report_failure(Failure::Disconnected, self.start.elapsed());
        }
    }
}

/// The span fields of a failed call, as OpenTelemetry's MCP conventions record them: any
/// JSON-RPC error is a failed operation (`error.type` the code, status ERROR with the
/// error's message), whoever's mistake it was; a tool error is `tool_error`.
fn record_outcome(span: &Span, outcome: Outcome, error: Option<&ErrorObject>) {
    match (outcome, error) {
        (Outcome::Ok, _) => {}
        (_, None) => record_error_type(span, outcome.error_type().unwrap_or_default()),
        (_, Some(error)) => {
            if span.is_disabled() {
                return;
            }
            // The code itself, even where the metric label folds it: a span attribute has no
            // cardinality to bound.
            span.record("rpc.response.status_code", display(error.code));
            span.record("error.type", display(error.code));
            span.record("otel.status_code", "ERROR");
            span.record("otel.status_description", capped(&error.message));
        }
    }
}

/// Marks the span failed with this `error.type`.
fn record_error_type(span: &Span, error_type: &str) {
    if span.is_disabled() {
        return;
    }
    span.record("otel.status_code", "ERROR");
    span.record("error.type", error_type);
}

pin_project! {
    /// The response future of [`Telemetry`](crate::Telemetry).
    pub struct ResponseFuture<F, OnRes, OnFail>
    where
        OnRes: OnResponse,
        OnFail: OnFailure,
    {
        #[pin]
        kind: Kind<F, OnRes, OnFail>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, OnRes, OnFail>
    where
        OnRes: OnResponse,
        OnFail: OnFailure,
    {
        // Client responses and whole batches: not calls of their own.
        Passthrough { #[pin] future: F },
        Call {
            #[pin]
            future: CatchUnwind<AssertUnwindSafe<F>>,
            state: CallState<OnRes, OnFail>,
        },
        // `call` itself panicked.
        PanickedInCall {
            payload: Option<Box<dyn Any + Send>>,
            state: CallState<OnRes, OnFail>,
        },
        // Answered: the handler's future and the call's span are gone (batch items can be held
        // until their batch is answered; their spans end with them).
        Done,
    }
}

impl<F, OnRes: OnResponse, OnFail: OnFailure> std::fmt::Debug for ResponseFuture<F, OnRes, OnFail> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let call = match &self.kind {
            Kind::Call { state, .. } | Kind::PanickedInCall { state, .. } => Some(&state.info),
            Kind::Passthrough { .. } | Kind::Done => None,
        };
        f.debug_struct("ResponseFuture")
            .field("call", &call)
            .finish_non_exhaustive()
    }
}

impl<F, OnRes, OnFail> ResponseFuture<F, OnRes, OnFail>
where
    F: Future,
    OnRes: OnResponse,
    OnFail: OnFailure,
{
    pub(crate) fn passthrough(future: F) -> Self {
        Self {
            kind: Kind::Passthrough { future },
        }
    }

    pub(crate) fn instrumented(
        future: CatchUnwind<AssertUnwindSafe<F>>,
        state: CallState<OnRes, OnFail>,
    ) -> Self {
        Self {
            kind: Kind::Call { future, state },
        }
    }

    pub(crate) fn panicked_in_call(
        payload: Box<dyn Any + Send>,
        state: CallState<OnRes, OnFail>,
    ) -> Self {
        Self {
            kind: Kind::PanickedInCall {
                payload: Some(payload),
                state,
            },
        }
    }
}

impl<F, OnRes, OnFail> Future for ResponseFuture<F, OnRes, OnFail>
where
    F: Future<Output = Result<McpResponse, Infallible>>,
    OnRes: OnResponse,
    OnFail: OnFailure,
{
    type Output = Result<McpResponse, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut kind = self.project().kind;
        let response = match kind.as_mut().project() {
            KindProj::Passthrough { future } => return future.poll(cx),
            KindProj::Call { future, state } => {
                let polled = {
                    let _entered = state.span.enter();
                    ready!(future.poll(cx))
                };
                match polled {
                    Ok(Ok(response)) => {
                        state.finish(&response, None);
                        response
                    }
                    Ok(Err(never)) => match never {},
                    Err(payload) => state.finish_panicked(payload),
                }
            }
            KindProj::PanickedInCall { payload, state } => {
                let payload = payload.take().expect("polled after completion");
                state.finish_panicked(payload)
            }
            KindProj::Done => panic!("polled after completion"),
        };
        kind.set(Kind::Done);
        Poll::Ready(Ok(response))
    }
}
