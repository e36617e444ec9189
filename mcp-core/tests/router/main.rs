//! The `Router` dispatch service, driven through `tower::ServiceExt::oneshot` with requests
//! parsed from raw JSON, in both eras (2025-11-25 and 2026-07-28).
//!
//! `support` holds the shared fixtures (`full_router`) and request/response plumbing; each
//! other module covers one area of the protocol.

#[path = "../support/session.rs"]
mod session;
mod support;

mod context;
mod elicitation;
mod lifecycle;
mod modern;
mod resources_prompts;
mod tools;
