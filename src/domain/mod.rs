//! Value types shared by the capabilities, built only from validated input ("parse,
//! don't validate"): each `parse` returns the value or a field error at the given JSON
//! pointer.

pub mod address;
pub mod birth_date;
pub mod choice;
pub mod date;
pub mod email;
pub mod fold;
pub mod ids;
pub mod money;
pub mod month;
pub mod name;
pub mod number;
pub mod phone;
pub mod postal_code;
pub mod text;

pub use address::{Address, AddressInput};
pub use birth_date::BirthDate;
pub use email::EmailAddress;
pub use ids::{AccountId, SessionId};
pub use money::{Cents, Percent};
pub use name::PersonName;
pub use number::RecordNumber;
pub use phone::PhoneNumber;
pub use postal_code::PostalCode;
