//! The account capability: registration, sessions, passwords and the own account.

mod passwords;
mod profile;
mod registration;
mod sessions;
