//! Idempotency-Key: a retried POST gets its first answer again and changes nothing; the
//! key is the account's (or the client address's), holds across instances and restarts,
//! and a key in use, reused for another body or malformed answers its own problem.

use std::time::Duration;

use reqwest::{RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};

use crate::applications::{employee, employer, month_ahead, order};
use crate::helpers::{
    PASSWORD, TestApp, assert_problem, count_rows, count_where, retry_after, unique_email,
};

/// The status, headers that matter and body of an answer.
#[derive(Debug, Clone, PartialEq)]
struct Answer {
    status: StatusCode,
    location: Option<String>,
    replayed: bool,
    body: Value,
}

async fn answer(response: Response) -> Answer {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    };
    let (status, location, replayed) = (
        response.status(),
        header("location"),
        header("idempotent-replayed").as_deref() == Some("true"),
    );
    Answer {
        status,
        location,
        replayed,
        body: response.json().await.unwrap_or(Value::Null),
    }
}

/// Sends `request` until it is not `409 idempotency_key_in_use`, waiting `Retry-After`
/// between tries, as a client honouring it does.
async fn honouring_retry_after(request: impl Fn() -> RequestBuilder) -> Answer {
    for _ in 0..20 {
        let response = request().send().await.unwrap();
        if response.status() != StatusCode::CONFLICT {
            return answer(response).await;
        }
        let wait = retry_after(&response);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "idempotency_key_in_use");
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
    panic!("the key stayed in use");
}

#[tokio::test]
async fn ten_identical_orders_with_one_key_make_one_application_and_ten_equal_answers() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let (_, tokens) = employee(&app).await;
    let body = order(&employer.code, &month_ahead(2));
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(10));
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (client, url, token, body, barrier) = (
                app.client.clone(),
                app.url("/api/v1/me/applications"),
                tokens.access.clone(),
                body.clone(),
                barrier.clone(),
            );
            tokio::spawn(async move {
                barrier.wait().await;
                honouring_retry_after(|| {
                    client
                        .post(&url)
                        .bearer_auth(&token)
                        .header("Idempotency-Key", "bestellung-2026-01")
                        .json(&body)
                })
                .await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert_eq!(count_rows(&app, "applications").await, 1);
    let first = answers
        .iter()
        .find(|a| !a.replayed)
        .expect("one ran")
        .clone();
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(answers.iter().filter(|a| !a.replayed).count(), 1);
    for answer in &answers {
        assert_eq!(
            (&answer.status, &answer.location, &answer.body),
            (&first.status, &first.location, &first.body)
        );
    }
    // One e-mail to the company's admin, not ten.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.mail.to(&employer.admin.account.email).len(), 1);
}

async fn register(app: &TestApp, key: &str, email: &str, first_name: &str) -> Response {
    app.client
        .post(app.url("/api/v1/auth/register"))
        .header("Idempotency-Key", key)
        .json(&json!({
            "email": email, "password": PASSWORD, "password_confirmation": PASSWORD,
            "first_name": first_name, "last_name": "Wiederholt",
        }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn one_key_with_another_body_is_refused_and_the_first_body_replays() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    let first = answer(register(&app, "anmeldung-1", &email, "Max").await).await;
    assert_eq!(
        (first.status, first.replayed),
        (StatusCode::ACCEPTED, false)
    );
    assert_problem(
        register(&app, "anmeldung-1", &email, "Moritz").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    let again = answer(register(&app, "\"anmeldung-1\"", &email, "Max").await).await;
    assert_eq!(
        again,
        Answer {
            replayed: true,
            ..first
        }
    );
    assert_eq!(count_where(&app, "accounts", "first_name = 'Max'").await, 1);
    assert_eq!(
        count_where(&app, "accounts", "first_name = 'Moritz'").await,
        0
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.mail.to(&email).len(), 1, "one verification e-mail");
}

#[tokio::test]
async fn the_same_key_of_two_accounts_is_two_keys() {
    let app = TestApp::spawn().await;
    let (one, other) = (employer(&app).await, employer(&app).await);
    let generate = |admin: &crate::fixtures::CompanyUser, contract_id: &str| {
        app.client
            .post(app.url(&format!("/api/v1/contracts/{contract_id}/customer-codes")))
            .bearer_auth(admin.access())
            .header("Idempotency-Key", "neuer-code")
            .json(&json!({"valid_until": month_ahead(3) + "-01"}))
            .send()
    };
    let first = answer(generate(&one.admin, &one.contract_id).await.unwrap()).await;
    let second = answer(generate(&other.admin, &other.contract_id).await.unwrap()).await;
    assert_eq!(
        (first.status, second.status),
        (StatusCode::CREATED, StatusCode::CREATED)
    );
    assert!(!second.replayed);
    assert_ne!(first.body["code"], second.body["code"]);
    let replayed = answer(generate(&one.admin, &one.contract_id).await.unwrap()).await;
    assert_eq!(
        replayed,
        Answer {
            replayed: true,
            ..first
        }
    );
}

#[tokio::test]
async fn a_key_holds_across_a_restart_and_on_another_instance() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    let first = answer(register(&app, "neustart", &email, "Max").await).await;
    let restarted = TestApp::builder()
        .database(app.database.clone())
        .set("DATA_DIR", &app.data_dir.path().display().to_string())
        .spawn()
        .await;
    let again = answer(register(&restarted, "neustart", &email, "Max").await).await;
    assert_eq!(
        again,
        Answer {
            replayed: true,
            ..first
        }
    );
    assert_eq!(count_rows(&app, "accounts").await, 1);
}

#[tokio::test]
async fn a_staff_list_uploaded_twice_with_one_key_makes_one_report() {
    let app = TestApp::spawn().await;
    let employer = employer(&app).await;
    let upload = || {
        // reqwest draws a new boundary for every form: the same fields and bytes are
        // the same request whatever the boundary.
        let part = reqwest::multipart::Part::bytes(crate::bulk_uploads::german_csv())
            .file_name("mitarbeiter.csv");
        app.client
            .post(app.url(&format!(
                "/api/v1/contracts/{}/bulk-uploads",
                employer.contract_id
            )))
            .bearer_auth(employer.admin.access())
            .header("Idempotency-Key", "liste-januar")
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
    };
    let first = answer(upload().await.unwrap()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = answer(upload().await.unwrap()).await;
    assert_eq!(
        second,
        Answer {
            replayed: true,
            ..first
        }
    );
    assert_eq!(count_rows(&app, "bulk_uploads").await, 1);
    // Another file under the same key is another request.
    let other = reqwest::multipart::Part::bytes(b"Personalnummer\r\n".to_vec()).file_name("x.csv");
    let refused = app
        .client
        .post(app.url(&format!(
            "/api/v1/contracts/{}/bulk-uploads",
            employer.contract_id
        )))
        .bearer_auth(employer.admin.access())
        .header("Idempotency-Key", "liste-januar")
        .multipart(reqwest::multipart::Form::new().part("file", other))
        .send()
        .await
        .unwrap();
    assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
}

#[tokio::test]
async fn malformed_keys_are_refused_before_anything_happens() {
    let app = TestApp::spawn().await;
    for key in [
        String::new(),
        "   ".to_string(),
        "k".repeat(256),
        "\"offen".to_string(),
        "\"a\" b".to_string(),
    ] {
        let response = register(&app, &key, &unique_email(), "Max").await;
        assert_problem(response, StatusCode::BAD_REQUEST, "idempotency_key_invalid").await;
    }
    assert_eq!(count_rows(&app, "accounts").await, 0);
    assert_eq!(count_rows(&app, "idempotency_keys").await, 0);
    // 255 printable characters are a key.
    let longest = register(&app, &"k".repeat(255), &unique_email(), "Max").await;
    assert_eq!(longest.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn refusals_that_say_nothing_final_are_not_kept_and_sessions_ignore_the_key() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_EMAIL_PER_ADDRESS", "1")
        .spawn()
        .await;
    let email = unique_email();
    assert_eq!(
        register(&app, "erste", &email, "Max").await.status(),
        StatusCode::ACCEPTED
    );
    // A 429 is not kept: the retry runs again (and is refused again, by the limit).
    for _ in 0..2 {
        let limited = register(&app, "zweite", &email, "Max").await;
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(limited.headers().get("idempotent-replayed").is_none());
    }
    // A refused token is not kept either.
    let refused = app
        .client
        .post(app.url("/api/v1/me/applications"))
        .bearer_auth("kein.gueltiges.token")
        .header("Idempotency-Key", "dritte")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(count_rows(&app, "idempotency_keys").await, 1);

    // Logins ignore the header: each is a new session.
    let account = crate::fixtures::account().insert(&app).await;
    let login = || {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("Idempotency-Key", "anmelden")
            .json(&json!({"email": account.email, "password": PASSWORD}))
            .send()
    };
    let (one, two) = (login().await.unwrap(), login().await.unwrap());
    assert!(two.headers().get("idempotent-replayed").is_none());
    let (one, two): (Value, Value) = (one.json().await.unwrap(), two.json().await.unwrap());
    assert_ne!(one["refresh_token"], two["refresh_token"]);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_as_it_arrives_and_keeps_no_key() {
    let app = TestApp::spawn().await;
    let response = register(&app, "zu-gross", &unique_email(), &"M".repeat(70 * 1024)).await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    assert_eq!(count_rows(&app, "idempotency_keys").await, 0);
    assert_eq!(count_rows(&app, "accounts").await, 0);
}

/// Puts the key's one row back to `running`, held until `locked_until`, as an instance
/// that crashed between its change and the stored answer leaves it.
async fn left_running(app: &TestApp, locked_until: chrono::NaiveDateTime) {
    use diesel::prelude::*;
    use firmenportal::schema::idempotency_keys;
    let changed = app
        .with_db(move |conn| {
            diesel::update(idempotency_keys::table)
                .set((
                    idempotency_keys::status.eq("running"),
                    idempotency_keys::response_status.eq(None::<i32>),
                    idempotency_keys::response_body.eq(None::<Vec<u8>>),
                    idempotency_keys::locked_until.eq(locked_until),
                ))
                .execute(conn)
                .unwrap()
        })
        .await;
    assert_eq!(changed, 1);
}

#[tokio::test]
async fn a_claim_left_by_a_crashed_instance_holds_until_it_lapses_and_is_then_taken_over() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    assert_eq!(
        register(&app, "absturz", &email, "Max").await.status(),
        StatusCode::ACCEPTED
    );
    let now = chrono::Utc::now().naive_utc();

    // Still held: the retry waits.
    left_running(&app, now + chrono::Duration::seconds(60)).await;
    let held = register(&app, "absturz", &email, "Max").await;
    assert!(retry_after(&held) >= 1);
    assert_problem(held, StatusCode::CONFLICT, "idempotency_key_in_use").await;

    // Lapsed: the retry takes the key over and runs (registering the address again
    // answers as the first time), and its answer is the one kept from then on.
    left_running(&app, now - chrono::Duration::seconds(1)).await;
    let taken_over = answer(register(&app, "absturz", &email, "Max").await).await;
    assert_eq!(
        (taken_over.status, taken_over.replayed),
        (StatusCode::ACCEPTED, false)
    );
    assert_eq!(
        count_where(&app, "idempotency_keys", "status = 'done'").await,
        1
    );
    let replayed = answer(register(&app, "absturz", &email, "Max").await).await;
    assert_eq!(
        (replayed.status, replayed.replayed),
        (StatusCode::ACCEPTED, true)
    );
    assert_eq!(count_rows(&app, "accounts").await, 1);
}

#[tokio::test]
async fn an_answer_that_cannot_be_stored_still_reaches_the_client_and_the_key_stays_held() {
    let app = TestApp::spawn().await;
    // The database refuses to store answers.
    let refuse: &[&str] = if app.database.is_postgres() {
        &[
            "CREATE FUNCTION refuse_answers() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
            "CREATE TRIGGER refuse_answers BEFORE UPDATE ON idempotency_keys \
             FOR EACH ROW EXECUTE FUNCTION refuse_answers()",
        ]
    } else {
        &[
            "CREATE TRIGGER refuse_answers BEFORE UPDATE ON idempotency_keys \
           BEGIN SELECT RAISE(ABORT, 'refused'); END",
        ]
    };
    for sql in refuse {
        let sql = sql.to_string();
        app.with_db(move |conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query(sql).execute(conn).unwrap()
        })
        .await;
    }
    let email = unique_email();
    // The account is made and the client hears so; only the replay is lost.
    let first = register(&app, "unspeicherbar", &email, "Max").await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(count_rows(&app, "accounts").await, 1);
    // The key is not given up, so a retry does not run the registration twice.
    let retried = register(&app, "unspeicherbar", &email, "Max").await;
    assert_problem(retried, StatusCode::CONFLICT, "idempotency_key_in_use").await;
    assert_eq!(count_rows(&app, "accounts").await, 1);
}

#[tokio::test]
async fn a_keyed_staff_list_is_read_only_for_an_account_and_only_in_an_upload_place() {
    use crate::bulk_uploads::{SlowUpload, wait_until_no_place_is_free};
    let app = TestApp::builder()
        .set("BULK_UPLOAD_CONCURRENCY", "1")
        .set("BULK_UPLOAD_QUEUE", "0")
        .spawn()
        .await;
    let employer = employer(&app).await;
    let (token, contract_id) = (employer.admin.access(), employer.contract_id.as_str());
    // A stranger's key buys no reading: refused before the rest of the file is sent,
    // holding no place.
    let stranger = SlowUpload::start(&app, None, contract_id, "Idempotency-Key: fremd\r\n").await;
    let answer = tokio::time::timeout(Duration::from_secs(10), stranger.answer_unsent())
        .await
        .expect("answered without the rest of the file");
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert_eq!(app.state.uploads.available(), 1);

    // An admin's keyed upload is read in the one place; another waits its turn as busy.
    let slow = SlowUpload::start(
        &app,
        Some(token),
        contract_id,
        "Idempotency-Key: langsam\r\n",
    )
    .await;
    wait_until_no_place_is_free(&app).await;
    let part = reqwest::multipart::Part::bytes(crate::bulk_uploads::german_csv())
        .file_name("mitarbeiter.csv");
    let busy = app
        .client
        .post(app.url(&format!("/api/v1/contracts/{contract_id}/bulk-uploads")))
        .bearer_auth(token)
        .header("Idempotency-Key", "schnell")
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_problem(busy, StatusCode::SERVICE_UNAVAILABLE, "service_busy").await;
    let answer = slow.finish().await;
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    assert_eq!(app.state.uploads.available(), 1, "the place is given back");
    assert_eq!(count_rows(&app, "bulk_uploads").await, 1);
    assert_eq!(count_rows(&app, "idempotency_keys").await, 1);
}
