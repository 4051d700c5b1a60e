//! The Self-Service's subscriptions: linking, the Aboverwaltung and the holder's
//! customer data.

mod customer;
mod linking;
mod lists;
mod overview;
