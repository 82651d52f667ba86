//! Names and descriptions. Limits count characters (Unicode scalar values), not bytes, so a
//! 20-character Chinese name is as valid as a 20-character English one.

use super::InvalidInput;

use voxprint_api::limits::{MAX_DESC_CHARS, MAX_NAME_CHARS};

/// The name of a voiceprint group or a voiceprint: 1–20 characters after trimming surrounding
/// whitespace, fit to be shown (see [`displayable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub fn parse(text: &str) -> Result<Name, InvalidInput> {
        let name = displayable(text, "name")?;
        let chars = name.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(InvalidInput(format!("name must be at most {MAX_NAME_CHARS} characters, got {chars}")));
        }
        Ok(Name(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name or nickname of a team or user, given to `voxprint admin`: the character rules of a
/// [`Name`] (see [`displayable`]), without its length limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountName(String);

impl AccountName {
    /// `what` names the input in messages, e.g. `--name`.
    pub fn parse(text: &str, what: &str) -> Result<AccountName, InvalidInput> {
        Ok(AccountName(displayable(text, what)?.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `text` without surrounding whitespace, if it is fit to be shown as a name: not blank, no
/// control characters, no bidirectional embedding, override or isolate controls (they make text
/// display in another order than it is stored, so one name could pass for another), and at
/// least one visible character. The bidirectional marks U+200E, U+200F and U+061C are allowed
/// among visible characters: they only set the direction of the characters next to them, as
/// mixed Arabic or Hebrew and Latin names may need, and reorder nothing beyond them.
fn displayable<'a>(text: &'a str, what: &str) -> Result<&'a str, InvalidInput> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(InvalidInput(format!("{what} must not be empty or only whitespace")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(InvalidInput(format!("{what} must not contain control characters (newlines, tabs, NUL…)")));
    }
    if let Some(control) = trimmed.chars().find(|&c| is_bidi_control(c)) {
        return Err(InvalidInput(format!(
            "{what} must not contain bidirectional embedding, override or isolate controls (found U+{:04X}): \
             they make text display in another order than it is stored",
            control as u32
        )));
    }
    if trimmed.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
        let invisible = trimmed.chars().find(|&c| is_invisible(c)).unwrap_or(' ');
        return Err(InvalidInput(format!(
            "{what} must contain a visible character, not only invisible or formatting ones (found U+{:04X})",
            invisible as u32
        )));
    }
    Ok(trimmed)
}

/// U+202A–U+202E (embeddings, pop, overrides) and U+2066–U+2069 (isolates, pop).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Whether `c` draws nothing: a format character (general category Cf, complete as of Unicode
/// 15.1; new ones are rare) or another character that is default-ignorable or blank and so can
/// make a name look empty. A table rather than a Unicode crate: the non-Cf entries need one
/// anyway, and Cf alone is these few ranges.
fn is_invisible(c: char) -> bool {
    INVISIBLE.iter().any(|&(first, last)| (first..=last).contains(&c))
}

/// Inclusive ranges; "Cf" marks those of that category.
const INVISIBLE: [(char, char); 26] = [
    ('\u{00AD}', '\u{00AD}'),   // soft hyphen (Cf)
    ('\u{034F}', '\u{034F}'),   // combining grapheme joiner
    ('\u{0600}', '\u{0605}'),   // Arabic number signs (Cf)
    ('\u{061C}', '\u{061C}'),   // Arabic letter mark (Cf)
    ('\u{06DD}', '\u{06DD}'),   // Arabic end of ayah (Cf)
    ('\u{070F}', '\u{070F}'),   // Syriac abbreviation mark (Cf)
    ('\u{0890}', '\u{0891}'),   // Arabic pound and piastre marks above (Cf)
    ('\u{08E2}', '\u{08E2}'),   // Arabic disputed end of ayah (Cf)
    ('\u{115F}', '\u{1160}'),   // Hangul choseong and jungseong fillers
    ('\u{17B4}', '\u{17B5}'),   // Khmer inherent vowels
    ('\u{180B}', '\u{180F}'),   // Mongolian variation selectors; vowel separator U+180E (Cf)
    ('\u{200B}', '\u{200F}'),   // zero width space, non-joiner, joiner; LRM, RLM (Cf)
    ('\u{202A}', '\u{202E}'),   // bidirectional embeddings and overrides (Cf)
    ('\u{2060}', '\u{206F}'),   // word joiner, invisible operators, isolates, deprecated (Cf)
    ('\u{2800}', '\u{2800}'),   // Braille pattern blank
    ('\u{3164}', '\u{3164}'),   // Hangul filler
    ('\u{FE00}', '\u{FE0F}'),   // variation selectors
    ('\u{FEFF}', '\u{FEFF}'),   // zero width no-break space, byte order mark (Cf)
    ('\u{FFA0}', '\u{FFA0}'),   // halfwidth Hangul filler
    ('\u{FFF9}', '\u{FFFB}'),   // interlinear annotation (Cf)
    ('\u{110BD}', '\u{110BD}'), // Kaithi number sign (Cf)
    ('\u{110CD}', '\u{110CD}'), // Kaithi number sign above (Cf)
    ('\u{13430}', '\u{1343F}'), // Egyptian hieroglyph format controls (Cf)
    ('\u{1BCA0}', '\u{1BCA3}'), // shorthand format controls (Cf)
    ('\u{1D173}', '\u{1D17A}'), // musical symbol format controls (Cf)
    ('\u{E0000}', '\u{E0FFF}'), // tags (Cf), variation selectors supplement
];

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

    #[test]
    fn names_must_show_something() {
        for invisible in [
            "\u{200B}",
            "\u{FEFF}",
            "\u{2060}\u{200D}",
            "\u{200F}",
            "\u{3164}",
            "\u{115F}\u{1160}",
            "\u{FFA0}",
            "\u{180E}",
            "\u{00AD}",
            "\u{E0041}\u{E007F}",
            "\u{FE0F}",
            "\u{2800}",
            " \u{200B} \u{200C} ",
        ] {
            let err = Name::parse(invisible).unwrap_err().0;
            assert!(err.contains("visible character"), "{invisible:?}: {err}");
            let err = AccountName::parse(invisible, "--name").unwrap_err().0;
            assert!(err.starts_with("--name must contain a visible"), "{err}");
        }
        // Invisible characters among visible ones are the writer's business: joiners shape
        // emoji and Indic scripts, marks set the direction of mixed text.
        assert_eq!(Name::parse("a\u{200D}b").unwrap().as_str(), "a\u{200D}b");
        assert!(Name::parse("👩\u{200D}💻").is_ok());
        assert!(Name::parse("שלום\u{200F} 2").is_ok());
        assert!(Name::parse("\u{200E}Room").is_ok());
    }

    #[test]
    fn names_refuse_bidirectional_controls_anywhere() {
        for control in
            ['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}']
        {
            let name = format!("admin{control}txt.exe");
            let err = Name::parse(&name).unwrap_err().0;
            assert!(err.contains("bidirectional") && err.contains(&format!("U+{:04X}", control as u32)), "{err}");
            assert!(AccountName::parse(&name, "--nickname").unwrap_err().0.starts_with("--nickname must not"));
        }
    }

    #[test]
    fn visible_neighbours_of_the_invisible_ranges_are_visible() {
        for visible in
            ['a', '声', '\u{00AC}', '\u{00AE}', '\u{2070}', '\u{FEFE}', '\u{1D172}', '\u{1D17B}', '\u{E1000}']
        {
            assert!(!is_invisible(visible), "{visible:?}");
        }
    }

    #[test]
    fn account_names_have_the_character_rules_but_no_length_limit() {
        assert_eq!(AccountName::parse(" Research ", "--name").unwrap().as_str(), "Research");
        assert!(AccountName::parse(&"a".repeat(100), "--name").is_ok());
        assert_eq!(AccountName::parse(" ", "--name").unwrap_err().0, "--name must not be empty or only whitespace");
        assert!(AccountName::parse("a\tb", "--name").is_err());
    }
}
