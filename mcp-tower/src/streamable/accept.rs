//! What the `Accept` headers admit of the two media types MCP uses (RFC 9110 §12.5.1: the
//! most specific range that names a type decides, and `q=0` refuses it).

use http::{HeaderValue, header};

/// What the `Accept` headers admit: JSON answers, SSE streams.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Accepts {
    pub(crate) json: bool,
    pub(crate) event_stream: bool,
    /// How specific the ranges that decided `json` and `event_stream` were.
    ranks: (Rank, Rank),
}

/// How specifically a media range names a type: `*/*`, `type/*`, or the type itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    #[default]
    Unnamed,
    Any,
    Subtypes,
    Exact,
}

/// Reads the `Accept` headers once.
pub(crate) fn accepts(headers: &http::HeaderMap) -> Accepts {
    let mut found = Accepts::default();
    for value in headers.get_all(header::ACCEPT) {
        found.add(value);
    }
    found
}

impl Accepts {
    /// Adds what one `Accept` value admits.
    pub(crate) fn add(&mut self, value: &HeaderValue) {
        // The value every MCP client sends: compared as bytes, it needs neither splitting nor
        // `to_str`'s check of every byte (`==`: a slice pattern would compare byte by byte).
        let bytes = value.as_bytes();
        if bytes == b"application/json, text/event-stream"
            || bytes == b"text/event-stream, application/json"
        {
            // What `range` makes of both exact ranges: nothing can rank above them. Set
            // directly, as ranking the two ranges cost ~1 500 instructions per request.
            self.json = true;
            self.event_stream = true;
            self.ranks = (Rank::Exact, Rank::Exact);
            return;
        }
        let Ok(value) = value.to_str() else { return };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim();
            // `q=0` refuses what the range names ("not acceptable"); any other weight admits.
            let refused = parts.any(|p| {
                p.trim()
                    .split_once('=')
                    .is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("q") && is_zero(v.trim()))
            });
            self.range(media, !refused);
        }
    }

    /// Applies one media range to both types, where it is at least as specific as the range
    /// that decided before (of equally specific ones, one that admits wins).
    fn range(&mut self, media: &str, admits: bool) {
        let Some((ty, subtype)) = media.split_once('/') else {
            return;
        };
        let apply = |rank: Rank, held: &mut Rank, verdict: &mut bool| {
            if rank == Rank::Unnamed || rank < *held {
                return;
            }
            *verdict = admits || (rank == *held && *verdict);
            *held = rank;
        };
        apply(
            rank((ty, subtype), "application", "json"),
            &mut self.ranks.0,
            &mut self.json,
        );
        apply(
            rank((ty, subtype), "text", "event-stream"),
            &mut self.ranks.1,
            &mut self.event_stream,
        );
    }
}

/// How specifically the range `media` (split at its `/`) names `ty/subtype`.
fn rank(media: (&str, &str), ty: &str, subtype: &str) -> Rank {
    match media {
        ("*", "*") => Rank::Any,
        (t, "*") if t.eq_ignore_ascii_case(ty) => Rank::Subtypes,
        (t, s) if t.eq_ignore_ascii_case(ty) && s.eq_ignore_ascii_case(subtype) => Rank::Exact,
        _ => Rank::Unnamed,
    }
}

/// Whether a `q` value is zero (`0`, `0.`, `0.0`, `0.00`, `0.000`).
fn is_zero(q: &str) -> bool {
    q.strip_prefix('0').is_some_and(|rest| {
        rest.is_empty()
            || rest
                .strip_prefix('.')
                .is_some_and(|d| d.bytes().all(|b| b == b'0'))
    })
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue, header};

    use super::*;

    fn of(values: &[&'static str]) -> Accepts {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::ACCEPT, HeaderValue::from_static(value));
        }
        accepts(&headers)
    }

    #[test]
    fn the_usual_value_reads_as_the_general_parse_reads_it() {
        // Without the space, the value takes the general path.
        let general = of(&["application/json,text/event-stream"]);
        assert_eq!(of(&["application/json, text/event-stream"]), general);
        assert_eq!(of(&["text/event-stream, application/json"]), general);
        assert!(general.json && general.event_stream);
        // A later header's refusal of an equally specific range does not undo the admission.
        let refused_after = [
            "application/json, text/event-stream",
            "text/event-stream;q=0",
        ];
        let general_after = [
            "application/json,text/event-stream",
            "text/event-stream;q=0",
        ];
        assert_eq!(of(&refused_after), of(&general_after));
        assert!(of(&refused_after).event_stream);
    }

    #[test]
    fn the_most_specific_range_decides() {
        let accepts = of(&["*/*, application/json;q=0"]);
        assert!(!accepts.json && accepts.event_stream);
        let accepts = of(&["text/*;q=0, text/event-stream"]);
        assert!(!accepts.json && accepts.event_stream);
        assert_eq!(of(&["application"]), Accepts::default());
    }
}
