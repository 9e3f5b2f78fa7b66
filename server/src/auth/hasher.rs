//! argon2id hashing of credential secrets. Hashing and verifying are deliberately slow, so
//! they run on the blocking pool, never on the async executor, and at most one per core at a
//! time so a flood of bad tokens cannot starve everything else.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

use crate::{config::Argon2Params, error::Error};

pub struct SecretHasher {
    argon: Argon2<'static>,
    /// Verified when the presented id is unknown, so an unknown id costs what a wrong secret costs.
    dummy_hash: String,
    permits: Semaphore,
}

impl SecretHasher {
    pub fn new(params: Argon2Params) -> Result<Arc<Self>, Error> {
        let params = Params::new(params.m_cost, params.t_cost, params.p_cost, None)
            .map_err(|err| anyhow::anyhow!("invalid argon2 parameters: {err}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy_hash = argon
            .hash_password(
                super::token::issue(super::token::CredentialKind::ScimToken)
                    .secret
                    .as_bytes(),
            )
            .map_err(|err| anyhow::anyhow!("argon2 hashing failed: {err}"))?
            .to_string();
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(Arc::new(Self {
            argon,
            dummy_hash,
            permits: Semaphore::new(cores),
        }))
    }

    /// The PHC string of `secret`, salted.
    pub async fn hash(self: &Arc<Self>, secret: String) -> Result<String, Error> {
        let this = Arc::clone(self);
        let _permit = self.permits.acquire().await.map_err(anyhow::Error::from)?;
        tokio::task::spawn_blocking(move || {
            this.argon
                .hash_password(secret.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|err| Error::Internal(anyhow::anyhow!("argon2 hashing failed: {err}")))
        })
        .await
        .map_err(anyhow::Error::from)?
    }

    /// Whether `secret` matches `phc`; with no stored hash, burns the same time and says no.
    pub async fn verify(self: &Arc<Self>, secret: String, phc: Option<String>) -> bool {
        let this = Arc::clone(self);
        let Ok(_permit) = self.permits.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || {
            let known = phc.is_some();
            let hash = phc.as_deref().unwrap_or(&this.dummy_hash);
            let matches = this.argon.verify_password(secret.as_bytes(), hash).is_ok();
            known && matches
        })
        .await
        .unwrap_or(false)
    }
}
