//! The `auth-server` binary itself: arguments, the `listening on` line, real requests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::json;

use crate::common::*;

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn binary_serves_the_stack() {
    let key = ec_key("k");
    let jwks = Jwks::start(&[&key]).await;
    // The port is chosen by the OS, so the audience names the host only; the Host check
    // accepts loopback on any port.
    let audience = "http://localhost/mcp";
    let mut child = Server(
        Command::new(env!("CARGO_BIN_EXE_auth-server"))
            .args(["--addr", "127.0.0.1:0", "--jwks-url", &jwks.jwks_url()])
            .args(["--issuer", &jwks.issuer(), "--audience", audience])
            .args(["--required-scope", "mcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("auth-server starts"),
    );
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let url = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .trim()
        .to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{url}"
    );
    let server = Running::at(&url, audience);

    let refused = server.try_initialize(&[]).await;
    assert_eq!(
        refused.answer(),
        Answer {
            status: 401,
            challenge: Some(
                r#"Bearer resource_metadata="http://localhost/.well-known/oauth-protected-resource/mcp", scope="mcp""#
                    .to_owned()
            ),
            body: error_body(-32001, "authentication required"),
        }
    );
    let metadata = server
        .get("/.well-known/oauth-protected-resource/mcp")
        .await;
    assert_eq!(metadata.status, 200);
    assert_eq!(metadata.json()["resource"], audience);

    let claims = json!({"iss": jwks.issuer(), "aud": audience, "sub": "carol",
                        "exp": now() + 60, "scope": "mcp"});
    let auth = bearer(&mint(&key, &claims));
    let auth = [("authorization", auth.as_str())];
    let session = server.initialize(&auth).await;
    let reply = server
        .in_session(&session, &auth, &call(1, "whoami", json!({})))
        .await;
    assert_eq!(reply.json(), text_result(1, "subject: carol\nscopes: mcp"));
    // The binary fetched the keys at start-up.
    assert_eq!(jwks.fetches(), 1);
}
