//! A tracing deserializer for tests: it walks a wire type through its own `Deserialize` impl
//! and records every field's JSON name exactly as serde will look it up (renames applied),
//! with the kind of value it asks for. The schema tests compare that with KubeVirt's
//! published OpenAPI document and the kubelet's field tree.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor};

/// What a wire field asks serde for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Boolean,
    Integer,
    Number,
    String,
    /// A struct: an object with named fields.
    Object,
    /// A map with free keys.
    Map,
    Array,
    /// `deserialize_any` (quantities written as text or a bare number).
    Any,
}

/// One traced field: its path (`spec.domain.cpu.cores`, `*` for a map value, `[]` for a list
/// item) and kind.
#[derive(Debug)]
pub(crate) struct Traced {
    /// The path segments.
    pub(crate) path: Vec<String>,
    /// What the field asks for.
    pub(crate) kind: Kind,
}

struct Tracer<'a> {
    path: Vec<String>,
    out: &'a mut Vec<Traced>,
}

#[derive(Debug)]
struct TraceError(String);

impl std::fmt::Display for TraceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TraceError {}

impl de::Error for TraceError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        TraceError(msg.to_string())
    }
}

impl Tracer<'_> {
    fn record(&mut self, kind: Kind) {
        self.out.push(Traced {
            path: self.path.clone(),
            kind,
        });
    }
}

macro_rules! scalar {
    ($($method:ident => $kind:ident, $visit:ident($value:expr);)*) => {$(
        fn $method<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, TraceError> {
            self.record(Kind::$kind);
            visitor.$visit($value)
        }
    )*};
}

impl<'de> Deserializer<'de> for Tracer<'_> {
    type Error = TraceError;

    scalar! {
        deserialize_bool => Boolean, visit_bool(false);
        deserialize_i8 => Integer, visit_i64(0);
        deserialize_i16 => Integer, visit_i64(0);
        deserialize_i32 => Integer, visit_i64(0);
        deserialize_i64 => Integer, visit_i64(0);
        deserialize_u8 => Integer, visit_u64(0);
        deserialize_u16 => Integer, visit_u64(0);
        deserialize_u32 => Integer, visit_u64(0);
        deserialize_u64 => Integer, visit_u64(0);
        deserialize_f32 => Number, visit_f64(0.0);
        deserialize_f64 => Number, visit_f64(0.0);
        deserialize_char => String, visit_char('x');
        deserialize_str => String, visit_str("");
        deserialize_string => String, visit_str("");
        deserialize_identifier => String, visit_str("");
        deserialize_any => Any, visit_str("0");
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        visitor.visit_some(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, TraceError> {
        if !self.path.is_empty() {
            self.record(Kind::Object);
        }
        visitor.visit_map(Fields {
            fields,
            next: 0,
            path: self.path,
            out: self.out,
        })
    }

    fn deserialize_map<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, TraceError> {
        self.record(Kind::Map);
        visitor.visit_map(Fields {
            fields: &["*"],
            next: 0,
            path: self.path,
            out: self.out,
        })
    }

    fn deserialize_seq<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, TraceError> {
        self.record(Kind::Array);
        let mut path = self.path;
        path.push("[]".into());
        visitor.visit_seq(One {
            path: Some(path),
            out: self.out,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, TraceError> {
        Err(TraceError(format!(
            "{}: enums are not traced",
            self.path.join(".")
        )))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TraceError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bytes byte_buf unit unit_struct newtype_struct tuple tuple_struct
    }
}

/// A struct's fields (or a map's one `*` entry), each traced at its own path.
struct Fields<'a> {
    fields: &'static [&'static str],
    next: usize,
    path: Vec<String>,
    out: &'a mut Vec<Traced>,
}

impl<'de> MapAccess<'de> for Fields<'_> {
    type Error = TraceError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, TraceError> {
        let Some(field) = self.fields.get(self.next) else {
            return Ok(None);
        };
        seed.deserialize((*field).into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, TraceError> {
        let mut path = self.path.clone();
        path.push(self.fields[self.next].to_string());
        self.next += 1;
        seed.deserialize(Tracer { path, out: self.out })
    }
}

/// A list with one item, traced at `path[]`.
struct One<'a> {
    path: Option<Vec<String>>,
    out: &'a mut Vec<Traced>,
}

impl<'de> SeqAccess<'de> for One<'_> {
    type Error = TraceError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, TraceError> {
        match self.path.take() {
            Some(path) => seed.deserialize(Tracer { path, out: self.out }).map(Some),
            None => Ok(None),
        }
    }
}

pub(crate) fn trace<'de, T: Deserialize<'de>>() -> Vec<Traced> {
    let mut out = Vec::new();
    T::deserialize(Tracer {
        path: Vec::new(),
        out: &mut out,
    })
    .unwrap_or_else(|e| panic!("tracing {}: {e}", std::any::type_name::<T>()));
    out
}
