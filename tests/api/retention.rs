//! Retention: the background job deletes what no longer matters, after its period, in
//! one instance per period.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use firmenportal::db::{DbConnection, DbPool};
use firmenportal::schema::{
    audit_log, email_outbox, email_tokens, rate_limits, refresh_tokens, sessions,
};
use reqwest::StatusCode;
use serde_json::json;

use crate::fixtures;
use crate::helpers::{TestApp, Tokens, assert_problem};

fn days_ago(days: i64) -> NaiveDateTime {
    chrono::Utc::now().naive_utc() - chrono::Duration::days(days)
}

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn insert_outbox(conn: &mut DbConnection, key: &str, status: &str, created: NaiveDateTime) {
    let finished = (status == "failed").then_some(created);
    // A pending mail waits for a retry tomorrow, out of the worker's way.
    let next_attempt = if status == "pending" {
        chrono::Utc::now().naive_utc() + chrono::Duration::days(1)
    } else {
        created
    };
    diesel::insert_into(email_outbox::table)
        .values((
            email_outbox::id.eq(key),
            email_outbox::recipient.eq("alt@example.de"),
            email_outbox::template.eq("account.verification"),
            email_outbox::lang.eq("de"),
            email_outbox::params.eq("{}"),
            email_outbox::subject.eq(""),
            email_outbox::status.eq(status),
            email_outbox::attempts.eq(1),
            email_outbox::next_attempt_at.eq(next_attempt),
            email_outbox::created_at.eq(created),
            email_outbox::failed_at.eq(finished),
        ))
        .execute(conn)
        .unwrap();
}

fn insert_token(
    conn: &mut DbConnection,
    account_id: &str,
    purpose: &str,
    expires: NaiveDateTime,
    used: Option<NaiveDateTime>,
) -> String {
    let key = id();
    diesel::insert_into(email_tokens::table)
        .values((
            email_tokens::id.eq(&key),
            email_tokens::account_id.eq(account_id),
            email_tokens::purpose.eq(purpose),
            email_tokens::token_hash.eq(id()),
            email_tokens::expires_at.eq(expires),
            email_tokens::used_at.eq(used),
            email_tokens::created_at.eq(expires - chrono::Duration::minutes(30)),
        ))
        .execute(conn)
        .unwrap();
    key
}

fn insert_session(
    conn: &mut DbConnection,
    account_id: &str,
    expires: NaiveDateTime,
    revoked: Option<NaiveDateTime>,
) -> String {
    let key = id();
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(&key),
            sessions::account_id.eq(account_id),
            sessions::created_at.eq(expires - chrono::Duration::days(30)),
            sessions::expires_at.eq(expires),
            sessions::revoked_at.eq(revoked),
        ))
        .execute(conn)
        .unwrap();
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(id()),
            refresh_tokens::session_id.eq(&key),
            refresh_tokens::token_hash.eq(id()),
            refresh_tokens::created_at.eq(expires - chrono::Duration::days(30)),
        ))
        .execute(conn)
        .unwrap();
    key
}

fn insert_audit(conn: &mut DbConnection, key: &str, occurred: NaiveDateTime) {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::id.eq(key),
            audit_log::occurred_at.eq(occurred),
            audit_log::action.eq("auth.login_succeeded"),
        ))
        .execute(conn)
        .unwrap();
}

fn insert_rate_limit(conn: &mut DbConnection, key: &str, ends: NaiveDateTime) {
    diesel::insert_into(rate_limits::table)
        .values((
            rate_limits::key.eq(key),
            rate_limits::window_start.eq(ends - chrono::Duration::minutes(15)),
            rate_limits::expires_at.eq(ends),
            rate_limits::hits.eq(3),
        ))
        .execute(conn)
        .unwrap();
}

/// The ids of a table that are still there, among those asked for.
fn remaining(conn: &mut DbConnection, table: &str, ids: &[String]) -> Vec<String> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let column = if table == "rate_limits" { "key" } else { "id" };
    let rows: Vec<Row> = diesel::sql_query(format!("SELECT {column} AS id FROM {table}"))
        .load(conn)
        .unwrap();
    ids.iter()
        .filter(|wanted| rows.iter().any(|row| &row.id == *wanted))
        .cloned()
        .collect()
}

#[tokio::test]
async fn records_go_after_their_period_and_recent_ones_stay() {
    let app = TestApp::builder()
        .set("RETENTION_INTERVAL_SECS", "1")
        .spawn()
        .await;
    let account = fixtures::account().insert(&app).await;
    // A live session whose refresh token was rotated: replaying the old one must still
    // end the session after every cleanup.
    let live: Tokens = account.login(&app).await;
    let rotated = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": live.refresh }),
        )
        .await;
    let current: Tokens = rotated.json::<serde_json::Value>().await.unwrap().into();

    let company = fixtures::company().insert(&app).await;
    let account_id = account.id.clone();
    let (old, recent) = app
        .with_db(move |conn| {
            let now = chrono::Utc::now().naive_utc();
            let mut old: Vec<(&str, String)> = Vec::new();
            let mut recent: Vec<(&str, String)> = Vec::new();
            insert_rate_limit(conn, "login:ip:203.0.113.1", now - chrono::Duration::seconds(1));
            old.push(("rate_limits", "login:ip:203.0.113.1".into()));
            insert_rate_limit(conn, "login:ip:203.0.113.2", now + chrono::Duration::minutes(5));
            recent.push(("rate_limits", "login:ip:203.0.113.2".into()));
            for (status, age, gone) in [
                ("sent", 31, true),
                ("sent", 29, false),
                ("dropped", 31, true),
                ("failed", 91, true),
                ("failed", 89, false),
                ("pending", 400, false),
            ] {
                let key = id();
                insert_outbox(conn, &key, status, days_ago(age));
                if gone { &mut old } else { &mut recent }.push(("email_outbox", key));
            }
            // One row per account and purpose: a second account carries the other cases.
            let other = id();
            diesel::sql_query(format!(
                "INSERT INTO accounts (id, email, password_hash, first_name, last_name, operator, \
                 tokens_valid_after, created_at, updated_at) \
                 SELECT '{other}', 'zweite@example.de', password_hash, first_name, last_name, operator, \
                 tokens_valid_after, created_at, updated_at FROM accounts WHERE id = '{account_id}'"
            ))
            .execute(conn)
            .unwrap();
            old.push(("email_tokens", insert_token(conn, &account_id, "verify_email", days_ago(8), Some(days_ago(8)))));
            old.push(("email_tokens", insert_token(conn, &account_id, "reset_password", days_ago(8), None)));
            recent.push(("email_tokens", insert_token(conn, &other, "verify_email", days_ago(6), Some(days_ago(6)))));
            recent.push(("email_tokens", insert_token(conn, &other, "reset_password", now + chrono::Duration::minutes(20), None)));
            old.push(("sessions", insert_session(conn, &account_id, days_ago(31), None)));
            old.push(("sessions", insert_session(conn, &account_id, days_ago(-5), Some(days_ago(31)))));
            recent.push(("sessions", insert_session(conn, &account_id, days_ago(29), None)));
            recent.push(("sessions", insert_session(conn, &account_id, days_ago(-5), Some(days_ago(29)))));
            for (age, gone) in [(401, true), (399, false)] {
                let key = id();
                insert_audit(conn, &key, days_ago(age));
                if gone { &mut old } else { &mut recent }.push(("audit_log", key));
            }
            // Webhook deliveries: finished ones after 30 days; a pending one waits on.
            let hook = id();
            diesel::sql_query(format!(
                "INSERT INTO webhooks (id, company_id, url, description, events, enabled, secret, \
                 created_at, updated_at) SELECT '{hook}', '{}', 'https://hr.example.com/hook', '', \
                 'subscription.created', false, 'whsec_AAAA', created_at, updated_at FROM accounts \
                 WHERE id = '{account_id}'",
                company.id
            ))
            .execute(conn)
            .unwrap();
            for (status, age, gone) in [
                ("delivered", 31, true),
                ("delivered", 29, false),
                ("failed", 31, true),
                ("pending", 40, false),
            ] {
                use firmenportal::webhooks::repo::{DeliveryRow, insert_deliveries};
                use firmenportal::webhooks::types::EventType;
                let mut row = DeliveryRow::new(&hook, "msg_x", EventType::Ping, "{}", None, days_ago(age));
                row.status = status.into();
                insert_deliveries(conn, std::slice::from_ref(&row)).unwrap();
                if gone { &mut old } else { &mut recent }.push(("webhook_deliveries", row.id));
            }
            // Idempotency keys: kept for 24 hours.
            for (hours, gone) in [(25, true), (23, false)] {
                let key = id();
                diesel::sql_query(format!(
                    "INSERT INTO idempotency_keys (id, request_hash, status, created_at, locked_until) \
                     SELECT '{key}', 'h', 'done', created_at, created_at FROM accounts WHERE id = '{account_id}'"
                ))
                .execute(conn)
                .unwrap();
                diesel::update(firmenportal::schema::idempotency_keys::table.find(&key))
                    .set(firmenportal::schema::idempotency_keys::created_at.eq(now - chrono::Duration::hours(hours)))
                    .execute(conn)
                    .unwrap();
                if gone { &mut old } else { &mut recent }.push(("idempotency_keys", key));
            }
            (old, recent)
        })
        .await;

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let old = old.clone();
        let left: Vec<String> = app
            .with_db(move |conn| {
                old.iter()
                    .flat_map(|(table, key)| remaining(conn, table, std::slice::from_ref(key)))
                    .collect()
            })
            .await;
        if left.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still there: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let recent_gone = {
        let recent = recent.clone();
        app.with_db(move |conn| {
            recent
                .into_iter()
                .filter(|(table, key)| remaining(conn, table, std::slice::from_ref(key)).is_empty())
                .collect::<Vec<_>>()
        })
        .await
    };
    assert!(
        recent_gone.is_empty(),
        "recent records stay: {recent_gone:?} went"
    );
    let orphaned_refresh_tokens: i64 = app
        .with_db(|conn| {
            refresh_tokens::table
                .left_join(sessions::table)
                .filter(sessions::id.is_null())
                .count()
                .get_result(conn)
                .unwrap()
        })
        .await;
    assert_eq!(
        orphaned_refresh_tokens, 0,
        "refresh tokens went with their sessions"
    );

    // Reuse detection still works for the live session.
    let replay = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": live.refresh }),
        )
        .await;
    assert_problem(replay, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    let after = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": current.refresh }),
        )
        .await;
    assert_problem(after, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[test]
fn of_several_instances_exactly_one_runs_each_period() {
    let database = crate::helpers::TestDatabase::create();
    let url = database.url.clone();
    let config = firmenportal::config::Config::from_lookup(|name| {
        (name == "DATABASE_URL").then(|| url.clone())
    })
    .unwrap();
    let pools: Vec<DbPool> = (0..4).map(|_| DbPool::new(&config).unwrap()).collect();
    pools[0].migrate().unwrap();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(pools.len()));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let now = chrono::Utc::now().naive_utc();
    let winners: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = pools
            .iter()
            .map(|pool| {
                let (barrier, runtime) = (barrier.clone(), &runtime);
                scope.spawn(move || {
                    barrier.wait();
                    runtime
                        .block_on(pool.run(move |conn| {
                            firmenportal::retention::claim_run(conn, Duration::from_secs(3600), now)
                        }))
                        .unwrap()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| usize::from(handle.join().unwrap()))
            .sum()
    });
    assert_eq!(winners, 1);
    // Within the period nobody runs again; after it, one does.
    let again = runtime
        .block_on(pools[1].run(move |conn| {
            firmenportal::retention::claim_run(
                conn,
                Duration::from_secs(3600),
                now + chrono::Duration::minutes(59),
            )
        }))
        .unwrap();
    assert!(!again);
    let later = runtime
        .block_on(pools[2].run(move |conn| {
            firmenportal::retention::claim_run(
                conn,
                Duration::from_secs(3600),
                now + chrono::Duration::minutes(61),
            )
        }))
        .unwrap();
    assert!(later);
}
