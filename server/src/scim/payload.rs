//! `ScimJson<T>`: a request and response body of media type `application/scim+json`. It
//! accepts `application/scim+json` and `application/json`, with or without parameters
//! (Entra sends `application/scim+json; charset=utf-8`), which poem-openapi's own
//! `content_type` matching does not.

use poem::{IntoResponse, Request, RequestBody, Response, Result};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions,
    error::ContentTypeError,
    payload::{ParsePayload, Payload},
    registry::{MetaMediaType, MetaRequest, MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::{ParseFromJSON, Type},
};

use super::{SCIM_MEDIA_TYPE, docs::Documented};

#[derive(Debug, Clone)]
pub struct ScimJson<T>(pub T);

/// Whether a request's `Content-Type` is one SCIM clients may use.
pub fn accepts(content_type: &str) -> bool {
    let essence = crate::request_json::essence(content_type);
    essence == SCIM_MEDIA_TYPE || essence == "application/json"
}

impl<T: Type> Payload for ScimJson<T> {
    const CONTENT_TYPE: &'static str = SCIM_MEDIA_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        accepts(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ParseFromJSON> ParsePayload for ScimJson<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> Result<Self> {
        crate::request_json::read(request, body, crate::request_json::Dialect::Scim)
            .await
            .map(Self)
    }
}

/// Responses are always documented JSON values, serialised as they are (no copy).
impl<T: Type> IntoResponse for ScimJson<Documented<T>> {
    fn into_response(self) -> Response {
        Response::builder()
            .content_type(SCIM_MEDIA_TYPE)
            .body(serde_json::to_vec(&self.0.value).unwrap_or_default())
    }
}

impl<T: Type> ApiResponse for ScimJson<Documented<T>> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: SCIM_MEDIA_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

/// Requests are documented as `application/scim+json` only, with a description saying that
/// `application/json` is accepted too: listing both media types makes openapi-python-client
/// (0.29) generate code that does not import (`ScimUser | ScimUser | Unset` without `Unset`).
impl<'a, T: ParseFromJSON> ApiExtractor<'a> for ScimJson<T> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn request_meta() -> Option<MetaRequest> {
        Some(MetaRequest {
            description: Some(
                "Sent as `application/scim+json`; `application/json` is accepted too, with or \
                 without a `charset` parameter. Attribute names compare without case (RFC 7643 \
                 §2.1), so an object naming one member twice, `userName` and `username` as \
                 much as `userName` twice, is refused with 400 `invalidSyntax`.",
            ),
            content: vec![MetaMediaType {
                content_type: SCIM_MEDIA_TYPE,
                schema: T::schema_ref(),
            }],
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _param_opts: ExtractParamOptions<()>,
    ) -> Result<Self> {
        match request.content_type() {
            Some(content_type) if accepts(content_type) => {
                <Self as ParsePayload>::from_request(request, body).await
            }
            Some(content_type) => Err(ContentTypeError::NotSupported {
                content_type: content_type.to_owned(),
            }
            .into()),
            None => Err(ContentTypeError::ExpectContentType.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        for ok in [
            "application/scim+json",
            "application/scim+json; charset=utf-8",
            "Application/SCIM+JSON;charset=UTF-8",
            "application/json",
            "application/json; charset=utf-8",
        ] {
            assert!(accepts(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/xml",
            "application/scim+jsonx",
            "",
        ] {
            assert!(!accepts(bad), "{bad}");
        }
    }
}
