//! What admitting a SCIM request decided, filled in by the security scheme once the tenant
//! is known: where the tenant stands against its rate limit (put on the answer as
//! `X-Rate-Limit-*` headers) and the request's turn in the tenant's share (held until the
//! answer is ready).

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use poem::{Endpoint, IntoResponse, Request, Response, http::HeaderValue};

use crate::{rate_limit::Quota, tenant_share::Turn};

#[derive(Debug, Clone, Default)]
pub struct Admission(Arc<Decided>);

#[derive(Debug, Default)]
struct Decided {
    quota: OnceLock<Quota>,
    turn: Mutex<Option<Turn>>,
}

impl Admission {
    pub fn counted(&self, quota: Quota) {
        let _ = self.0.quota.set(quota);
    }

    pub fn hold(&self, turn: Turn) {
        *self.0.turn.lock().unwrap_or_else(PoisonError::into_inner) = Some(turn);
    }
}

/// Wraps every SCIM request: gives it an `Admission`, then puts the quota on the answer
/// and gives the turn back.
pub async fn around_scim<E: Endpoint>(ep: Arc<E>, mut req: Request) -> poem::Result<Response> {
    if !req.uri().path().starts_with("/scim/") {
        return ep.call(req).await.map(IntoResponse::into_response);
    }
    let admission = Admission::default();
    req.set_data(admission.clone());
    let mut resp = match ep.call(req).await {
        Ok(resp) => resp.into_response(),
        Err(err) => err.into_response(),
    };
    admission
        .0
        .turn
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(quota) = admission.0.quota.get() {
        let headers = resp.headers_mut();
        headers.insert("X-Rate-Limit-Limit", HeaderValue::from(quota.limit));
        headers.insert("X-Rate-Limit-Remaining", HeaderValue::from(quota.remaining));
        headers.insert("X-Rate-Limit-Reset", HeaderValue::from(quota.reset_secs));
    }
    Ok(resp)
}
