//! RFC 6570 URI templates, as far as resource templates need them: simple (`{var}`),
//! reserved (`{+var}`) and comma lists of names, matched against concrete URIs.

use std::collections::BTreeMap;

/// A parsed URI template that can match concrete URIs and extract variables.
///
/// ```
/// use mcp_core::UriTemplate;
///
/// let template = UriTemplate::parse("test://template/{id}/data").unwrap();
/// let vars = template.matches("test://template/42/data").unwrap();
/// assert_eq!(vars["id"], "42");
/// assert!(template.matches("test://template/4/2/data").is_none()); // `{id}` stops at '/'
///
/// let files = UriTemplate::parse("file:///{+path}").unwrap();
/// assert_eq!(files.matches("file:///a/b.txt").unwrap()["path"], "a/b.txt");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable { name: String, reserved: bool },
}

/// Why a template was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError(String);

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid URI template: {}", self.0)
    }
}

impl std::error::Error for TemplateError {}

impl UriTemplate {
    /// Parses a template.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = source;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| TemplateError(format!("unclosed '{{' in {source}")))?
                + open;
            let mut expression = &rest[open + 1..close];
            let reserved = expression.starts_with('+');
            if reserved {
                expression = &expression[1..];
            }
            if expression.is_empty()
                || !expression
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            {
                return Err(TemplateError(format!(
                    "unsupported expression {{{expression}}} in {source}"
                )));
            }
            if matches!(parts.last(), Some(Part::Variable { .. })) {
                return Err(TemplateError(format!(
                    "two variables without a literal between them in {source}"
                )));
            }
            parts.push(Part::Variable {
                name: expression.to_owned(),
                reserved,
            });
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Self {
            source: source.to_owned(),
            parts,
        })
    }

    /// The template text.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The variable names, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Variable { name, .. } => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Matches a concrete URI; returns the variables (percent-decoding is left to the handler).
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        let mut vars = BTreeMap::new();
        let mut rest = uri;
        let mut parts = self.parts.iter().peekable();
        while let Some(part) = parts.next() {
            match part {
                Part::Literal(literal) => rest = rest.strip_prefix(literal.as_str())?,
                Part::Variable { name, reserved } => {
                    let end = match parts.peek() {
                        Some(Part::Literal(next)) => rest.find(next.as_str())?,
                        _ => rest.len(),
                    };
                    let value = &rest[..end];
                    let stops = |c: char| !*reserved && matches!(c, '/' | '?' | '#');
                    if value.is_empty() || value.contains(stops) {
                        return None;
                    }
                    vars.insert(name.clone(), value.to_owned());
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(vars)
    }
}
