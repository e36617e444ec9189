//! [`RawJson`]: the text of a result, written once by the server and carried to the wire as it
//! is.

use std::cell::RefCell;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The first capacity of a thread's scratch buffer: most results fit.
const INITIAL_CAPACITY: usize = 1024;
/// A scratch buffer that grew past this for a large result is not kept.
const KEPT_CAPACITY: usize = 16 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(INITIAL_CAPACITY));
}

/// The JSON text of a response's result, known to be valid.
///
/// It plays the part of `Box<RawValue>`, which needs a parse to be made from text: the router
/// writes its results into a per-thread scratch buffer and copies them out at their exact size,
/// so a result costs one allocation and no reallocation or second parse (a `to_raw_value`
/// result that outgrows serde_json's first 128 bytes is reallocated twice, and glibc serves
/// a reallocation from its slow path).
///
/// ```
/// use mcp_core::jsonrpc::RawJson;
/// use serde_json::value::RawValue;
///
/// let raw = RawJson::parse(r#"{"content":[]}"#.to_owned()).unwrap();
/// assert_eq!(raw.get(), r#"{"content":[]}"#);
/// assert!(RawJson::parse("{".to_owned()).is_err());
/// let from_raw: RawJson = RawValue::from_string("[1]".to_owned()).unwrap().into();
/// assert_eq!(from_raw.get(), "[1]");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawJson(Box<str>);

impl RawJson {
    /// The JSON text.
    ///
    /// ```
    /// let raw = mcp_core::jsonrpc::RawJson::to_raw(&"hi").unwrap();
    /// assert_eq!(raw.get(), r#""hi""#);
    /// ```
    pub fn get(&self) -> &str {
        &self.0
    }

    /// Checks that `text` is one JSON value and keeps it.
    ///
    /// # Errors
    ///
    /// When `text` is not valid JSON.
    pub fn parse(text: String) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text).map(Self::from)
    }

    /// Serialises `value`.
    ///
    /// ```
    /// let raw = mcp_core::jsonrpc::RawJson::to_raw(&serde_json::json!({"a": 1})).unwrap();
    /// assert_eq!(raw.get(), r#"{"a":1}"#);
    /// ```
    ///
    /// # Errors
    ///
    /// When `value`'s `Serialize` implementation fails.
    pub fn to_raw<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        Self::write(|out| serde_json::to_writer(out, value))
    }

    /// The same text as a `RawValue` (parsed again).
    ///
    /// ```
    /// let raw = mcp_core::jsonrpc::RawJson::to_raw(&[1, 2]).unwrap();
    /// assert_eq!(raw.to_raw_value().get(), "[1,2]");
    /// ```
    pub fn to_raw_value(&self) -> Box<RawValue> {
        RawValue::from_string(self.get().to_owned()).expect("a RawJson holds valid JSON")
    }

    /// The value `write` writes, which must be one valid JSON value: written into this
    /// thread's scratch buffer, then copied out at its exact size. A result larger than the
    /// scratch keeps is not copied: its buffer is taken as it is (and shrunk).
    pub(crate) fn write<E>(write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>) -> Result<Self, E> {
        SCRATCH.with(|scratch| {
            let Ok(mut buffer) = scratch.try_borrow_mut() else {
                // A result's `Serialize` that writes another result: its own buffer.
                let mut own = Vec::new();
                write(&mut own)?;
                return Ok(Self::from_utf8(own));
            };
            buffer.clear();
            let written = write(&mut buffer);
            if buffer.capacity() > KEPT_CAPACITY {
                let grown = std::mem::replace(&mut *buffer, Vec::with_capacity(INITIAL_CAPACITY));
                return written.map(|()| Self::from_utf8(grown));
            }
            written?;
            // serde_json writes UTF-8; `from_utf8` checks ASCII a word at a time, where
            // `from_utf8_lossy` goes a byte at a time (~6x the instructions).
            Ok(Self(match std::str::from_utf8(&buffer) {
                Ok(text) => text.into(),
                Err(_) => String::from_utf8_lossy(&buffer).into(),
            }))
        })
    }

    fn from_utf8(bytes: Vec<u8>) -> Self {
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned());
        Self(text.into_boxed_str())
    }
}

impl From<Box<RawValue>> for RawJson {
    fn from(raw: Box<RawValue>) -> Self {
        Self(raw.into())
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawJson").field(&self.get()).finish()
    }
}

impl fmt::Display for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

impl Serialize for RawJson {
    /// Embeds the text as it is (through a borrowed `RawValue`, which parses it once).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue = serde_json::from_str(self.get()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Self::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch_capacity() -> usize {
        SCRATCH.with_borrow(Vec::capacity)
    }

    #[test]
    fn results_are_copied_out_at_their_size_and_a_grown_scratch_is_not_kept() {
        let small = RawJson::to_raw(&serde_json::json!({"a": [1, 2]})).unwrap();
        assert_eq!(small.get(), r#"{"a":[1,2]}"#);
        assert_eq!(scratch_capacity(), INITIAL_CAPACITY);
        let big = "x".repeat(64 * 1024);
        let raw = RawJson::to_raw(&big).unwrap();
        assert_eq!(raw.get().len(), big.len() + 2);
        assert_eq!(scratch_capacity(), INITIAL_CAPACITY);
        let failed = RawJson::write(|out| {
            out.extend_from_slice(b"[1");
            Err("no")
        });
        assert_eq!(failed, Err("no"));
        assert_eq!(RawJson::to_raw(&7).unwrap().get(), "7");
    }

    #[test]
    fn a_result_written_while_another_is_being_written_gets_its_own_buffer() {
        struct Nested;
        impl Serialize for Nested {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let inner = RawJson::to_raw(&[1, 2]).map_err(serde::ser::Error::custom)?;
                inner.serialize(s)
            }
        }
        let outer = RawJson::to_raw(&serde_json::json!({"n": 0})).unwrap();
        let nested = RawJson::to_raw(&Nested).unwrap();
        assert_eq!(nested.get(), "[1,2]");
        assert_eq!(outer.get(), r#"{"n":0}"#);
    }

    #[test]
    fn serialises_and_deserialises_as_the_json_it_holds() {
        let raw = RawJson::parse(r#"{"b":[true,null]}"#.to_owned()).unwrap();
        let wrapped = serde_json::to_string(&serde_json::json!({ "r": raw })).unwrap();
        assert_eq!(wrapped, r#"{"r":{"b":[true,null]}}"#);
        let back: RawJson = serde_json::from_str(r#" {"b": 1} "#).unwrap();
        assert_eq!(back.get(), r#"{"b": 1}"#);
        assert_eq!(raw.to_raw_value().get(), raw.get());
        assert_eq!(format!("{raw}"), raw.get());
    }
}
