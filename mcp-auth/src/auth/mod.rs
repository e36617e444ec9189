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
