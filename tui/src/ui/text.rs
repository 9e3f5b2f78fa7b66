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

/// Controls, the line and paragraph separators (which some terminals take as a new
/// line), and every format character (Unicode category Cf: bidirectional marks, overrides
/// and isolates, zero-width spaces and joiners, the soft hyphen, tags), which are
/// invisible or reorder what follows.
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
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
            '\u{200E}',
            '\u{200F}',
            '\u{061C}',
            '\u{2028}',
            '\u{2029}',
            '\u{2067}',
            '\u{200B}',
            '\u{200D}',
            '\u{2060}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{E0041}',
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
