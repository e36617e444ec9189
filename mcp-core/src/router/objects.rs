//! Members of params that the schema types as objects, read as objects only: serde's derived
//! structs also read an array (by position), and name the Rust type when neither fits, in a
//! message the client gets.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

/// Reads a `T` from an object only; says which member it expected.
struct ObjectVisitor<T> {
    member: &'static str,
    of: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` to be an object", self.member)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// [`ObjectVisitor`] for an optional member: `null` is `None`.
struct OptionalVisitor<T>(ObjectVisitor<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for OptionalVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }

    fn visit_none<E>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        deserializer.deserialize_map(self.0).map(Some)
    }
}

fn required<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
    member: &'static str,
) -> Result<T, D::Error> {
    deserializer.deserialize_map(ObjectVisitor {
        member,
        of: PhantomData,
    })
}

fn optional<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
    member: &'static str,
) -> Result<Option<T>, D::Error> {
    deserializer.deserialize_option(OptionalVisitor(ObjectVisitor {
        member,
        of: PhantomData,
    }))
}

/// `_meta`.
pub(crate) fn meta<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    optional(deserializer, "_meta")
}

/// `task` of a task-augmented legacy request.
pub(crate) fn task<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    optional(deserializer, "task")
}

/// `ref` of `completion/complete`.
pub(crate) fn reference<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    required(deserializer, "ref")
}

/// `argument` of `completion/complete`.
pub(crate) fn argument<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    required(deserializer, "argument")
}

/// `notifications` of `subscriptions/listen`.
pub(crate) fn notifications<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    required(deserializer, "notifications")
}

/// `context` of `completion/complete`.
pub(crate) fn context<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    optional(deserializer, "context")
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        #[serde(default)]
        a: Option<u8>,
    }

    #[derive(Debug, Deserialize)]
    struct Outer {
        #[serde(rename = "_meta", default, deserialize_with = "super::meta")]
        meta: Option<Inner>,
        #[serde(rename = "ref", deserialize_with = "super::reference")]
        reference: Inner,
    }

    fn read(text: &str) -> Result<Outer, String> {
        serde_json::from_str(text).map_err(|e| crate::jsonrpc::serde_message(&e))
    }

    #[test]
    fn objects_are_read() {
        let outer = read(r#"{"_meta":{"a":1},"ref":{}}"#).unwrap();
        assert_eq!(outer.meta, Some(Inner { a: Some(1) }));
        assert_eq!(outer.reference, Inner { a: None });
        assert_eq!(read(r#"{"_meta":null,"ref":{}}"#).unwrap().meta, None);
        assert_eq!(read(r#"{"ref":{}}"#).unwrap().meta, None);
    }

    #[test]
    fn anything_else_is_refused_by_member_name() {
        let refused = read(r#"{"ref":[1]}"#).unwrap_err();
        assert_eq!(
            refused,
            "invalid type: sequence, expected `ref` to be an object"
        );
        let refused = read(r#"{"_meta":5,"ref":{}}"#).unwrap_err();
        assert_eq!(
            refused,
            "invalid type: integer `5`, expected `_meta` to be an object"
        );
        let refused = read(r#"{"_meta":[],"ref":{}}"#).unwrap_err();
        assert!(
            refused.contains("expected `_meta` to be an object"),
            "{refused}"
        );
    }
}
