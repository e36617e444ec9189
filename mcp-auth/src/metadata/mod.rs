//! OAuth 2.0 Protected Resource Metadata (RFC 9728): the document that tells MCP clients
//! which authorization servers issue tokens for this server, and the service that serves it
//! without authentication.
//!
//! Mount [`MetadataLayer`] outside [`AuthLayer`](crate::AuthLayer) so that the well-known
//! paths are answered before authentication:
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http::request::Parts;
//! use http_body_util::{BodyExt, Full};
//! use mcp_auth::{AuthLayer, MetadataLayer, MetadataService, ProtectedResourceMetadata, Rejection};
//! use mcp_core::Principal;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let metadata = MetadataService::new(
//!     ProtectedResourceMetadata::new("https://mcp.example.com/mcp")
//!         .authorization_server("https://auth.example.com")
//!         .scopes_supported(["mcp"]),
//! )
//! .unwrap();
//! assert_eq!(
//!     metadata.resource_metadata_url(),
//!     "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
//! );
//!
//! let service = ServiceBuilder::new()
//!     .layer(MetadataLayer::new(metadata))
//!     .layer(AuthLayer::new(|_: &Parts| async {
//!         Err::<Principal, _>(Rejection::forbidden("nobody gets in"))
//!     }))
//!     .service_fn(|_: http::Request<Full<Bytes>>| async {
//!         Ok::<_, Infallible>(http::Response::new(Full::<Bytes>::default()))
//!     });
//!
//! let request = http::Request::get("/.well-known/oauth-protected-resource/mcp")
//!     .body(Full::default())
//!     .unwrap();
//! let response = service.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 200);
//! let body = response.into_body().collect().await.unwrap().to_bytes();
//! assert_eq!(
//!     body,
//!     r#"{"resource":"https://mcp.example.com/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["mcp"],"bearer_methods_supported":["header"]}"#
//! );
//! # }
//! ```

mod route;
mod service;

pub use route::{MetadataLayer, RouteFuture, WithMetadata};
pub use service::MetadataService;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// The well-known path prefix of RFC 9728 §3.
pub const WELL_KNOWN_PATH: &str = "/.well-known/oauth-protected-resource";

/// An RFC 9728 protected resource metadata document.
///
/// Empty lists and absent optional members are left out of the JSON. Members this struct does
/// not model can be added through [`additional`](Self::additional).
///
/// ```
/// use mcp_auth::ProtectedResourceMetadata;
/// use serde_json::json;
///
/// let mut metadata = ProtectedResourceMetadata::new("https://mcp.example.com/mcp")
///     .authorization_server("https://auth.example.com")
///     .scopes_supported(["mcp:read", "mcp:write"])
///     .resource_name("Example MCP")
///     .resource_documentation("https://example.com/docs");
/// metadata.additional.insert("resource_signing_alg_values_supported".into(), json!(["RS256"]));
/// assert_eq!(
///     serde_json::to_value(&metadata).unwrap(),
///     json!({
///         "resource": "https://mcp.example.com/mcp",
///         "authorization_servers": ["https://auth.example.com"],
///         "scopes_supported": ["mcp:read", "mcp:write"],
///         "bearer_methods_supported": ["header"],
///         "resource_name": "Example MCP",
///         "resource_documentation": "https://example.com/docs",
///         "resource_signing_alg_values_supported": ["RS256"]
///     })
/// );
/// // Served at the resource's well-known URL (RFC 9728 §3.1).
/// assert_eq!(
///     metadata.metadata_url().unwrap(),
///     "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// let bare = ProtectedResourceMetadata::new("https://mcp.example.com");
/// assert_eq!(
///     serde_json::to_value(&bare).unwrap(),
///     json!({"resource": "https://mcp.example.com", "bearer_methods_supported": ["header"]})
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// The canonical URI of this MCP server (RFC 8707), e.g. `https://mcp.example.com/mcp`.
    /// Tokens must carry it in `aud`.
    pub resource: String,
    /// Issuer identifiers of the authorization servers whose tokens are accepted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_servers: Vec<String>,
    /// Scopes clients may request for this resource.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// How bearer tokens may be sent: only `["header"]` (never query or body).
    #[serde(default = "header_only")]
    pub bearer_methods_supported: Vec<String>,
    /// A human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    /// A URL of human-readable documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_documentation: Option<String>,
    /// Any other member (e.g. `resource_signing_alg_values_supported`).
    #[serde(flatten)]
    pub additional: serde_json::Map<String, serde_json::Value>,
}

fn header_only() -> Vec<String> {
    vec!["header".to_owned()]
}

impl ProtectedResourceMetadata {
    /// A document for the resource with canonical URI `resource`.
    pub fn new(resource: impl Into<String>) -> Self {
        Self {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            bearer_methods_supported: header_only(),
            resource_name: None,
            resource_documentation: None,
            additional: serde_json::Map::new(),
        }
    }

    /// Adds an authorization server issuer.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Sets the supported scopes.
    pub fn scopes_supported<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        scopes: I,
    ) -> Self {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `resource_name`.
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Sets `resource_documentation`.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// The URL this document is served at (see [`resource_metadata_url`]).
    pub fn metadata_url(&self) -> Result<String, ConfigError> {
        resource_metadata_url(&self.resource)
    }
}

/// The pieces of a canonical resource URI.
pub(crate) struct ResourceUri<'a> {
    pub(crate) origin: String,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
}

/// Splits and checks a resource URI: absolute http(s), no fragment (RFC 8707 §2).
pub(crate) fn parse_resource(resource: &str) -> Result<ResourceUri<'_>, ConfigError> {
    let invalid = |why: &str| ConfigError::new(format!("invalid resource URI {resource:?}: {why}"));
    if resource.contains('#') {
        return Err(invalid("a fragment is not allowed"));
    }
    let uri: http::Uri = resource.parse().map_err(|_| invalid("not a URI"))?;
    let scheme = match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("https") || s.eq_ignore_ascii_case("http") => s,
        _ => return Err(invalid("the scheme must be https (or http)")),
    };
    let Some(authority) = uri.authority() else {
        return Err(invalid("a host is required"));
    };
    let origin = format!("{}://{}", scheme.to_ascii_lowercase(), authority.as_str());
    // Slice the path and query out of the input rather than out of `uri`, so the result can
    // borrow; `http::Uri` keeps them verbatim.
    let start = resource.find("://").map_or(0, |i| i + 3) + authority.as_str().len();
    let rest = resource.get(start..).unwrap_or_default();
    let (path, query) = match rest.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (rest, None),
    };
    // RFC 9728 §3.1 (and RFC 8414 §3.1) drop only a terminating slash right after the host,
    // a path of just "/"; a longer path keeps its trailing slash, which is part of the
    // resource identifier.
    let path = if path == "/" { "" } else { path };
    Ok(ResourceUri {
        origin,
        path,
        query,
    })
}

/// The RFC 9728 §3.1 metadata URL of `resource`: the well-known prefix inserted between the
/// host and the path, for the `resource_metadata` challenge parameter.
///
/// ```
/// use mcp_auth::resource_metadata_url;
///
/// assert_eq!(
///     resource_metadata_url("https://mcp.example.com/mcp").unwrap(),
///     "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// assert_eq!(
///     resource_metadata_url("https://mcp.example.com").unwrap(),
///     "https://mcp.example.com/.well-known/oauth-protected-resource"
/// );
/// assert!(resource_metadata_url("mcp.example.com/mcp").is_err());
/// ```
pub fn resource_metadata_url(resource: &str) -> Result<String, ConfigError> {
    let parsed = parse_resource(resource)?;
    let mut url = format!("{}{WELL_KNOWN_PATH}{}", parsed.origin, parsed.path);
    if let Some(query) = parsed.query {
        url.push('?');
        url.push_str(query);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_json() {
        let doc = ProtectedResourceMetadata::new("https://mcp.example.com/mcp")
            .authorization_server("https://auth.example.com")
            .authorization_server("https://auth2.example.com/tenant")
            .scopes_supported(["mcp", "tools:admin"])
            .resource_name("Example MCP")
            .resource_documentation("https://docs.example.com/mcp");
        assert_eq!(
            serde_json::to_string(&doc).unwrap(),
            concat!(
                r#"{"resource":"https://mcp.example.com/mcp","#,
                r#""authorization_servers":["https://auth.example.com","https://auth2.example.com/tenant"],"#,
                r#""scopes_supported":["mcp","tools:admin"],"bearer_methods_supported":["header"],"#,
                r#""resource_name":"Example MCP","resource_documentation":"https://docs.example.com/mcp"}"#
            )
        );
        let back: ProtectedResourceMetadata =
            serde_json::from_str(&serde_json::to_string(&doc).unwrap()).unwrap();
        assert_eq!(back, doc);
    }

    #[test]
    fn minimal_document_and_extra_members() {
        let mut doc = ProtectedResourceMetadata::new("https://mcp.example.com");
        assert_eq!(
            serde_json::to_string(&doc).unwrap(),
            r#"{"resource":"https://mcp.example.com","bearer_methods_supported":["header"]}"#
        );
        doc.additional.insert(
            "resource_signing_alg_values_supported".into(),
            serde_json::json!(["RS256"]),
        );
        assert!(
            serde_json::to_string(&doc)
                .unwrap()
                .ends_with(r#""resource_signing_alg_values_supported":["RS256"]}"#)
        );
    }

    #[test]
    fn metadata_urls() {
        for (resource, url) in [
            (
                "https://mcp.example.com/mcp",
                "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            ),
            (
                "https://mcp.example.com/",
                "https://mcp.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "http://127.0.0.1:8080/a/b/",
                "http://127.0.0.1:8080/.well-known/oauth-protected-resource/a/b/",
            ),
            (
                "http://127.0.0.1:8080/a/b",
                "http://127.0.0.1:8080/.well-known/oauth-protected-resource/a/b",
            ),
            (
                "https://mcp.example.com/?tenant=1",
                "https://mcp.example.com/.well-known/oauth-protected-resource?tenant=1",
            ),
            (
                "https://example.com/mcp?tenant=1",
                "https://example.com/.well-known/oauth-protected-resource/mcp?tenant=1",
            ),
        ] {
            assert_eq!(resource_metadata_url(resource).unwrap(), url, "{resource}");
        }
        for bad in [
            "",
            "/mcp",
            "ftp://example.com/mcp",
            "https://example.com/mcp#x",
            "https:///mcp",
        ] {
            assert!(resource_metadata_url(bad).is_err(), "{bad}");
        }
    }
}
