//! Who is calling: the authenticated identity the HTTP tier puts into the request extensions.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::time::SystemTime;

/// The authenticated caller of a request.
///
/// An authenticator (see the `mcp-auth` crate) builds one per request and inserts it into the
/// request extensions; every RPC-tier layer and every handler can read it
/// (`RequestContext::principal`). Cloning is cheap: the data sits behind an `Arc`.
///
/// ```
/// use mcp_core::{AllowList, Principal};
///
/// let principal = Principal::new("alice")
///     .with_scopes(["tools:read", "admin"])
///     .with_allow_list(AllowList::new().tools(["add", "echo"]));
/// assert!(principal.has_scope("admin"));
/// assert!(principal.allow_list().unwrap().allows_tool("add"));
/// assert!(!principal.allow_list().unwrap().allows_tool("delete_everything"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    inner: Arc<PrincipalInner>,
}

#[derive(Debug, Clone, PartialEq)]
struct PrincipalInner {
    subject: String,
    issuer: Option<String>,
    /// `issuer#subject` when the issuer is known; `None` when the identity is the subject.
    qualified: Option<String>,
    scopes: BTreeSet<String>,
    claims: serde_json::Map<String, serde_json::Value>,
    allow_list: Option<AllowList>,
    expires_at: Option<SystemTime>,
}

impl Principal {
    /// A principal with this subject, no scopes, no claims and no allow-list.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            inner: Arc::new(PrincipalInner {
                subject: subject.into(),
                issuer: None,
                qualified: None,
                scopes: BTreeSet::new(),
                claims: serde_json::Map::new(),
                allow_list: None,
                expires_at: None,
            }),
        }
    }

    /// Records who vouched for the subject (a token's `iss`). A subject is unique only
    /// within its issuer (RFC 7519 §4.1.2), so from then on [`id`](Self::id), the identity
    /// sessions, tasks and rate limits are keyed on, is the issuer and the subject together.
    ///
    /// ```
    /// use mcp_core::Principal;
    ///
    /// let a = Principal::new("alice").with_issuer("https://a.example");
    /// let b = Principal::new("alice").with_issuer("https://b.example");
    /// assert_eq!((a.subject(), b.subject()), ("alice", "alice"));
    /// assert_eq!(a.issuer(), Some("https://a.example"));
    /// assert_ne!(a.id(), b.id());
    /// assert_eq!(a.id(), "https://a.example#alice");
    /// ```
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        let inner = Arc::make_mut(&mut self.inner);
        let issuer = issuer.into();
        // An issuer identifier has no fragment (RFC 8414 §2), so `#` cannot be part of it
        // and the first `#` ends it: no two (issuer, subject) pairs share an id.
        inner.qualified = Some(format!("{issuer}#{}", inner.subject));
        inner.issuer = Some(issuer);
        self
    }

    /// Adds scopes (OAuth `scope` / `scp` values).
    pub fn with_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Arc::make_mut(&mut self.inner)
            .scopes
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Attaches the token's claims (or any other attributes the authenticator knows).
    pub fn with_claims(mut self, claims: serde_json::Map<String, serde_json::Value>) -> Self {
        Arc::make_mut(&mut self.inner).claims = claims;
        self
    }

    /// Restricts what this principal may see and call (per-plan tool sets).
    pub fn with_allow_list(mut self, allow_list: AllowList) -> Self {
        Arc::make_mut(&mut self.inner).allow_list = Some(allow_list);
        self
    }

    /// Records when the credential stops vouching for the principal (a token's `exp`).
    /// Requests made after it are refused by the authenticator; streams opened before it
    /// (a legacy session's GET stream, a 2026-07-28 `subscriptions/listen` stream) end then,
    /// so that the client comes back with a fresh credential instead of listening on an
    /// expired one.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    ///
    /// use mcp_core::Principal;
    ///
    /// let exp = SystemTime::UNIX_EPOCH + Duration::from_secs(1_900_000_000);
    /// let principal = Principal::new("alice").with_expiry(exp);
    /// assert_eq!(principal.expires_at(), Some(exp));
    /// assert_eq!(Principal::new("ci-bot").expires_at(), None); // never, as far as we know
    /// ```
    pub fn with_expiry(mut self, expires_at: SystemTime) -> Self {
        Arc::make_mut(&mut self.inner).expires_at = Some(expires_at);
        self
    }

    /// When the credential stops vouching for the principal, if it says; see
    /// [`with_expiry`](Self::with_expiry).
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.inner.expires_at
    }

    /// The subject (`sub` claim, API key owner, ...), as given: for display. Key anything
    /// that belongs to the caller on [`id`](Self::id) instead.
    pub fn subject(&self) -> &str {
        &self.inner.subject
    }

    /// The issuer given with [`with_issuer`](Self::with_issuer), if any.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.issuer.as_deref()
    }

    /// The caller's identity, which sessions, tasks and rate limits are bound to: the subject,
    /// qualified by its issuer when there is one (`issuer#subject`), so that the same `sub`
    /// from two accepted issuers is two callers.
    ///
    /// ```
    /// use mcp_core::Principal;
    ///
    /// assert_eq!(Principal::new("ci-bot").id(), "ci-bot");
    /// ```
    pub fn id(&self) -> &str {
        self.inner
            .qualified
            .as_deref()
            .unwrap_or(&self.inner.subject)
    }

    /// The granted scopes, sorted.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.inner.scopes.iter().map(String::as_str)
    }

    /// Whether the principal holds `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner.scopes.contains(scope)
    }

    /// The claims the authenticator attached.
    pub fn claims(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.inner.claims
    }

    /// The allow-list, when the principal is restricted.
    pub fn allow_list(&self) -> Option<&AllowList> {
        self.inner.allow_list.as_ref()
    }
}

/// Which tools, prompts, resources and resource templates a principal may see and use.
///
/// `None` for a kind means "everything of that kind"; an empty set means "nothing".
/// This mirrors Phantom MCP's `allowed_tools` / `allowed_prompts` /
/// `allowed_resource_templates`.
///
/// ```
/// use mcp_core::AllowList;
///
/// let free_plan = AllowList::new().tools(["search"]).prompts(Vec::<String>::new());
/// assert!(free_plan.allows_tool("search"));
/// assert!(!free_plan.allows_prompt("summarise"));
/// assert!(free_plan.allows_resource("file:///anything")); // resources not restricted
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    // Shared: layers clone the allow-list into every request's extensions.
    inner: Arc<AllowListSets>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct AllowListSets {
    tools: Option<BTreeSet<String>>,
    prompts: Option<BTreeSet<String>>,
    resources: Option<BTreeSet<String>>,
    resource_templates: Option<BTreeSet<String>>,
}

fn to_set<I, S>(names: I) -> Option<BTreeSet<String>>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    Some(names.into_iter().map(Into::into).collect())
}

fn allows(set: &Option<BTreeSet<String>>, name: &str) -> bool {
    set.as_ref().is_none_or(|set| set.contains(name))
}

impl AllowList {
    /// An allow-list that restricts nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The caller's allow-list in a request's extensions: an `AllowList` extension (a session's,
    /// or one an `AllowListLayer` resolved), else the authenticated [`Principal`]'s own.
    ///
    /// ```
    /// use mcp_core::{AllowList, Principal};
    ///
    /// let mut extensions = http::Extensions::new();
    /// assert!(AllowList::of(&extensions).is_none());
    /// extensions.insert(Principal::new("alice").with_allow_list(AllowList::new().tools(["a"])));
    /// assert!(!AllowList::of(&extensions).unwrap().allows_tool("b"));
    /// extensions.insert(AllowList::new()); // the extension wins
    /// assert!(AllowList::of(&extensions).unwrap().allows_tool("b"));
    /// ```
    pub fn of(extensions: &http::Extensions) -> Option<&AllowList> {
        extensions
            .get::<AllowList>()
            .or_else(|| extensions.get::<Principal>()?.allow_list())
    }

    /// Only these tools (by name) are visible and callable.
    pub fn tools<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        Arc::make_mut(&mut self.inner).tools = to_set(names);
        self
    }

    /// Only these prompts (by name) are visible and gettable.
    pub fn prompts<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        Arc::make_mut(&mut self.inner).prompts = to_set(names);
        self
    }

    /// Only these static resources (by URI) are visible and readable.
    pub fn resources<I: IntoIterator<Item = S>, S: Into<String>>(mut self, uris: I) -> Self {
        Arc::make_mut(&mut self.inner).resources = to_set(uris);
        self
    }

    /// Only these resource templates (by name) are visible and readable.
    pub fn resource_templates<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        names: I,
    ) -> Self {
        Arc::make_mut(&mut self.inner).resource_templates = to_set(names);
        self
    }

    /// Whether the tool `name` is allowed.
    pub fn allows_tool(&self, name: &str) -> bool {
        allows(&self.inner.tools, name)
    }

    /// Whether the prompt `name` is allowed.
    pub fn allows_prompt(&self, name: &str) -> bool {
        allows(&self.inner.prompts, name)
    }

    /// Whether the static resource `uri` is allowed.
    pub fn allows_resource(&self, uri: &str) -> bool {
        allows(&self.inner.resources, uri)
    }

    /// Whether the resource template `name` is allowed.
    pub fn allows_resource_template(&self, name: &str) -> bool {
        allows(&self.inner.resource_templates, name)
    }
}

/// The part of a peer's address that stands for one client when it is not authenticated: an
/// IPv4 address as it is, an IPv6 one cut to its /64 (IPv4-mapped ones unwrapped), so that one
/// subscriber cannot get a fresh share per address of their block. Rate limits and task quotas
/// key unauthenticated callers on it.
///
/// ```
/// use std::net::IpAddr;
///
/// let v6: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
/// assert_eq!(mcp_core::peer_block(v6), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
/// let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
/// assert_eq!(mcp_core::peer_block(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
/// ```
pub fn peer_block(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u64::MAX as u128))),
        },
    }
}
