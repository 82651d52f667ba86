//! Pagination as the API specifies it: `page_num` ≥ 1 (default 1), `page_size` 1..=200
//! (default 10).

use super::InvalidInput;

use voxprint_api::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub num: i64,
    pub size: i64,
}

impl Page {
    /// Parses the two optional query values (absent or empty = default).
    pub fn parse(page_num: Option<&str>, page_size: Option<&str>) -> Result<Page, InvalidInput> {
        let num = match page_num {
            None => 1,
            Some(text) => parse_in_range(text, "page_num", 1, i64::MAX, "an integer ≥ 1")?,
        };
        let size = match page_size {
            None => DEFAULT_PAGE_SIZE,
            Some(text) => parse_in_range(text, "page_size", 1, MAX_PAGE_SIZE, &format!("an integer from 1 to {MAX_PAGE_SIZE}"))?,
        };
        Ok(Page { num, size })
    }

    /// Rows to skip; saturates for absurd page numbers (which then simply give an empty page).
    pub fn offset(&self) -> i64 {
        (self.num - 1).saturating_mul(self.size)
    }
}

fn parse_in_range(text: &str, name: &str, min: i64, max: i64, expected: &str) -> Result<i64, InvalidInput> {
    let digits_only = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit() || b == b'-');
    match text.parse::<i64>() {
        Ok(value) if digits_only && (min..=max).contains(&value) => Ok(value),
        _ => Err(InvalidInput(format!("{name} must be {expected}, got {text:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        assert_eq!(Page::parse(None, None), Ok(Page { num: 1, size: 10 }));
    }

    #[test]
    fn bounds() {
        assert_eq!(Page::parse(Some("3"), Some("200")), Ok(Page { num: 3, size: 200 }));
        assert!(Page::parse(Some("0"), None).unwrap_err().0.contains("page_num"));
        assert!(Page::parse(Some("-1"), None).unwrap_err().0.contains("page_num"));
        assert!(Page::parse(None, Some("0")).unwrap_err().0.contains("page_size"));
        assert!(Page::parse(None, Some("201")).unwrap_err().0.contains("page_size"));
        assert!(Page::parse(None, Some("ten")).unwrap_err().0.contains("page_size"));
        assert!(Page::parse(Some("1.5"), None).unwrap_err().0.contains("page_num"));
        assert!(Page::parse(Some("99999999999999999999"), None).is_err());
    }

    #[test]
    fn offset_saturates() {
        assert_eq!(Page { num: 3, size: 10 }.offset(), 20);
        assert_eq!(Page { num: i64::MAX, size: 200 }.offset(), i64::MAX);
    }
}
