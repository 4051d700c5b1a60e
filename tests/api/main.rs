//! Integration tests: the HTTP API over a real socket against a real database, each test
//! on a fresh one. SQLite by default; PostgreSQL when `TEST_DATABASE_URL` is set. The
//! modules mirror `src/`.

mod fixtures;
mod helpers;
mod smtp;

mod accounts;
mod admin;
mod applications;
mod audit;
mod auth;
mod bulk_uploads;
mod cluster;
mod contention;
mod contracts;
mod customer_codes;
mod dashboard;
mod db;
mod http;
mod idempotency;
mod import;
mod mail;
mod memberships;
mod metrics;
mod openapi;
mod operators;
mod paging;
mod privacy;
mod rate_limit;
mod read_path;
mod retention;
mod shutdown;
mod statements;
mod subscriptions;
mod system;
mod tickets;
mod traces;
mod webhooks;
