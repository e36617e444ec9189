//! Reads a few members of a JSON object without deserialising the rest.
//!
//! Layers in front of the router (the transport's era and routing-header checks, telemetry)
//! need one or two members of a request's `params`: a name, a version in `_meta`; the router
//! reads `tools/call` params of the usual shape with it too. A
//! `serde_json` pass over the whole `params` costs about as much as the router's own parse;
//! this scanner skips values by their brackets and quotes, lets the caller stop as soon as it
//! has what it wants, and validates nothing it does not read. It is meant for text already
//! known to be valid JSON (`params` as [`Message::parse`](crate::jsonrpc::Message::parse)
//! keeps it); on anything malformed it gives `None` rather than a wrong answer.
//!
//! ```
//! use mcp_core::scan::{Flow, Scanner};
//!
//! let params = r#"{"arguments":{"name":"inner"},"name":"add","_meta":{"v":"1"}}"#;
//! let mut name = None;
//! Scanner::new(params).object(|scanner, key| {
//!     if key.is("name") {
//!         name = scanner.string_or_skip()?;
//!         return Some(Flow::Stop);
//!     }
//!     scanner.skip_value()?;
//!     Some(Flow::Continue)
//! });
//! assert_eq!(name.as_deref(), Some("add"));
//! ```

use std::borrow::Cow;

/// Whether an object scan goes on after a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next member.
    Continue,
    /// Stop here: the rest of the object is not read.
    Stop,
}

/// A member's key as written, between its quotes.
///
/// ```
/// use mcp_core::scan::Key;
///
/// assert!(Key::new("name", false).is("name"));
/// // An escaped spelling is not decoded: a caller that must not miss one checks `escaped`.
/// assert!(!Key::new(r"n\u0061me", true).is("name"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key<'a> {
    /// The key's text, escapes not decoded.
    pub raw: &'a str,
    /// Whether the key contains an escape (then `raw` is not its value).
    pub escaped: bool,
}

impl<'a> Key<'a> {
    /// A key as written.
    pub fn new(raw: &'a str, escaped: bool) -> Self {
        Self { raw, escaped }
    }

    /// Whether this key is `name` spelled without escapes.
    pub fn is(&self, name: &str) -> bool {
        !self.escaped && self.raw == name
    }
}

/// A cursor over JSON text; see the [module documentation](self).
///
/// The helpers are small and inlined: the texts scanned are short (a request's `params`), so
/// the fixed cost per string and per member matters more than the cost per byte.
#[derive(Debug, Clone)]
pub struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Self { text, pos: 0 }
    }

    /// The offset of the next byte not read yet (after [`peek`](Self::peek), the start of
    /// the next value).
    #[inline(always)]
    pub fn offset(&self) -> usize {
        self.pos
    }

    #[inline(always)]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// The next byte that is not whitespace, not consumed; `None` at the end.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        let byte = *self.bytes().get(self.pos)?;
        // JSON whitespace is below `!`: one comparison for the usual, compact text.
        if byte > b' ' {
            return Some(byte);
        }
        self.peek_past_whitespace()
    }

    fn peek_past_whitespace(&mut self) -> Option<u8> {
        loop {
            match *self.bytes().get(self.pos)? {
                b' ' | b'\n' | b'\r' | b'\t' => self.pos += 1,
                byte => return Some(byte),
            }
        }
    }

    #[inline(always)]
    fn eat(&mut self, byte: u8) -> Option<()> {
        if self.peek()? != byte {
            return None;
        }
        self.pos += 1;
        Some(())
    }

    /// An object, calling `member` with each key; `member` must consume the value (read it or
    /// [`skip_value`](Self::skip_value)). `None` when the text is not an object or `member`
    /// gave `None`.
    pub fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Key<'a>) -> Option<Flow>,
    ) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        loop {
            let (raw, escaped) = self.string()?;
            self.eat(b':')?;
            // Skips the whitespace before the value; the end of the text is `member`'s to see.
            let _ = self.peek();
            if let Flow::Stop = member(self, Key { raw, escaped })? {
                return Some(());
            }
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string's raw content (between the quotes) and whether it has escapes.
    #[inline(always)]
    fn string(&mut self) -> Option<(&'a str, bool)> {
        self.eat(b'"')?;
        self.string_rest()
    }

    /// The rest of a string whose opening quote was consumed.
    #[inline(always)]
    fn string_rest(&mut self) -> Option<(&'a str, bool)> {
        let start = self.pos;
        let mut escaped = false;
        loop {
            self.pos += quote_or_backslash(self.bytes().get(self.pos..)?)?;
            if self.bytes()[self.pos] == b'"' {
                // Quotes are ASCII: both ends are character boundaries, so this never fails.
                let content = self.text.get(start..self.pos)?;
                self.pos += 1;
                return Some((content, escaped));
            }
            escaped = true;
            self.pos += 2;
        }
    }

    /// A string value, unescaped; a value of another type is skipped and gives `Some(None)`.
    pub fn string_or_skip(&mut self) -> Option<Option<Cow<'a, str>>> {
        if self.peek()? != b'"' {
            self.skip_value()?;
            return Some(None);
        }
        let start = self.pos;
        self.pos += 1;
        let (content, escaped) = self.string_rest()?;
        if !escaped {
            return Some(Some(Cow::Borrowed(content)));
        }
        // Rare: let serde_json decode the escapes.
        let quoted = self.text.get(start..self.pos)?;
        Some(serde_json::from_str::<String>(quoted).ok().map(Cow::Owned))
    }

    /// Any value, skipped as [`skip_value`](Self::skip_value) skips it; `true` when it was a
    /// string without escapes (its text between the quotes is then its value).
    ///
    /// ```
    /// use mcp_core::scan::Scanner;
    ///
    /// assert_eq!(Scanner::new(r#""add""#).skip_value_is_plain_string(), Some(true));
    /// assert_eq!(Scanner::new(r#""a\u0064d""#).skip_value_is_plain_string(), Some(false));
    /// assert_eq!(Scanner::new("[1]").skip_value_is_plain_string(), Some(false));
    /// ```
    pub fn skip_value_is_plain_string(&mut self) -> Option<bool> {
        if self.peek()? != b'"' {
            return self.skip_value().map(|()| false);
        }
        self.pos += 1;
        self.string_rest().map(|(_, escaped)| !escaped)
    }

    /// Any value, skipped as [`skip_value`](Self::skip_value) skips it, as its text.
    ///
    /// ```
    /// use mcp_core::scan::{Flow, Scanner};
    ///
    /// let mut arguments = None;
    /// Scanner::new(r#"{"name":"add","arguments":{"a":[1,"]"]}}"#).object(|scanner, key| {
    ///     let value = scanner.raw_value()?;
    ///     if key.is("arguments") {
    ///         arguments = Some(value);
    ///     }
    ///     Some(Flow::Continue)
    /// });
    /// assert_eq!(arguments, Some(r#"{"a":[1,"]"]}"#));
    /// ```
    pub fn raw_value(&mut self) -> Option<&'a str> {
        self.peek()?;
        let start = self.pos;
        self.skip_value()?;
        self.text.get(start..self.pos)
    }

    /// Any value: a string, an object or array (by depth, strings skipped whole), or a scalar.
    pub fn skip_value(&mut self) -> Option<()> {
        let bytes = self.bytes();
        match self.peek()? {
            b'"' => {
                self.pos += 1;
                self.string_rest().map(drop)
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                // A local cursor: `self.pos` is only written around strings and at the end.
                let mut pos = self.pos;
                loop {
                    let byte = *bytes.get(pos)?;
                    match STRUCTURAL[usize::from(byte)] {
                        // One table load per byte passes digits, separators and whitespace.
                        OTHER => {}
                        QUOTE => {
                            self.pos = pos + 1;
                            self.string_rest()?;
                            pos = self.pos;
                            continue;
                        }
                        OPEN => {
                            depth += 1;
                            // The long runs of digits and separators are arrays of numbers:
                            // from an array's start, they are passed sixteen bytes at a time.
                            if byte == b'[' {
                                pos = next_structural(bytes, pos + 1);
                                continue;
                            }
                        }
                        _ => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos = pos + 1;
                                return Some(());
                            }
                        }
                    }
                    pos += 1;
                }
            }
            _ => {
                while !matches!(
                    bytes.get(self.pos),
                    None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
                ) {
                    self.pos += 1;
                }
                Some(())
            }
        }
    }
}

/// What [`Scanner::skip_value`] does with a byte inside an object or array.
const OTHER: u8 = 0;
const QUOTE: u8 = 1;
const OPEN: u8 = 2;
const CLOSE: u8 = 3;

static STRUCTURAL: [u8; 256] = {
    let mut table = [OTHER; 256];
    table[b'"' as usize] = QUOTE;
    table[b'{' as usize] = OPEN;
    table[b'[' as usize] = OPEN;
    table[b'}' as usize] = CLOSE;
    table[b']' as usize] = CLOSE;
    table
};

/// Passes the bytes from `from` on that are none of `"`, `{`, `[`, `}`, `]`, sixteen at a time:
/// the position of the first one that is, or where fewer than sixteen bytes are left (those
/// are the caller's byte loop's; `bytes.len()` at most, which its bounds check turns into
/// `None`).
#[inline(always)]
fn next_structural(bytes: &[u8], from: usize) -> usize {
    let mut pos = from;
    while let Some(chunk) = bytes.get(pos..pos + 16) {
        let chunk: &[u8; 16] = chunk.try_into().expect("16 bytes");
        // Byte by byte, without branches, for the compiler to turn into vector compares.
        // `[` and `]` are `{` and `}` without bit 0x20, and no other byte becomes either
        // when that bit is set.
        let hits = chunk.map(|byte| {
            let folded = byte | 0x20;
            u8::from(byte == b'"') | u8::from(folded == b'{') | u8::from(folded == b'}')
        });
        let found = u128::from_le_bytes(hits);
        if found != 0 {
            return pos + found.trailing_zeros() as usize / 8;
        }
        pos += 16;
    }
    pos
}

/// The offset of the first `"` or `\\` in `bytes`, eight bytes at a time (keys such as
/// `io.modelcontextprotocol/protocolVersion` are long; a vectorised search costs more to start
/// than these strings take to read).
#[inline(always)]
fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    let mut words = bytes.chunks_exact(8);
    let mut offset = 0;
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().expect("chunks of 8"));
        let (quotes, backslashes) = (word ^ QUOTES, word ^ BACKSLASHES);
        // The classic zero-byte test; its lowest set bit is always a true match (false ones
        // can only appear above a true one), and little-endian puts the first byte lowest.
        let found = (quotes.wrapping_sub(ONES) & !quotes
            | backslashes.wrapping_sub(ONES) & !backslashes)
            & HIGHS;
        if found != 0 {
            return Some(offset + found.trailing_zeros() as usize / 8);
        }
        offset += 8;
    }
    let rest = words
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\')?;
    Some(offset + rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The string members of an object, in order, with their escape flags.
    fn members(text: &str) -> Option<Vec<(String, bool, Option<String>)>> {
        let mut found = Vec::new();
        Scanner::new(text).object(|s, key| {
            let value = s.string_or_skip()?;
            found.push((key.raw.to_owned(), key.escaped, value.map(Cow::into_owned)));
            Some(Flow::Continue)
        })?;
        Some(found)
    }

    #[test]
    fn skips_nested_values_and_strings_with_brackets() {
        let text = r#"{"a":{"name":"inner","l":[1,{"x":"}"}],"s":"a\"b"}, "name" : "add","n":-1.5e3,"t":true}"#;
        let found = members(text).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|(k, _, v)| (k.as_str(), v.clone()))
            .collect();
        assert_eq!(
            names,
            [
                ("a", None),
                ("name", Some("add".to_owned())),
                ("n", None),
                ("t", None)
            ]
        );
    }

    #[test]
    fn decodes_escaped_values_and_flags_escaped_keys() {
        let found = members(r#"{"name":"a\u0062c","n\u0061me":"x","k":"é✓"}"#).unwrap();
        assert_eq!(found[0], ("name".into(), false, Some("abc".into())));
        assert_eq!(found[1], (r"n\u0061me".into(), true, Some("x".into())));
        assert_eq!(found[2].2.as_deref(), Some("é✓"));
    }

    #[test]
    fn malformed_text_gives_none() {
        for bad in [
            "",
            "[]",
            "{",
            r#"{"name""#,
            r#"{"name":"#,
            r#"{"name":"x"#,
            "{\"a\":\"\\",
            r#"{"a":1 "b":2}"#,
        ] {
            assert_eq!(members(bad), None, "{bad}");
        }
        assert_eq!(members("{}"), Some(vec![]));
        assert_eq!(members(" { } "), Some(vec![]));
    }

    #[test]
    fn the_word_search_finds_the_first_quote_or_backslash() {
        let text = br#"abcdefghijklmnopqrstuvwxyz0123456789"#;
        for len in 0..=text.len() {
            for at in 0..len {
                for special in [b'"', b'\\'] {
                    let mut bytes = text[..len].to_vec();
                    bytes[at] = special;
                    if at + 1 < len {
                        // A later match and a byte just above the special one must not win.
                        bytes[len - 1] = b'"';
                        bytes[at + 1] = special + 1;
                    }
                    assert_eq!(quote_or_backslash(&bytes), Some(at), "{len} {at}");
                }
            }
            assert_eq!(quote_or_backslash(&text[..len]), None);
        }
    }

    #[test]
    fn the_chunk_search_stops_at_the_first_structural_byte() {
        // Fillers include the neighbours of the brackets with and without bit 0x20 (`z`, `|`,
        // `~`, `Z`, `\\`, `^`), `'`, and a byte of a multi-byte character.
        let filler = b"0123456789.-+eE ,:\nz|~Z\\^'\xc3tfn";
        for len in 0..=50 {
            let text: Vec<u8> = filler.iter().copied().cycle().take(len).collect();
            let from = len.min(3);
            let check = |bytes: &[u8], first: usize| {
                let stop = next_structural(bytes, from);
                assert!(stop <= first, "{len}: stopped at {stop}, past {first}");
                // Stopped at the byte, or where the caller's byte loop takes over.
                assert!(
                    stop == first || bytes.len() - stop < 16,
                    "{len}: {stop} {first}"
                );
            };
            check(&text, len);
            for at in from..len {
                for special in *b"\"{}[]" {
                    let mut bytes = text.clone();
                    bytes[at] = special;
                    if at + 1 < len {
                        bytes[len - 1] = b']';
                    }
                    check(&bytes, at);
                }
            }
        }
    }

    #[test]
    fn arrays_are_skipped_whole_whatever_their_length() {
        let numbers = |n: usize| {
            let items: Vec<String> = (0..n).map(|i| format!("{}.{i}e-3", i * 7)).collect();
            items.join(", ")
        };
        for n in [0, 1, 2, 3, 5, 16, 40, 200] {
            for value in [
                format!("[{}]", numbers(n)),
                format!("[[{}],\n [{}]]", numbers(n), numbers(n / 2)),
                format!(
                    r#"[true, "a]\"[", {{"k":[{}]}}, [{}], null]"#,
                    numbers(n),
                    numbers(n)
                ),
                format!(r#"{{"v":[{}],"w":"}}"}}"#, numbers(n)),
            ] {
                let text = format!(r#"{{"a":{value},"b":"after"}}"#);
                assert!(
                    serde_json::from_str::<serde_json::Value>(&text).is_ok(),
                    "{text}"
                );
                let mut found = Vec::new();
                Scanner::new(&text).object(|s, key| {
                    found.push((key.raw, s.raw_value()?));
                    Some(Flow::Continue)
                });
                assert_eq!(found, [("a", value.as_str()), ("b", r#""after""#)]);
            }
        }
        // Cut short, an array of numbers is malformed, not skipped.
        assert_eq!(
            Scanner::new(&format!("[{}", numbers(50))).skip_value(),
            None
        );
    }

    #[test]
    fn stop_leaves_the_rest_unread() {
        let mut seen = 0;
        let done = Scanner::new(r#"{"a":"1","b":{{{"#).object(|s, _| {
            seen += 1;
            s.skip_value()?;
            Some(Flow::Stop)
        });
        assert_eq!((done, seen), (Some(()), 1));
    }
}
