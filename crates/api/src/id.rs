//! Resource IDs: 64-bit integers, exchanged as decimal digit strings (the SDKs' models declare
//! `str`, and JavaScript cannot hold 64-bit integers as numbers).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Id(pub i64);

/// Text that is not an ID; the message names the parameter and says what is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidId(pub String);

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidId {}

impl Id {
    /// Parses the decimal form; `what` names the parameter in the error message.
    pub fn parse(text: &str, what: &str) -> Result<Id, InvalidId> {
        let valid = !text.is_empty() && text.len() <= 19 && text.bytes().all(|b| b.is_ascii_digit());
        match valid.then(|| text.parse::<i64>().ok()).flatten() {
            Some(value) => Ok(Id(value)),
            None => Err(InvalidId(format!(
                "{what} must be a decimal ID (digits only, as returned by the API), got {text:?}"
            ))),
        }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Id, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Id::parse(&text, "id").map_err(|err| serde::de::Error::custom(err.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_digit_strings() {
        assert_eq!(Id::parse("7511988408546279468", "group_id"), Ok(Id(7511988408546279468)));
        assert_eq!(Id::parse("0", "group_id"), Ok(Id(0)));
    }

    #[test]
    fn rejects_anything_else() {
        for bad in ["", "-1", "+1", "1.0", " 1", "abc", "99999999999999999999", "9223372036854775808"] {
            let err = Id::parse(bad, "group_id").unwrap_err();
            assert!(err.0.contains("group_id"), "{err}");
        }
    }

    #[test]
    fn travels_as_a_string() {
        assert_eq!(serde_json::to_string(&Id(42)).unwrap(), "\"42\"");
        assert_eq!(serde_json::from_str::<Id>("\"42\"").unwrap(), Id(42));
        assert!(serde_json::from_str::<Id>("42").is_err(), "a JSON number is not an ID");
    }
}
