//! # mcp-auth
//!
//! Authentication for MCP servers as plain tower layers (DESIGN §6).
//!
//! - [`Authenticate`]: the one small trait any authentication implements (closures too):
//!   given the request head, a [`Principal`](mcp_core::Principal) or a [`Rejection`]
//!   (401 / 403 / 400).
//! - [`AuthLayer`]: runs it for every request, puts the principal into the request
//!   extensions, answers rejections with `WWW-Authenticate` and a JSON-RPC error body.
//! - [`JwtAuthenticator`]: the OAuth 2.1 resource-server implementation (JWT access tokens,
//!   JWKS fetched and cached, algorithm pinned, `aud` / `iss` / `exp` / `nbf` checked).
//! - [`WwwAuthenticate`]: the challenge builder (RFC 6750 parameters, RFC 7230 quoting).
//! - [`ProtectedResourceMetadata`], [`MetadataService`], [`MetadataLayer`]: the RFC 9728
//!   document, served without authentication.
//! - [`RequiredScopes`]: per tool / prompt / resource scope policy and the
//!   `insufficient_scope` step-up challenge; [`ScopeLayer`] applies it at the RPC tier.
//!
//! A server protected by JWTs, with the metadata served beside it:
//!
//! ```no_run
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use hyper_util::rt::{TokioExecutor, TokioIo};
//! use mcp_auth::{AuthLayer, JwtAuthenticator, MetadataLayer, MetadataService, ProtectedResourceMetadata};
//! use mcp_core::Principal;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let resource = "http://127.0.0.1:3000/mcp";
//!     let issuer = "http://127.0.0.1:4000";
//!     let jwt = JwtAuthenticator::builder(resource)
//!         .issuer(issuer)
//!         .jwks_url("http://127.0.0.1:4000/jwks.json")
//!         .required_scopes(["mcp"])
//!         .build()?;
//!     let metadata = MetadataService::new(
//!         ProtectedResourceMetadata::new(resource)
//!             .authorization_server(issuer)
//!             .scopes_supported(["mcp"]),
//!     )?;
//!
//!     let service = ServiceBuilder::new()
//!         .layer(MetadataLayer::new(metadata)) // outside auth: no token needed
//!         .layer(AuthLayer::new(jwt))
//!         .service_fn(|request: http::Request<hyper::body::Incoming>| async move {
//!             let who = request.extensions().get::<Principal>().map(|p| p.subject().to_owned());
//!             Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from(who.unwrap_or_default()))))
//!         });
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     loop {
//!         let (stream, _) = listener.accept().await?;
//!         let service = service.clone();
//!         tokio::spawn(async move {
//!             let hyper_service = hyper::service::service_fn(move |request| service.clone().oneshot(request));
//!             let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
//!                 .serve_connection(TokioIo::new(stream), hyper_service)
//!                 .await;
//!         });
//!     }
//! }
//! ```
//!
//! Replacing JWTs with your own scheme is replacing one layer argument: see [`Authenticate`].

#![forbid(unsafe_code)]

pub mod auth;
mod authenticate;
mod challenge;
mod error;
pub mod jwt;
pub mod metadata;
pub mod rate_limit;
mod rejection;
mod scope;
pub mod scope_layer;

pub use auth::{Auth, AuthLayer};
pub use authenticate::{Authenticate, bearer_token};
pub use challenge::{InvalidChallenge, WwwAuthenticate, is_scope_token};
pub use error::ConfigError;
pub use jwt::{
    FetchError, HttpFetcher, JwksFetcher, JwtAuthenticator, JwtAuthenticatorBuilder,
    authorization_server_metadata_url,
};
pub use metadata::{
    MetadataLayer, MetadataService, ProtectedResourceMetadata, WithMetadata, resource_metadata_url,
};
pub use rate_limit::{Quota, RateLimit, RateLimitLayer, RpcRateLimit, RpcRateLimitLayer};
pub use rejection::{Forbidden, Rejection, Unavailable, codes};
pub use scope::{MissingScopes, RequiredScopes, ScopeTarget, check_scopes, insufficient_scope};
pub use scope_layer::{Scope, ScopeLayer};
