//! `Auth` as a tower service, against `tower_test::mock`.

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response};
use http_body_util::Full;
use mcp_auth::{AuthLayer, Rejection, WwwAuthenticate};
use mcp_core::Principal;
use tower_test::mock;

fn layer() -> AuthLayer<impl mcp_auth::Authenticate> {
    AuthLayer::new(|parts: &Parts| {
        let ok = parts.headers.contains_key("x-ok");
        async move {
            if ok {
                Ok(Principal::new("p"))
            } else {
                Err(Rejection::unauthorized(WwwAuthenticate::bearer()))
            }
        }
    })
}

#[tokio::test]
async fn forwards_readiness_and_principal() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request<&'static str>, Response<Full<Bytes>>, _>(layer());
    handle.allow(0);
    assert!(service.poll_ready().is_pending());
    handle.allow(1);
    assert!(service.poll_ready().is_ready());

    call_passes(&mut service, &mut handle, "p").await;
}

/// Sends a request with `x-ok` through `service`: the inner service must get it, body intact,
/// with `subject`'s principal, and its answer must come back.
async fn call_passes<S>(
    service: &mut mock::Spawn<S>,
    handle: &mut mock::Handle<Request<&'static str>, Response<Full<Bytes>>>,
    subject: &str,
) where
    S: tower::Service<Request<&'static str>, Response = Response<Full<Bytes>>>,
    S::Future: Send + 'static,
    S::Error: std::fmt::Debug + Send + 'static,
{
    let request = Request::get("/").header("x-ok", "1").body("body").unwrap();
    let response = tokio::spawn(service.call(request));
    let (request, send) = handle.next_request().await.unwrap();
    assert_eq!(
        request.extensions().get::<Principal>().unwrap().subject(),
        subject
    );
    assert_eq!(*request.body(), "body");
    send.send_response(Response::new(Full::new(Bytes::from("done"))));
    assert_eq!(response.await.unwrap().unwrap().status(), 200);
}

#[tokio::test]
async fn rejection_never_reaches_inner() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request<&'static str>, Response<Full<Bytes>>, _>(layer());
    handle.allow(1);
    assert!(service.poll_ready().is_ready());
    let response = call_without_credentials(&mut service).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    inner_saw_nothing(&mut handle).await;
}

/// Sends a request without `x-ok` through `service` and returns its answer.
async fn call_without_credentials<S>(service: &mut mock::Spawn<S>) -> Response<Full<Bytes>>
where
    S: tower::Service<Request<&'static str>, Response = Response<Full<Bytes>>>,
    S::Error: std::fmt::Debug,
{
    service
        .call(Request::get("/").body("body").unwrap())
        .await
        .unwrap()
}

/// The inner mock gets no request within 50 ms: a refused request never reaches it.
async fn inner_saw_nothing(
    handle: &mut mock::Handle<Request<&'static str>, Response<Full<Bytes>>>,
) {
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(50), handle.next_request())
            .await
            .is_err(),
        "a refused request never reaches the inner service"
    );
}

/// Decides every request without waiting, and fails the test if the `async` path is taken.
struct DecidesAtOnce;

impl mcp_auth::Authenticate for DecidesAtOnce {
    async fn authenticate(&self, _parts: &Parts) -> Result<Principal, Rejection> {
        panic!("authenticate_now decided every request");
    }

    fn authenticate_now(&self, parts: &Parts) -> Option<Result<Principal, Rejection>> {
        Some(match parts.headers.contains_key("x-ok") {
            true => Ok(Principal::new("now")),
            false => Err(Rejection::forbidden("not now")),
        })
    }
}

#[tokio::test]
async fn decisions_made_at_once_skip_the_async_path() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request<&'static str>, Response<Full<Bytes>>, _>(AuthLayer::new(
            DecidesAtOnce,
        ));
    handle.allow(2);
    assert!(service.poll_ready().is_ready());
    call_passes(&mut service, &mut handle, "now").await;

    assert!(service.poll_ready().is_ready());
    let refused = call_without_credentials(&mut service).await;
    assert_eq!(refused.status(), 403);
    inner_saw_nothing(&mut handle).await;
}
