//! Links the server hands out as they were given, such as a user's avatar: the console and
//! clients put them into pages, so only plain http(s) URLs are taken.

use super::InvalidInput;

/// The longest URL accepted.
const MAX_URL_CHARS: usize = 2048;

/// An absolute `http://` or `https://` URL with a host, no whitespace and no control characters;
/// or empty, meaning "none".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUrl(String);

impl WebUrl {
    /// `what` names the input in messages, e.g. `--avatar-url`.
    pub fn parse(text: &str, what: &str) -> Result<WebUrl, InvalidInput> {
        if text.is_empty() {
            return Ok(WebUrl(String::new()));
        }
        let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
        let host = rest.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or(""));
        let plain = !text.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '"' | '<' | '>' | '\\'));
        match host {
            Some(host) if !host.is_empty() && plain && text.chars().count() <= MAX_URL_CHARS => {
                Ok(WebUrl(text.to_owned()))
            }
            _ => Err(InvalidInput(format!(
                "{what} must be empty or an http:// or https:// URL with a host, at most {MAX_URL_CHARS} characters, \
                 without spaces, quotes or angle brackets; got {text:?}"
            ))),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_empty_and_plain_web_urls() {
        for good in ["", "https://example.com/a.png", "http://10.0.0.1:8080/x?y=1#z"] {
            assert_eq!(WebUrl::parse(good, "--avatar-url").unwrap().as_str(), good);
        }
    }

    #[test]
    fn refuses_other_schemes_and_markup() {
        for bad in [
            "javascript:alert(1)",
            "data:image/png;base64,AA",
            "https:///x",
            "ftp://h/x",
            "https://h/\"><script>",
            "https://h/a b",
            "example.com",
        ] {
            let err = WebUrl::parse(bad, "--avatar-url").unwrap_err();
            assert!(err.0.contains("--avatar-url"), "{bad}: {err}");
        }
    }
}
