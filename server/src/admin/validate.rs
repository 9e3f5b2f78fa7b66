//! Checks on admin-API input that the JSON schema alone cannot express. Failures are 422.

use chrono::{DateTime, Duration, Utc};

use super::error::AdminError;

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_EXPIRES_IN_DAYS: u32 = 3650;
pub const MAX_OVERLAP_SECONDS: u32 = 7 * 24 * 3600;

/// A trimmed, non-empty name of at most `MAX_NAME_CHARS` characters without control characters.
pub fn name(field: &str, value: &str) -> Result<String, AdminError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AdminError::invalid(format!("{field} must not be blank")));
    }
    if value.chars().count() > MAX_NAME_CHARS {
        return Err(AdminError::invalid(format!(
            "{field} must be at most {MAX_NAME_CHARS} characters"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(AdminError::invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(value.to_owned())
}

pub fn optional_name(field: &str, value: Option<&str>) -> Result<Option<String>, AdminError> {
    value.map(|value| name(field, value)).transpose()
}

/// `expiresInDays` (1 to 3650) turned into an instant.
pub fn expiry(now: DateTime<Utc>, days: Option<u32>) -> Result<Option<DateTime<Utc>>, AdminError> {
    match days {
        None => Ok(None),
        Some(days @ 1..=MAX_EXPIRES_IN_DAYS) => Ok(Some(now + Duration::days(i64::from(days)))),
        Some(_) => Err(AdminError::invalid(format!(
            "expiresInDays must be between 1 and {MAX_EXPIRES_IN_DAYS}"
        ))),
    }
}

pub const DEFAULT_PAGE_LIMIT: u32 = 100;
pub const MAX_PAGE_LIMIT: u32 = 1000;

/// `limit` of a list page (1 to 1000, default 100).
pub fn page_limit(limit: Option<u32>) -> Result<u64, AdminError> {
    match limit.unwrap_or(DEFAULT_PAGE_LIMIT) {
        limit @ 1..=MAX_PAGE_LIMIT => Ok(u64::from(limit)),
        _ => Err(AdminError::invalid(format!(
            "limit must be between 1 and {MAX_PAGE_LIMIT}"
        ))),
    }
}

/// A `cursor` of a list paged by integer id (the log, the audit).
pub fn id_cursor(cursor: Option<&str>) -> Result<Option<i64>, AdminError> {
    cursor
        .map(|cursor| {
            cursor
                .parse()
                .map_err(|_| AdminError::invalid("cursor is not one this API gave"))
        })
        .transpose()
}

/// `overlapSeconds` (0 to 7 days, default `default`).
pub fn overlap(seconds: Option<u32>, default: u32) -> Result<Duration, AdminError> {
    match seconds.unwrap_or(default) {
        seconds @ 0..=MAX_OVERLAP_SECONDS => Ok(Duration::seconds(i64::from(seconds))),
        _ => Err(AdminError::invalid(format!(
            "overlapSeconds must be between 0 and {MAX_OVERLAP_SECONDS}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("name", "  Acme  ").unwrap(), "Acme");
        assert!(name("name", "   ").is_err());
        assert!(name("name", "a\u{7}b").is_err());
        assert!(name("name", &"x".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(name("name", &"x".repeat(MAX_NAME_CHARS + 1)).is_err());
        assert_eq!(optional_name("name", None).unwrap(), None);
    }

    #[test]
    fn ranges() {
        let now = Utc::now();
        assert_eq!(expiry(now, Some(1)).unwrap(), Some(now + Duration::days(1)));
        assert!(expiry(now, Some(0)).is_err());
        assert!(expiry(now, Some(MAX_EXPIRES_IN_DAYS + 1)).is_err());
        assert_eq!(overlap(None, 3600).unwrap(), Duration::hours(1));
        assert_eq!(overlap(Some(0), 3600).unwrap(), Duration::zero());
        assert!(overlap(Some(MAX_OVERLAP_SECONDS + 1), 3600).is_err());
    }
}
