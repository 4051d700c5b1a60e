//! Login, refresh-token rotation, reuse detection and logout.

use std::time::Duration;

use argon2::password_hash::{PasswordHasher as _, SaltString};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fixtures;
use crate::helpers::{
    PASSWORD, TestApp, Tokens, assert_problem, count_audited, pointers, release_together,
    retry_after, unique_email,
};

#[tokio::test]
async fn refresh_rotates_and_a_replayed_token_revokes_the_family() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    let first = app.signed_up_user(&email).await;

    let rotated = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": first.refresh }),
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let second: Tokens = rotated.json::<Value>().await.unwrap().into();
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(
        app.get("/api/v1/me", Some(&second.access)).await.status(),
        StatusCode::OK
    );

    // The old refresh token shows up again: someone copied it. End the whole session.
    let replay = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": first.refresh }),
        )
        .await;
    assert_problem(replay, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    let after = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": second.refresh }),
        )
        .await;
    assert_problem(after, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    assert_problem(
        app.get("/api/v1/me", Some(&second.access)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;

    // Other sessions of the account are untouched.
    let other = app.login(&email, PASSWORD).await;
    assert_eq!(other.status(), StatusCode::OK);

    let me: Value = app
        .get(
            "/api/v1/me",
            Some(&Tokens::from(other.json::<Value>().await.unwrap()).access),
        )
        .await
        .json()
        .await
        .unwrap();
    let actions = app.audit_actions(me["id"].as_str().unwrap()).await;
    assert!(
        actions.contains(&"auth.refresh_token_reused".to_string()),
        "{actions:?}"
    );

    let unknown = app
        .post(
            "/api/v1/auth/refresh",
            json!({ "refresh_token": "made-up" }),
        )
        .await;
    assert_problem(unknown, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn logout_ends_the_session_and_its_access_tokens_at_once() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    let tokens = app.signed_up_user(&email).await;
    let other: Tokens = app
        .login(&email, PASSWORD)
        .await
        .json::<Value>()
        .await
        .unwrap()
        .into();

    let logout = app
        .post(
            "/api/v1/auth/logout",
            json!({ "refresh_token": tokens.refresh }),
        )
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    app.assert_session_ended(&tokens).await;
    assert_eq!(
        app.get("/api/v1/me", Some(&other.access)).await.status(),
        StatusCode::OK,
        "other session lives"
    );

    // Logging out twice is harmless.
    let again = app
        .post(
            "/api/v1/auth/logout",
            json!({ "refresh_token": tokens.refresh }),
        )
        .await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn refresh_and_logout_name_a_missing_refresh_token() {
    let app = TestApp::spawn().await;
    for path in ["/api/v1/auth/refresh", "/api/v1/auth/logout"] {
        for body in [json!({}), json!({ "refresh_token": "  " })] {
            let response = app.post(path, body).await;
            let problem = assert_problem(
                response,
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            )
            .await;
            assert_eq!(
                pointers(&problem),
                vec![("/refresh_token".to_string(), "required".to_string())],
                "{path}"
            );
        }
    }
}

fn statuses(answers: &[reqwest::Response]) -> (usize, usize, usize) {
    let count = |status: StatusCode| answers.iter().filter(|a| a.status() == status).count();
    (
        count(StatusCode::UNAUTHORIZED),
        count(StatusCode::TOO_MANY_REQUESTS),
        count(StatusCode::OK),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_logins_checks_no_more_passwords_than_the_account_allows() {
    let _bursting = crate::helpers::cores_to_itself().await;
    let app = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_ACCOUNT", "10")
        .set("PASSWORD_HASHING_QUEUE", "100")
        .spawn()
        .await;
    let account = fixtures::account().insert(&app).await;
    let before = app.state.hasher.computations();
    // 60 guesses at once, the right password hidden among them.
    let answers = release_together(&app, 60, |i| {
        let password = if i == 59 {
            PASSWORD.to_string()
        } else {
            format!("Falsch-{i}-Passwort")
        };
        app.post_later(
            "/api/v1/auth/login",
            None,
            json!({ "email": account.email, "password": password }),
        )
    })
    .await;
    let (wrong, limited, right) = statuses(&answers);
    assert_eq!(wrong + limited + right, 60, "only 401, 429 and 200 answers");
    assert_eq!(
        app.state.hasher.computations() - before,
        (wrong + right) as u64,
        "every checked password cost one hash"
    );
    // The allowance of ten holds for the whole burst; a success (if the right guess was
    // among the first ten) resets it, as a success always does.
    if right == 0 {
        assert_eq!((wrong, limited), (10, 50));
    } else {
        assert!(wrong <= 19, "{wrong} passwords checked");
    }
    let failures = app
        .audit_actions(&account.id)
        .await
        .into_iter()
        .filter(|a| a == "auth.login_failed")
        .count();
    assert_eq!(failures, wrong);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_from_one_client_checks_no_more_passwords_than_the_client_allows() {
    let _bursting = crate::helpers::cores_to_itself().await;
    let app = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_IP", "10")
        .set("PASSWORD_HASHING_QUEUE", "100")
        .spawn()
        .await;
    let answers = release_together(&app, 60, |_| {
        app.post_later(
            "/api/v1/auth/login",
            None,
            json!({ "email": unique_email(), "password": "Falsches-Passwort-1" }),
        )
    })
    .await;
    assert_eq!(statuses(&answers), (10, 50, 0));
    assert_eq!(
        count_audited(&app, "auth.login_failed").await,
        10,
        "only the allowed attempts were checked"
    );
    let limited = answers
        .iter()
        .find(|a| a.status() == StatusCode::TOO_MANY_REQUESTS)
        .unwrap();
    assert!((1..=900).contains(&retry_after(limited)));
}

#[tokio::test]
async fn a_login_in_flight_fails_when_the_password_is_reset_meanwhile() {
    let app = TestApp::builder()
        .set("PASSWORD_HASHING_THREADS", "1")
        .set("PASSWORD_HASHING_QUEUE", "200")
        .set("RATE_LIMIT_LOGIN_PER_IP", "1000")
        .spawn()
        .await;
    let victim = fixtures::account().insert(&app).await;
    // A queue of other logins keeps the victim's login waiting for its hash, after it
    // has read the account and before it opens its session.
    let congestion: Vec<_> = (0..60)
        .map(|_| {
            tokio::spawn(app.post_later(
                "/api/v1/auth/login",
                None,
                json!({ "email": unique_email(), "password": "Falsches-Passwort-1" }),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let in_flight = tokio::spawn(app.post_later(
        "/api/v1/auth/login",
        None,
        json!({ "email": victim.email, "password": PASSWORD }),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !in_flight.is_finished(),
        "the login is still waiting for its hash"
    );

    // Meanwhile a password reset commits: a new hash, every session ended.
    let new_hash = argon2::Argon2::default()
        .hash_password(
            b"Neues-Passwort-2025",
            &SaltString::generate(&mut rand::rngs::OsRng),
        )
        .unwrap()
        .to_string();
    let id = victim.id.clone();
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use firmenportal::schema::accounts;
        diesel::update(accounts::table.find(id))
            .set(accounts::password_hash.eq(new_hash))
            .execute(conn)
            .unwrap();
    })
    .await;

    let answer = in_flight.await.unwrap();
    assert_problem(answer, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    for request in congestion {
        request.await.unwrap();
    }
    assert_eq!(
        app.login(&victim.email, "Neues-Passwort-2025")
            .await
            .status(),
        StatusCode::OK
    );
}

/// A login's two statements commit asynchronously on PostgreSQL (`db::ASYNC_COMMIT`: a
/// database crash may lose the newest sessions, whose holders log in again). The setting
/// must end with each statement: were it left on the pooled connection, every later
/// write there (an order, a deletion) would commit asynchronously too.
#[tokio::test]
async fn a_login_leaves_its_database_connection_committing_durably() {
    // One connection: the one the login's statements ran on is the one asked below.
    let app = TestApp::builder()
        .set("DATABASE_POOL_SIZE", "1")
        .spawn()
        .await;
    if !app.database.is_postgres() {
        // SQLite has no asynchronous commit; its login writes in one transaction.
        return;
    }
    let email = unique_email();
    let tokens = app.signed_up_user(&email).await;
    let wrong = app.login(&email, "Falsches-Passwort-2026").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        synchronous_commit: String,
    }
    let setting = app
        .state
        .db
        .run(|conn| {
            let firmenportal::db::DbConnection::Postgres(pg) = conn else {
                unreachable!("checked above")
            };
            Ok(diesel::RunQueryDsl::get_result::<Setting>(
                diesel::sql_query("SHOW synchronous_commit"),
                pg,
            )?)
        })
        .await
        .unwrap();
    assert_eq!(setting.synchronous_commit, "on");
    // The session it opened works.
    assert_eq!(app.me(&tokens.access).await["email"], email.as_str());
}

#[tokio::test]
async fn overlong_passwords_are_field_errors_and_cost_no_hash() {
    let app = TestApp::spawn().await;
    let account = fixtures::account().insert(&app).await;
    let before = app.state.hasher.computations();
    let long = "x".repeat(129);
    let login = app.login(&account.email, &long).await;
    let body = assert_problem(login, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        pointers(&body),
        vec![("/password".into(), "too_long".into())]
    );
    let missing = app.post("/api/v1/auth/login", json!({})).await;
    let body = assert_problem(
        missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let mut found = pointers(&body);
    found.sort();
    assert_eq!(
        found,
        vec![
            ("/email".to_string(), "required".to_string()),
            ("/password".to_string(), "required".to_string())
        ]
    );
    assert_eq!(app.state.hasher.computations(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_hashing_queue_answers_503_at_once_with_retry_after() {
    let app = TestApp::builder()
        .set("PASSWORD_HASHING_THREADS", "1")
        .set("PASSWORD_HASHING_QUEUE", "2")
        .set("RATE_LIMIT_LOGIN_PER_IP", "1000")
        .spawn()
        .await;
    let answers = release_together(&app, 16, |_| {
        app.post_later(
            "/api/v1/auth/login",
            None,
            json!({ "email": unique_email(), "password": "Falsches-Passwort-1" }),
        )
    })
    .await;
    let checked = answers
        .iter()
        .filter(|a| a.status() == StatusCode::UNAUTHORIZED)
        .count();
    let busy: Vec<_> = answers
        .into_iter()
        .filter(|a| a.status() == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert_eq!(checked + busy.len(), 16);
    assert!(
        !busy.is_empty(),
        "a queue of two cannot take sixteen at once"
    );
    assert_eq!(app.state.hasher.computations(), checked as u64);
    for answer in busy {
        assert!(retry_after(&answer) >= 1);
        assert_problem(answer, StatusCode::SERVICE_UNAVAILABLE, "service_busy").await;
    }
}
