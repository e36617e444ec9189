//! The `WWW-Authenticate` challenge builder (RFC 7235 syntax, RFC 7230 quoting, RFC 6750
//! parameters).

use std::fmt;

use http::HeaderValue;

/// A `WWW-Authenticate` challenge: a scheme followed by ordered `name="value"` parameters.
///
/// Setters never fail, so challenges can be built fluently; an invalid scheme, parameter name
/// or value (a CR, LF or other control character, which would allow header injection) is
/// remembered and reported by [`render`](Self::render) /
/// [`to_header_value`](Self::to_header_value). Values are always sent as quoted strings with
/// `"` and `\` escaped. Setting a parameter twice replaces the value in place (RFC 7235 allows
/// each name once per challenge).
///
/// ```
/// use mcp_auth::WwwAuthenticate;
///
/// let challenge = WwwAuthenticate::bearer()
///     .error("insufficient_scope")
///     .scope(["files:read", "files:write"])
///     .resource_metadata("https://mcp.example.com/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(
///     challenge.render().unwrap(),
///     "Bearer error=\"insufficient_scope\", scope=\"files:read files:write\", \
///      resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\""
/// );
///
/// // A value that would split the header is refused instead of sent.
/// assert!(WwwAuthenticate::bearer().error_description("bad\r\nSet-Cookie: x").render().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WwwAuthenticate {
    scheme: String,
    params: Vec<(String, String)>,
    // The first invalid input, kept so that the fluent setters stay infallible.
    invalid: Option<InvalidChallenge>,
}

/// Why a [`WwwAuthenticate`] cannot be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvalidChallenge {
    /// The scheme is empty or not an RFC 7230 token.
    Scheme(String),
    /// A parameter name is empty or not an RFC 7230 token.
    ParamName(String),
    /// A parameter value contains a control character (CR, LF, NUL, ...); the value is the
    /// parameter name.
    ParamValue(String),
    /// A scope token is empty or contains a character RFC 6750 forbids (space, `"`, `\`).
    Scope(String),
}

impl fmt::Display for InvalidChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Scheme(s) => write!(f, "invalid authentication scheme {s:?}"),
            Self::ParamName(s) => write!(f, "invalid challenge parameter name {s:?}"),
            Self::ParamValue(s) => {
                write!(f, "challenge parameter {s:?} contains a control character")
            }
            Self::Scope(s) => write!(f, "invalid scope token {s:?}"),
        }
    }
}

impl std::error::Error for InvalidChallenge {}

/// RFC 7230 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Whether `s` is an OAuth scope token (RFC 6749 §3.3, RFC 6750 `scope-token`: printable
/// ASCII without spaces, `"` or `\`): what [`RequiredScopes`](crate::RequiredScopes) accepts
/// (it panics on anything else) and what a challenge can carry. Check scopes read at run
/// time (from a file, a database) with it first.
///
/// ```
/// use mcp_auth::is_scope_token;
///
/// assert!(is_scope_token("files:read"));
/// assert!(!is_scope_token("files read"));
/// assert!(!is_scope_token(""));
/// ```
pub fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Whether `s` fits in a quoted-string once `"` and `\` are escaped: no control characters
/// but HTAB (obs-text, i.e. non-ASCII UTF-8, is allowed by RFC 7230).
fn is_quotable(s: &str) -> bool {
    s.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7F))
}

impl WwwAuthenticate {
    /// A challenge for `scheme` (e.g. `"Bearer"`, `"ApiKey"`) with no parameters.
    ///
    /// ```
    /// use mcp_auth::{InvalidChallenge, WwwAuthenticate};
    ///
    /// let challenge = WwwAuthenticate::new("ApiKey").param("header", "x-api-key");
    /// assert_eq!(challenge.render().unwrap(), r#"ApiKey header="x-api-key""#);
    /// // A scheme is a token: no spaces.
    /// let spaced = WwwAuthenticate::new("Api Key").render();
    /// assert_eq!(spaced, Err(InvalidChallenge::Scheme("Api Key".into())));
    /// ```
    pub fn new(scheme: impl Into<String>) -> Self {
        let scheme = scheme.into();
        let invalid = (!is_token(&scheme)).then(|| InvalidChallenge::Scheme(scheme.clone()));
        Self {
            scheme,
            params: Vec::new(),
            invalid,
        }
    }

    /// A `Bearer` challenge (RFC 6750).
    pub fn bearer() -> Self {
        Self::new("Bearer")
    }

    /// Adds (or replaces in place) the parameter `name`.
    ///
    /// Names match case-insensitively; the value is quoted and escaped when rendered.
    ///
    /// ```
    /// use mcp_auth::WwwAuthenticate;
    ///
    /// let challenge = WwwAuthenticate::bearer()
    ///     .param("error", "invalid_token")
    ///     .param("realm", r#"the "mcp" server"#)
    ///     .param("ERROR", "invalid_request"); // replaces the first, keeps its place
    /// assert_eq!(
    ///     challenge.render().unwrap(),
    ///     r#"Bearer error="invalid_request", realm="the \"mcp\" server""#
    /// );
    /// ```
    pub fn param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        if self.invalid.is_none() {
            if !is_token(&name) {
                self.invalid = Some(InvalidChallenge::ParamName(name.clone()));
            } else if !is_quotable(&value) {
                self.invalid = Some(InvalidChallenge::ParamValue(name.clone()));
            }
        }
        match self
            .params
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(slot) => slot.1 = value,
            None => self.params.push((name, value)),
        }
        self
    }

    /// `realm="..."`.
    ///
    /// [`error`](Self::error) and [`error_description`](Self::error_description) with it, in
    /// RFC 6750's own example:
    ///
    /// ```
    /// use mcp_auth::WwwAuthenticate;
    ///
    /// let challenge = WwwAuthenticate::bearer()
    ///     .realm("example")
    ///     .error("invalid_token")
    ///     .error_description("The access token expired");
    /// assert_eq!(
    ///     challenge.render().unwrap(),
    ///     r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#
    /// );
    /// ```
    pub fn realm(self, realm: impl Into<String>) -> Self {
        self.param("realm", realm)
    }

    /// `error="..."`: `invalid_request`, `invalid_token` or `insufficient_scope` for Bearer.
    pub fn error(self, code: impl Into<String>) -> Self {
        self.param("error", code)
    }

    /// `error_description="..."`: a human-readable explanation.
    pub fn error_description(self, description: impl Into<String>) -> Self {
        self.param("error_description", description)
    }

    /// `scope="a b c"`: the scope tokens, space separated, in the given order, duplicates
    /// dropped. Tokens are checked against RFC 6750 `scope-token`. No scopes means no
    /// `scope` parameter (RFC 6750 gives it one token at least), and removes one set before.
    ///
    /// ```
    /// use mcp_auth::{InvalidChallenge, WwwAuthenticate};
    ///
    /// let challenge = WwwAuthenticate::bearer().scope(["files:read", "mcp", "files:read"]);
    /// assert_eq!(challenge.render().unwrap(), r#"Bearer scope="files:read mcp""#);
    /// // A token holding a space would read as two scopes: refused.
    /// let two = WwwAuthenticate::bearer().scope(["files read"]).render();
    /// assert_eq!(two, Err(InvalidChallenge::Scope("files read".into())));
    /// // None at all: no parameter, rather than an empty one.
    /// let none = WwwAuthenticate::bearer().scope(["mcp"]).error("invalid_token").scope([""; 0]);
    /// assert_eq!(none.render().unwrap(), r#"Bearer error="invalid_token""#);
    /// ```
    pub fn scope<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut seen: Vec<String> = Vec::new();
        for scope in scopes {
            let scope = scope.as_ref();
            if !is_scope_token(scope) && self.invalid.is_none() {
                self.invalid = Some(InvalidChallenge::Scope(scope.to_owned()));
            }
            if !seen.iter().any(|s| s == scope) {
                seen.push(scope.to_owned());
            }
        }
        if seen.is_empty() {
            self.params
                .retain(|(name, _)| !name.eq_ignore_ascii_case("scope"));
            return self;
        }
        self.param("scope", seen.join(" "))
    }

    /// `resource_metadata="..."`: the URL of the RFC 9728 protected resource metadata.
    pub fn resource_metadata(self, url: impl Into<String>) -> Self {
        self.param("resource_metadata", url)
    }

    /// The scheme.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The value of parameter `name` (case-insensitive), unescaped.
    ///
    /// ```
    /// use mcp_auth::WwwAuthenticate;
    ///
    /// let challenge = WwwAuthenticate::bearer().error_description(r#"say "please""#);
    /// assert_eq!(challenge.get("Error_Description"), Some(r#"say "please""#));
    /// assert_eq!(challenge.get("scope"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The parameters, in order, unescaped.
    ///
    /// ```
    /// use mcp_auth::WwwAuthenticate;
    ///
    /// let challenge = WwwAuthenticate::bearer().realm("mcp").scope(["a", "b"]);
    /// let params: Vec<_> = challenge.params().collect();
    /// assert_eq!(params, [("realm", "mcp"), ("scope", "a b")]);
    /// ```
    pub fn params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The header value as text: `Scheme name="value", name2="value2"`.
    pub fn render(&self) -> Result<String, InvalidChallenge> {
        if let Some(invalid) = &self.invalid {
            return Err(invalid.clone());
        }
        let mut out = self.scheme.clone();
        for (i, (name, value)) in self.params.iter().enumerate() {
            out.push_str(if i == 0 { " " } else { ", " });
            out.push_str(name);
            out.push_str("=\"");
            for c in value.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
        Ok(out)
    }

    /// The header value, ready for `WWW-Authenticate`.
    ///
    /// ```
    /// use http::{Response, StatusCode, header};
    /// use mcp_auth::WwwAuthenticate;
    ///
    /// let challenge = WwwAuthenticate::bearer().error("invalid_token");
    /// let response = Response::builder()
    ///     .status(StatusCode::UNAUTHORIZED)
    ///     .header(header::WWW_AUTHENTICATE, challenge.to_header_value().unwrap())
    ///     .body(())
    ///     .unwrap();
    /// assert_eq!(response.headers()[header::WWW_AUTHENTICATE], r#"Bearer error="invalid_token""#);
    /// ```
    pub fn to_header_value(&self) -> Result<HeaderValue, InvalidChallenge> {
        let text = self.render()?;
        // `from_bytes` (not `from_str`) because obs-text (non-ASCII) is legal in quoted
        // strings; `render` has already refused every control character.
        HeaderValue::from_bytes(text.as_bytes())
            .map_err(|_| InvalidChallenge::ParamValue(self.scheme.clone()))
    }
}

impl TryFrom<&WwwAuthenticate> for HeaderValue {
    type Error = InvalidChallenge;

    fn try_from(challenge: &WwwAuthenticate) -> Result<Self, Self::Error> {
        challenge.to_header_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_scheme() {
        assert_eq!(WwwAuthenticate::bearer().render().unwrap(), "Bearer");
    }

    #[test]
    fn parameters_in_order_and_quoted() {
        let c = WwwAuthenticate::bearer()
            .resource_metadata("http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp")
            .scope(["mcp"]);
        assert_eq!(
            c.render().unwrap(),
            "Bearer resource_metadata=\"http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp\", scope=\"mcp\""
        );
    }

    #[test]
    fn rfc6750_example() {
        let c = WwwAuthenticate::bearer()
            .realm("example")
            .error("invalid_token")
            .error_description("The access token expired");
        assert_eq!(
            c.render().unwrap(),
            r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#
        );
        assert_eq!(
            c.to_header_value().unwrap(),
            r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#
        );
    }

    #[test]
    fn escapes_quote_and_backslash() {
        let c = WwwAuthenticate::bearer().error_description(r#"say "hi" \o/"#);
        assert_eq!(
            c.render().unwrap(),
            r#"Bearer error_description="say \"hi\" \\o/""#
        );
    }

    #[test]
    fn keeps_tab_and_non_ascii() {
        let c = WwwAuthenticate::new("Custom").param("note", "a\tb é");
        assert_eq!(c.render().unwrap(), "Custom note=\"a\tb é\"");
        assert_eq!(
            c.to_header_value().unwrap().as_bytes(),
            "Custom note=\"a\tb é\"".as_bytes()
        );
    }

    #[test]
    fn refuses_cr_lf_and_controls() {
        for bad in ["a\rb", "a\nb", "a\r\nSet-Cookie: x=y", "nul\0", "del\x7f"] {
            let c = WwwAuthenticate::bearer().error_description(bad);
            assert_eq!(
                c.render(),
                Err(InvalidChallenge::ParamValue("error_description".into()))
            );
            assert!(c.to_header_value().is_err());
        }
    }

    #[test]
    fn refuses_bad_scheme_and_names() {
        assert_eq!(
            WwwAuthenticate::new("Bea rer").render(),
            Err(InvalidChallenge::Scheme("Bea rer".into()))
        );
        assert_eq!(
            WwwAuthenticate::new("").render(),
            Err(InvalidChallenge::Scheme(String::new()))
        );
        assert_eq!(
            WwwAuthenticate::bearer().param("na=me", "v").render(),
            Err(InvalidChallenge::ParamName("na=me".into()))
        );
    }

    #[test]
    fn scope_tokens_are_checked_and_deduplicated() {
        assert_eq!(
            WwwAuthenticate::bearer()
                .scope(["a", "b", "a"])
                .render()
                .unwrap(),
            r#"Bearer scope="a b""#
        );
        assert_eq!(
            WwwAuthenticate::bearer().scope(["a b"]).render(),
            Err(InvalidChallenge::Scope("a b".into()))
        );
        assert_eq!(
            WwwAuthenticate::bearer().scope(["x\"y"]).render(),
            Err(InvalidChallenge::Scope("x\"y".into()))
        );
    }

    #[test]
    fn setting_twice_replaces_in_place() {
        let c = WwwAuthenticate::bearer()
            .error("invalid_token")
            .scope(["a"])
            .param("ERROR", "insufficient_scope");
        assert_eq!(
            c.render().unwrap(),
            r#"Bearer error="insufficient_scope", scope="a""#
        );
        assert_eq!(c.get("error"), Some("insufficient_scope"));
        assert_eq!(c.scheme(), "Bearer");
    }
}
