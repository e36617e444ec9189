//! The builder's checks of a configuration.

use super::*;

#[test]
fn issuers_are_urls() {
    for good in [
        "https://auth.example.com",
        "http://127.0.0.1:4000",
        "https://x/tenant/",
    ] {
        assert!(super::is_issuer_identifier(good), "{good}");
    }
    for bad in [
        "",
        "auth",
        "not a url",
        "https://x?tenant=1",
        "https://x#f",
        "ftp://x",
    ] {
        assert!(!super::is_issuer_identifier(bad), "{bad:?}");
    }
    let build = |issuer: &str| {
        super::JwtAuthenticator::builder("https://x/mcp")
            .issuer(issuer)
            .jwks_url("https://x/jwks")
            .build()
    };
    let refused = build(" ").unwrap_err();
    assert_eq!(refused.to_string(), "an issuer must not be empty");
    // JWT allows any string: warned about, not refused.
    assert!(build("my-issuer").is_ok());
}

fn base() -> JwtAuthenticatorBuilder {
    JwtAuthenticator::builder("https://mcp.example.com/mcp")
        .issuer("https://auth.example.com")
        .jwks_url("https://auth.example.com/jwks")
}

#[test]
fn plain_http_only_to_loopback_unless_allowed() {
    let remote = "http://auth.example.com/jwks";
    let http_issuer = || {
        JwtAuthenticator::builder("https://mcp.example.com/mcp").issuer("http://auth.example.com")
    };
    for builder in [
        base().jwks_url(remote),
        base().jwks_from_metadata("http://auth.example.com/.well-known/openid-configuration"),
        http_issuer().discover_jwks(),
    ] {
        let error = builder.build().unwrap_err();
        assert!(error.message().contains("plain http"), "{error}");
    }
    assert!(
        base()
            .jwks_url(remote)
            .allow_insecure_http()
            .build()
            .is_ok()
    );
    let discover = http_issuer().discover_jwks().allow_insecure_http();
    assert!(discover.build().is_ok());
    for loopback in [
        "http://127.0.0.1:4000/jwks",
        "http://localhost/jwks",
        "http://[::1]/jwks",
    ] {
        assert!(base().jwks_url(loopback).build().is_ok(), "{loopback}");
    }
}

#[test]
fn validates_configuration() {
    assert!(base().build().is_ok());
    for (builder, why) in [
        (base().algorithms([Algorithm::HS256]), "shared-secret"),
        (base().algorithms([]), "algorithm"),
        (
            JwtAuthenticator::builder("https://x/mcp").jwks_url("https://x/j"),
            "issuer",
        ),
        (
            JwtAuthenticator::builder("https://x/mcp").issuer("https://x"),
            "JWKS source",
        ),
        (base().jwks_url("/jwks"), "absolute"),
        (base().required_scopes(["a b"]), "invalid scope"),
        (base().max_keys(0), "limits"),
        (
            base().min_refresh_interval(Duration::ZERO),
            "minimum refresh interval",
        ),
    ] {
        let error = builder.build().unwrap_err();
        assert!(error.message().contains(why), "{error} / {why}");
    }
    assert!(
        JwtAuthenticator::builder("mcp")
            .issuer("https://x")
            .jwks_url("https://x/j")
            .build()
            .is_err()
    );
}

#[test]
fn challenge_carries_metadata_and_scopes() {
    let jwt = base()
        .required_scopes(["mcp", "files:read"])
        .build()
        .unwrap();
    assert_eq!(
        jwt.challenge().render().unwrap(),
        "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", scope=\"mcp files:read\""
    );
    let jwt = base().resource_metadata_url(None).build().unwrap();
    assert_eq!(jwt.challenge().render().unwrap(), "Bearer");
}

#[test]
fn discovery_url() {
    assert_eq!(
        authorization_server_metadata_url("https://auth.example.com").unwrap(),
        "https://auth.example.com/.well-known/oauth-authorization-server"
    );
    assert!(base().discover_jwks().build().is_ok());
}
