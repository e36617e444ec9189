//! Rate limiting per caller, as two layers sharing one token-bucket implementation:
//!
//! - [`RateLimitLayer`] at the HTTP tier: one token per HTTP request; over the limit the
//!   request is answered `429 Too Many Requests` with `Retry-After` (whole seconds, rounded
//!   up) and a JSON-RPC error body, and never reaches the inner service.
//! - [`RpcRateLimitLayer`] at the RPC tier: one token per JSON-RPC request; over the limit
//!   the request is answered with the JSON-RPC error [`RATE_LIMITED`] (`-32000`,
//!   `"Rate limit exceeded"`) carrying `data.retryAfterMs`, which the HTTP bridge answers
//!   `429` with `Retry-After` (an [`HttpRefusal`]). Notifications and client
//!   responses always pass. Put it below `BatchLayer` so that every item of a batch is
//!   counted and judged on its own, and above `AllowListLayer` and
//!   [`ScopeLayer`](crate::ScopeLayer), whose refusals are otherwise answered unmetered.
//!
//! # Who is charged
//!
//! The key of a request is, in order:
//! 1. the identity ([`Principal::id`]: issuer and subject) of the [`Principal`] in the
//!    extensions (put there by [`AuthLayer`](crate::AuthLayer): place the rate limit below it);
//! 2. else the peer address: a [`std::net::SocketAddr`] in the extensions (`mcp_tower::serve`
//!    inserts one into every request; with plain hyper, insert it per connection, as
//!    `examples/hyper` does). `axum::serve` with `into_make_service_with_connect_info` keeps
//!    it inside axum's `ConnectInfo`, which is not read here: copy it out in front of the
//!    MCP service, e.g. with `axum::middleware::map_request` and
//!    `request.extensions_mut().insert(connect_info.0)`, or every anonymous caller shares
//!    the bucket of step 3. IPv6 peers are grouped by /64, the block one subscriber usually
//!    gets;
//! 3. else one bucket shared by every anonymous request.
//!
//! Below [`AuthLayer`](crate::AuthLayer), requests it refuses are never charged: each one
//! with a token to check costs a signature verification. A second `RateLimitLayer` above
//! it, where no principal is known yet, charges every request to its peer address.
//!
//! # Bounded memory
//!
//! Buckets live in a sharded map. A bucket that has refilled completely is the same as one
//! never created, so such idle buckets are dropped: a shard sweeps them when it is used, at
//! most once a second and at least once per refill time (capped at a minute). And the map
//! never holds more than [`max_keys`](RateLimitLayer::max_keys) keys: when a shard is full,
//! the bucket closest to full is evicted. A flood of new keys (as many as a shard holds,
//! within one refill time) can thus free a throttled caller, but only the one whose wait was
//! nearest its end.
//!
//! Every service made by one layer value shares its buckets.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use mcp_auth::rate_limit::{Quota, RateLimitLayer};
//! use mcp_core::Principal;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // 10 requests per second per caller, bursts of up to 20.
//! let mut service = ServiceBuilder::new()
//!     .layer(RateLimitLayer::new(Quota::per_second(10).burst(20)))
//!     .service_fn(|_: http::Request<Full<Bytes>>| async {
//!         Ok::<_, Infallible>(http::Response::new(Full::<Bytes>::default()))
//!     });
//!
//! let request = || {
//!     let mut request = http::Request::post("/mcp").body(Full::default()).unwrap();
//!     // What AuthLayer would have inserted.
//!     request.extensions_mut().insert(Principal::new("alice"));
//!     request
//! };
//! for _ in 0..20 {
//!     let response = service.ready().await.unwrap().call(request()).await.unwrap();
//!     assert_eq!(response.status(), 200);
//! }
//! let response = service.ready().await.unwrap().call(request()).await.unwrap();
//! assert_eq!(response.status(), 429);
//! assert_eq!(response.headers()["retry-after"], "1");
//! # }
//! ```

mod http_tier;
mod limiter;
mod rpc_tier;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mcp_core::jsonrpc::ErrorObject;
use mcp_core::{HttpRefusal, Principal};

pub use http_tier::{RateLimit, RateLimitLayer, ResponseFuture};
pub use rpc_tier::{RpcRateLimit, RpcRateLimitLayer, RpcResponseFuture};

/// The JSON-RPC error code of a refusal, in both tiers (the implementation-defined
/// server-error range; MCP assigns it no other meaning).
pub const RATE_LIMITED: i32 = -32000;

/// The JSON-RPC error message of a refusal.
pub const RATE_LIMITED_MESSAGE: &str = "Rate limit exceeded";

/// The error object of a refusal, in both tiers: retry after `wait`. Its [`HttpRefusal`]
/// has the HTTP bridge answer an RPC-tier refusal `429` with `Retry-After`.
fn rate_limited(wait: Duration) -> ErrorObject {
    ErrorObject::new(RATE_LIMITED, RATE_LIMITED_MESSAGE)
        .with_data(serde_json::json!({ "retryAfterMs": limiter::ceil_millis(wait) }))
        .with_http_refusal(HttpRefusal::RateLimited(wait))
}

/// The default bound on the number of callers tracked at once.
pub const DEFAULT_MAX_KEYS: usize = 100_000;

/// How fast a caller may go: a token bucket refilled at a steady rate, holding at most
/// `burst` tokens (a caller idle for long may send `burst` requests at once).
///
/// Rates and bursts below 1 are raised to 1.
///
/// ```
/// use std::time::Duration;
///
/// use mcp_auth::rate_limit::Quota;
///
/// let quota = Quota::per_second(5).burst(10);
/// assert_eq!(quota.interval(), Duration::from_millis(200));
/// assert_eq!(quota.burst_size(), 10);
/// // One request every 2 seconds, no bursts.
/// let slow = Quota::every(Duration::from_secs(2));
/// assert_eq!(slow.burst_size(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    interval: Duration,
    burst: u32,
}

impl Quota {
    /// `rate` tokens per second; the burst defaults to `rate`.
    pub fn per_second(rate: u32) -> Self {
        let rate = rate.max(1);
        Self {
            interval: Duration::from_secs(1) / rate,
            burst: rate,
        }
    }

    /// `rate` tokens per minute; the burst defaults to `rate`.
    pub fn per_minute(rate: u32) -> Self {
        let rate = rate.max(1);
        Self {
            interval: Duration::from_secs(60) / rate,
            burst: rate,
        }
    }

    /// One token every `interval` (at least 1 ns), burst 1.
    pub fn every(interval: Duration) -> Self {
        Self {
            interval: interval.max(Duration::from_nanos(1)),
            burst: 1,
        }
    }

    /// The most tokens the bucket holds (at least 1).
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// The time one token takes to come back.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The bucket size.
    pub fn burst_size(&self) -> u32 {
        self.burst
    }
}

/// Who a request is charged to; see the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key<'a> {
    Subject(&'a str),
    Peer(IpAddr),
    Anonymous,
}

fn key_of(extensions: &http::Extensions) -> Key<'_> {
    if let Some(principal) = extensions.get::<Principal>() {
        return Key::Subject(principal.id());
    }
    match extensions.get::<SocketAddr>() {
        Some(addr) => Key::Peer(mcp_core::peer_block(addr.ip())),
        None => Key::Anonymous,
    }
}

/// The hashed key of a request in `limiter`.
fn hashed_key(limiter: &limiter::Limiter, extensions: &http::Extensions) -> u64 {
    limiter.hash_key(&key_of(extensions))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas() {
        assert_eq!(Quota::per_second(4).interval(), Duration::from_millis(250));
        assert_eq!(Quota::per_second(4).burst_size(), 4);
        assert_eq!(Quota::per_minute(3).interval(), Duration::from_secs(20));
        assert_eq!(Quota::per_second(0), Quota::per_second(1));
        assert_eq!(Quota::per_second(2).burst(0).burst_size(), 1);
        assert_eq!(
            Quota::every(Duration::ZERO).interval(),
            Duration::from_nanos(1)
        );
    }

    #[test]
    fn keys() {
        use std::net::Ipv6Addr;

        let mut extensions = http::Extensions::new();
        assert_eq!(key_of(&extensions), Key::Anonymous);
        extensions.insert(SocketAddr::from(([192, 0, 2, 7], 4000)));
        assert_eq!(key_of(&extensions), Key::Peer([192, 0, 2, 7].into()));
        let v6: Ipv6Addr = "2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse().unwrap();
        extensions.insert(SocketAddr::from((v6, 1)));
        let block: Ipv6Addr = "2001:db8:1:2::".parse().unwrap();
        assert_eq!(key_of(&extensions), Key::Peer(block.into()));
        let mapped: Ipv6Addr = "::ffff:192.0.2.9".parse().unwrap();
        extensions.insert(SocketAddr::from((mapped, 1)));
        assert_eq!(key_of(&extensions), Key::Peer([192, 0, 2, 9].into()));
        extensions.insert(Principal::new("alice"));
        assert_eq!(key_of(&extensions), Key::Subject("alice"));
        // The same `sub` from another issuer is someone else.
        extensions.insert(Principal::new("alice").with_issuer("https://b.example"));
        assert_eq!(key_of(&extensions), Key::Subject("https://b.example#alice"));
    }
}
