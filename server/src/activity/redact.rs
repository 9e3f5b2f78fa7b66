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

fn is_secret_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_NAMES.iter().any(|secret| folded.contains(secret))
}

/// Whether a word is shaped like a credential this server issues.
fn is_credential(word: &str) -> bool {
    let word = word.trim_start_matches("Bearer ").trim();
    ["scim_", "sadm_"]
        .iter()
        .any(|prefix| word.len() > prefix.len() + 8 && word.starts_with(prefix))
}

/// `text` with every credential-shaped word replaced.
fn redact_words(text: &str) -> String {
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

/// A body as the log keeps it: its JSON (`parsed`, as the recorder already read it) with
/// its secrets replaced, re-written compactly and cut to `max` bytes. A body of `len`
/// bytes that did not parse as JSON (a form, a body cut short) is not kept, only its size:
/// secrets in it could not be found reliably.
pub fn body(len: usize, parsed: Option<Value>, max: usize) -> Option<String> {
    if len == 0 {
        return None;
    }
    match parsed {
        Some(mut json) => {
            redact_value(&mut json);
            Some(cut(json.to_string(), max))
        }
        None => Some(format!("[{len} bytes, not JSON: not kept]")),
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
pub fn cut(mut text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text
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
        let kept = body(raw.len(), serde_json::from_str(&raw).ok(), 10_000).unwrap();
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
        let kept = body(form.len(), serde_json::from_str(&form).ok(), 100).unwrap();
        assert_eq!(kept, format!("[{} bytes, not JSON: not kept]", form.len()));
        assert_eq!(
            query(&format!(
                "filter=userName%20eq%20%22ada%22&access_token={TOKEN}&x={TOKEN}"
            )),
            "filter=userName%20eq%20%22ada%22&access_token=[redacted]&x=[redacted]"
        );
        assert_eq!(body(0, None, 10), None);
    }

    #[test]
    fn cuts_on_a_character_boundary() {
        assert_eq!(cut("ééé".to_owned(), 3), "é…");
        assert_eq!(cut("abc".to_owned(), 3), "abc");
    }
}
