//! Times as the workflow writes them: RFC 3339, in UTC, to the second.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Current time as RFC 3339.
pub fn now_rfc3339() -> String {
    rfc3339(OffsetDateTime::now_utc())
}

/// A time as RFC 3339 (seconds precision).
pub fn rfc3339(at: OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_default()
}

/// Parses RFC 3339.
pub fn parse_rfc3339(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Serde for a time field written as RFC 3339 to the second (`2026-11-25T17:00:00Z`): a value
/// that is not RFC 3339 is an error when the step's input is read, not a deadline never reached.
pub mod rfc3339_seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    /// Writes the time.
    pub fn serialize<S: Serializer>(at: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::rfc3339(*at))
    }

    /// Reads the time; anything but RFC 3339 is refused, quoting what was given.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_rfc3339(&text).ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text:?}")))
    }
}

/// [`rfc3339_seconds`] for an optional field (absent or `null` is `None`).
pub mod optional_rfc3339_seconds {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    /// Writes the time (the field is skipped when `None`).
    pub fn serialize<S: Serializer>(at: &Option<OffsetDateTime>, serializer: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => serializer.serialize_str(&super::rfc3339(*at)),
            None => serializer.serialize_none(),
        }
    }

    /// Reads the time; anything but RFC 3339 or `null` is refused.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) => {
                super::parse_rfc3339(&text).map(Some).ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 time: {text:?}")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_is_written_to_the_second_and_read_back() {
        let at = parse_rfc3339("2026-11-25T17:00:00.750Z").expect("parses");
        assert_eq!(rfc3339(at), "2026-11-25T17:00:00Z");
        assert_eq!(parse_rfc3339(&rfc3339(at)).map(rfc3339).as_deref(), Some("2026-11-25T17:00:00Z"));
    }

    #[test]
    fn text_that_is_not_rfc3339_is_no_time() {
        assert_eq!(parse_rfc3339("tomorrow"), None);
        assert_eq!(parse_rfc3339("2026-11-25 17:00:00"), None);
    }
}
