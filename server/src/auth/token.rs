//! The credential format: `scim_<id>_<secret>` for SCIM tokens, `sadm_<id>_<secret>` for
//! admin keys. The id (32 hex digits) finds the row; the secret (40 alphanumerics, about 238
//! random bits) is what the argon2 hash protects. Both parts avoid `_`, so parsing is exact.

use rand::{Rng, distr::Alphanumeric};

const ID_LEN: usize = 32;
const SECRET_LEN: usize = 40;

pub use crate::store::credentials::CredentialKind;

fn prefix(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::ScimToken => "scim",
        CredentialKind::AdminKey => "sadm",
    }
}

/// A freshly generated credential. `plain` is shown to the caller once and then dropped.
pub struct Issued {
    pub id: String,
    pub secret: String,
    pub plain: String,
}

pub fn issue(kind: CredentialKind) -> Issued {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let secret: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(SECRET_LEN)
        .map(char::from)
        .collect();
    let plain = format!("{}_{id}_{secret}", prefix(kind));
    Issued { id, secret, plain }
}

/// Splits a presented credential of `kind` into `(id, secret)`, or `None` when it cannot be one.
pub fn parse(kind: CredentialKind, presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix(prefix(kind))?.strip_prefix('_')?;
    let (id, secret) = rest.split_once('_')?;
    let id_ok = id.len() == ID_LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    let secret_ok = secret.len() == SECRET_LEN && secret.bytes().all(|b| b.is_ascii_alphanumeric());
    (id_ok && secret_ok).then_some((id, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_credentials_parse_back() {
        for kind in [CredentialKind::ScimToken, CredentialKind::AdminKey] {
            let issued = issue(kind);
            assert_eq!(
                parse(kind, &issued.plain),
                Some((issued.id.as_str(), issued.secret.as_str()))
            );
        }
    }

    #[test]
    fn kinds_do_not_cross() {
        let scim = issue(CredentialKind::ScimToken);
        assert!(parse(CredentialKind::AdminKey, &scim.plain).is_none());
        assert!(scim.plain.starts_with("scim_"));
        assert!(issue(CredentialKind::AdminKey).plain.starts_with("sadm_"));
    }

    #[test]
    fn secrets_differ() {
        let a = issue(CredentialKind::ScimToken);
        let b = issue(CredentialKind::ScimToken);
        assert_ne!(a.secret, b.secret);
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn malformed_values_are_rejected() {
        let good = issue(CredentialKind::ScimToken).plain;
        let cases = [
            String::new(),
            "scim_".to_owned(),
            "scim__".to_owned(),
            good.replace("scim_", "SCIM_"),
            format!("{good}x"),
            good[..good.len() - 1].to_owned(),
            good.replacen('_', "-", 2),
            format!("{}_{}", &good[..37], "é".repeat(20)),
        ];
        for case in cases {
            assert!(
                parse(CredentialKind::ScimToken, &case).is_none(),
                "{case:?}"
            );
        }
    }
}
