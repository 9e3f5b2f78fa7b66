//! `Text`: a string in an admin request body that must be a JSON string. poem-openapi's
//! `String` also takes `false` and `12` as "false" and "12", so `{"name": false}` would
//! create a tenant named "false"; a client that sends a non-string has a bug to hear of.
//! Its kind says what the document promises about it: `Free` is any string, `Name` what
//! `validate::name` accepts, `Identifier` a catalog permission's name. The server still
//! checks with its own words (422); the schema lets clients and fuzzers know beforehand.

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
        schema.max_length = Some(super::validate::MAX_NAME_CHARS);
        schema.pattern = Some(NAME_PATTERN.to_owned());
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

    #[test]
    fn free_text_is_a_plain_string() {
        assert_eq!(Text::<Free>::name(), "string");
        assert_eq!(Text::<Free>::schema_ref(), String::schema_ref());
    }
}
