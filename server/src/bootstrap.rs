//! Operator keys outside the API: the one created on first start (written to
//! `<data dir>/operator.key`, mode 0600, so a newcomer's TUI finds it without a step), and
//! the ones `scim-server keys create-operator` prints.

use std::{
    io::Write,
    path::{Path, PathBuf},
    sync::Arc,
};

use chrono::{DateTime, Utc};

use crate::{
    auth::{hasher::SecretHasher, issue_credential, token::CredentialKind},
    error::Error,
    store::{self, Storage},
};

pub const OPERATOR_KEY_FILE: &str = "operator.key";

/// Creates an operator key and returns its plain value, which the caller shows once.
pub async fn create_operator_key(
    db: &Storage,
    hasher: &Arc<SecretHasher>,
    name: Option<String>,
    now: DateTime<Utc>,
) -> Result<String, Error> {
    let (issued, secret_hash) = issue_credential(hasher, CredentialKind::AdminKey).await?;
    let key = store::admin_keys::NewKey {
        id: issued.id,
        secret_hash,
        tenant_id: None,
        name,
        expires_at: None,
    };
    // Made by no key: the operator running the server.
    let actor = store::audit::Actor {
        key_id: "bootstrap".to_owned(),
        at: now,
    };
    store::admin_keys::create(db, key, &actor).await?;
    Ok(issued.plain)
}

/// With no working operator key in the database, creates one and writes it to
/// `<data_dir>/operator.key`. Returns the file's path when it did.
pub async fn ensure_operator_key(
    db: &Storage,
    hasher: &Arc<SecretHasher>,
    data_dir: &Path,
    now: DateTime<Utc>,
) -> Result<Option<PathBuf>, Error> {
    if store::admin_keys::count_live_operator_keys(db.reads(), now).await? > 0 {
        return Ok(None);
    }
    let plain = create_operator_key(db, hasher, Some("bootstrap".to_owned()), now).await?;
    let path = data_dir.join(OPERATOR_KEY_FILE);
    write_secret_file(&path, &plain)
        .map_err(|err| anyhow::anyhow!("cannot write {}: {err}", path.display()))?;
    Ok(Some(path))
}

/// Writes `secret` to a file only its owner can read, replacing any previous one atomically.
fn write_secret_file(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("key.tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    file.write_all(secret.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}
