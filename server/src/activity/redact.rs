//! What the provisioning log keeps of bodies and query strings: secrets replaced, and cut
//! to a size. A secret is a member whose name says so (`password`, `token`, …) or any
//! string shaped like one of our credentials (`scim_…`, `sadm_…`).

use serde_json::Value;

pub const REDACTED: &str = "[redacted]";

/// Member names whose values are never kept, compared without case and ignoring `_`/`-`.
const SECRET_NAMES: [&str; 7] = [
    "password",
    "secret",
    "token",
    "authorization",
    "apikey",
    "credential",
    "bearer",
];

/// `bytes` lowercased (ASCII) without `_` and `-`: the form secret names are compared in.
fn folded(bytes: impl Iterator<Item = u8>) -> impl Iterator<Item = u8> {
    bytes
        .filter(|b| *b != b'_' && *b != b'-')
        .map(|b| b.to_ascii_lowercase())
}

fn is_secret_name(name: &str) -> bool {
    let folded: Vec<u8> = folded(name.bytes()).collect();
    SECRET_NAMES
        .iter()
        .any(|secret| memchr::memmem::find(&folded, secret.as_bytes()).is_some())
}

/// Whether `raw` could hold anything redaction would replace: a secret name or a
/// credential prefix anywhere in it (in a name or a value), or a JSON `\u` escape that
/// could spell one. Most bodies hold none and are kept as sent, without being parsed.
fn may_hold_secrets(raw: &[u8]) -> bool {
    let folded: Vec<u8> = folded(raw.iter().copied()).collect();
    ["scim_", "sadm_", "\\u"]
        .iter()
        .any(|marker| memchr::memmem::find(raw, marker.as_bytes()).is_some())
        || SECRET_NAMES
            .iter()
            .any(|secret| memchr::memmem::find(&folded, secret.as_bytes()).is_some())
}

/// Whether a word holds a credential this server issues, or a piece of one: a prefix
/// followed by more than 8 characters among which a digit. The prefix may sit inside the
/// word, behind an escape such as `%22` (a quote in a query string) or `\n` (a newline in
/// a JSON log line). Every id starts with a time-ordered UUID's hex digits, so a name
/// without one, such as the table `scim_user_value`, is kept and database errors stay
/// readable in the log.
fn is_credential(word: &str) -> bool {
    ["scim_", "sadm_"].iter().any(|prefix| {
        word.match_indices(prefix).any(|(at, _)| {
            let rest = &word[at + prefix.len()..];
            rest.len() > 8 && rest.bytes().any(|b| b.is_ascii_digit())
        })
    })
}

/// `text` with every credential-shaped word replaced (also what the server log writes).
pub fn redact_words(text: &str) -> String {
    if !text.contains("scim_") && !text.contains("sadm_") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if is_credential(word) {
            out.push_str(REDACTED);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn redact_value(value: &mut Value) {
    match value {
        Value::Object(members) => {
            for (name, member) in members.iter_mut() {
                if is_secret_name(name) {
                    *member = Value::String(REDACTED.to_owned());
                } else {
                    redact_value(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        Value::String(text) if text.contains("scim_") || text.contains("sadm_") => {
            *text = redact_words(text);
        }
        _ => {}
    }
}

/// A body as the log keeps it, cut to `max` bytes. A body with nothing secret-shaped in
/// it is kept as sent. Otherwise its JSON is kept with the secrets replaced (re-written
/// compactly); a body that is not JSON (a form, a body cut short) is then not kept, only
/// its size: secrets in it could not be found reliably.
pub fn body(raw: &[u8], max: usize) -> Option<String> {
    if raw.is_empty() {
        return None;
    }
    if !may_hold_secrets(raw)
        && let Ok(text) = std::str::from_utf8(raw)
    {
        return Some(cut(text, max));
    }
    match serde_json::from_slice::<Value>(raw) {
        Ok(mut json) => {
            redact_value(&mut json);
            Some(cut(&json.to_string(), max))
        }
        Err(_) => Some(format!("[{} bytes, not JSON: not kept]", raw.len())),
    }
}

/// A query string with the values of secret-named parameters, and credential-shaped
/// values, replaced.
pub fn query(raw: &str) -> String {
    raw.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => format!("{name}={REDACTED}"),
            Some((name, value)) => format!("{name}={}", redact_words(value)),
            None => redact_words(pair),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `text` cut to at most `max` bytes on a character boundary, marked when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "scim_0192abcd_s3cr3tS3cr3tS3cr3t";

    #[test]
    fn secrets_in_bodies_are_replaced() {
        let raw = format!(
            r#"{{"userName":"ada","password":"hunter2","nested":{{"client_secret":"x","Api-Key":"y"}},"note":"token {TOKEN} here","list":["{TOKEN}"]}}"#
        );
        let kept = body(raw.as_bytes(), 10_000).unwrap();
        assert!(!kept.contains("hunter2"), "{kept}");
        assert!(!kept.contains("s3cr3t"), "{kept}");
        assert!(
            !kept.contains(r#""x""#) && !kept.contains(r#""y""#),
            "{kept}"
        );
        assert!(kept.contains(r#""userName":"ada""#), "{kept}");
        assert!(kept.contains("token [redacted] here"), "{kept}");
    }

    #[test]
    fn text_bodies_and_queries_lose_credentials() {
        let form = format!("password={TOKEN}");
        let kept = body(form.as_bytes(), 100).unwrap();
        assert_eq!(kept, format!("[{} bytes, not JSON: not kept]", form.len()));
        assert_eq!(
            query(&format!(
                "filter=userName%20eq%20%22ada%22&access_token={TOKEN}&x={TOKEN}"
            )),
            "filter=userName%20eq%20%22ada%22&access_token=[redacted]&x=[redacted]"
        );
        assert_eq!(body(b"", 10), None);
    }

    #[test]
    fn names_that_start_like_a_credential_are_kept() {
        let error = "UNIQUE constraint failed: scim_user_value.value_lc (sadm_key_rotation)";
        assert_eq!(redact_words(error), error);
        assert_eq!(
            redact_words("cut short: scim_0192abcd5e6f"),
            "cut short: [redacted]"
        );
        let issued = crate::auth::token::issue(crate::store::credentials::CredentialKind::AdminKey);
        assert_eq!(redact_words(&issued.plain), REDACTED);
    }

    #[test]
    fn credentials_behind_an_escape_are_found() {
        assert_eq!(
            query(&format!("filter=userName%20eq%20%22{TOKEN}%22")),
            "filter=userName%20eq%20%[redacted]%22"
        );
        assert_eq!(
            redact_words(&format!(r#"{{"message":"line\n{TOKEN}"}}"#)),
            r#"{"message":"line\[redacted]"}"#
        );
    }

    #[test]
    fn bodies_without_secrets_are_kept_as_sent() {
        let sent = "{ \"userName\": \"ada\",\n  \"active\": true }";
        assert_eq!(body(sent.as_bytes(), 1_000).unwrap(), sent);
        assert_eq!(body(b"plain text", 1_000).unwrap(), "plain text");
    }

    #[test]
    fn names_spelled_with_escapes_or_separators_are_still_found() {
        let escaped = r#"{"\u0070assword":"hunter2","PASS_WORD":"x","api-key":"y"}"#;
        let kept = body(escaped.as_bytes(), 1_000).unwrap();
        assert_eq!(
            kept,
            r#"{"PASS_WORD":"[redacted]","api-key":"[redacted]","password":"[redacted]"}"#
        );
    }

    #[test]
    fn cuts_on_a_character_boundary() {
        assert_eq!(cut("ééé", 3), "é…");
        assert_eq!(cut("abc", 3), "abc");
    }
}
