//! poem-openapi security schemes. Holding a `ScimAuth` or an `AdminAuth` *is* the check:
//! an operation that takes one cannot run for a caller that failed it, and a failure is
//! answered in the surface's own error format.

use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};

use super::{Principal, token::CredentialKind};
use crate::{AppState, admin::error::AdminError, scim::error::ScimErrorResponse};

/// The tenant a SCIM request acts for: the tenant of the verified token, which is also the
/// tenant in the URL.
#[derive(Debug, Clone)]
pub struct ScimCaller {
    pub tenant_id: String,
    pub token_id: String,
}

/// Which tenants an admin key may act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminScope {
    Operator,
    Tenant(String),
}

#[derive(Debug, Clone)]
pub struct AdminCaller {
    pub key_id: String,
    pub scope: AdminScope,
}

impl AdminCaller {
    pub fn require_operator(&self) -> Result<(), AdminError> {
        match self.scope {
            AdminScope::Operator => Ok(()),
            AdminScope::Tenant(_) => Err(AdminError::forbidden(
                "this operation needs an operator key",
            )),
        }
    }

    /// Passes for operators and for admins of `tenant_id`. A tenant admin asking about any
    /// other tenant, existing or not, gets the same 403.
    pub fn require_tenant(&self, tenant_id: &str) -> Result<(), AdminError> {
        match &self.scope {
            AdminScope::Operator => Ok(()),
            AdminScope::Tenant(own) if own == tenant_id => Ok(()),
            AdminScope::Tenant(_) => Err(AdminError::forbidden(
                "this key may only act on its own tenant",
            )),
        }
    }
}

/// SCIM token of the tenant in the URL: `Authorization: Bearer scim_<id>_<secret>`.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "scim_<id>_<secret>",
    checker = "check_scim_token"
)]
pub struct ScimAuth(pub ScimCaller);

/// Admin key: `Authorization: Bearer sadm_<id>_<secret>`. Operator keys act on every tenant,
/// tenant-admin keys on their own.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "sadm_<id>_<secret>",
    checker = "check_admin_key"
)]
pub struct AdminAuth(pub AdminCaller);

fn app_state(req: &Request) -> poem::Result<&AppState> {
    req.data::<AppState>().ok_or_else(|| {
        poem::Error::from_string(
            "application state missing",
            poem::http::StatusCode::INTERNAL_SERVER_ERROR,
        )
    })
}

/// The address failures are counted against.
fn client_of(req: &Request) -> String {
    req.remote_addr()
        .as_socket_addr()
        .map_or_else(|| "unknown".to_owned(), |addr| addr.ip().to_string())
}

/// The `{tenantId}` segment of `/scim/{tenantId}/v2/…`.
fn tenant_in_scim_path(path: &str) -> &str {
    path.strip_prefix("/scim/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
}

async fn check_scim_token(req: &Request, bearer: Bearer) -> poem::Result<ScimCaller> {
    let state = app_state(req)?;
    let client = client_of(req);
    let tenant_in_url = tenant_in_scim_path(req.uri().path());
    match state
        .auth
        .authenticate(CredentialKind::ScimToken, &bearer.token, &client)
        .await
    {
        Ok(Principal::ScimTenant {
            token_id,
            tenant_id,
        }) if tenant_id == tenant_in_url => Ok(ScimCaller {
            tenant_id,
            token_id,
        }),
        Ok(_) => {
            state.auth.reject(&client);
            Err(ScimErrorResponse::unauthorized().into())
        }
        Err(failure) => Err(ScimErrorResponse::from(failure).into()),
    }
}

async fn check_admin_key(req: &Request, bearer: Bearer) -> poem::Result<AdminCaller> {
    let state = app_state(req)?;
    let client = client_of(req);
    match state
        .auth
        .authenticate(CredentialKind::AdminKey, &bearer.token, &client)
        .await
    {
        Ok(Principal::Operator { key_id }) => Ok(AdminCaller {
            key_id,
            scope: AdminScope::Operator,
        }),
        Ok(Principal::TenantAdmin { key_id, tenant_id }) => Ok(AdminCaller {
            key_id,
            scope: AdminScope::Tenant(tenant_id),
        }),
        Ok(Principal::ScimTenant { .. }) => {
            state.auth.reject(&client);
            Err(AdminError::unauthorized().into())
        }
        Err(failure) => Err(AdminError::from(failure).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_segment_of_scim_paths() {
        assert_eq!(tenant_in_scim_path("/scim/abc/v2/Users"), "abc");
        assert_eq!(tenant_in_scim_path("/scim/abc"), "abc");
        assert_eq!(tenant_in_scim_path("/scim//v2"), "");
        assert_eq!(tenant_in_scim_path("/admin/v1/tenants"), "");
    }
}
