//! End-to-end tests of mcp-auth over real loopback sockets: a JWKS server, a protected server
//! (`MetadataLayer` + `AuthLayer` + a trivial handler) and a hyper client.

// Fixtures are shared by the test modules; a test binary has no outside users.
#![allow(dead_code, unreachable_pub)]

mod claims;
mod common;
mod custom;
mod jwt;
mod keys;
mod layer;
mod signature;
mod tls;
