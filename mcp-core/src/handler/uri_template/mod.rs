//! RFC 6570 URI templates matched against concrete URIs, as resource templates need them:
//! every operator (`{var}`, `{+var}`, `{#var}`, `{.var}`, `{/var}`, `{;var}`, `{?var}`,
//! `{&var}`), several variables per expression, and the prefix (`{var:3}`) and explode
//! (`{/var*}`) modifiers, except explode in the named operators (`;`, `?`, `&`).

use std::collections::BTreeMap;

mod operators;

pub(super) use operators::Expression;
use operators::{match_expression, value_ends};

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
///
/// // Operators: a path of any depth, and an optional query whose members may be left out.
/// let repo = UriTemplate::parse("repo://{owner}/{repo}/contents{/path*}{?ref}").unwrap();
/// let vars = repo.matches("repo://o/r/contents/src/lib.rs?ref=main").unwrap();
/// assert_eq!((vars["path"].as_str(), vars["ref"].as_str()), ("src/lib.rs", "main"));
/// let vars = repo.matches("repo://o/r/contents").unwrap();
/// assert!(!vars.contains_key("path") && !vars.contains_key("ref")); // undefined: left out
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Part {
    Literal(String),
    /// `{var}` or `{+var}`: the usual case, matched by searching for the literal after it.
    Variable {
        name: String,
        reserved: bool,
    },
    /// Any other expression.
    Expression(Expression),
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
    /// Parses a template. Refused: unclosed or empty expressions, names that are not RFC 6570
    /// variable names or that appear twice, explode in `;`, `?` and `&`, and two expressions
    /// where the second has no operator to tell where it starts (`{a}{b}`: only a literal or an
    /// operator's leading character can end the first).
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut names = std::collections::HashSet::<String>::new();
        let mut rest = source;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| TemplateError(format!("unclosed '{{' in {source}")))?
                + open;
            let text = &rest[open + 1..close];
            let expression = Expression::parse(text)
                .map_err(|why| TemplateError(format!("{why} in {{{text}}} of {source}")))?;
            if let Some(name) = expression
                .names()
                .find(|&name| !names.insert(name.to_owned()))
            {
                return Err(TemplateError(format!(
                    "variable {name} appears twice in {source}"
                )));
            }
            let touches = matches!(
                parts.last(),
                Some(Part::Variable { .. } | Part::Expression(_))
            );
            if touches && expression.leading_character().is_none() {
                return Err(TemplateError(format!(
                    "two variables without a literal between them in {source}"
                )));
            }
            parts.push(match expression.as_plain_variable() {
                Some((name, reserved)) => Part::Variable {
                    name: name.to_owned(),
                    reserved,
                },
                None => Part::Expression(expression),
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
        self.parts.iter().flat_map(|part| {
            let (one, expression) = match part {
                Part::Variable { name, .. } => (Some(name.as_str()), None),
                Part::Expression(expression) => (None, Some(expression.names())),
                Part::Literal(_) => (None, None),
            };
            one.into_iter().chain(expression.into_iter().flatten())
        })
    }

    /// Matches a concrete URI; returns the variables (percent-decoding is left to the handler).
    /// A variable an expression leaves undefined (`{?q}` against a URI without a query) is
    /// not in the map; an exploded one (`{/path*}`) holds its items as the URI writes them
    /// (`a/b/c`).
    ///
    /// A value must be URI text: no spaces, control characters or characters a URI never
    /// holds as such (`"`, `<`, `>`, `\`, `^`, a backtick, `{`, `|`, `}`), and `%` only in a
    /// `%XX` escape (the resources page: servers MUST validate all resource URIs). A simple `{var}` stops at `/`, `?` and `#`; a
    /// reserved `{+var}` may span them, and where the literal after it occurs more than once,
    /// each occurrence is tried, the longest value first (`file:///{+path}/meta` matches
    /// `file:///a/meta/b/meta` with `path` = `a/meta/b`).
    ///
    /// ```
    /// use mcp_core::UriTemplate;
    ///
    /// let template = UriTemplate::parse("test://template/{id}/data").unwrap();
    /// assert!(template.matches("test://template/a b/data").is_none());
    /// assert!(template.matches("test://template/%zz/data").is_none());
    /// assert_eq!(template.matches("test://template/a%20b/data").unwrap()["id"], "a%20b");
    /// ```
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        let mut vars = Vec::new();
        let mut budget = WORK_PER_BYTE * uri.len() + 1_000;
        match_parts(&self.parts, uri, &mut vars, &mut budget).then(|| {
            vars.into_iter()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect()
        })
    }
}

/// The work a match may do, in bytes checked and places tried, per byte of the URI (plus a
/// little for short ones): templates hold a few variables and URIs can be long, and trying
/// every split of every variable would take time quadratic (or worse) in the URI's length.
/// A URI that needs more does not match.
const WORK_PER_BYTE: usize = 8;

/// Matches `parts` against all of `rest`, pushing each variable's value onto `vars`.
pub(super) fn match_parts<'t, 'u>(
    parts: &'t [Part],
    rest: &'u str,
    vars: &mut Vec<(&'t str, &'u str)>,
    budget: &mut usize,
) -> bool {
    let Some((part, after)) = parts.split_first() else {
        return rest.is_empty();
    };
    let (name, reserved) = match part {
        Part::Literal(literal) => {
            return rest
                .strip_prefix(literal.as_str())
                .is_some_and(|rest| match_parts(after, rest, vars, budget));
        }
        Part::Variable { name, reserved } => (name.as_str(), *reserved),
        Part::Expression(expression) => {
            return match_expression(expression, rest, after, vars, budget);
        }
    };
    let bytes = rest.as_bytes();
    // How far a value may reach: one pass over `rest`.
    let Some(limit) = value_limit(bytes, reserved, budget) else {
        return false;
    };
    let next = match after.first() {
        Some(Part::Literal(next)) => next,
        Some(Part::Expression(_)) => {
            // An expression with a leading character follows: the value ends where it can
            // start, the longest first (`{name}{.ext}` splits `a.b.c` at the last dot).
            let Some(ends) = value_ends(rest, limit, after, budget) else {
                return false;
            };
            for end in ends {
                if !spend(budget, 1) {
                    return false;
                }
                vars.push((name, &rest[..end]));
                if match_parts(after, &rest[end..], vars, budget) {
                    return true;
                }
                vars.pop();
            }
            return false;
        }
        Some(Part::Variable { .. }) | None => {
            // The last part (two plain variables never touch): the value is the rest.
            let valid = limit == rest.len() && !rest.is_empty();
            if valid {
                vars.push((name, rest));
            }
            return valid;
        }
    };
    // Each occurrence of the literal after the value, overlapping ones included, the longest
    // value first: a reserved value usually runs to the last one (`{+dir}/{name}`).
    let mut window = rest.len().min(limit + next.len());
    // The limit is a byte count: the window must not end inside a character.
    while !rest.is_char_boundary(window) {
        window -= 1;
    }
    while let Some(end) = rest[..window].rfind(next.as_str()) {
        if !spend(budget, window - end) {
            return false;
        }
        // Not empty, and not cutting a `%XX` escape in two.
        let cuts_escape = bytes[end.saturating_sub(2)..end].contains(&b'%');
        if end > 0 && !cuts_escape {
            vars.push((name, &rest[..end]));
            if match_parts(after, &rest[end..], vars, budget) {
                return true;
            }
            vars.pop();
        }
        // Occurrences that start earlier, this one's tail included.
        window = end + next.len() - 1;
        while !rest.is_char_boundary(window) {
            window -= 1;
        }
    }
    false
}

/// The length of the longest prefix of `bytes` that is URI text a value can hold (see
/// [`UriTemplate::matches`]): where the first byte no value may contain is, or an escape that
/// is not `%XX`. `None` when the budget runs out.
pub(super) fn value_limit(bytes: &[u8], reserved: bool, budget: &mut usize) -> Option<usize> {
    if !spend(budget, bytes.len()) {
        return None;
    }
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let escape = bytes.get(i + 1..i + 3);
                if !escape.is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) {
                    return Some(i);
                }
                i += 3;
                continue;
            }
            b'/' | b'?' | b'#' if !reserved => return Some(i),
            // Not in URIs: controls, space, and the characters RFC 3986 leaves out.
            0..=b' ' | 0x7f | b'"' | b'<' | b'>' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}' => {
                return Some(i);
            }
            // Letters, digits, delimiters, and non-ASCII (internationalised names).
            _ => {}
        }
        i += 1;
    }
    Some(i)
}

/// Takes `work` (bytes read, at least one per place tried) from the budget.
pub(super) fn spend(budget: &mut usize, work: usize) -> bool {
    match budget.checked_sub(work.max(1)) {
        Some(left) => {
            *budget = left;
            true
        }
        None => {
            *budget = 0;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The variables `template` reads in `uri`, by name.
    pub(super) fn vars(template: &str, uri: &str) -> Option<Vec<(String, String)>> {
        let template = UriTemplate::parse(template).unwrap();
        template.matches(uri).map(|vars| vars.into_iter().collect())
    }

    fn one(name: &str, value: &str) -> Option<Vec<(String, String)>> {
        Some(vec![(name.to_owned(), value.to_owned())])
    }

    #[test]
    fn only_uri_text_matches() {
        let template = "test://template/{id}/data";
        assert_eq!(
            vars(template, "test://template/a-1_b.c~d/data"),
            one("id", "a-1_b.c~d")
        );
        assert_eq!(
            vars(template, "test://template/a%2Fb/data"),
            one("id", "a%2Fb")
        );
        assert_eq!(
            vars(template, "test://template/a:b@c!$&'()*+,;=/data"),
            one("id", "a:b@c!$&'()*+,;=")
        );
        assert_eq!(vars(template, "test://template/é/data"), one("id", "é"));
        for bad in [
            "{id}", "a b", "%zz", "%2", "a\u{0}b", "a\nb", "a\"b", "a<b", "a|b", "a^b", "a`b",
        ] {
            let uri = format!("test://template/{bad}/data");
            assert_eq!(vars(template, &uri), None, "{uri:?}");
        }
        assert_eq!(vars(template, "test://template//data"), None);
        assert_eq!(vars(template, "test://template/a/b/data"), None);
        assert_eq!(
            vars("file:///{+path}", "file:///a/b?c#d"),
            one("path", "a/b?c#d")
        );
        assert_eq!(vars("file:///{+path}", "file:///a b"), None);
    }

    #[test]
    fn a_reserved_value_may_contain_the_literal_after_it() {
        let template = "file:///{+path}/meta";
        assert_eq!(
            vars(template, "file:///a/meta/b/meta"),
            one("path", "a/meta/b")
        );
        assert_eq!(vars(template, "file:///a/meta"), one("path", "a"));
        assert_eq!(vars(template, "file:///a/meta/b"), None);
        let two = "x://{+a}-{b}";
        assert_eq!(
            vars(two, "x://p-q/r-s"),
            Some(vec![("a".into(), "p-q/r".into()), ("b".into(), "s".into())])
        );
    }

    #[test]
    fn deep_paths_match_at_the_last_separator() {
        let dirs: Vec<String> = (0..40).map(|i| format!("d{i}")).collect();
        let uri = format!("file:///{}/notes.txt", dirs.join("/"));
        let matched = vars("file:///{+dir}/{name}.txt", &uri).unwrap();
        assert_eq!(
            matched,
            [
                ("dir".to_owned(), dirs.join("/")),
                ("name".to_owned(), "notes".to_owned())
            ]
        );
        // An occurrence of the literal that overlaps another.
        assert_eq!(
            vars("x://{+a}/-/{b}", "x://p/-/-/q"),
            Some(vec![("a".into(), "p/-".into()), ("b".into(), "q".into())])
        );
    }

    #[test]
    fn a_non_ascii_literal_after_a_value_is_searched_by_whole_characters() {
        // The search window (the value's limit plus the literal's length in bytes) ended
        // inside the `é` and the slice panicked.
        assert_eq!(vars("s:{a}é", "s:a/é"), None);
        assert_eq!(vars("s:{a}é", "s:aé"), one("a", "a"));
    }

    #[test]
    fn an_escape_cut_by_a_literal_is_read_whole() {
        assert_eq!(vars("x://{+a}1/b", "x://%31/b1/b"), one("a", "%31/b"));
        assert_eq!(vars("x://{+a}1/b", "x://q3/b1/b"), one("a", "q3/b"));
        assert_eq!(vars("x://{+a}1", "x://%21%2"), None);
    }

    /// The work a match does (bytes checked, places tried), with no budget to stop it.
    fn work(template: &str, uri: &str) -> (bool, usize) {
        let template = UriTemplate::parse(template).unwrap();
        let mut budget = usize::MAX;
        let matched = match_parts(&template.parts, uri, &mut Vec::new(), &mut budget);
        (matched, usize::MAX - budget)
    }

    #[test]
    fn matching_checks_each_byte_once() {
        // 1 001 places to try: checking each value from its start was 1 001 passes over the
        // URI (a second of CPU per megabyte).
        let uri = format!("file:///{}{}x", "a".repeat(1 << 20), "/meta".repeat(1001));
        let (matched, work) = work("file:///{+path}/meta", &uri);
        assert!(!matched);
        assert!(
            work <= 2 * uri.len() + 1001,
            "{work} for {} bytes",
            uri.len()
        );
    }

    #[test]
    fn matching_a_long_uri_is_bounded() {
        // Every split of every variable would be tried without the budget.
        let template = UriTemplate::parse("x://{+a}-{+b}-{+c}!").unwrap();
        let uri = format!("x://{}", "-".repeat(100_000));
        assert!(template.matches(&uri).is_none());
        let fits = format!("x://{}!", "a-".repeat(10));
        assert!(template.matches(&fits).is_some());
    }
}
