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

    /// Whether `byte` ends the whole expansion of an operator with a leading character (what
    /// none of its items may hold, separators aside).
    fn ends_run(self, byte: u8) -> bool {
        match self {
            Self::Simple | Self::Reserved | Self::Fragment => false,
            Self::Path => matches!(byte, b'?' | b'#'),
            Self::Label | Self::PathParameter => matches!(byte, b'/' | b'?' | b'#'),
            Self::Query | Self::QueryContinuation => byte == b'#',
        }
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
        && name.split('%').enumerate().all(|(index, piece)| {
            // Every `%` starts two hex digits.
            let (escape, plain) = if index == 0 {
                ("", piece)
            } else {
                piece.split_at(piece.len().min(2))
            };
            (index == 0 || (escape.len() == 2 && escape.bytes().all(|b| b.is_ascii_hexdigit())))
                && plain
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        })
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
    let start = match operator.first() {
        Some(first) if bytes.first() == Some(&first) => 1,
        // Nothing of it here: every variable undefined.
        Some(_) => return match_parts(after, rest, vars, budget),
        None => 0,
    };
    let ends =
        if operator.first().is_none() {
            // `{a,b}`, `{+a,b}`, `{a:3}`: the value ends where what follows can start; items
            // are cut at commas after.
            let Some(limit) = value_limit(bytes, operator != Operator::Simple, budget) else {
                return false;
            };
            let limit = match expression.variables.as_slice() {
                [only] => only
                    .prefix
                    .map_or(limit, |length| limit.min(prefix_bytes(bytes, length))),
                _ => limit,
            };
            let Some(ends) = value_ends(rest, limit, after, budget) else {
                return false;
            };
            ends
        } else {
            // The expansion runs to the first byte none of its items may hold; its text is
            // checked once, then cut at its items' ends, the longest first.
            let run = bytes[start..]
                .iter()
                .position(|&b| operator.ends_run(b))
                .unwrap_or(bytes.len() - start);
            if !spend(budget, run) {
                return false;
            }
            let Some(limit) = value_limit(&bytes[start..start + run], true, budget) else {
                return false;
            };
            let text = &bytes[start..start + limit];
            let mut ends = Vec::new();
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
            // The last item may also end where the literal after the expression starts
            // (`{/name}.json`).
            if let Some(Part::Literal(literal)) = after.first() {
                let found = rest[start..start + limit].match_indices(literal.as_str());
                ends.extend(found.map(|(at, _)| start + at).filter(|&end| {
                    end > start && !bytes[end.saturating_sub(2)..end].contains(&b'%')
                }));
            }
            // The longest first; nothing at all (every variable undefined) last.
            ends.sort_unstable_by(|a, b| b.cmp(a));
            ends.dedup();
            ends.push(0);
            ends
        };
    for end in ends {
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

/// Where a value at the start of `rest`, allowed up to `limit`, may end so that `after` can
/// match from there, the longest first: where the literal after it occurs, or, before an
/// expression, where that expression's leading character is, or the limit itself (the
/// expression then undefined, and the literal after it where it occurs). Never inside a
/// character or a `%XX` escape, never empty. `None` when the budget runs out.
pub(super) fn value_ends(
    rest: &str,
    limit: usize,
    after: &[Part],
    budget: &mut usize,
) -> Option<Vec<usize>> {
    let bytes = rest.as_bytes();
    let mut ends = Vec::new();
    // `ends[..preferred]` are tried first, in their order.
    let mut preferred = 0;
    let mut literal = None;
    match after.first() {
        None | Some(Part::Variable { .. }) => {
            if limit == rest.len() {
                ends.push(limit);
            }
        }
        Some(Part::Literal(next)) => literal = Some(next.as_str()),
        Some(Part::Expression(next)) => {
            if !spend(budget, limit) {
                return None;
            }
            // Where the expression starts first (the longest value before it), then where it
            // is left out.
            if let Some(leading) = next.leading_character() {
                ends.extend((1..limit).rev().filter(|&end| bytes[end] == leading));
            }
            preferred = ends.len();
            ends.push(limit);
            literal = match after.get(1) {
                Some(Part::Literal(next)) => Some(next.as_str()),
                _ => None,
            };
        }
    }
    if let Some(literal) = literal.filter(|literal| !literal.is_empty()) {
        // Each occurrence within reach, overlapping ones included.
        let mut window = rest.len().min(limit + literal.len());
        while !rest.is_char_boundary(window) {
            window -= 1;
        }
        while let Some(end) = rest[..window].rfind(literal) {
            if !spend(budget, window - end) {
                return None;
            }
            ends.push(end);
            window = end + literal.len() - 1;
            while !rest.is_char_boundary(window) {
                window -= 1;
            }
        }
    }
    ends[preferred..].sort_unstable_by(|a, b| b.cmp(a));
    let mut seen = std::collections::HashSet::new();
    ends.retain(|&end| {
        end > 0
            && end <= limit
            && rest.is_char_boundary(end)
            && !bytes[end.saturating_sub(2)..end].contains(&b'%')
            && seen.insert(end)
    });
    Some(ends)
}

/// The bytes of the first `length` characters of `text`, counted decoded as
/// [`decoded_characters`] counts them (an escape is never cut).
fn prefix_bytes(text: &[u8], length: usize) -> usize {
    let (mut count, mut at) = (0, 0);
    while at < text.len() {
        let (byte, width) = match escaped_byte(text, at) {
            Some(byte) => (byte, 3),
            None => (text[at], 1),
        };
        // A byte that starts a character (not a UTF-8 continuation byte).
        if byte & 0xC0 != 0x80 {
            if count == length {
                return at;
            }
            count += 1;
        }
        at += width;
    }
    at
}

/// The byte a `%XX` escape at `at` stands for.
fn escaped_byte(text: &[u8], at: usize) -> Option<u8> {
    let hex = text.get(at + 1..at + 3)?;
    if text[at] != b'%' || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
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
        let (byte, width) = match escaped_byte(bytes, at) {
            Some(byte) => (byte, 3),
            None => (bytes[at], 1),
        };
        count += usize::from(byte & 0xC0 != 0x80);
        at += width;
    }
    count
}

#[cfg(test)]
mod tests;
