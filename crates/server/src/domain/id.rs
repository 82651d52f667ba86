//! Resource IDs: the API crate's [`Id`], whose parse errors are input errors here.

pub use voxprint_api::Id;
use voxprint_api::InvalidId;

use super::InvalidInput;

impl From<InvalidId> for InvalidInput {
    fn from(err: InvalidId) -> InvalidInput {
        InvalidInput(err.0)
    }
}
