//! The expressions of RFC 6570 other than a plain `{var}` or `{+var}`: operators, several
//! variables, modifiers. Matching runs expansion backwards: an expression's text is cut into
//! items at its separators, and items are given to the variables in order; a variable with
//! no item is undefined, as expansion leaves undefined variables out.

use super::{Part, match_parts, spend, value_limit};

/// One `{...}` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expression {
    operator: Operator,
    variables: Vec<Variable>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Variable {
    name: String,
    /// `{var:3}`: at most this many characters.
    prefix: Option<usize>,
    /// `{var*}`: takes every item left (the last variable only).
    explode: bool,
}

/// The operators of RFC 6570 section 3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    Simple,
    Reserved,
    Fragment,
    Label,
    Path,
    PathParameter,
    Query,
    QueryContinuation,
}

impl Operator {
    fn of(character: char) -> Option<Self> {
        Some(match character {
            '+' => Self::Reserved,
            '#' => Self::Fragment,
            '.' => Self::Label,
            '/' => Self::Path,
            ';' => Self::PathParameter,
            '?' => Self::Query,
            '&' => Self::QueryContinuation,
            _ => return None,
        })
    }

    /// What an expansion starts with, when it has a variable to show.
    fn first(self) -> Option<u8> {
        match self {
            Self::Simple | Self::Reserved => None,
            Self::Fragment => Some(b'#'),
            Self::Label => Some(b'.'),
            Self::Path => Some(b'/'),
            Self::PathParameter => Some(b';'),
            Self::Query => Some(b'?'),
            Self::QueryContinuation => Some(b'&'),
        }
    }

    /// What separates the items of an expansion.
    fn separator(self) -> u8 {
        match self {
            Self::Simple | Self::Reserved | Self::Fragment => b',',
            Self::Label => b'.',
            Self::Path => b'/',
            Self::PathParameter => b';',
            Self::Query | Self::QueryContinuation => b'&',
        }
    }

    /// Whether items are `name=value`.
    fn named(self) -> bool {
        matches!(
            self,
            Self::PathParameter | Self::Query | Self::QueryContinuation
        )
    }

    /// Whether `byte` ends an item (besides the characters no value may hold).
    fn ends_item(self, byte: u8) -> bool {
        byte == self.separator()
            || match self {
                Self::Simple | Self::Reserved | Self::Fragment => false,
                Self::Label | Self::Path | Self::PathParameter => {
                    matches!(byte, b'/' | b'?' | b'#')
                }
                Self::Query | Self::QueryContinuation => byte == b'#',
            }
    }
}

impl Expression {
    /// Parses the text between `{` and `}`.
    pub(super) fn parse(text: &str) -> Result<Self, String> {
        let mut chars = text.chars();
        let operator = match chars.next().and_then(Operator::of) {
            Some(operator) => operator,
            None if text.starts_with(['=', ',', '!', '@', '|']) => {
                return Err("reserved operator".to_owned());
            }
            None => {
                chars = text.chars();
                Operator::Simple
            }
        };
        let list = chars.as_str();
        let mut variables = Vec::new();
        for spec in list.split(',') {
            let (name, prefix, explode) = if let Some(name) = spec.strip_suffix('*') {
                (name, None, true)
            } else if let Some((name, length)) = spec.split_once(':') {
                let length = Some(length)
                    .filter(|digits| !digits.starts_with('0'))
                    .and_then(|digits| digits.parse::<usize>().ok())
                    .filter(|length| (1..10_000).contains(length))
                    .ok_or_else(|| format!("invalid prefix length in {spec}"))?;
                (name, Some(length), false)
            } else {
                (spec, None, false)
            };
            if !is_variable_name(name) {
                return Err(format!("unsupported variable name {name:?}"));
            }
            variables.push(Variable {
                name: name.to_owned(),
                prefix,
                explode,
            });
        }
        if let Some(exploded) = variables.iter().position(|v| v.explode) {
            if operator.named() {
                return Err("explode (*) in ;, ? or & cannot be matched".to_owned());
            }
            if exploded + 1 != variables.len() {
                return Err("only the last variable may be exploded (*)".to_owned());
            }
        }
        Ok(Self {
            operator,
            variables,
        })
    }

    pub(super) fn names(&self) -> impl Iterator<Item = &str> {
        self.variables.iter().map(|v| v.name.as_str())
    }

    /// What the expression's text starts with when it shows a variable: what tells a match
    /// where it starts without a literal before it.
    pub(super) fn leading_character(&self) -> Option<u8> {
        self.operator.first()
    }

    /// `{var}` or `{+var}` (name, reserved), which the caller matches itself.
    pub(super) fn as_plain_variable(&self) -> Option<(&str, bool)> {
        let reserved = match self.operator {
            Operator::Simple => false,
            Operator::Reserved => true,
            _ => return None,
        };
        match self.variables.as_slice() {
            [only] if only.prefix.is_none() && !only.explode => Some((&only.name, reserved)),
            _ => None,
        }
    }
}

/// RFC 6570 `varname`: letters, digits, `_` and `%XX`, with single dots between.
fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

/// Matches `expression` at the start of `rest`, then `after` against what follows: each way
/// to cut the expression's text is tried, the longest first.
pub(super) fn match_expression<'t, 'u>(
    expression: &'t Expression,
    rest: &'u str,
    after: &'t [Part],
    vars: &mut Vec<(&'t str, &'u str)>,
    budget: &mut usize,
) -> bool {
    let operator = expression.operator;
    let bytes = rest.as_bytes();
    // Where the expression's text can end.
    let mut ends = Vec::new();
    let start = match operator.first() {
        Some(first) if bytes.first() == Some(&first) => 1,
        // Nothing of it here: every variable undefined.
        Some(_) => return match_parts(after, rest, vars, budget),
        None => 0,
    };
    // Only a simple expression's items stop at `/`, `?` and `#` by themselves; the others'
    // end where `ends_item` says.
    let simple = operator == Operator::Simple;
    let Some(limit) = value_limit(&bytes[start..], !simple, budget) else {
        return false;
    };
    let text = &bytes[start..start + limit];
    if operator.first().is_none() {
        // `{a,b}`, `{+a,b}`, `{a:3}`: a value may end anywhere (a literal may follow at any
        // place), so every end is a candidate; items are cut at commas after.
        ends.extend((1..=limit).filter(|&end| rest.is_char_boundary(end)));
    } else {
        // Nothing at all (every variable undefined), then the ends of the items.
        ends.push(0);
        let mut offset = 0;
        loop {
            let item_end = text[offset..].iter().position(|&b| operator.ends_item(b));
            let end = item_end.map_or(text.len(), |at| offset + at);
            ends.push(start + end);
            if text.get(end) != Some(&operator.separator()) {
                break;
            }
            offset = end + 1;
        }
    }
    for &end in ends.iter().rev() {
        if !spend(budget, end - start.min(end)) {
            return false;
        }
        let mark = vars.len();
        let assigned = if end == 0 && operator.first().is_some() {
            true
        } else {
            assign(expression, &rest[start..end], vars)
        };
        if assigned && match_parts(after, &rest[end..], vars, budget) {
            return true;
        }
        vars.truncate(mark);
    }
    false
}

/// Gives the items of `text` (an expression's expansion less its leading character) to the
/// expression's variables; `false` when they do not fit.
fn assign<'t, 'u>(
    expression: &'t Expression,
    text: &'u str,
    vars: &mut Vec<(&'t str, &'u str)>,
) -> bool {
    let operator = expression.operator;
    let separator = char::from(operator.separator());
    if operator.named() {
        for item in text.split(separator) {
            let (name, value) = item.split_once('=').unwrap_or((item, ""));
            let Some(variable) = expression.variables.iter().find(|v| v.name == name) else {
                return false;
            };
            if vars.iter().any(|(seen, _)| *seen == name) || !fits(variable, value) {
                return false;
            }
            vars.push((&variable.name, value));
        }
        return true;
    }
    if operator.first().is_none() && text.is_empty() {
        return false;
    }
    // `None` once every item is given; variables left then are undefined.
    let mut items = Some(text);
    for (index, variable) in expression.variables.iter().enumerate() {
        let Some(current) = items else {
            break;
        };
        let last = index + 1 == expression.variables.len();
        // The last variable takes what is left when exploded, and so does the only variable
        // of a comma-separated expression: `{#frag}` and `{+path}` expand a value's commas
        // as they are.
        let takes_the_rest = last && (variable.explode || (index == 0 && separator == ','));
        let (value, left) = match current.split_once(separator) {
            Some((value, left)) if !takes_the_rest => (value, Some(left)),
            _ => (current, None),
        };
        if !fits(variable, value) {
            return false;
        }
        vars.push((&variable.name, value));
        items = left;
    }
    // Items left over that no variable takes do not match.
    items.is_none()
}

/// Whether `value` respects the variable's prefix length, counted as RFC 6570 counts it: in
/// characters of the value before it was percent-encoded (`%C3%A9` is one, `é`).
fn fits(variable: &Variable, value: &str) -> bool {
    variable
        .prefix
        .is_none_or(|length| decoded_characters(value) <= length)
}

/// The characters of `value` once its `%XX` escapes are decoded: its bytes, less UTF-8
/// continuation bytes. (A `%` without two hex digits after it, as in a candidate value that
/// cuts an escape, is a character of its own.)
fn decoded_characters(value: &str) -> usize {
    let bytes = value.as_bytes();
    let (mut count, mut at) = (0, 0);
    while at < bytes.len() {
        let escaped = bytes
            .get(at + 1..at + 3)
            .filter(|hex| bytes[at] == b'%' && hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        let byte = match escaped {
            Some(byte) => {
                at += 3;
                byte
            }
            None => {
                at += 1;
                bytes[at - 1]
            }
        };
        count += usize::from(byte & 0xC0 != 0x80);
    }
    count
}

#[cfg(test)]
mod tests {
    use super::super::UriTemplate;
    use super::super::tests::vars;

    fn pairs(list: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        let mut pairs: Vec<_> = list
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        pairs.sort();
        Some(pairs)
    }

    #[test]
    fn queries_are_optional_and_in_any_order() {
        let t = "search://items{?q,page}";
        assert_eq!(vars(t, "search://items"), pairs(&[]));
        assert_eq!(vars(t, "search://items?q=rust"), pairs(&[("q", "rust")]));
        assert_eq!(
            vars(t, "search://items?page=2&q=a%20b"),
            pairs(&[("page", "2"), ("q", "a%20b")])
        );
        assert_eq!(vars(t, "search://items?q="), pairs(&[("q", "")]));
        // Unknown and repeated members, and text after the query.
        assert_eq!(vars(t, "search://items?x=1"), None);
        assert_eq!(vars(t, "search://items?q=1&q=2"), None);
        assert_eq!(vars(t, "search://itemsx"), None);
        // A continuation.
        assert_eq!(
            vars("x://a?fixed=1{&q}", "x://a?fixed=1&q=z"),
            pairs(&[("q", "z")])
        );
        assert_eq!(
            vars("x://a{?q}{&r}", "x://a?q=1&r=2"),
            pairs(&[("q", "1"), ("r", "2")])
        );
    }

    #[test]
    fn paths_labels_fragments_and_parameters() {
        let repo = "repo://{owner}/{repo}/contents{/path*}";
        assert_eq!(
            vars(repo, "repo://o/r/contents/src/lib.rs"),
            pairs(&[("owner", "o"), ("path", "src/lib.rs"), ("repo", "r")])
        );
        assert_eq!(
            vars(repo, "repo://o/r/contents"),
            pairs(&[("owner", "o"), ("repo", "r")])
        );
        assert_eq!(
            vars("x://a{/b,c}", "x://a/1/2"),
            pairs(&[("b", "1"), ("c", "2")])
        );
        assert_eq!(vars("x://a{/b,c}", "x://a/1/2/3"), None);
        assert_eq!(vars("x://a{/b}/end", "x://a/1/end"), pairs(&[("b", "1")]));
        assert_eq!(
            vars("file:///{name}{.ext}", "file:///notes.txt"),
            pairs(&[("ext", "txt"), ("name", "notes")])
        );
        assert_eq!(
            vars("x://doc{#section}", "x://doc#a/b?c"),
            pairs(&[("section", "a/b?c")])
        );
        assert_eq!(
            vars("x://m{;w,h}", "x://m;w=3;h=4"),
            pairs(&[("h", "4"), ("w", "3")])
        );
        assert_eq!(
            vars("x://{a,b}/z", "x://1,2/z"),
            pairs(&[("a", "1"), ("b", "2")])
        );
        assert_eq!(vars("x://{a:2}", "x://ab"), pairs(&[("a", "ab")]));
        assert_eq!(vars("x://{a:2}", "x://abc"), None);
        assert_eq!(vars("x://{a:2}xyz", "x://abxyz"), pairs(&[("a", "ab")]));
        assert_eq!(
            vars("x://{+a,b}!", "x://p/q,r!"),
            pairs(&[("a", "p/q"), ("b", "r")])
        );
        assert_eq!(vars("x://a{/b}", "x://a/"), pairs(&[("b", "")]));
        // One variable of `#` or `+` keeps its commas; a prefix counts decoded characters.
        assert_eq!(vars("x://p{#f}", "x://p#a,b"), pairs(&[("f", "a,b")]));
        assert_eq!(vars("x://{+a:3}", "x://a,b"), pairs(&[("a", "a,b")]));
        assert_eq!(vars("x://{a:1}", "x://%C3%A9"), pairs(&[("a", "%C3%A9")]));
        assert_eq!(vars("x://{a:3}", "x://%20ab"), pairs(&[("a", "%20ab")]));
        assert_eq!(vars("x://{a:2}", "x://%20ab"), None);
    }

    #[test]
    fn unmatchable_templates_are_refused() {
        for bad in [
            "x://{a}{b}",
            "x://{?q*}",
            "x://{/a*,b}",
            "x://{a}/{a}",
            "x://{a:0}",
            "x://{=a}",
            "x://{a b}",
            "x://{}",
            "x://{a",
        ] {
            assert!(UriTemplate::parse(bad).is_err(), "{bad}");
        }
        assert!(UriTemplate::parse("x://{a}{/b}{?c}{#d}").is_ok());
    }

    /// Random templates against random URIs of the characters that matter (separators,
    /// escapes, non-ASCII): a match never panics, and what matches holds only URI slices.
    #[test]
    fn random_templates_and_uris_never_panic() {
        const TEMPLATE: &[&str] = &[
            "x", "/", "{a}", "{+b}", "{#c}", "{.d}", "{/e*}", "{;f}", "{?g,h}", "{&i}", "{j,k}",
            "{l:2}", "é", "?", "=",
        ];
        const URI: &[&str] = &[
            "x", "/", "?", "#", "&", "=", ",", ".", ";", "é", "%41", "%", "g=1", "a",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % n as u64).expect("small")
        };
        let mut matched = 0;
        for _ in 0..20_000 {
            let template: String = (0..1 + next(5))
                .map(|_| TEMPLATE[next(TEMPLATE.len())])
                .collect();
            let uri: String = (0..next(8)).map(|_| URI[next(URI.len())]).collect();
            let Ok(parsed) = UriTemplate::parse(&format!("s:{template}")) else {
                continue;
            };
            if let Some(vars) = parsed.matches(&format!("s:{uri}")) {
                matched += 1;
                assert!(vars.values().all(|value| uri.contains(value.as_str())));
            }
        }
        assert!(matched > 100, "{matched}");
    }

    #[test]
    fn long_uris_stay_within_the_budget() {
        let template = UriTemplate::parse("x://{a}{.b}{/c*}{?d}").unwrap();
        // Every end of `a` is tried, and each time the rest scanned: the budget stops it.
        let uri = format!("x://{}%zz", "a.".repeat(50_000));
        assert!(template.matches(&uri).is_none());
        let uri = format!("x://{}?d=1", "a/".repeat(50_000));
        let _ = template.matches(&uri);
    }
}
