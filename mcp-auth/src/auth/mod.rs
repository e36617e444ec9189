//! [`AuthLayer`]: authenticate every request before it reaches the MCP stack.
//!
//! The layer runs an [`Authenticate`](crate::Authenticate) implementation on the request head.
//! On success the [`Principal`](mcp_core::Principal) goes into the request extensions and the
//! request continues; on failure the layer answers itself (401 / 403 / 400 with
//! `WWW-Authenticate` and a JSON-RPC error body, see [`Rejection`](crate::Rejection)) and the
//! inner service never sees the request.
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::request::Parts;
//! use http_body_util::Full;
//! use mcp_auth::{AuthLayer, Rejection, WwwAuthenticate};
//! use mcp_core::Principal;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let service = ServiceBuilder::new()
//!     .layer(AuthLayer::new(|parts: &Parts| {
//!         let ok = parts.headers.get("x-api-key").is_some_and(|k| k == "s3cret");
//!         async move {
//!             if ok {
//!                 Ok(Principal::new("ci-bot"))
//!             } else {
//!                 Err(Rejection::unauthorized(WwwAuthenticate::new("ApiKey")))
//!             }
//!         }
//!     }))
//!     .service_fn(|request: http::Request<Full<Bytes>>| async move {
//!         let who = request.extensions().get::<Principal>().unwrap().subject().to_owned();
//!         Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(who))))
//!     });
//!
//! let request = http::Request::post("/mcp").body(Full::default()).unwrap();
//! let response = service.clone().oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 401);
//! assert_eq!(response.headers()["www-authenticate"], "ApiKey");
//!
//! let request = http::Request::post("/mcp")
//!     .header("x-api-key", "s3cret")
//!     .body(Full::default())
//!     .unwrap();
//! let response = service.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! # }
//! ```

mod future;
mod layer;
mod service;

pub use future::ResponseFuture;
pub use layer::AuthLayer;
pub use service::Auth;

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use bytes::Bytes;
    use http::request::Parts;
    use http::{Request, Response, header};
    use http_body_util::Full;
    use mcp_core::Principal;
    use tower::{Layer, ServiceExt};

    use crate::{Authenticate, Rejection, WwwAuthenticate};

    use super::AuthLayer;

    /// Refuses everyone, at once (`now`) or after an await.
    struct Nobody {
        now: bool,
    }

    impl Authenticate for Nobody {
        async fn authenticate(&self, _: &Parts) -> Result<Principal, Rejection> {
            Err(Rejection::unauthorized(WwwAuthenticate::new("Bearer")))
        }

        fn authenticate_now(&self, _: &Parts) -> Option<Result<Principal, Rejection>> {
            self.now
                .then(|| Err(Rejection::unauthorized(WwwAuthenticate::new("Bearer"))))
        }
    }

    /// A refusal leaves the body unread: a request that announced one is told that the
    /// connection closes (see `mcp_core::headers::close_if_body_unread`), one without is not.
    #[tokio::test]
    async fn a_refusal_of_a_request_with_a_body_closes_the_connection() {
        for now in [true, false] {
            let service = AuthLayer::new(Nobody { now }).layer(tower::service_fn(
                |_: Request<Full<Bytes>>| async {
                    Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
                },
            ));
            let with_body = Request::post("/mcp")
                .header(header::CONTENT_LENGTH, "5")
                .body(Full::from("hello"))
                .unwrap();
            let refused = service.clone().oneshot(with_body).await.unwrap();
            assert_eq!(refused.status(), 401);
            assert_eq!(refused.headers()[header::CONNECTION], "close", "now: {now}");
            let without = Request::get("/mcp").body(Full::default()).unwrap();
            let refused = service.oneshot(without).await.unwrap();
            assert_eq!(refused.status(), 401);
            assert!(!refused.headers().contains_key(header::CONNECTION));
        }
    }
}
