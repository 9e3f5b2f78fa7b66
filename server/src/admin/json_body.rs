//! `AdminJson<T>`: an admin API request body. It is poem-openapi's `Json` (same media type,
//! same schema, so the spec does not change) except that a body naming one member twice in
//! an object is refused: serde_json keeps the last, so `{"name": "a", "name": "b"}` would
//! create "b" while a proxy or a log that kept the first saw "a". It is read after the
//! security scheme, so unauthenticated bodies are never buffered for it.

use poem::{FromRequest, Request, RequestBody, Result};
use poem_openapi::{
    error::ParseRequestPayloadError,
    payload::{ParsePayload, Payload},
    registry::{MetaSchemaRef, Registry},
    types::{ParseFromJSON, Type},
};

#[derive(Debug, Clone)]
pub struct AdminJson<T>(pub T);

impl<T> std::ops::Deref for AdminJson<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Type> Payload for AdminJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        let essence = content_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        essence == "application/json"
            || (essence.starts_with("application/") && essence.ends_with("+json"))
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ParseFromJSON> ParsePayload for AdminJson<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> Result<Self> {
        let data = <Vec<u8> as FromRequest>::from_request(request, body).await?;
        if let Some(member) = crate::duplicate_keys::first_duplicate(&data, false) {
            return Err(ParseRequestPayloadError {
                reason: format!("the body names the member {member} twice in one object"),
            }
            .into());
        }
        let value = if data.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_slice(&data).map_err(|err| ParseRequestPayloadError {
                reason: err.to_string(),
            })?
        };
        let value = T::parse_from_json(Some(value)).map_err(|err| ParseRequestPayloadError {
            reason: err.into_message(),
        })?;
        Ok(Self(value))
    }
}

poem_openapi::impl_apirequest_for_payload!(AdminJson<T>, T: ParseFromJSON);
