use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use tower_service::Service;

use super::{ProtectedResourceMetadata, WELL_KNOWN_PATH, parse_resource, resource_metadata_url};
use crate::error::ConfigError;

/// Serves a [`ProtectedResourceMetadata`] document, without authentication, at
/// `/.well-known/oauth-protected-resource<resource path>` and at
/// `/.well-known/oauth-protected-resource`.
///
/// `GET` and `HEAD` get the JSON (with `Access-Control-Allow-Origin: *`, since browser-based
/// clients fetch it cross-origin), `OPTIONS` a CORS preflight answer, other methods 405 and
/// other paths 404. The document is validated and serialised once, when built.
///
/// Mount it beside the MCP service with [`MetadataLayer`](super::MetadataLayer) (or
/// [`route`](Self::route)), or on its own in your router.
#[derive(Debug, Clone)]
pub struct MetadataService {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    document: ProtectedResourceMetadata,
    json: Bytes,
    paths: Vec<String>,
    url: String,
}

impl MetadataService {
    /// Checks `document.resource` (absolute http(s) URI without fragment) and that
    /// `authorization_servers` names at least one server, and serialises the document.
    ///
    /// ```
    /// use mcp_auth::{MetadataService, ProtectedResourceMetadata};
    ///
    /// let without_servers = ProtectedResourceMetadata::new("https://mcp.example.com/mcp");
    /// assert!(MetadataService::new(without_servers.clone()).is_err());
    /// let document = without_servers.authorization_server("https://auth.example.com");
    /// assert!(MetadataService::new(document).is_ok());
    /// ```
    pub fn new(document: ProtectedResourceMetadata) -> Result<Self, ConfigError> {
        let parsed = parse_resource(&document.resource)?;
        // MCP authorization: the document MUST name at least one authorization server, which
        // is where a client's discovery goes next; without one it cannot get a token.
        if document.authorization_servers.is_empty() {
            return Err(ConfigError::new(
                "authorization_servers: at least one authorization server is required",
            ));
        }
        if document
            .bearer_methods_supported
            .iter()
            .any(|m| m != "header")
        {
            return Err(ConfigError::new(
                "bearer_methods_supported: only \"header\" is supported",
            ));
        }
        let mut paths = vec![WELL_KNOWN_PATH.to_owned()];
        if !parsed.path.is_empty() {
            paths.insert(0, format!("{WELL_KNOWN_PATH}{}", parsed.path));
        }
        let url = resource_metadata_url(&document.resource)?;
        let json = serde_json::to_vec(&document)
            .map_err(|e| ConfigError::new(format!("cannot serialise the metadata: {e}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                document,
                json: Bytes::from(json),
                paths,
                url,
            }),
        })
    }

    /// The document.
    pub fn document(&self) -> &ProtectedResourceMetadata {
        &self.inner.document
    }

    /// The absolute URL of the document, for the `resource_metadata` challenge parameter.
    pub fn resource_metadata_url(&self) -> &str {
        &self.inner.url
    }

    /// The paths answered (the resource-specific one first).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.inner.paths.iter().map(String::as_str)
    }

    /// Whether `path` is one of the metadata paths.
    pub fn matches(&self, path: &str) -> bool {
        self.inner.paths.iter().any(|p| p == path)
    }

    /// Routes metadata requests here and everything else to `inner`.
    pub fn route<S>(self, inner: S) -> super::WithMetadata<S> {
        super::WithMetadata::new(inner, self)
    }

    /// The answer to `method` on `path`.
    pub fn respond<B: From<Bytes>>(&self, method: &Method, path: &str) -> Response<B> {
        if !self.matches(path) {
            let mut response = Response::new(B::from(Bytes::new()));
            *response.status_mut() = StatusCode::NOT_FOUND;
            return response;
        }
        let (status, body) = match *method {
            Method::GET => (StatusCode::OK, self.inner.json.clone()),
            Method::HEAD => (StatusCode::OK, Bytes::new()),
            Method::OPTIONS => (StatusCode::NO_CONTENT, Bytes::new()),
            _ => (StatusCode::METHOD_NOT_ALLOWED, Bytes::new()),
        };
        let mut response = Response::new(B::from(body));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        let allowed = HeaderValue::from_static("GET, HEAD, OPTIONS");
        match status {
            StatusCode::OK => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
            }
            StatusCode::NO_CONTENT => {
                headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, allowed);
                headers.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static("*"),
                );
            }
            _ => {
                headers.insert(header::ALLOW, allowed);
            }
        }
        response
    }
}

/// As a standalone service the body is `Full<Bytes>` (any body type works through
/// [`respond`](MetadataService::respond) or [`MetadataLayer`](super::MetadataLayer)).
impl<B> Service<Request<B>> for MetadataService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Full<Bytes>>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(self.respond(request.method(), request.uri().path())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> MetadataService {
        MetadataService::new(
            ProtectedResourceMetadata::new("http://127.0.0.1:3000/mcp")
                .authorization_server("http://127.0.0.1:4000"),
        )
        .unwrap()
    }

    #[test]
    fn answers_both_paths() {
        let s = service();
        assert_eq!(
            s.paths().collect::<Vec<_>>(),
            [
                "/.well-known/oauth-protected-resource/mcp",
                "/.well-known/oauth-protected-resource"
            ]
        );
        for path in s.paths() {
            let r: Response<Bytes> = s.respond(&Method::GET, path);
            assert_eq!(r.status(), 200);
            assert_eq!(r.headers()["content-type"], "application/json");
            assert_eq!(r.headers()["access-control-allow-origin"], "*");
            assert_eq!(
                r.body(),
                r#"{"resource":"http://127.0.0.1:3000/mcp","authorization_servers":["http://127.0.0.1:4000"],"bearer_methods_supported":["header"]}"#
            );
        }
        let r: Response<Bytes> =
            s.respond(&Method::GET, "/.well-known/oauth-protected-resource/other");
        assert_eq!(r.status(), 404);
        let r: Response<Bytes> = s.respond(&Method::POST, "/.well-known/oauth-protected-resource");
        assert_eq!(r.status(), 405);
        let r: Response<Bytes> =
            s.respond(&Method::OPTIONS, "/.well-known/oauth-protected-resource");
        assert_eq!(r.status(), 204);
        let r: Response<Bytes> = s.respond(&Method::HEAD, "/.well-known/oauth-protected-resource");
        assert_eq!((r.status(), r.body().len()), (StatusCode::OK, 0));
    }

    #[test]
    fn a_trailing_slash_after_a_path_stays() {
        let s = MetadataService::new(
            ProtectedResourceMetadata::new("https://a.example/mcp/")
                .authorization_server("https://auth.example"),
        )
        .unwrap();
        let url = "https://a.example/.well-known/oauth-protected-resource/mcp/";
        assert_eq!(s.resource_metadata_url(), url);
        let answered = |path| s.respond::<Bytes>(&Method::GET, path).status();
        assert_eq!(answered("/.well-known/oauth-protected-resource/mcp/"), 200);
        assert_eq!(answered("/.well-known/oauth-protected-resource/mcp"), 404);
    }

    #[test]
    fn refuses_bad_documents() {
        let doc = |resource| {
            ProtectedResourceMetadata::new(resource).authorization_server("https://auth.example")
        };
        assert!(MetadataService::new(doc("not a uri")).is_err());
        let mut query = doc("https://a.example");
        query.bearer_methods_supported.push("query".into());
        assert!(MetadataService::new(query).is_err());
        let no_server = MetadataService::new(ProtectedResourceMetadata::new("https://a.example"));
        assert_eq!(
            no_server.unwrap_err().to_string(),
            "authorization_servers: at least one authorization server is required"
        );
        let s = MetadataService::new(doc("https://a.example")).unwrap();
        assert_eq!(s.paths().count(), 1);
        assert_eq!(
            s.resource_metadata_url(),
            "https://a.example/.well-known/oauth-protected-resource"
        );
    }
}
