//! `Text`: a string in a request body that must be a JSON string. poem-openapi's
//! `String` also takes `false` and `12` as "false" and "12", so `{"name": false}` would
//! create a tenant named "false"; a client that sends a non-string has a bug to hear of.
//! Its kind says what the document promises about it: `Free` is any string, `Name` what
//! `validate::name` accepts, `Identifier` a catalog permission's name; `ScimValue`,
//! `ScimIndexed` and `ScimKey` say what the SCIM API takes in its documentation-only body
//! types (`scim::docs`).
//! The server still checks with its own words (422, or a SCIM 400); the schema lets clients
//! and fuzzers know beforehand.

use std::{borrow::Cow, marker::PhantomData};

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

/// What a kind of text promises, as JSON Schema.
pub trait Kind: Send + Sync + 'static {
    fn constrain(_schema: &mut MetaSchema) {}
}

/// Any string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Free;

impl Kind for Free {}

/// A display name: at most 200 characters, something visible, no control character once
/// the surrounding white space is trimmed (`validate::name`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Name;

/// Surrounding blanks the server trims, then a core that starts and ends with something
/// visible and holds no control character (Unicode Cc).
const NAME_PATTERN: &str = r"^[ \t\n\r]*[^\s\x00-\x1F\x7F-\x9F]([^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F])?[ \t\n\r]*$";

impl Kind for Name {
    fn constrain(schema: &mut MetaSchema) {
        schema.min_length = Some(1);
        schema.max_length = Some(crate::admin::validate::MAX_NAME_CHARS);
        schema.pattern = Some(NAME_PATTERN.to_owned());
    }
}

/// A SCIM string attribute (`resource::check_text`): blank, which means no value (RFC 7643
/// §2.5), or free of control characters other than tab, line feed and carriage return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScimValue;

/// The controls SCIM text may not hold, as a character class body.
macro_rules! scim_controls {
    () => {
        r"\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F"
    };
}

/// What Rust's `str::trim` removes (Unicode White_Space), as a character class body.
macro_rules! white_space {
    () => {
        r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}

const SCIM_VALUE_PATTERN: &str = concat!("^([", white_space!(), "]*|[^", scim_controls!(), "]*)$");

impl Kind for ScimValue {
    fn constrain(schema: &mut MetaSchema) {
        schema.pattern = Some(SCIM_VALUE_PATTERN.to_owned());
    }
}

/// A `ScimValue` the server indexes (`displayName`, `externalId`, an e-mail's `value`):
/// at most `MAX_INDEXED_CHARS` characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScimIndexed;

impl Kind for ScimIndexed {
    fn constrain(schema: &mut MetaSchema) {
        ScimValue::constrain(schema);
        schema.max_length = Some(crate::scim::resource::MAX_INDEXED_CHARS);
    }
}

/// The attribute that names a SCIM resource (`userName`, a Group's `displayName`, a
/// member's `value`): `ScimIndexed` text that is not blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScimKey;

/// White space that is not a control character: what may come before the first visible
/// character. (Naming it, rather than "anything but a control", keeps the pattern linear
/// for backtracking validators.)
macro_rules! blank_text {
    () => {
        r"\t\n\r \xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"
    };
}

const SCIM_KEY_PATTERN: &str = concat!(
    "^[",
    blank_text!(),
    "]*[^",
    scim_controls!(),
    white_space!(),
    "][^",
    scim_controls!(),
    "]*$"
);

impl Kind for ScimKey {
    fn constrain(schema: &mut MetaSchema) {
        schema.min_length = Some(1);
        schema.max_length = Some(crate::scim::resource::MAX_INDEXED_CHARS);
        schema.pattern = Some(SCIM_KEY_PATTERN.to_owned());
    }
}

/// A catalog permission's name: what host products test for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Identifier;

impl Kind for Identifier {
    fn constrain(schema: &mut MetaSchema) {
        schema.pattern = Some("^[A-Za-z][A-Za-z0-9]{0,99}$".to_owned());
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text<K = Free>(pub String, PhantomData<K>);

impl<K> Text<K> {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into(), PhantomData)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<K> std::ops::Deref for Text<K> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<K> From<Text<K>> for String {
    fn from(text: Text<K>) -> Self {
        text.0
    }
}

impl<K: Kind> Type for Text<K> {
    const IS_REQUIRED: bool = true;

    type RawValueType = String;

    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        String::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        let mut schema = MetaSchema::new("string");
        K::constrain(&mut schema);
        MetaSchemaRef::Inline(Box::new(schema))
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Kind> ParseFromJSON for Text<K> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Ok(Self::new(text)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl<K: Kind> ToJSON for Text<K> {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn only_strings_are_text() {
        assert_eq!(
            Text::<Free>::parse_from_json(Some(json!("Acme"))).unwrap(),
            Text::new("Acme")
        );
        for other in [
            json!(false),
            json!(12),
            json!(null),
            json!(["a"]),
            json!({}),
        ] {
            assert!(
                Text::<Free>::parse_from_json(Some(other.clone())).is_err(),
                "{other}"
            );
        }
        assert!(Text::<Free>::parse_from_json(None).is_err());
    }

    /// Each SCIM pattern takes exactly the text the server takes (read here by the `regex`
    /// crate: the patterns use only anchors and classes of BMP characters, which every
    /// JSON Schema dialect reads alike).
    #[test]
    fn scim_patterns_say_what_the_server_takes() {
        use proptest::prelude::*;

        let value = regex::Regex::new(SCIM_VALUE_PATTERN).unwrap();
        let key = regex::Regex::new(SCIM_KEY_PATTERN).unwrap();
        let pool = prop::sample::select(vec![
            'a', 'Z', '7', '~', ' ', '\t', '\n', '\r', '\u{0}', '\u{1}', '\u{8}', '\u{b}', '\u{c}',
            '\u{e}', '\u{1f}', '\u{7f}', '\u{85}', '\u{9f}', '\u{a0}', '\u{a1}', '\u{1680}',
            '\u{2000}', '\u{200a}', '\u{200b}', '\u{2028}', '\u{2029}', '\u{202f}', '\u{205f}',
            '\u{3000}', '\u{feff}', 'é', '😀',
        ]);
        proptest!(|(chars in prop::collection::vec(pool, 0..6))| {
            let text: String = chars.into_iter().collect();
            let clean = crate::scim::resource::check_text("t", &text).is_ok();
            let blank = text.trim().is_empty();
            prop_assert_eq!(value.is_match(&text), blank || clean, "value {:?}", text);
            prop_assert_eq!(key.is_match(&text), !blank && clean, "key {:?}", text);
        });
    }

    #[test]
    fn free_text_is_a_plain_string() {
        assert_eq!(Text::<Free>::name(), "string");
        assert_eq!(Text::<Free>::schema_ref(), String::schema_ref());
    }
}
