//! `Text`: a string in an admin request body that must be a JSON string. poem-openapi's
//! `String` also takes `false` and `12` as "false" and "12", so `{"name": false}` would
//! create a tenant named "false"; a client that sends a non-string has a bug to hear of.
//! The schema is `String`'s, so the spec does not change.

use std::borrow::Cow;

use poem_openapi::{
    registry::MetaSchemaRef,
    types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type},
};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text(pub String);

impl Text {
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        text.0
    }
}

impl Type for Text {
    const IS_REQUIRED: bool = true;

    type RawValueType = String;

    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        String::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        String::schema_ref()
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

impl ParseFromJSON for Text {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(text) => Ok(Self(text)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Text {
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
            Text::parse_from_json(Some(json!("Acme"))).unwrap(),
            Text("Acme".to_owned())
        );
        for other in [
            json!(false),
            json!(12),
            json!(null),
            json!(["a"]),
            json!({}),
        ] {
            assert!(
                Text::parse_from_json(Some(other.clone())).is_err(),
                "{other}"
            );
        }
        assert!(Text::parse_from_json(None).is_err());
    }

    #[test]
    fn the_schema_is_a_string() {
        assert_eq!(Text::name(), "string");
        assert_eq!(Text::schema_ref(), String::schema_ref());
    }
}
