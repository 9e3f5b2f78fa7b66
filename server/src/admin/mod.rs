//! The admin API under `/admin/v1`: JSON with camelCase fields, bearer admin keys, errors
//! as `{code, message}`. One file per resource; handlers check access, validate, call one
//! `store` function and shape the answer.

pub mod admin_keys;
pub mod credentials;
pub mod error;
pub mod scim_tokens;
pub mod tenants;
pub mod validate;

use std::sync::Arc;

use crate::{
    auth::{
        hasher::SecretHasher,
        token::{self, CredentialKind, Issued},
    },
    error::Error,
};

/// A new credential and the hash to store for it.
pub(crate) async fn issue_credential(
    hasher: &Arc<SecretHasher>,
    kind: CredentialKind,
) -> Result<(Issued, String), Error> {
    let issued = token::issue(kind);
    let hash = hasher.hash(issued.secret.clone()).await?;
    Ok((issued, hash))
}
