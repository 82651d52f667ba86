//! Domain types that parse untrusted input once. A handler that holds a `Name` or a
//! `Page` knows it is valid; the rest of the code never re-checks.
//!
//! Parse failures are `InvalidInput`: a message for the API user that names the parameter and
//! says what is accepted. The HTTP layer turns it into code 4000.

mod id;
mod page;
mod permission;
mod text;
pub mod token;
mod url;

pub use id::Id;
pub use page::Page;
pub use permission::{Permission, PermissionSet};
pub use text::{AccountName, Description, Name};
pub use url::WebUrl;

/// Input that does not satisfy a rule; the message is shown to the caller as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput(pub String);

impl std::fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidInput {}
