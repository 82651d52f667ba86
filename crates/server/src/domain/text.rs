//! Names and descriptions. Limits count characters (Unicode scalar values), not bytes, so a
//! 20-character Chinese name is as valid as a 20-character English one.

use super::InvalidInput;

pub const MAX_NAME_CHARS: usize = 20;
pub const MAX_DESC_CHARS: usize = 500;

/// The name of a voiceprint group or a voiceprint: 1–20 characters after trimming surrounding
/// whitespace, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(text: &str) -> Result<Name, InvalidInput> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(InvalidInput("name must not be empty or only whitespace".into()));
        }
        let chars = trimmed.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(InvalidInput(format!("name must be at most {MAX_NAME_CHARS} characters, got {chars}")));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(InvalidInput("name must not contain control characters (newlines, tabs, NUL…)".into()));
        }
        Ok(Name(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A description: up to 500 characters, may be empty; line breaks and tabs allowed, other
/// control characters (NUL above all, which PostgreSQL cannot store) are not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(text: &str) -> Result<Description, InvalidInput> {
        let chars = text.chars().count();
        if chars > MAX_DESC_CHARS {
            return Err(InvalidInput(format!("desc must be at most {MAX_DESC_CHARS} characters, got {chars}")));
        }
        if text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err(InvalidInput("desc must not contain control characters other than line breaks and tabs".into()));
        }
        Ok(Description(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_counts_characters_not_bytes() {
        let twenty_chinese = "声纹组".repeat(6) + "声纹";
        assert_eq!(twenty_chinese.chars().count(), 20);
        assert!(Name::parse(&twenty_chinese).is_ok());
        assert!(Name::parse(&(twenty_chinese + "组")).unwrap_err().0.contains("at most 20"));
        assert!(Name::parse(&"a".repeat(20)).is_ok());
        assert!(Name::parse(&"a".repeat(21)).is_err());
    }

    #[test]
    fn name_is_trimmed_and_must_not_be_blank() {
        assert_eq!(Name::parse("  Room A ").unwrap().as_str(), "Room A");
        assert!(Name::parse("").is_err());
        assert!(Name::parse(" \t\u{3000} ").is_err());
        assert!(Name::parse("a\nb").is_err());
        assert!(Name::parse("a\0b").is_err());
    }

    #[test]
    fn description_limits() {
        assert!(Description::parse("").is_ok());
        assert!(Description::parse(&"描".repeat(500)).is_ok());
        assert!(Description::parse(&"描".repeat(501)).unwrap_err().0.contains("at most 500"));
        assert!(Description::parse("line one\nline two\ttab").is_ok());
        assert!(Description::parse("nul\0").is_err());
    }
}
