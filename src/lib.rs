//! Firmenportal: the backend of a public-transport operator's job-ticket portal
//! (Deutschlandticket Job). See `README.md` and `../shared/DESIGN.md`.

pub mod accounts;
pub mod api;
pub mod applications;
pub mod audit;
pub mod auth;
pub mod bulk_uploads;
pub mod clock;
pub mod companies;
pub mod config;
pub mod contracts;
pub mod customer_codes;
pub mod customers;
pub mod dashboard;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod http;
pub mod i18n;
pub mod import;
pub mod mail;
pub mod memberships;
pub mod openapi;
pub mod operators;
pub mod prices;
pub mod rate_limit;
pub mod retention;
pub mod schema;
pub mod startup;
pub mod state;
pub mod statements;
pub mod subscriptions;
pub mod system;
pub mod telemetry;
pub mod tickets;
