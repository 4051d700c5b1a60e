//! Value types shared by the capabilities, built only from validated input ("parse,
//! don't validate"): each `parse` returns the value or a field error at the given JSON
//! pointer.

pub mod birth_date;
pub mod email;
pub mod ids;
pub mod name;
pub mod postal_code;

pub use birth_date::BirthDate;
pub use email::EmailAddress;
pub use ids::{AccountId, SessionId};
pub use name::PersonName;
pub use postal_code::PostalCode;
