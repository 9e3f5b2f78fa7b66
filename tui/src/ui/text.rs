//! Text that came from elsewhere (an identity provider's user names, request bodies) is
//! shown as text, never obeyed: control and bidirectional-override characters would move
//! the cursor, recolour or reorder the screen, so they are shown escaped.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Controls, bidirectional marks, embeddings, overrides and isolates, and the line and
/// paragraph separators (which some terminals take as a new line).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// A moment, to the second, in UTC (the server's clock, the same on every screen).
pub fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

pub fn when_or_never(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(|| "never".to_owned(), when)
}

/// The last characters of an id, enough to tell ids apart on screen (the server's ids are
/// UUIDv7s, whose first characters are the time and shared by ids made together).
pub fn short_id(id: &str) -> &str {
    let start = id.char_indices().rev().nth(7).map_or(0, |(at, _)| at);
    &id[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_override_characters_are_escaped() {
        assert_eq!(clean("ada@example.com"), "ada@example.com");
        assert!(matches!(clean("plain"), Cow::Borrowed(_)));
        assert_eq!(clean("a\u{1b}[31mred"), "a\\u{1b}[31mred");
        assert_eq!(clean("x\ny"), "x\\u{a}y");
        assert_eq!(clean("\u{202E}evil"), "\\u{202e}evil");
        for mark in [
            '\u{200E}', '\u{200F}', '\u{061C}', '\u{2028}', '\u{2029}', '\u{2067}',
        ] {
            assert!(!clean(&format!("a{mark}b")).contains(mark), "{mark:?}");
        }
        assert_eq!(clean("名前"), "名前", "wide characters stay");
    }

    #[test]
    fn short_ids_keep_the_distinct_end() {
        assert_eq!(short_id("01a2385e-095f-7063-b243-b6ba2a239904"), "2a239904");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(short_id("ééééééééé"), "éééééééé");
    }
}
