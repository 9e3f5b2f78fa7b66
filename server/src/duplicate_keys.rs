//! Finds a JSON body in which an object names one member twice (`request_json` refuses
//! such bodies on both APIs). `serde_json` keeps the last one, so `{"name": "a", "name":
//! "b"}` was accepted as "b", and whatever a proxy, a log or the sender made of it could
//! differ from what was stored. SCIM attribute names
//! compare without case (RFC 7643 §2.1), so there `userName` and `username` are the same
//! member twice.

use std::{collections::HashSet, fmt};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

const MARK: &str = "duplicate member ";

/// The first member named twice in one object of `body`, if any. Bodies that are not JSON
/// pass: reading them fails later with the surface's own error.
pub fn first_duplicate(body: &[u8], ignore_case: bool) -> Option<String> {
    let mut json = serde_json::Deserializer::from_slice(body);
    match (Walk { ignore_case }).deserialize(&mut json) {
        Err(err) => err
            .to_string()
            .strip_prefix(MARK)
            .and_then(|rest| rest.split(" at line ").next())
            .map(str::to_owned),
        Ok(()) => None,
    }
}

#[derive(Clone, Copy)]
struct Walk {
    ignore_case: bool,
}

impl<'de> DeserializeSeed<'de> for Walk {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            let folded = if self.ignore_case {
                key.to_lowercase()
            } else {
                key.clone()
            };
            if !seen.insert(folded) {
                return Err(de::Error::custom(format!("{MARK}{key:?}")));
            }
            map.next_value_seed(self)?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::first_duplicate;

    #[test]
    fn members_named_twice_are_found_at_any_depth() {
        let found = |body: &str, ignore_case| first_duplicate(body.as_bytes(), ignore_case);
        assert_eq!(
            found(r#"{"name":"a","name":"b"}"#, false).as_deref(),
            Some("\"name\"")
        );
        assert_eq!(
            found(r#"{"emails":[{"value":"a","value":"b"}]}"#, false).as_deref(),
            Some("\"value\"")
        );
        assert_eq!(found(r#"{"userName":"a","username":"b"}"#, false), None);
        assert_eq!(
            found(r#"{"userName":"a","username":"b"}"#, true).as_deref(),
            Some("\"username\"")
        );
        // The same name in sibling objects is fine; so is anything that is not JSON.
        assert_eq!(found(r#"[{"a":1},{"a":2}]"#, false), None);
        assert_eq!(
            found(r#"{"a":"\u0041","b":[1,2.5,null,true]}"#, false),
            None
        );
        assert_eq!(found("{nope", false), None);
        assert_eq!(found("", false), None);
    }
}
