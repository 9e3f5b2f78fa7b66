//! The SCIM surface's security scheme. Holding a `ScimAuth` *is* the check: an operation
//! that takes one cannot run for a caller that failed it, and a failure is answered with
//! the SCIM error body.

use poem::Request;
use poem_openapi::{SecurityScheme, auth::Bearer};

use super::{admission::Admission, error::ScimErrorResponse};
use crate::{
    activity::middleware::Attribution,
    auth::{Principal, token::CredentialKind},
    state::{AppState, client_address},
};

/// The tenant a SCIM request acts for: the tenant of the verified token, which is also the
/// tenant in the URL.
#[derive(Debug, Clone)]
pub struct ScimCaller {
    pub tenant_id: String,
    pub token_id: String,
}

/// SCIM token of the tenant in the URL: `Authorization: Bearer scim_<id>_<secret>`.
#[derive(SecurityScheme)]
#[oai(
    ty = "bearer",
    bearer_format = "scim_<id>_<secret>",
    checker = "check_scim_token"
)]
pub struct ScimAuth(pub ScimCaller);

/// The `{tenantId}` segment of `/scim/{tenantId}/v2/…`.
pub(crate) fn tenant_in_scim_path(path: &str) -> &str {
    path.strip_prefix("/scim/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
}

async fn check_scim_token(req: &Request, bearer: Bearer) -> poem::Result<ScimCaller> {
    let state = AppState::of(req)?;
    let client = client_address(req);
    let tenant_in_url = tenant_in_scim_path(req.uri().path());
    match state
        .auth
        .authenticate(CredentialKind::ScimToken, &bearer.token, &client)
        .await
    {
        Ok(Principal::ScimTenant {
            token_id,
            tenant_id,
        }) if tenant_id == tenant_in_url => {
            if let Some(attribution) = req.data::<Attribution>() {
                attribution.set_token(&token_id);
            }
            let admission = req.data::<Admission>();
            if let Some(quota) = state.rate_limits.admit(&tenant_id, state.clock.now()) {
                if let Some(admission) = admission {
                    admission.counted(quota);
                }
                if !quota.admitted {
                    crate::metrics::rate_limited();
                    return Err(ScimErrorResponse::rate_limited(quota.reset_secs).into());
                }
            }
            if let Some(admission) = admission {
                match state.tenant_share.turn(&tenant_id).await {
                    Some(turn) => admission.hold(turn),
                    None => {
                        crate::metrics::rate_limited();
                        return Err(ScimErrorResponse::busy().into());
                    }
                }
            }
            Ok(ScimCaller {
                tenant_id,
                token_id,
            })
        }
        Ok(_) => {
            state.auth.reject(&client);
            Err(ScimErrorResponse::unauthorized().into())
        }
        Err(failure) => Err(ScimErrorResponse::from(failure).into()),
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
