//! Required scopes: which OAuth scopes a tool, prompt or resource needs, and the
//! `insufficient_scope` step-up challenge when a principal lacks them.

use std::collections::HashMap;
use std::sync::Arc;

use mcp_core::{Principal, UriTemplate};

use crate::challenge::WwwAuthenticate;
use crate::rejection::Rejection;

/// What a request is about to touch, for [`RequiredScopes::check`].
///
/// ```
/// use mcp_auth::{RequiredScopes, ScopeTarget};
///
/// let policy = RequiredScopes::new()
///     .global(["mcp"])
///     .tool("deploy", ["ops"])
///     .prompt("summarise", ["docs"])
///     .resource("file:///{path}", ["files"]);
/// let needs = |target| policy.required_for(target).collect::<Vec<_>>();
/// assert_eq!(needs(ScopeTarget::Any), ["mcp"]); // tools/list, initialize, ...
/// assert_eq!(needs(ScopeTarget::Tool("deploy")), ["mcp", "ops"]);
/// assert_eq!(needs(ScopeTarget::Tool("search")), ["mcp"]); // not named: global only
/// assert_eq!(needs(ScopeTarget::Prompt("summarise")), ["mcp", "docs"]);
/// // A URI the policy does not name needs the scopes of the templates matching it.
/// assert_eq!(needs(ScopeTarget::Resource("file:///notes.txt")), ["mcp", "files"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeTarget<'a> {
    /// Only the global scopes apply (e.g. `tools/list`, `initialize`).
    Any,
    /// `tools/call` of this tool.
    Tool(&'a str),
    /// `prompts/get` of this prompt, or `completion/complete` of its arguments.
    Prompt(&'a str),
    /// `resources/read` (or subscribe) of this URI, or `completion/complete` of the variables
    /// of the resource template with this URI template. A URI the policy does not name needs
    /// the scopes of every policy template that matches it.
    Resource(&'a str),
}

/// A scope policy: scopes every request needs, plus scopes per tool, prompt and resource.
///
/// The RPC tier consults it per call; [`JwtAuthenticator`](crate::JwtAuthenticator) enforces the
/// global part on every HTTP request. Cheap to clone (the tables sit behind an `Arc`).
///
/// ```
/// use mcp_auth::{RequiredScopes, ScopeTarget};
/// use mcp_core::Principal;
///
/// let policy = RequiredScopes::new()
///     .global(["mcp"])
///     .tool("delete_repo", ["repo:admin"]);
/// let alice = Principal::new("alice").with_scopes(["mcp", "repo:read"]);
///
/// assert!(policy.check(&alice, ScopeTarget::Tool("search")).is_ok());
/// let missing = policy.check(&alice, ScopeTarget::Tool("delete_repo")).unwrap_err();
/// assert_eq!(missing.missing(), ["repo:admin"]);
/// // Step-up: ask for what the token already has plus what is missing.
/// assert_eq!(missing.step_up_scopes(), ["mcp", "repo:read", "repo:admin"]);
/// assert_eq!(
///     missing.challenge(Some("https://mcp.example.com/.well-known/oauth-protected-resource/mcp"))
///         .render()
///         .unwrap(),
///     "Bearer resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", \
///      scope=\"mcp repo:read repo:admin\", error=\"insufficient_scope\""
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequiredScopes {
    inner: Arc<Tables>,
}

#[derive(Debug, Clone, Default)]
struct Tables {
    global: Vec<String>,
    tools: HashMap<String, Vec<String>>,
    prompts: HashMap<String, Vec<String>>,
    resources: HashMap<String, Vec<String>>,
    /// The keys of `resources` that are URI templates, parsed: a concrete URI they match
    /// needs their scopes, as the router serves it through the template.
    templates: Vec<(UriTemplate, Vec<String>)>,
}

/// The scopes, duplicates dropped.
///
/// Panics on a scope that is not an RFC 6749 scope token: no challenge could ask for it, and
/// a policy is written once, at startup, where a panic names the mistake before any request.
#[track_caller]
fn collect<I, S>(scopes: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut out: Vec<String> = Vec::new();
    for scope in scopes {
        let scope = scope.into();
        assert!(
            crate::challenge::is_scope_token(&scope),
            "invalid OAuth scope {scope:?}: a scope token is printable ASCII without spaces, \
             `\"` or `\\` (RFC 6749 section 3.3)"
        );
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    out
}

impl RequiredScopes {
    /// A policy that requires nothing.
    pub fn new() -> Self {
        Self::default()
    }

    fn tables(&mut self) -> &mut Tables {
        Arc::make_mut(&mut self.inner)
    }

    /// Scopes every request needs.
    ///
    /// # Panics
    ///
    /// If a scope is not an RFC 6749 scope token (empty, or holding a space, `"` or `\`);
    /// [`is_scope_token`](crate::is_scope_token) checks one first.
    #[track_caller]
    pub fn global<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.tables().global = collect(scopes);
        self
    }

    /// Scopes calling the tool `name` needs (in addition to the global ones).
    ///
    /// # Panics
    ///
    /// If a scope is not an RFC 6749 scope token (empty, or holding a space, `"` or `\`);
    /// [`is_scope_token`](crate::is_scope_token) checks one first.
    #[track_caller]
    pub fn tool<I, S>(mut self, name: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tables().tools.insert(name.into(), collect(scopes));
        self
    }

    /// Scopes getting the prompt `name` needs (in addition to the global ones).
    ///
    /// # Panics
    ///
    /// If a scope is not an RFC 6749 scope token (empty, or holding a space, `"` or `\`);
    /// [`is_scope_token`](crate::is_scope_token) checks one first.
    #[track_caller]
    pub fn prompt<I, S>(mut self, name: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tables().prompts.insert(name.into(), collect(scopes));
        self
    }

    /// Scopes reading the resource `uri` needs (in addition to the global ones). For a
    /// resource template, `uri` is its URI template (`file:///{path}`): reading, subscribing
    /// to or completing through it needs them, so a concrete URI it matches
    /// (`file:///a.txt`) does too. A URI named on its own wins over the templates matching
    /// it; a URI named by none needs the scopes of every template that matches it, as the
    /// router may serve it through any of them.
    ///
    /// ```
    /// use mcp_auth::{RequiredScopes, ScopeTarget};
    ///
    /// let policy = RequiredScopes::new()
    ///     .resource("file:///{path}", ["files"])
    ///     .resource("file:///public", Vec::<String>::new());
    /// let needs = |uri| policy.required_for(ScopeTarget::Resource(uri)).collect::<Vec<_>>();
    /// assert_eq!(needs("file:///a.txt"), ["files"]);
    /// assert!(needs("file:///public").is_empty());
    /// ```
    ///
    /// # Panics
    ///
    /// If a scope is not an RFC 6749 scope token (empty, or holding a space, `"` or `\`);
    /// [`is_scope_token`](crate::is_scope_token) checks one first.
    #[track_caller]
    pub fn resource<I, S>(mut self, uri: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let (uri, scopes) = (uri.into(), collect(scopes));
        let tables = self.tables();
        tables
            .templates
            .retain(|(template, _)| template.as_str() != uri);
        // Text that is not a template the router could serve stays an exact URI only.
        if uri.contains('{')
            && let Ok(template) = UriTemplate::parse(&uri)
        {
            tables.templates.push((template, scopes.clone()));
        }
        tables.resources.insert(uri, scopes);
        self
    }

    /// Whether the policy requires nothing at all.
    pub fn is_empty(&self) -> bool {
        let t = &self.inner;
        t.global.is_empty()
            && t.tools.values().all(Vec::is_empty)
            && t.prompts.values().all(Vec::is_empty)
            && t.resources.values().all(Vec::is_empty)
    }

    /// The global scopes.
    pub fn global_scopes(&self) -> &[String] {
        &self.inner.global
    }

    /// Every scope `target` needs: the global ones, then the target's own (for a resource
    /// the policy does not name, those of the templates matching it). May repeat a scope.
    pub fn required_for(&self, target: ScopeTarget<'_>) -> impl Iterator<Item = &str> {
        let t = &self.inner;
        let (own, uri) = match target {
            ScopeTarget::Any => (None, None),
            ScopeTarget::Tool(name) => (t.tools.get(name), None),
            ScopeTarget::Prompt(name) => (t.prompts.get(name), None),
            ScopeTarget::Resource(uri) => match t.resources.get(uri) {
                Some(exact) => (Some(exact), None),
                None => (None, Some(uri)),
            },
        };
        let templates = uri.into_iter().flat_map(move |uri| {
            t.templates
                .iter()
                .filter(move |(template, _)| template.matches(uri).is_some())
                .flat_map(|(_, scopes)| scopes)
        });
        t.global
            .iter()
            .chain(own.into_iter().flatten())
            .chain(templates)
            .map(String::as_str)
    }

    /// `Ok` when `principal` holds every scope `target` needs, else what is missing.
    pub fn check(
        &self,
        principal: &Principal,
        target: ScopeTarget<'_>,
    ) -> Result<(), MissingScopes> {
        check_scopes(principal, self.required_for(target))
    }
}

/// `Ok` when `principal` holds every scope in `required`, else what is missing.
///
/// For checks no [`RequiredScopes`] policy expresses, e.g. in a custom
/// [`Authenticate`](crate::Authenticate) or for a scope that depends on the arguments.
///
/// ```
/// use mcp_auth::check_scopes;
/// use mcp_core::Principal;
///
/// let alice = Principal::new("alice").with_scopes(["mcp", "files:read"]);
/// assert!(check_scopes(&alice, ["files:read"]).is_ok());
///
/// let missing = check_scopes(&alice, ["files:read", "files:write"]).unwrap_err();
/// assert_eq!(missing.missing(), ["files:write"]);
/// // A 403 whose challenge asks for what the token has plus what it lacks.
/// let rejection = missing.into_rejection(None);
/// assert_eq!(rejection.status(), 403);
/// assert_eq!(
///     rejection.challenge().unwrap().render().unwrap(),
///     "Bearer scope=\"files:read mcp files:write\", error=\"insufficient_scope\", \
///      error_description=\"missing scope: files:write\""
/// );
/// ```
pub fn check_scopes<'a>(
    principal: &Principal,
    required: impl IntoIterator<Item = &'a str>,
) -> Result<(), MissingScopes> {
    let mut missing: Vec<String> = Vec::new();
    for scope in required {
        if !principal.has_scope(scope) && !missing.iter().any(|m| m == scope) {
            missing.push(scope.to_owned());
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(MissingScopes {
            granted: principal.scopes().map(str::to_owned).collect(),
            missing,
        })
    }
}

/// Scopes a principal lacks, and the step-up challenge that asks for them.
///
/// ```
/// use bytes::Bytes;
/// use mcp_auth::check_scopes;
/// use mcp_core::Principal;
///
/// // The authorization server granted an odd scope, which no challenge can carry.
/// let bob = Principal::new("bob").with_scopes(["mcp", "odd\"scope", "files:read"]);
/// let missing = check_scopes(&bob, ["mcp", "files:write", "admin"]).unwrap_err();
/// assert_eq!(missing.missing(), ["files:write", "admin"]);
/// assert_eq!(missing.granted(), ["files:read", "mcp", "odd\"scope"]);
/// assert_eq!(missing.step_up_scopes(), ["files:read", "mcp", "files:write", "admin"]);
/// assert_eq!(missing.to_string(), "missing scope: files:write admin");
///
/// let response: http::Response<Bytes> = missing.into_rejection(None).into_response();
/// assert_eq!(response.status(), 403);
/// assert_eq!(
///     response.headers()["www-authenticate"],
///     "Bearer scope=\"files:read mcp files:write admin\", error=\"insufficient_scope\", \
///      error_description=\"missing scope: files:write admin\""
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingScopes {
    granted: Vec<String>,
    missing: Vec<String>,
}

impl MissingScopes {
    /// The scopes the principal lacks, in policy order.
    pub fn missing(&self) -> &[String] {
        &self.missing
    }

    /// The scopes the principal already holds (sorted).
    pub fn granted(&self) -> &[String] {
        &self.granted
    }

    /// The scopes to ask the authorization server for: the granted ones then the missing
    /// ones, so that a step-up does not lose what the client already had. A granted scope
    /// that is not an RFC 6750 `scope-token` (an authorization server's odd grant) is left
    /// out: the challenge could not carry it, and it would cost the client the whole
    /// step-up (the spec asks only for the scopes needed).
    pub fn step_up_scopes(&self) -> Vec<&str> {
        self.granted
            .iter()
            .filter(|scope| crate::challenge::is_scope_token(scope))
            .chain(&self.missing)
            .map(String::as_str)
            .collect()
    }

    /// The 403 challenge: `Bearer resource_metadata="..", scope="granted missing",
    /// error="insufficient_scope"`.
    pub fn challenge(&self, resource_metadata: Option<&str>) -> WwwAuthenticate {
        insufficient_scope(self.step_up_scopes(), resource_metadata)
    }

    /// The 403 [`Rejection`] carrying [`challenge`](Self::challenge).
    pub fn into_rejection(self, resource_metadata: Option<&str>) -> Rejection {
        let description = self.to_string();
        Rejection::forbidden(
            self.challenge(resource_metadata)
                .error_description(description),
        )
    }
}

impl std::fmt::Display for MissingScopes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "missing scope: {}", self.missing.join(" "))
    }
}

impl std::error::Error for MissingScopes {}

/// The `insufficient_scope` challenge (RFC 6750 §3.1) asking for `scopes`, with
/// `resource_metadata` when given: what a 403 sends so that the client can ask the
/// authorization server for a token with more scopes (step-up).
///
/// ```
/// use mcp_auth::insufficient_scope;
///
/// let url = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
/// assert_eq!(
///     insufficient_scope(["mcp", "files:write"], Some(url)).render().unwrap(),
///     format!(r#"Bearer resource_metadata="{url}", scope="mcp files:write", error="insufficient_scope""#)
/// );
/// ```
pub fn insufficient_scope<I, S>(scopes: I, resource_metadata: Option<&str>) -> WwwAuthenticate
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    // Parameter order shared by every challenge of this crate: resource_metadata, scope,
    // error, error_description.
    let mut challenge = WwwAuthenticate::bearer();
    if let Some(url) = resource_metadata {
        challenge = challenge.resource_metadata(url);
    }
    challenge.scope(scopes).error("insufficient_scope")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "invalid OAuth scope \"files read\"")]
    fn a_scope_holding_a_space_is_refused_at_once() {
        let _ = RequiredScopes::new().tool("deploy", ["files read"]);
    }

    #[test]
    #[should_panic(expected = "invalid OAuth scope \"\"")]
    fn an_empty_scope_is_refused_at_once() {
        let _ = RequiredScopes::new().global([""]);
    }

    #[test]
    fn global_and_per_name() {
        let policy = RequiredScopes::new()
            .global(["mcp"])
            .tool("t", ["tools:t"])
            .prompt("p", ["prompts:p"])
            .resource("file:///r", ["res:r"]);
        let p = Principal::new("a").with_scopes(["mcp"]);
        assert!(policy.check(&p, ScopeTarget::Any).is_ok());
        assert!(policy.check(&p, ScopeTarget::Tool("other")).is_ok());
        for (target, scope) in [
            (ScopeTarget::Tool("t"), "tools:t"),
            (ScopeTarget::Prompt("p"), "prompts:p"),
            (ScopeTarget::Resource("file:///r"), "res:r"),
        ] {
            assert_eq!(policy.check(&p, target).unwrap_err().missing(), [scope]);
        }
        let nobody = Principal::new("b");
        let missing = policy.check(&nobody, ScopeTarget::Tool("t")).unwrap_err();
        assert_eq!(missing.missing(), ["mcp", "tools:t"]);
        assert!(!policy.is_empty());
        assert!(RequiredScopes::new().is_empty());
    }

    #[test]
    fn a_uri_needs_every_matching_template_unless_named_itself() {
        let policy = RequiredScopes::new()
            .resource("db://{table}/{id}", ["db"])
            .resource("db://users/{id}", ["users"])
            .resource("db://users/1", ["me"])
            // Not a template the router could serve: only this very text is guarded.
            .resource("db://{bad", ["broken"]);
        let needs = |uri| {
            policy
                .required_for(ScopeTarget::Resource(uri))
                .collect::<Vec<_>>()
        };
        // The router may serve it through either template: both guard it.
        assert_eq!(needs("db://users/2"), ["db", "users"]);
        assert_eq!(needs("db://orders/2"), ["db"]);
        assert_eq!(needs("db://users/1"), ["me"]);
        assert_eq!(needs("db://{table}/{id}"), ["db"]);
        assert!(needs("db://users").is_empty());
        assert_eq!(needs("db://{bad"), ["broken"]);
        // Naming a template again replaces its scopes.
        let policy = policy.resource("db://{table}/{id}", ["db:read"]);
        let needs = policy
            .required_for(ScopeTarget::Resource("db://orders/2"))
            .collect::<Vec<_>>();
        assert_eq!(needs, ["db:read"]);
    }

    #[test]
    fn step_up_rejection() {
        let p = Principal::new("a").with_scopes(["b", "a"]);
        let missing = check_scopes(&p, ["a", "c", "c"]).unwrap_err();
        let rejection = missing.into_rejection(None);
        assert_eq!(rejection.status(), 403);
        assert_eq!(
            rejection.challenge().unwrap().render().unwrap(),
            r#"Bearer scope="a b c", error="insufficient_scope", error_description="missing scope: c""#
        );
    }

    #[test]
    fn a_granted_scope_a_challenge_cannot_carry_does_not_cost_the_step_up() {
        let p = Principal::new("a").with_scopes(["mcp", "caf\u{e9}", "x\"y"]);
        let missing = check_scopes(&p, ["admin"]).unwrap_err();
        assert_eq!(missing.step_up_scopes(), ["mcp", "admin"]);
        let rejection = missing.into_rejection(Some("https://r.example/.well-known/x"));
        assert_eq!(
            rejection.challenge().unwrap().render().unwrap(),
            r#"Bearer resource_metadata="https://r.example/.well-known/x", scope="mcp admin", error="insufficient_scope", error_description="missing scope: admin""#
        );
    }
}
