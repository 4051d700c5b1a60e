//! Integration tests: the HTTP API over a real socket against a real database.
//! SQLite by default; PostgreSQL when `TEST_DATABASE_URL` is set.

mod helpers;
mod smtp;

mod accounts;
mod db;
mod errors;
mod mail;
mod openapi;
mod rate_limits;
mod sessions;
mod system;
