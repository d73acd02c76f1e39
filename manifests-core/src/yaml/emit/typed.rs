//! The fast writer fed by serde: a typed object (a k8s-openapi kind, one of this crate's custom
//! kinds) written as YAML without first building a JSON tree, by exactly the rules of
//! [`super::document`] for the tree `serde_json::to_value` would build. Rendering spent a third
//! of its time building and freeing those trees.
//!
//! Maps are opened lazily: whether a mapping value is written `{}` or as a block is known only
//! when its first entry (or its end) arrives, which is also how fields a type skips stay out.
//! The writer gives up, and the caller takes the tree path, on whatever the tree writer leaves
//! to serde-saphyr (floats, strings written over several lines, sequences directly inside
//! sequences), on what a JSON tree would not hold as written (bytes, non-string keys, enum
//! variants with data), and on tuples, which no Kubernetes object holds.

use std::fmt::{self, Write as _};

use serde::Serialize;
use serde::ser::{self, Impossible};

use super::{key as write_key, pad, string as write_string};

/// The identity fields of an object, as [`Manifest`](crate::Manifest) reads them from a tree.
#[derive(Default)]
pub(crate) struct Identity {
    pub(crate) api_version: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) name: Option<String>,
    pub(crate) namespace: Option<String>,
}

/// `object` as [`super::document`] writes `serde_json::to_value(object)`, with the string values
/// of `apiVersion`, `kind`, `metadata.name` and `metadata.namespace`; None when the tree path
/// must decide.
pub(crate) fn document<T: Serialize + ?Sized>(object: &T) -> Option<(String, Identity)> {
    let mut writer = Writer {
        out: String::with_capacity(2048),
        identity: Identity::default(),
        depth: 0,
        in_metadata: false,
        slot: Slot::None,
        levels: 0,
        nodes: 0,
    };
    object
        .serialize(Value {
            w: &mut writer,
            at: At::Top,
        })
        .ok()?;
    (writer.out.len() <= MAX_BYTES).then_some((writer.out, writer.identity))
}

/// Bounds on what this writer writes, well inside the limits serde-saphyr keeps when the YAML is
/// read back for [`Manifest::body`](crate::Manifest::body) (64 levels, 250,000 nodes, 64 MiB of
/// scalars): a larger object takes the tree path, whose tree needs no read-back. Kubernetes
/// objects are about ten levels deep.
const MAX_LEVELS: usize = 32;
const MAX_NODES: usize = 100_000;
const MAX_BYTES: usize = 16 << 20;

/// Why the writer gave up; never shown: the tree path then runs and reports real errors.
#[derive(Debug)]
pub(crate) struct GiveUp;

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("left to the tree writer")
    }
}

impl std::error::Error for GiveUp {}

impl ser::Error for GiveUp {
    fn custom<M: fmt::Display>(_: M) -> Self {
        GiveUp
    }
}

type Done = Result<(), GiveUp>;

/// Which identity field the value being written fills.
#[derive(Clone, Copy, PartialEq)]
enum Slot {
    None,
    ApiVersion,
    Kind,
    Name,
    Namespace,
}

struct Writer {
    out: String,
    identity: Identity,
    /// Mapping depth of the entry being written: 1 for the object's own fields.
    depth: usize,
    /// The top-level entry being written is `metadata`.
    in_metadata: bool,
    slot: Slot,
    /// Mappings and sequences open around the value being written.
    levels: usize,
    /// Scalars, mappings and sequences written so far.
    nodes: usize,
}

impl Writer {
    /// Counts a node, and one level more when it opens a mapping or sequence; gives up past
    /// the bounds.
    fn node(&mut self, opens: bool) -> Done {
        self.nodes += 1;
        self.levels += usize::from(opens);
        if self.nodes > MAX_NODES || self.levels > MAX_LEVELS {
            return Err(GiveUp);
        }
        Ok(())
    }

    /// Notes which identity field, if any, the entry `key` at the current depth holds.
    fn entered(&mut self, key: &str) {
        self.slot = match (self.depth, key) {
            (1, "apiVersion") => Slot::ApiVersion,
            (1, "kind") => Slot::Kind,
            (2, "name") if self.in_metadata => Slot::Name,
            (2, "namespace") if self.in_metadata => Slot::Namespace,
            _ => Slot::None,
        };
        if self.depth == 1 {
            self.in_metadata = key == "metadata";
        }
    }

    fn capture(&mut self, s: &str) {
        let field = match self.slot {
            Slot::None => return,
            Slot::ApiVersion => &mut self.identity.api_version,
            Slot::Kind => &mut self.identity.kind,
            Slot::Name => &mut self.identity.name,
            Slot::Namespace => &mut self.identity.namespace,
        };
        *field = Some(s.to_owned());
    }
}

/// Where a value goes.
#[derive(Clone, Copy)]
enum At {
    /// The document itself: only a non-empty mapping.
    Top,
    /// After `key:` of an entry at this indent.
    Entry(usize),
    /// After `- ` of a sequence item at this indent.
    Item(usize),
}

/// The serializer methods for shapes a JSON tree holds differently from the type's own
/// (enum variants with data) or that this writer leaves to the tree path (tuples): the writer
/// gives up on those.
macro_rules! give_up_on_shapes {
    () => {
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Done {
            Err(GiveUp)
        }
        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, GiveUp> {
            Err(GiveUp)
        }
        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, GiveUp> {
            Err(GiveUp)
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, GiveUp> {
            Err(GiveUp)
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, GiveUp> {
            Err(GiveUp)
        }
    };
}

/// Serializer methods of one argument that share a body: the integers all write a number, and
/// the key serializer gives up on every scalar but a string (a JSON tree would turn those into
/// string keys by rules of its own).
macro_rules! methods {
    ($self:ident, $value:ident => $body:expr; integers; $($method:ident($argument:ty)),* $(,)?) => {
        methods! {
            $self, $value => $body;
            serialize_i8(i8),
            serialize_i16(i16),
            serialize_i32(i32),
            serialize_i64(i64),
            serialize_u8(u8),
            serialize_u16(u16),
            serialize_u32(u32),
            serialize_u64(u64),
            $($method($argument)),*
        }
    };
    ($self:ident, $value:ident => $body:expr; $($method:ident($argument:ty)),* $(,)?) => {
        $(fn $method($self, $value: $argument) -> Done {
            $body
        })*
    };
}

/// Serializes one value at one place.
struct Value<'a> {
    w: &'a mut Writer,
    at: At,
}

impl<'a> Value<'a> {
    /// A scalar already formatted by `write`.
    fn scalar(self, write: impl FnOnce(&mut String) -> Option<()>) -> Done {
        self.w.node(false)?;
        match self.at {
            At::Top => return Err(GiveUp),
            At::Entry(_) => self.w.out.push(' '),
            At::Item(_) => {}
        }
        write(&mut self.w.out).ok_or(GiveUp)?;
        self.w.out.push('\n');
        Ok(())
    }

    fn word(self, word: &str) -> Done {
        self.scalar(|out| {
            out.push_str(word);
            Some(())
        })
    }

    fn integer(self, n: impl fmt::Display) -> Done {
        self.scalar(|out| write!(out, "{n}").ok())
    }

    fn text(self, s: &str) -> Done {
        if let At::Entry(_) = self.at {
            self.w.capture(s);
        }
        self.scalar(|out| write_string(s, out))
    }

    fn mapping(self) -> Result<Mapping<'a>, GiveUp> {
        let (indent, first_inline) = match self.at {
            At::Top => (0, false),
            At::Entry(indent) => (indent + 2, false),
            At::Item(indent) => (indent + 2, true),
        };
        self.w.node(true)?;
        self.w.depth += 1;
        Ok(Mapping {
            w: self.w,
            at: self.at,
            indent,
            first_inline,
            count: 0,
        })
    }

    fn sequence(self) -> Result<Sequence<'a>, GiveUp> {
        let indent = match self.at {
            At::Entry(indent) => indent,
            At::Top | At::Item(_) => usize::MAX,
        };
        self.w.node(true)?;
        Ok(Sequence {
            w: self.w,
            at: self.at,
            indent,
            count: 0,
        })
    }
}

impl<'a> ser::Serializer for Value<'a> {
    type Ok = ();
    type Error = GiveUp;
    type SerializeSeq = Sequence<'a>;
    type SerializeTuple = Impossible<(), GiveUp>;
    type SerializeTupleStruct = Impossible<(), GiveUp>;
    type SerializeTupleVariant = Impossible<(), GiveUp>;
    type SerializeMap = Mapping<'a>;
    type SerializeStruct = Mapping<'a>;
    type SerializeStructVariant = Impossible<(), GiveUp>;

    give_up_on_shapes!();

    fn serialize_bool(self, v: bool) -> Done {
        self.word(if v { "true" } else { "false" })
    }
    methods! {
        self, v => self.integer(v);
        integers;
    }
    fn serialize_f32(self, v: f32) -> Done {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Done {
        // A tree holds a NaN or an infinity as null; other floats are serde-saphyr's to write.
        if v.is_finite() {
            return Err(GiveUp);
        }
        self.serialize_unit()
    }
    fn serialize_char(self, v: char) -> Done {
        self.text(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Done {
        self.text(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Done {
        Err(GiveUp)
    }
    fn serialize_none(self) -> Done {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        self.word("null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Done {
        self.text(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Sequence<'a>, GiveUp> {
        self.sequence()
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Mapping<'a>, GiveUp> {
        self.mapping()
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Mapping<'a>, GiveUp> {
        self.mapping()
    }
}

/// Closes a mapping or sequence of `count` entries; an empty one is written `{}` or `[]`
/// (`empty`) where a block one would have gone.
fn close(w: &mut Writer, at: At, count: usize, empty: &str) -> Done {
    w.levels -= 1;
    if count > 0 {
        return Ok(());
    }
    match at {
        At::Top => return Err(GiveUp),
        At::Entry(_) => w.out.push(' '),
        At::Item(_) => {}
    }
    w.out.push_str(empty);
    w.out.push('\n');
    Ok(())
}

/// A mapping's entries, each `key:` at `indent`.
struct Mapping<'a> {
    w: &'a mut Writer,
    at: At,
    indent: usize,
    /// The first entry follows a `- ` already written.
    first_inline: bool,
    count: usize,
}

impl Mapping<'_> {
    fn key(&mut self, key: &str) -> Done {
        if self.count == 0 && matches!(self.at, At::Entry(_)) {
            self.w.out.push('\n');
        }
        if self.count > 0 || !self.first_inline {
            pad(self.indent, &mut self.w.out);
        }
        self.count += 1;
        write_key(key, &mut self.w.out).ok_or(GiveUp)?;
        self.w.out.push(':');
        self.w.entered(key);
        Ok(())
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        let written = value.serialize(Value {
            w: self.w,
            at: At::Entry(self.indent),
        });
        self.w.slot = Slot::None;
        written
    }

    fn end(self) -> Done {
        self.w.depth -= 1;
        close(self.w, self.at, self.count, "{}")
    }
}

impl ser::SerializeMap for Mapping<'_> {
    type Ok = ();
    type Error = GiveUp;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Done {
        key.serialize(KeyText(self))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        self.value(value)
    }
    fn end(self) -> Done {
        Mapping::end(self)
    }
}

impl ser::SerializeStruct for Mapping<'_> {
    type Ok = ();
    type Error = GiveUp;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Done {
        self.key(key)?;
        self.value(value)
    }
    fn end(self) -> Done {
        Mapping::end(self)
    }
}

/// A sequence's items, each `- ` at `indent` (the indent of the entry holding it).
struct Sequence<'a> {
    w: &'a mut Writer,
    at: At,
    indent: usize,
    count: usize,
}

impl Sequence<'_> {
    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        // Only a sequence that is an entry's value is written here (serde-saphyr's layout of
        // sequences inside sequences, and of a document that is one, is its own).
        let At::Entry(_) = self.at else {
            return Err(GiveUp);
        };
        if self.count == 0 {
            self.w.out.push('\n');
        }
        self.count += 1;
        pad(self.indent, &mut self.w.out);
        self.w.out.push_str("- ");
        value.serialize(Value {
            w: self.w,
            at: At::Item(self.indent),
        })
    }

    fn end(self) -> Done {
        close(self.w, self.at, self.count, "[]")
    }
}

impl ser::SerializeSeq for Sequence<'_> {
    type Ok = ();
    type Error = GiveUp;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        self.item(value)
    }
    fn end(self) -> Done {
        Sequence::end(self)
    }
}

/// A mapping key, written as the entry's key: only string keys (a JSON tree turns other keys
/// into strings by rules of its own; those objects take the tree path).
struct KeyText<'m, 'a>(&'m mut Mapping<'a>);

impl ser::Serializer for KeyText<'_, '_> {
    type Ok = ();
    type Error = GiveUp;
    type SerializeSeq = Impossible<(), GiveUp>;
    type SerializeTuple = Impossible<(), GiveUp>;
    type SerializeTupleStruct = Impossible<(), GiveUp>;
    type SerializeTupleVariant = Impossible<(), GiveUp>;
    type SerializeMap = Impossible<(), GiveUp>;
    type SerializeStruct = Impossible<(), GiveUp>;
    type SerializeStructVariant = Impossible<(), GiveUp>;

    give_up_on_shapes!();

    fn serialize_str(self, v: &str) -> Done {
        self.0.key(v)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Done {
        value.serialize(self)
    }
    methods! {
        self, _value => Err(GiveUp);
        integers;
        serialize_bool(bool),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
    }
    fn serialize_none(self) -> Done {
        Err(GiveUp)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Done {
        Err(GiveUp)
    }
    fn serialize_unit(self) -> Done {
        Err(GiveUp)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Done {
        Err(GiveUp)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, GiveUp> {
        Err(GiveUp)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, GiveUp> {
        Err(GiveUp)
    }
}

#[cfg(test)]
mod tests;
