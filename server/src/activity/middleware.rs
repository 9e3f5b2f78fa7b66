//! Records every request under `/scim/…` once its answer is final (it wraps the error
//! rendering, so rejected requests are seen with the body the client got). The request
//! body is copied as the handler reads it, never read ahead of it, so the body limit and
//! streaming behave exactly as without recording.

use std::{
    sync::{Arc, Mutex, OnceLock, PoisonError},
    time::Instant,
};

use entity::activity_entry;
use futures_util::StreamExt;
use poem::{Body, Endpoint, IntoResponse, Request, Response, http::header::USER_AGENT};
use sea_orm::Set;
use serde_json::Value;

use super::{
    cause,
    classify::{Answer, Exchange, MembersChanged, classify},
    redact,
};
use crate::{
    scim::auth::tenant_in_scim_path,
    state::{AppState, client_address},
};

/// Request bodies copied at most, for classification and for the log.
const COPIED_BYTES: usize = 256 * 1024;

/// What the recorder cannot read from a request's bodies, told by whoever knows it: the
/// SCIM token that authenticated it (the security scheme), and what a group PATCH really
/// changed (its 204 names no group, and its body names members that may be members already,
/// or not members at all).
#[derive(Debug, Clone, Default)]
pub struct Attribution(Arc<Told>);

#[derive(Debug, Default)]
struct Told {
    token_id: OnceLock<String>,
    members_changed: OnceLock<MembersChanged>,
}

impl Attribution {
    pub fn set_token(&self, token_id: &str) {
        let _ = self.0.token_id.set(token_id.to_owned());
    }

    pub fn set_members_changed(&self, changed: MembersChanged) {
        let _ = self.0.members_changed.set(changed);
    }

    fn token(&self) -> Option<String> {
        self.0.token_id.get().cloned()
    }
}

pub async fn record<E: Endpoint>(ep: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let path = req.uri().path().to_owned();
    let state = req.data::<AppState>().cloned();
    let recorded = |state: &AppState| {
        state.activity.enabled() && (path == "/scim" || path.starts_with("/scim/"))
    };
    let request_id = cause::new_id();
    let Some(state) = state.filter(recorded) else {
        return cause::within(Some(request_id), ep.call(req))
            .await
            .map(IntoResponse::into_response);
    };
    let started = Instant::now();
    let at = state.clock.now();
    let method = req.method().to_string();
    let query = req.uri().query().map(redact::query);
    let user_agent = req
        .headers()
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let client = client_address(&req);
    let attribution = Attribution::default();
    req.set_data(attribution.clone());
    let copied = Arc::new(Mutex::new(Vec::new()));
    let copy = Arc::clone(&copied);
    let body = req.take_body().into_bytes_stream().map(move |chunk| {
        if let Ok(bytes) = &chunk {
            let mut copy = copy.lock().unwrap_or_else(PoisonError::into_inner);
            let room = COPIED_BYTES.saturating_sub(copy.len()).min(bytes.len());
            copy.extend_from_slice(&bytes[..room]);
        }
        chunk
    });
    req.set_body(Body::from_bytes_stream(body));

    let mut resp = match cause::within(Some(request_id.clone()), ep.call(req)).await {
        Ok(resp) => resp.into_response(),
        Err(err) => err.into_response(),
    };
    let answer = resp.take_body().into_bytes().await.unwrap_or_default();
    resp.set_body(answer.clone());

    let sent = std::mem::take(&mut *copied.lock().unwrap_or_else(PoisonError::into_inner));
    let request: Option<Value> = serde_json::from_slice(&sent).ok();
    let response = Answer::read(&answer);
    let status = resp.status().as_u16();
    let classified = classify(&Exchange {
        method: &method,
        path: &path,
        status,
        user_agent: user_agent.as_deref(),
        request: request.as_ref(),
        response: &response,
        members_changed: attribution.0.members_changed.get(),
    });
    let keep = state.activity.body_bytes();
    let tenant_id = Some(tenant_in_scim_path(&path)).filter(|tenant| !tenant.is_empty());
    state.activity.record(activity_entry::ActiveModel {
        at: Set(at),
        tenant_id: Set(tenant_id.map(str::to_owned)),
        token_id: Set(attribution.token()),
        client_address: Set(client),
        user_agent: Set(user_agent),
        method: Set(method),
        query: Set(query),
        resource_type: Set(classified.resource_type.map(str::to_owned)),
        resource_id: Set(classified.resource_id),
        operation: Set(classified.operation.to_owned()),
        status: Set(i32::from(status)),
        scim_type: Set(response.scim_type),
        latency_us: Set(i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX)),
        idp: Set(classified.idp.to_owned()),
        summary: Set(classified.summary),
        request_body: Set(redact::body(&sent, keep)),
        response_body: Set(redact::body(&answer, keep)),
        path: Set(path),
        request_id: Set(Some(request_id)),
        quirks: Set(Some(classified.quirks.join(",")).filter(|quirks| !quirks.is_empty())),
        ..Default::default()
    });
    Ok(resp)
}
