//! Getting connected: what the dashboard says when it cannot work, and whether it retries
//! by itself.

use std::{path::PathBuf, time::Duration};

use crate::{api::Caller, client::Error};

/// The API major version this dashboard speaks.
pub const API_MAJOR: &str = "1";

/// How long to wait before trying again after a failure that may pass by itself.
pub const RETRY_AFTER: Duration = Duration::from_secs(2);

/// Where the admin key comes from; the key itself is never shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env,
    File(PathBuf),
    /// Neither set; names the file that was looked for.
    Missing(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Ready(Caller),
    Failed(Problem),
}

/// Why the dashboard cannot work, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub title: String,
    pub advice: Vec<String>,
    /// Whether the dashboard tries again by itself.
    pub retrying: bool,
}

impl Problem {
    pub fn no_key(path: &std::path::Path) -> Self {
        Self {
            title: "No admin key".to_owned(),
            advice: vec![
                format!(
                    "Looked for SCIM_ADMIN_KEY and for the file {}.",
                    path.display()
                ),
                "A server started for the first time writes its operator key to \
                 data/operator.key; run scim-tui from the same directory, or pass \
                 --key-file / set SCIM_ADMIN_KEY_FILE."
                    .to_owned(),
            ],
            retrying: true,
        }
    }

    /// The problem `err` from `whoami` means, for a server at `server`.
    pub fn of(err: &Error, server: &str, key: &KeySource) -> Self {
        let key_hint = match key {
            KeySource::Env => "the key in SCIM_ADMIN_KEY".to_owned(),
            KeySource::File(path) | KeySource::Missing(path) => {
                format!("the key in {}", path.display())
            }
        };
        match err {
            Error::Unreachable(cause) => Self {
                title: format!("Cannot reach the server at {server}"),
                advice: vec![
                    format!("({cause})"),
                    "Start it with `cargo run --release -p server`, or point this dashboard \
                     elsewhere with --server / SCIM_SERVER_URL."
                        .to_owned(),
                ],
                retrying: true,
            },
            Error::Api { status: 401, .. } => Self {
                title: "The server refused the admin key".to_owned(),
                advice: vec![
                    format!("Check {key_hint}: it may be mistyped, revoked or expired."),
                    "Another operator can issue one (POST /admin/v1/operator-keys); on the \
                     server's machine, `scim-server keys create-operator` prints one."
                        .to_owned(),
                ],
                retrying: false,
            },
            Error::Api { status: 403, .. } => Self {
                title: "This key may not use the dashboard".to_owned(),
                advice: vec![format!("{key_hint} has no rights on this server.")],
                retrying: false,
            },
            Error::Api { status: 404, .. } => Self {
                title: "The server is too old for this dashboard".to_owned(),
                advice: vec![
                    format!(
                        "{server} does not offer /admin/v1/whoami: it is an older release, or \
                         not a SCIM provisioning server at all."
                    ),
                    "Upgrade the server, or check --server / SCIM_SERVER_URL.".to_owned(),
                ],
                retrying: false,
            },
            Error::Api { status: 429, .. } => Self {
                title: "Too many failed sign-ins from this address".to_owned(),
                advice: vec!["The server asks to wait; trying again shortly.".to_owned()],
                retrying: true,
            },
            Error::Api {
                status, message, ..
            } => Self {
                title: format!("The server answered {status}"),
                advice: vec![message.clone(), "Trying again shortly.".to_owned()],
                retrying: *status >= 500,
            },
            Error::Decode(cause) => Self {
                title: format!("{server} does not speak this dashboard's API"),
                advice: vec![
                    format!("({cause})"),
                    "Check --server / SCIM_SERVER_URL.".to_owned(),
                ],
                retrying: false,
            },
        }
    }

    /// A server that answers, but with an API this dashboard does not know.
    pub fn version(caller: &Caller) -> Option<Self> {
        let major = caller.api_version.split('.').next().unwrap_or_default();
        (major != API_MAJOR).then(|| Self {
            title: format!(
                "The server speaks API {}, this dashboard {API_MAJOR}.x",
                caller.api_version
            ),
            advice: vec!["Use a scim-tui of the same release as the server.".to_owned()],
            retrying: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> Error {
        Error::Api {
            status,
            code: String::new(),
            message: "nope".to_owned(),
        }
    }

    #[test]
    fn only_passing_problems_are_retried() {
        let key = KeySource::Env;
        let server = "http://127.0.0.1:8080";
        let unreachable = Error::Unreachable("Connection refused".into());
        assert!(Problem::of(&unreachable, server, &key).retrying);
        assert!(Problem::of(&api(503), server, &key).retrying);
        assert!(Problem::of(&api(429), server, &key).retrying);
        for status in [401, 403, 404] {
            assert!(
                !Problem::of(&api(status), server, &key).retrying,
                "{status}"
            );
        }
        assert!(!Problem::of(&Error::Decode("x".into()), server, &key).retrying);
    }

    #[test]
    fn a_refused_key_names_where_it_came_from_but_not_the_key() {
        let key = KeySource::File("data/operator.key".into());
        let problem = Problem::of(&api(401), "http://x", &key);
        assert!(
            problem.advice[0].contains("data/operator.key"),
            "{problem:?}"
        );
    }

    #[test]
    fn another_major_version_is_a_problem() {
        let caller = |version: &str| Caller {
            key_id: "k".into(),
            role: crate::api::Role::Operator,
            tenant_id: None,
            api_version: version.into(),
        };
        assert!(Problem::version(&caller("1.0.0")).is_none());
        assert!(Problem::version(&caller("1.7.2")).is_none());
        assert!(Problem::version(&caller("2.0.0")).is_some());
    }
}
