//! The protocol types against the official schemas:
//!
//! 1. every example message of the 2026-07-28 specification deserialises into the matching
//!    Rust type and serialises back unchanged;
//! 2. representative values the server writes validate against the matching definition of
//!    every schema version that has it.
//!
//! `round_trip` holds the checkers and `samples` the sample values; each other module holds
//! one group of tests.

#[path = "../support/schema.rs"]
mod schema;

mod builders;
mod examples;
mod round_trip;
mod samples;
mod server_written;
