//! End-to-end tests of the auth-server example over real loopback sockets: keys generated
//! here, a JWKS served here, tokens minted per case, the full MCP stack in between.

// Fixtures are shared by the test modules; a test binary has no outside users.
#![allow(dead_code, unreachable_pub)]

mod allow_list;
mod binary;
mod browser;
mod common;
mod custom;
mod jwt;
mod rate_limit;
