//! `AnyCase<T>`: an enum of lower-case names, documented as `T` (so generated clients send
//! the canonical spelling) but read in any case, as SCIM clients write `Descending` too.

use std::borrow::Cow;

use poem_openapi::{
    registry::{MetaSchemaRef, Registry},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnyCase<T>(pub T);

impl<T: Type> Type for AnyCase<T> {
    const IS_REQUIRED: bool = true;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        T::name()
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_raw_value()
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        self.0.raw_element_iter()
    }
}

impl<T: ParseFromParameter> ParseFromParameter for AnyCase<T> {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        T::parse_from_parameter(&value.to_ascii_lowercase())
            .map(Self)
            .map_err(ParseError::propagate)
    }
}

impl<T: ParseFromJSON> ParseFromJSON for AnyCase<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let value = match value {
            Some(Value::String(name)) => Some(Value::String(name.to_ascii_lowercase())),
            other => other,
        };
        T::parse_from_json(value)
            .map(Self)
            .map_err(ParseError::propagate)
    }
}

impl<T: ToJSON> ToJSON for AnyCase<T> {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::Enum;

    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
    #[oai(rename_all = "lowercase")]
    enum Order {
        Ascending,
        Descending,
    }

    #[test]
    fn reads_any_case_and_rejects_other_names() {
        for (raw, order) in [
            ("descending", Order::Descending),
            ("Descending", Order::Descending),
            ("ASCENDING", Order::Ascending),
        ] {
            assert_eq!(
                AnyCase::<Order>::parse_from_parameter(raw).unwrap().0,
                order
            );
            assert_eq!(
                AnyCase::<Order>::parse_from_json(Some(Value::from(raw)))
                    .unwrap()
                    .0,
                order
            );
        }
        assert!(AnyCase::<Order>::parse_from_parameter("down").is_err());
        assert_eq!(
            AnyCase(Order::Descending).to_json(),
            Some(Value::from("descending"))
        );
    }
}
