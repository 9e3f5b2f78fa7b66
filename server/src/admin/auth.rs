//! The admin surface's security scheme. Holding an `AdminAuth` *is* the admin check
//! (warpgate's `admin_scheme.rs`): operator keys act on every tenant, tenant-admin keys on
//! their own, and a failure is answered with the admin error body.

use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};

use super::error::AdminError;
use crate::{
    auth::{Principal, token::CredentialKind},
    state::{AppState, client_address},
};

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
    /// The caller as the author of a change made at `at`, for the audit trail.
    pub fn actor(&self, at: chrono::DateTime<chrono::Utc>) -> crate::store::audit::Actor {
        crate::store::audit::Actor {
            key_id: self.key_id.clone(),
            at,
        }
    }

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

/// Admin key: `Authorization: Bearer sadm_<id>_<secret>`. Operator keys act on every tenant,
/// tenant-admin keys on their own.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "sadm_<id>_<secret>",
    checker = "check_admin_key"
)]
pub struct AdminAuth(pub AdminCaller);

async fn check_admin_key(req: &Request, bearer: Bearer) -> poem::Result<AdminCaller> {
    let state = AppState::of(req)?;
    let client = client_address(req);
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
