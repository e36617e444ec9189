//! Reading a POST body whole, within the configured limit.

use bytes::{Buf, Bytes};
use http::{Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::body::McpBody;
use crate::error_body::json_rpc_error_response;

/// The whole body, up to `limit` bytes.
pub(super) async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, Response<McpBody>>
where
    B: http_body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    // By hand rather than `collect()`: a JSON-RPC body nearly always arrives in one frame,
    // which is then used as it is, without the queue `collect` allocates for every body.
    let mut body = std::pin::pin!(Limited::new(body, limit));
    let mut whole = Bytes::new();
    let mut joined: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            if error.is::<LengthLimitError>() {
                json_rpc_error_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    -32600,
                    "Payload Too Large: the body exceeds the configured limit",
                )
            } else {
                json_rpc_error_response(
                    StatusCode::BAD_REQUEST,
                    -32700,
                    "Parse error: the body could not be read",
                )
            }
        })?;
        // Trailers carry nothing for us.
        let Ok(mut data) = frame.into_data() else {
            continue;
        };
        let chunk = data.copy_to_bytes(data.remaining());
        if whole.is_empty() && joined.is_empty() {
            whole = chunk;
        } else {
            if joined.is_empty() {
                joined.extend_from_slice(&whole);
            }
            joined.extend_from_slice(&chunk);
        }
    }
    Ok(if joined.is_empty() {
        whole
    } else {
        Bytes::from(joined)
    })
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body::Frame;
    use http_body_util::StreamBody;

    use super::*;

    /// A body that yields `parts` one by one.
    fn frames(parts: Vec<Frame<Bytes>>) -> impl http_body::Body<Data = Bytes, Error = Infallible> {
        StreamBody::new(futures_util::stream::iter(
            parts.into_iter().map(Ok::<_, Infallible>),
        ))
    }

    fn data(text: &'static str) -> Frame<Bytes> {
        Frame::data(Bytes::from_static(text.as_bytes()))
    }

    #[tokio::test]
    async fn one_frame_is_used_as_it_is_and_several_are_joined() {
        let one = Bytes::from_static(b"{\"a\":1}");
        let read = read_body(frames(vec![Frame::data(one.clone())]), 64).await;
        let read = read.expect("within the limit");
        assert_eq!(read, one);
        assert_eq!(read.as_ptr(), one.as_ptr(), "the frame itself, not a copy");

        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-t", http::HeaderValue::from_static("1"));
        let parts = vec![
            data(""),
            data("{\"a\":"),
            data(""),
            data("[1,"),
            data("2]}"),
            Frame::trailers(trailers),
        ];
        let read = read_body(frames(parts), 64)
            .await
            .expect("within the limit");
        assert_eq!(&read[..], b"{\"a\":[1,2]}");
        let empty = read_body(frames(vec![]), 64).await.expect("empty is fine");
        assert!(empty.is_empty());
    }

    #[tokio::test]
    async fn over_the_limit_is_413_even_across_frames() {
        let parts = vec![data("0123456789"), data("0123456789")];
        let refused = read_body(frames(parts), 15)
            .await
            .expect_err("over the limit");
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let parts = vec![data("0123456789"), data("01234")];
        assert!(read_body(frames(parts), 15).await.is_ok());
    }
}
