//! A typed client of the admin HTTP API: one method per operation the dashboard uses, and
//! the provisioning log as a stream of entries. Nothing here knows about the terminal, so
//! other programs can use it too.

use std::{fmt, time::Duration};

use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt, TryStreamExt};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::{Serialize, de::DeserializeOwned};

use crate::api::{
    ActivityDetail, ActivityEntry, Caller, Credential, EffectivePermissions, GroupMapping,
    IssueToken, IssuedToken, MappingInput, Page, Permission, PermissionGroup, PermissionGroupInput,
    PermissionPreview, Product, SyncHealth, SyncedGroup, SyncedUser, Tenant,
};

/// What went wrong with a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No HTTP answer: the server is down, the address is wrong, the network failed.
    #[error("cannot reach the server: {0}")]
    Unreachable(String),
    /// The server answered with an error.
    #[error("{message} ({status})")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// The server answered something this client cannot read (not this API, or a
    /// different version of it).
    #[error("unexpected answer: {0}")]
    Decode(String),
}

impl Error {
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// How long a plain call may take; streams have no such limit but are watched for silence.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Three missed keep-alives.
const STREAM_SILENCE: Duration = Duration::from_secs(45);

#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    key: String,
}

/// Never shows the key.
impl fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl AdminClient {
    pub fn new(base: &str, key: &str) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("scim-tui/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| Error::Unreachable(err.to_string()))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            key: key.trim().to_owned(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key)
    }

    async fn send(&self, request: RequestBuilder) -> Result<Response, Error> {
        let response = request
            .timeout(CALL_TIMEOUT)
            .send()
            .await
            .map_err(transport)?;
        checked(response).await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        self.get_with(path, &[]).await
    }

    /// A GET with query parameters, encoded.
    async fn get_with<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, Error> {
        decode(
            self.send(self.request(Method::GET, path).query(query))
                .await?,
        )
        .await
    }

    async fn put<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: &impl Serialize,
    ) -> Result<T, Error> {
        decode(
            self.send(self.request(Method::PUT, path).query(query).json(body))
                .await?,
        )
        .await
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, Error> {
        decode(
            self.send(self.request(Method::POST, path).json(body))
                .await?,
        )
        .await
    }

    async fn delete(&self, path: &str) -> Result<(), Error> {
        self.send(self.request(Method::DELETE, path))
            .await
            .map(drop)
    }

    /// A DELETE that only says what it would change.
    async fn delete_dry_run<T: DeserializeOwned>(&self, path: &str) -> Result<T, Error> {
        decode(
            self.send(
                self.request(Method::DELETE, path)
                    .query(&[("dryRun", "true")]),
            )
            .await?,
        )
        .await
    }

    /// Every page of a cursor-paged list.
    async fn all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, Error> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("limit", "1000")];
            if let Some(cursor) = &cursor {
                query.push(("cursor", cursor));
            }
            let page: Page<T> = self.get_with(path, &query).await?;
            items.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(items),
            }
        }
    }

    pub async fn whoami(&self) -> Result<Caller, Error> {
        self.get("/admin/v1/whoami").await
    }

    pub async fn tenants(&self) -> Result<Vec<Tenant>, Error> {
        self.all("/admin/v1/tenants").await
    }

    pub async fn tenant(&self, tenant: &str) -> Result<Tenant, Error> {
        self.get(&format!("/admin/v1/tenants/{tenant}")).await
    }

    pub async fn create_tenant(&self, name: &str) -> Result<Tenant, Error> {
        self.post("/admin/v1/tenants", &serde_json::json!({ "name": name }))
            .await
    }

    pub async fn delete_tenant(&self, tenant: &str) -> Result<(), Error> {
        self.delete(&format!("/admin/v1/tenants/{tenant}")).await
    }

    /// Every tenant's sync health (operator keys only).
    pub async fn sync_health_all(&self) -> Result<Vec<SyncHealth>, Error> {
        self.get("/admin/v1/sync").await
    }

    pub async fn sync_health(&self, tenant: &str) -> Result<SyncHealth, Error> {
        self.get(&format!("/admin/v1/tenants/{tenant}/sync")).await
    }

    /// The tenant's newest tokens (the list is short: at most two are ever live).
    pub async fn tokens(&self, tenant: &str) -> Result<Vec<Credential>, Error> {
        self.get::<Page<Credential>>(&format!("/admin/v1/tenants/{tenant}/scim-tokens?limit=50"))
            .await
            .map(|page| page.items)
    }

    pub async fn issue_token(&self, tenant: &str, body: &IssueToken) -> Result<IssuedToken, Error> {
        self.post(&format!("/admin/v1/tenants/{tenant}/scim-tokens"), body)
            .await
    }

    pub async fn revoke_token(&self, tenant: &str, token: &str) -> Result<(), Error> {
        self.delete(&format!("/admin/v1/tenants/{tenant}/scim-tokens/{token}"))
            .await
    }

    /// The newest `limit` log entries, newest first: of one tenant, or of all (operators).
    /// Each is read on its own, so one this client cannot read does not hide the others.
    pub async fn activity(&self, tenant: Option<&str>, limit: u32) -> Result<Vec<Activity>, Error> {
        let path = match tenant {
            Some(tenant) => format!("/admin/v1/tenants/{tenant}/activity?limit={limit}"),
            None => format!("/admin/v1/activity?limit={limit}"),
        };
        self.get::<Page<serde_json::Value>>(&path)
            .await
            .map(|page| {
                page.items
                    .into_iter()
                    .map(|item| Activity::read(item, None))
                    .collect()
            })
    }

    pub async fn activity_entry(&self, tenant: &str, id: i64) -> Result<ActivityDetail, Error> {
        self.get(&format!("/admin/v1/tenants/{tenant}/activity/{id}"))
            .await
    }

    /// Log entries after `after` (or, without it, from now on), live. The stream ends
    /// when the connection does; the caller reconnects with the last id it saw.
    pub async fn follow_activity(
        &self,
        tenant: Option<&str>,
        after: Option<i64>,
    ) -> Result<impl Stream<Item = Result<Activity, Error>> + Send + use<>, Error> {
        let path = match tenant {
            Some(tenant) => format!("/admin/v1/tenants/{tenant}/activity/stream"),
            None => "/admin/v1/activity/stream".to_owned(),
        };
        let mut request = self
            .request(Method::GET, &path)
            .header("Accept", "text/event-stream");
        if let Some(after) = after {
            request = request.header("Last-Event-ID", after.to_string());
        }
        // The answer's head (or an error's whole body) is waited for; a success's body is
        // the stream, watched below.
        let answered = async { checked(request.send().await.map_err(transport)?).await };
        let response = tokio::time::timeout(CALL_TIMEOUT, answered)
            .await
            .map_err(|_| {
                Error::Unreachable(format!("no answer in {} s", CALL_TIMEOUT.as_secs()))
            })??;
        // The server sends a comment at least every 15 s; a longer silence means the
        // connection is gone although TCP has not noticed. (Comments never reach the
        // event parser's output, so silence is measured on the bytes.)
        let bytes = Box::pin(response.bytes_stream());
        let watched = futures_util::stream::unfold(Some(bytes), |bytes| async move {
            let mut bytes = bytes?;
            match tokio::time::timeout(STREAM_SILENCE, bytes.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some(bytes))),
                Ok(Some(Err(err))) => Some((Err(transport(err)), None)),
                Ok(None) => None,
                Err(_) => Some((
                    Err(Error::Unreachable(format!(
                        "no sign of life for {} s",
                        STREAM_SILENCE.as_secs()
                    ))),
                    None,
                )),
            }
        });
        Ok(watched
            .eventsource()
            .map_err(|err| match err {
                eventsource_stream::EventStreamError::Transport(err) => err,
                other => Error::Decode(other.to_string()),
            })
            .try_filter_map(|event| async move {
                if event.event != "activity" {
                    return Ok(None);
                }
                // One entry this client cannot read must not end the stream: reconnecting
                // after it would only be sent it again.
                let id = event.id.parse().ok();
                Ok(Some(match serde_json::from_str(&event.data) {
                    Ok(value) => Activity::read(value, id),
                    Err(err) => Activity::Unreadable {
                        id,
                        reason: err.to_string(),
                    },
                }))
            }))
    }
}

/// One event of the provisioning log's stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    Entry(ActivityEntry),
    /// An entry this client could not read (a newer server's shape); `id` is where the
    /// stream goes on from.
    Unreadable {
        id: Option<i64>,
        reason: String,
    },
}

impl Activity {
    /// One entry; `event_id` is the stream's id for it, which counts when the entry's own
    /// cannot be read.
    fn read(value: serde_json::Value, event_id: Option<i64>) -> Self {
        let id = value
            .get("id")
            .and_then(serde_json::Value::as_i64)
            .or(event_id);
        match serde_json::from_value(value) {
            Ok(entry) => Self::Entry(entry),
            Err(err) => Self::Unreadable {
                id,
                reason: err.to_string(),
            },
        }
    }

    /// Where the log goes on from after this event.
    pub fn id(&self) -> Option<i64> {
        match self {
            Self::Entry(entry) => Some(entry.id),
            Self::Unreadable { id, .. } => *id,
        }
    }
}

/// The synced groups and users, the permission model and its previews.
impl AdminClient {
    /// One page of synced groups whose name contains `name`.
    pub async fn synced_groups(
        &self,
        tenant: &str,
        name: &str,
        cursor: Option<&str>,
    ) -> Result<Page<SyncedGroup>, Error> {
        let mut query = vec![("limit", "200")];
        if !name.is_empty() {
            query.push(("name", name));
        }
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        self.get_with(&format!("/admin/v1/tenants/{tenant}/groups"), &query)
            .await
    }

    /// One page of synced users whose name contains `name`.
    pub async fn synced_users(
        &self,
        tenant: &str,
        name: &str,
        cursor: Option<&str>,
    ) -> Result<Page<SyncedUser>, Error> {
        let mut query = vec![("limit", "200")];
        if !name.is_empty() {
            query.push(("name", name));
        }
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor));
        }
        self.get_with(&format!("/admin/v1/tenants/{tenant}/users"), &query)
            .await
    }

    /// What the user may do, each grant with the request that added its membership.
    pub async fn user_permissions(
        &self,
        tenant: &str,
        user: &str,
    ) -> Result<EffectivePermissions, Error> {
        self.get_with(
            &format!("/admin/v1/tenants/{tenant}/users/{user}/permissions"),
            &[("trace", "true")],
        )
        .await
    }

    pub async fn products(&self, tenant: &str) -> Result<Vec<Product>, Error> {
        self.all(&format!("/admin/v1/tenants/{tenant}/products"))
            .await
    }

    pub async fn create_product(&self, tenant: &str, name: &str) -> Result<Product, Error> {
        self.post(
            &format!("/admin/v1/tenants/{tenant}/products"),
            &serde_json::json!({ "name": name }),
        )
        .await
    }

    pub async fn delete_product(&self, tenant: &str, product: &str) -> Result<(), Error> {
        self.delete(&format!("/admin/v1/tenants/{tenant}/products/{product}"))
            .await
    }

    pub async fn permission_groups(
        &self,
        tenant: &str,
        product: &str,
    ) -> Result<Vec<PermissionGroup>, Error> {
        self.all(&format!(
            "/admin/v1/tenants/{tenant}/products/{product}/permission-groups"
        ))
        .await
    }

    pub async fn create_permission_group(
        &self,
        tenant: &str,
        product: &str,
        body: &PermissionGroupInput,
    ) -> Result<PermissionGroup, Error> {
        self.post(
            &format!("/admin/v1/tenants/{tenant}/products/{product}/permission-groups"),
            body,
        )
        .await
    }

    pub async fn replace_permission_group(
        &self,
        tenant: &str,
        product: &str,
        group: &str,
        body: &PermissionGroupInput,
    ) -> Result<PermissionGroup, Error> {
        self.put(
            &format!("/admin/v1/tenants/{tenant}/products/{product}/permission-groups/{group}"),
            &[],
            body,
        )
        .await
    }

    pub async fn delete_permission_group(
        &self,
        tenant: &str,
        product: &str,
        group: &str,
    ) -> Result<(), Error> {
        self.delete(&format!(
            "/admin/v1/tenants/{tenant}/products/{product}/permission-groups/{group}"
        ))
        .await
    }

    /// The permission names a custom permission group may hold.
    pub async fn catalog(&self) -> Result<Vec<Permission>, Error> {
        self.all("/admin/v1/permission-catalog").await
    }

    pub async fn preview_mapping(
        &self,
        tenant: &str,
        group: &str,
        body: &MappingInput,
    ) -> Result<PermissionPreview, Error> {
        self.put(
            &format!("/admin/v1/tenants/{tenant}/groups/{group}/mapping"),
            &[("dryRun", "true")],
            body,
        )
        .await
    }

    pub async fn put_mapping(
        &self,
        tenant: &str,
        group: &str,
        body: &MappingInput,
    ) -> Result<GroupMapping, Error> {
        self.put(
            &format!("/admin/v1/tenants/{tenant}/groups/{group}/mapping"),
            &[],
            body,
        )
        .await
    }

    pub async fn preview_unmap(
        &self,
        tenant: &str,
        group: &str,
    ) -> Result<PermissionPreview, Error> {
        self.delete_dry_run(&format!(
            "/admin/v1/tenants/{tenant}/groups/{group}/mapping"
        ))
        .await
    }

    pub async fn unmap(&self, tenant: &str, group: &str) -> Result<(), Error> {
        self.delete(&format!(
            "/admin/v1/tenants/{tenant}/groups/{group}/mapping"
        ))
        .await
    }

    /// The mapped groups, highest priority first.
    pub async fn group_priority(&self, tenant: &str) -> Result<Vec<String>, Error> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Order {
            group_ids: Vec<String>,
        }
        self.get::<Order>(&format!("/admin/v1/tenants/{tenant}/group-priority"))
            .await
            .map(|order| order.group_ids)
    }

    pub async fn preview_priority(
        &self,
        tenant: &str,
        order: &[String],
    ) -> Result<PermissionPreview, Error> {
        self.put(
            &format!("/admin/v1/tenants/{tenant}/group-priority"),
            &[("dryRun", "true")],
            &serde_json::json!({ "groupIds": order }),
        )
        .await
    }

    pub async fn put_priority(&self, tenant: &str, order: &[String]) -> Result<(), Error> {
        self.put::<serde_json::Value>(
            &format!("/admin/v1/tenants/{tenant}/group-priority"),
            &[],
            &serde_json::json!({ "groupIds": order }),
        )
        .await
        .map(drop)
    }

    /// The log entry of the request with this id, with its bodies.
    pub async fn request_entry(
        &self,
        tenant: &str,
        request_id: &str,
    ) -> Result<Option<ActivityDetail>, Error> {
        let page: Page<ActivityEntry> = self
            .get_with(
                &format!("/admin/v1/tenants/{tenant}/activity"),
                &[("requestId", request_id), ("limit", "1")],
            )
            .await?;
        match page.items.first() {
            Some(entry) => self.activity_entry(tenant, entry.id).await.map(Some),
            None => Ok(None),
        }
    }
}

fn transport(err: reqwest::Error) -> Error {
    // The chain's innermost cause says what happened ("Connection refused").
    let mut cause: &dyn std::error::Error = &err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    Error::Unreachable(cause.to_string())
}

async fn checked(response: Response) -> Result<Response, Error> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    Err(match serde_json::from_str::<crate::api::ApiError>(&body) {
        Ok(error) => Error::Api {
            status: status.as_u16(),
            code: error.code,
            message: error.message,
        },
        Err(_) => Error::Api {
            status: status.as_u16(),
            code: String::new(),
            message: status.canonical_reason().unwrap_or("error").to_lowercase(),
        },
    })
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, Error> {
    if response.status() == StatusCode::NO_CONTENT {
        return serde_json::from_str("null").map_err(|err| Error::Decode(err.to_string()));
    }
    response
        .json()
        .await
        .map_err(|err| Error::Decode(err.to_string()))
}

#[cfg(test)]
pub mod tests {
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        net::TcpListener,
    };

    use super::*;

    /// A server that answers each connection with the next of `answers` (raw HTTP), then
    /// closes it; returns its base URL and the request heads it received.
    pub async fn canned(
        answers: Vec<String>,
    ) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (heads, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            for answer in answers {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut request = vec![0_u8; 8192];
                let read = socket.read(&mut request).await.unwrap_or_default();
                let _ = heads.send(String::from_utf8_lossy(&request[..read]).into_owned());
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        (base, received)
    }

    pub fn event_stream(events: &str) -> String {
        format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n{events}"
        )
    }

    pub fn entry_json(id: i64) -> String {
        serde_json::json!({
            "id": id, "at": "2026-12-03T09:00:00Z", "tenantId": "t1", "method": "POST",
            "path": "/scim/t1/v2/Users", "operation": "create", "status": 201,
            "latencyUs": 900, "idp": "entra", "summary": "created user", "quirks": []
        })
        .to_string()
    }

    #[tokio::test]
    async fn an_unreadable_entry_is_skipped_and_the_stream_goes_on() {
        let events = format!(
            "event: activity\nid: 1\ndata: {}\n\nevent: activity\nid: 2\ndata: {{\"id\": \"not a number\"}}\n\nevent: activity\nid: 3\ndata: {}\n\n",
            entry_json(1),
            entry_json(3)
        );
        let (base, _) = canned(vec![event_stream(&events)]).await;
        let client = AdminClient::new(&base, "sadm_x").unwrap();
        let stream = client.follow_activity(Some("t1"), Some(0)).await.unwrap();
        let items: Vec<_> = stream.collect().await;
        let ids: Vec<_> = items
            .iter()
            .map(|item| match item {
                Ok(Activity::Entry(entry)) => Ok(entry.id),
                Ok(Activity::Unreadable { id, .. }) => Err(*id),
                Err(err) => panic!("{err}"),
            })
            .collect();
        assert_eq!(ids, vec![Ok(1), Err(Some(2)), Ok(3)]);
    }

    #[tokio::test]
    async fn an_api_error_keeps_its_status_and_message() {
        let body = r#"{"code":"unauthorized","message":"the key is not valid"}"#;
        let (base, _) = canned(vec![format!(
            "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )])
        .await;
        let client = AdminClient::new(&base, "sadm_x").unwrap();
        let err = client.whoami().await.unwrap_err();
        assert_eq!(err.status(), Some(401));
        assert!(err.to_string().contains("the key is not valid"), "{err}");
    }
}
