//! `AdminJson<T>`: an admin API request body. It is poem-openapi's `Json` (same media type,
//! same schema, so the spec does not change) read by `request_json`, which refuses a body
//! that names one member twice in an object or holds `null`.

use poem::{Request, RequestBody, Result};
use poem_openapi::{
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
        let essence = crate::request_json::essence(content_type);
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
        crate::request_json::read(request, body, crate::request_json::Dialect::Admin)
            .await
            .map(Self)
    }
}

poem_openapi::impl_apirequest_for_payload!(AdminJson<T>, T: ParseFromJSON);
