//! The HTTP tier's metric keys, all built once: methods and statuses are folded into a few
//! label values so the table is small and complete.

use std::sync::LazyLock;

use http::{Method, StatusCode};
use metrics::{Histogram, Key};

use crate::keys::key;
use crate::names::{self, label};
use crate::recorder::Metric;

const METHODS: [&str; 4] = ["GET", "POST", "DELETE", "_OTHER"];

/// Statuses with their own label value; others are labelled by class.
const STATUSES: [&str; 25] = [
    "200", "201", "202", "204", "304", "400", "401", "403", "404", "405", "406", "409", "413",
    "415", "429", "500", "502", "503", "504", "1xx", "2xx", "3xx", "4xx", "5xx", "error",
];

/// The slot of a failed service call (no status at all).
pub(super) const ERROR_STATUS: usize = STATUSES.len() - 1;

pub(super) fn method_index(method: &Method) -> usize {
    match *method {
        Method::GET => 0,
        Method::POST => 1,
        Method::DELETE => 2,
        _ => 3,
    }
}

pub(super) fn method_label(index: usize) -> &'static str {
    METHODS[index]
}

pub(super) fn status_index(status: StatusCode) -> usize {
    let code = status.as_str();
    STATUSES[..19]
        .iter()
        .position(|s| *s == code)
        .unwrap_or_else(|| {
            // The class slots follow the exact ones, in order.
            19 + usize::from((status.as_u16() / 100).clamp(1, 5) - 1)
        })
}

/// The metrics of one (method, status) pair, with their handles in the global recorder.
pub(crate) struct HttpKeys {
    pub(super) duration: Metric<Histogram>,
    pub(super) body_size: Metric<Histogram>,
}

static HTTP_KEYS: LazyLock<Vec<HttpKeys>> = LazyLock::new(|| {
    METHODS
        .iter()
        .flat_map(|method| {
            STATUSES.iter().map(move |status| {
                let labels = [(label::METHOD, *method), (label::STATUS, *status)];
                HttpKeys {
                    duration: Metric::new(key(names::HTTP_REQUEST_DURATION, &labels)),
                    body_size: Metric::new(key(names::HTTP_RESPONSE_BODY_SIZE, &labels)),
                }
            })
        })
        .collect()
});

pub(super) fn http_keys(method: usize, status: usize) -> &'static HttpKeys {
    &HTTP_KEYS[method * STATUSES.len() + status]
}

static REQUEST_BODY_SIZE: LazyLock<Vec<Metric<Histogram>>> = LazyLock::new(|| {
    METHODS
        .iter()
        .map(|method| {
            Metric::new(key(
                names::HTTP_REQUEST_BODY_SIZE,
                &[(label::METHOD, method)],
            ))
        })
        .collect()
});

pub(super) fn request_body_size(method: usize) -> &'static Metric<Histogram> {
    &REQUEST_BODY_SIZE[method]
}

/// Which SSE stream a response opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StreamKind {
    /// The answer to a POST, streamed.
    Post,
    /// A session's standalone stream (GET), or its resumption.
    Get,
}

impl StreamKind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            StreamKind::Post => "post",
            StreamKind::Get => "get",
        }
    }
}

pub(super) struct StreamKeys {
    pub(super) open: Key,
    pub(super) duration: Key,
}

static STREAM_KEYS: LazyLock<[StreamKeys; 2]> = LazyLock::new(|| {
    [StreamKind::Post, StreamKind::Get].map(|kind| StreamKeys {
        open: key(names::SSE_STREAMS_OPEN, &[(label::KIND, kind.as_str())]),
        duration: key(names::SSE_STREAM_DURATION, &[(label::KIND, kind.as_str())]),
    })
});

pub(super) fn stream_keys(kind: StreamKind) -> &'static StreamKeys {
    &STREAM_KEYS[kind as usize]
}

static REFUSALS: LazyLock<[Key; 5]> = LazyLock::new(|| {
    [
        key(names::AUTH_REFUSED, &[(label::REASON, "unauthorized")]),
        key(names::AUTH_REFUSED, &[(label::REASON, "forbidden")]),
        key(names::RATE_LIMITED, &[(label::TIER, "http")]),
        key(names::AUTH_REFUSED, &[(label::REASON, "bad_request")]),
        key(names::AUTH_REFUSED, &[(label::REASON, "unavailable")]),
    ]
});

pub(super) fn auth_refused_unauthorized() -> &'static Key {
    &REFUSALS[0]
}

pub(super) fn auth_refused_forbidden() -> &'static Key {
    &REFUSALS[1]
}

pub(super) fn rate_limited_http() -> &'static Key {
    &REFUSALS[2]
}

/// Credentials sent the wrong way (a 400 `invalid_request`).
pub(super) fn auth_refused_bad_request() -> &'static Key {
    &REFUSALS[3]
}

/// Credentials that could not be checked (a 503: the authorization server's keys cannot be
/// fetched): the server's trouble, not the client's.
pub(super) fn auth_refused_unavailable() -> &'static Key {
    &REFUSALS[4]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_their_slots() {
        let label = |code: u16| STATUSES[status_index(StatusCode::from_u16(code).unwrap())];
        assert_eq!(label(200), "200");
        assert_eq!(label(429), "429");
        assert_eq!(label(504), "504");
        assert_eq!(label(101), "1xx");
        assert_eq!(label(206), "2xx");
        assert_eq!(label(418), "4xx");
        assert_eq!(label(599), "5xx");
        assert_eq!(STATUSES[19], "1xx");
        assert_eq!(STATUSES[ERROR_STATUS], "error");
    }
}
