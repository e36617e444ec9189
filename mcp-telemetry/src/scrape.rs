//! [`ScrapeLayer`]: answers `GET /metrics` (or another path) with what a render function
//! returns, e.g. a Prometheus handle's text, and passes every other request on. The server
//! keeps one listener: no exporter-owned HTTP server is needed.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use mcp_telemetry::ScrapeLayer;
//! use tower::{Layer, ServiceExt};
//!
//! let app = tower::service_fn(|_: http::Request<()>| async {
//!     Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from("mcp"))))
//! });
//! let service = ScrapeLayer::new("/metrics", || "requests 1\n".to_owned()).layer(app);
//!
//! let request = http::Request::get("/metrics").body(()).unwrap();
//! let response = service.clone().oneshot(request).await.unwrap();
//! assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
//! assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "requests 1\n");
//!
//! let request = http::Request::post("/mcp").body(()).unwrap();
//! let response = service.oneshot(request).await.unwrap();
//! assert_eq!(response.into_body().collect().await.unwrap().to_bytes(), "mcp");
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

/// The content type of the Prometheus text exposition format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves a metrics scrape on one path; see the [module docs](self).
#[derive(Clone)]
pub struct ScrapeLayer<F> {
    path: Arc<str>,
    render: F,
}

impl<F> std::fmt::Debug for ScrapeLayer<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeLayer")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl<F> ScrapeLayer<F>
where
    F: Fn() -> String + Clone,
{
    /// Answers `GET path` (and `HEAD path`) with `render()` as Prometheus text.
    ///
    /// # Panics
    ///
    /// When `path` does not start with `/`: it could never match a request.
    pub fn new(path: impl Into<String>, render: F) -> Self {
        let path = path.into();
        assert!(
            path.starts_with('/'),
            "a scrape path starts with '/': {path:?}"
        );
        Self {
            path: Arc::from(path),
            render,
        }
    }
}

impl<S, F: Clone> Layer<S> for ScrapeLayer<F> {
    type Service = Scrape<S, F>;

    fn layer(&self, inner: S) -> Self::Service {
        Scrape {
            inner,
            path: Arc::clone(&self.path),
            render: self.render.clone(),
        }
    }
}

/// The service made by [`ScrapeLayer`].
#[derive(Clone)]
pub struct Scrape<S, F> {
    inner: S,
    path: Arc<str>,
    render: F,
}

impl<S, F> std::fmt::Debug for Scrape<S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrape")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl<S, F, B, ResBody> Service<Request<B>> for Scrape<S, F>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    F: Fn() -> String,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ScrapeFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if request.uri().path() != &*self.path {
            return ScrapeFuture::Inner {
                future: self.inner.call(request),
            };
        }
        let response = match *request.method() {
            Method::GET => text_response(StatusCode::OK, Bytes::from((self.render)())),
            Method::HEAD => text_response(StatusCode::OK, Bytes::new()),
            _ => {
                let mut response = text_response(StatusCode::METHOD_NOT_ALLOWED, Bytes::new());
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                response
            }
        };
        ScrapeFuture::Scraped {
            response: Some(response),
        }
    }
}

fn text_response<ResBody: From<Bytes>>(status: StatusCode, body: Bytes) -> Response<ResBody> {
    let mut response = Response::new(ResBody::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(PROMETHEUS_TEXT),
    );
    response
}

pin_project! {
    /// The response future of [`Scrape`].
    // Variant fields are private in spirit; pin-project-lite cannot document them.
    #[allow(missing_docs)]
    #[project = ScrapeFutureProj]
    pub enum ScrapeFuture<F, ResBody> {
        /// Passed to the inner service.
        Inner { #[pin] future: F },
        /// Answered with the scrape.
        Scraped { response: Option<Response<ResBody>> },
    }
}

impl<F, ResBody> std::fmt::Debug for ScrapeFuture<F, ResBody> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ScrapeFuture")
    }
}

impl<F, ResBody, E> Future for ScrapeFuture<F, ResBody>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ScrapeFutureProj::Inner { future } => future.poll(cx),
            ScrapeFutureProj::Scraped { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
        }
    }
}
