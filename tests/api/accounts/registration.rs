//! Registration and e-mail verification (guide steps 1–4), and the first login.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fixtures;
use crate::helpers::{
    PASSWORD, TestApp, assert_problem, count_rows, pointers, release_together, unique_email,
};

#[tokio::test]
async fn seed_flow_register_verify_login_me() {
    let app = TestApp::spawn().await;
    let email = "Max.Musterjobber@Example.de";
    let registered = app.register(email).await;
    assert_eq!(registered.status(), StatusCode::ACCEPTED);

    let mail = app
        .verification_mail("max.musterjobber@example.de", 1)
        .await;
    assert_eq!(mail.subject, "Bitte bestätigen Sie Ihre E-Mail-Adresse");
    // The address is not verified yet: the mail greets nobody by name. (The last name,
    // not "Max": a random token may spell "Max", but not twelve given letters.)
    assert!(mail.text.starts_with("Guten Tag,"), "{}", mail.text);
    assert!(!mail.text.contains("Musterjobber") && !mail.html.contains("Musterjobber"));
    assert!(mail.text.contains("30 Minuten"));
    assert!(
        mail.text
            .contains("https://portal.test/verify-email?token=")
    );
    assert!(
        mail.html
            .contains("https://portal.test/verify-email?token=")
    );
    let token = mail.token_for("verify-email");
    assert!(token.len() >= 22, "at least 128 bits");

    // Before verification the password is right but the account may not log in.
    let early = app.login(email, PASSWORD).await;
    assert_problem(early, StatusCode::FORBIDDEN, "email_not_verified").await;

    let verified = app
        .post("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);

    let login = app.login("max.musterjobber@example.de", PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    let body: Value = login.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let access = body["access_token"].as_str().unwrap();

    let me: Value = app
        .get("/api/v1/me", Some(access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "max.musterjobber@example.de");
    assert_eq!(me["first_name"], "Max");
    assert_eq!(me["last_name"], "Musterjobber");
    assert_eq!(me["operator"], false);
    // The deprecated `role` is gone: `operator` and `companies` say what an account is.
    assert!(me.get("role").is_none(), "{me}");
    assert!(me["email_verified_at"].is_string());

    let id = me["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "opaque UUID id");
    let actions = app.audit_actions(id).await;
    for expected in [
        "account.registered",
        "account.email_verified",
        "auth.login_succeeded",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
}

#[tokio::test]
async fn registration_reports_every_invalid_field_at_once() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/v1/auth/register",
            json!({
                "email": "kein-at-zeichen",
                "password": "kurz",
                "password_confirmation": "anders",
                "first_name": "   ",
                "last_name": "x".repeat(101),
            }),
        )
        .await;
    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let mut found = pointers(&body);
    found.sort();
    assert_eq!(
        found,
        vec![
            ("/email".to_string(), "invalid_email".to_string()),
            ("/first_name".to_string(), "required".to_string()),
            ("/last_name".to_string(), "too_long".to_string()),
            ("/password".to_string(), "too_short".to_string()),
        ]
    );
    assert!(!body["errors"][0]["detail"].as_str().unwrap().is_empty());

    let empty = app.post("/api/v1/auth/register", json!({})).await;
    let body = assert_problem(empty, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(pointers(&body).len(), 4, "{body}");
    assert!(
        app.mail.all().is_empty(),
        "nothing was sent for invalid input"
    );
}

#[tokio::test]
async fn password_policy_common_passwords_and_confirmation() {
    let app = TestApp::spawn().await;
    let register = |password: &str, confirmation: &str| {
        json!({
            "email": unique_email(),
            "password": password,
            "password_confirmation": confirmation,
            "first_name": "Max",
            "last_name": "Muster",
        })
    };
    let common = app
        .post(
            "/api/v1/auth/register",
            register("1234567890", "1234567890"),
        )
        .await;
    let body = assert_problem(
        common,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&body),
        vec![("/password".into(), "common_password".into())]
    );

    let mismatch = app
        .post(
            "/api/v1/auth/register",
            register(PASSWORD, "Kassel-Tram-2025!"),
        )
        .await;
    let body = assert_problem(
        mismatch,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&body),
        vec![(
            "/password_confirmation".into(),
            "confirmation_mismatch".into()
        )]
    );

    let too_long = "x".repeat(129);
    let long = app
        .post("/api/v1/auth/register", register(&too_long, &too_long))
        .await;
    let body = assert_problem(long, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        pointers(&body),
        vec![("/password".into(), "too_long".into())]
    );

    // 128 characters are accepted in full: never truncated.
    let longest = "Straßenbahn-".repeat(10) + "Kassel12";
    assert_eq!(longest.chars().count(), 128);
    let email = unique_email();
    let mut body = register(&longest, &longest);
    body["email"] = json!(email);
    assert_eq!(
        app.post("/api/v1/auth/register", body).await.status(),
        StatusCode::ACCEPTED
    );
    let token = app
        .verification_mail(&email, 1)
        .await
        .token_for("verify-email");
    app.post("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(app.login(&email, &longest).await.status(), StatusCode::OK);
    let truncated = &longest[..longest.len() - 1];
    assert_eq!(
        app.login(&email, truncated).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn verification_tokens_are_single_use_and_unknown_ones_change_nothing() {
    let app = TestApp::spawn().await;
    let unknown = app
        .post(
            "/api/v1/auth/verify-email",
            json!({ "token": "not-a-real-token" }),
        )
        .await;
    assert_problem(
        unknown,
        StatusCode::BAD_REQUEST,
        "verification_token_invalid",
    )
    .await;

    let email = unique_email();
    app.register(&email).await;
    let token = app
        .verification_mail(&email, 1)
        .await
        .token_for("verify-email");
    assert_eq!(
        app.post("/api/v1/auth/verify-email", json!({ "token": token }))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let again = app
        .post("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_problem(again, StatusCode::BAD_REQUEST, "verification_token_invalid").await;
    assert_eq!(app.login(&email, PASSWORD).await.status(), StatusCode::OK);

    let missing = app.post("/api/v1/auth/verify-email", json!({})).await;
    let body = assert_problem(
        missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(pointers(&body), vec![("/token".into(), "required".into())]);
}

#[tokio::test]
async fn an_expired_verification_link_is_refused_and_changes_nothing() {
    let app = TestApp::builder()
        .set("EMAIL_TOKEN_TTL_SECS", "1")
        .spawn()
        .await;
    let email = unique_email();
    app.register(&email).await;
    let mail = app.verification_mail(&email, 1).await;
    assert!(mail.text.contains("1 Minuten") || mail.text.contains("Minuten"));
    let token = mail.token_for("verify-email");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let expired = app
        .post("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_problem(
        expired,
        StatusCode::BAD_REQUEST,
        "verification_token_expired",
    )
    .await;
    assert_problem(
        app.login(&email, PASSWORD).await,
        StatusCode::FORBIDDEN,
        "email_not_verified",
    )
    .await;
}

#[tokio::test]
async fn resend_sends_a_fresh_link_at_most_once_a_minute_and_old_links_die() {
    let app = TestApp::spawn().await;
    let email = unique_email();
    app.register(&email).await;
    let first = app
        .verification_mail(&email, 1)
        .await
        .token_for("verify-email");

    // Within the minute: accepted, but nothing is sent.
    let resend = app
        .post(
            "/api/v1/auth/verify-email/resend",
            json!({ "email": email }),
        )
        .await;
    assert_eq!(resend.status(), StatusCode::ACCEPTED);
    app.mail.assert_count_settles(&email, 1).await;

    // A minute later (moved back in the database): a new link, and the old one dies.
    app.with_db(|conn| {
        use diesel::prelude::*;
        use firmenportal::schema::email_tokens::dsl::*;
        let long_ago = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(2);
        diesel::update(email_tokens)
            .set(created_at.eq(long_ago))
            .execute(conn)
            .unwrap();
    })
    .await;
    let resend = app
        .post(
            "/api/v1/auth/verify-email/resend",
            json!({ "email": email }),
        )
        .await;
    assert_eq!(resend.status(), StatusCode::ACCEPTED);
    let second = app
        .verification_mail(&email, 2)
        .await
        .token_for("verify-email");
    assert_ne!(first, second);
    let old = app
        .post("/api/v1/auth/verify-email", json!({ "token": first }))
        .await;
    assert_problem(old, StatusCode::BAD_REQUEST, "verification_token_invalid").await;
    assert_eq!(
        app.post("/api/v1/auth/verify-email", json!({ "token": second }))
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn known_and_unknown_addresses_get_the_same_answers() {
    let app = TestApp::spawn().await;
    let known = unique_email();
    app.register(&known).await;
    app.verification_mail(&known, 1).await;
    let unknown = unique_email();

    for path in [
        "/api/v1/auth/verify-email/resend",
        "/api/v1/auth/password/forgot",
    ] {
        let a = app.post(path, json!({ "email": known })).await;
        let b = app.post(path, json!({ "email": unknown })).await;
        assert_eq!(a.status(), StatusCode::ACCEPTED);
        assert_eq!(a.status(), b.status());
        assert_eq!(a.text().await.unwrap(), b.text().await.unwrap(), "{path}");
    }

    let again = app.register(&known).await;
    let fresh = app.register(&unknown).await;
    assert_eq!(again.status(), fresh.status());
    assert_eq!(again.text().await.unwrap(), fresh.text().await.unwrap());

    // The known address learns about it by e-mail instead.
    let mails = app.mail.to(&known);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut exists = None;
    while exists.is_none() && std::time::Instant::now() < deadline {
        exists = app
            .mail
            .to(&known)
            .into_iter()
            .find(|m| m.subject == "Sie haben bereits ein Konto");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exists = exists.unwrap_or_else(|| panic!("account-exists mail, got {mails:?}"));
    assert!(exists.text.contains("https://portal.test/forgot-password"));

    // Login: a wrong password and an unknown address look the same.
    let wrong = app.login(&known, "Falsches-Passwort-1").await;
    let nobody = app.login(&unknown, "Falsches-Passwort-1").await;
    assert_eq!(
        wrong.headers()["www-authenticate"],
        nobody.headers()["www-authenticate"]
    );
    let wrong = assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let nobody = assert_problem(nobody, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    assert_eq!(wrong, nobody);
}

#[tokio::test]
async fn unknown_addresses_take_about_as_long_as_known_ones() {
    let app = TestApp::spawn().await;
    let known = unique_email();
    app.register(&known).await;
    let unknown = unique_email();
    let mut known_ms = Vec::new();
    let mut unknown_ms = Vec::new();
    for _ in 0..5 {
        let started = std::time::Instant::now();
        app.login(&known, "Falsches-Passwort-1").await;
        known_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        let started = std::time::Instant::now();
        app.login(&unknown, "Falsches-Passwort-1").await;
        unknown_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let (known, unknown) = (median(&mut known_ms), median(&mut unknown_ms));
    // Both verify one argon2 hash; without the dummy hash an unknown address would
    // answer several times faster.
    assert!(
        unknown > known / 3.0,
        "unknown {unknown:.1} ms vs known {known:.1} ms"
    );
}

#[tokio::test]
async fn concurrent_registrations_of_one_address_create_one_account() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_EMAIL_PER_ADDRESS", "100")
        .spawn()
        .await;
    let email = unique_email();
    let attempts = (0..6).map(|_| app.register(&email));
    let responses = futures_util::future::join_all(attempts).await;
    assert!(responses.iter().all(|r| r.status() == StatusCode::ACCEPTED));

    let accounts = app
        .with_db({
            let email = email.clone();
            move |conn| {
                use diesel::prelude::*;
                use firmenportal::schema::accounts::dsl;
                dsl::accounts
                    .filter(dsl::email.eq(email))
                    .count()
                    .get_result::<i64>(conn)
                    .unwrap()
            }
        })
        .await;
    assert_eq!(accounts, 1);
    let mails = {
        app.mail.wait_for(&email, 6).await;
        app.mail.to(&email)
    };
    let verifications = mails
        .iter()
        .filter(|m| m.subject.contains("bestätigen"))
        .count();
    assert_eq!(
        verifications, 1,
        "one verification mail, the others 'account exists'"
    );
}

#[tokio::test]
async fn names_with_line_breaks_links_digits_or_control_characters_are_refused() {
    let app = TestApp::spawn().await;
    let register = |first_name: &str, last_name: &str| {
        json!({
            "email": unique_email(),
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
            "first_name": first_name,
            "last_name": last_name,
        })
    };
    let phishing = "Max\n\nIhr Konto wird gesperrt: https://evil.example/login";
    let refused = app
        .post(
            "/api/v1/auth/register",
            register(phishing, "Muster\u{202E}nnam"),
        )
        .await;
    let body = assert_problem(
        refused,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let mut found = pointers(&body);
    found.sort();
    assert_eq!(
        found,
        vec![
            ("/first_name".to_string(), "invalid_characters".to_string()),
            ("/last_name".to_string(), "invalid_characters".to_string()),
        ]
    );
    for name in ["Max\tMuster", "Max2", "Max\u{200B}", "Max\r"] {
        let refused = app
            .post("/api/v1/auth/register", register(name, "Muster"))
            .await;
        assert_eq!(
            refused.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?}"
        );
    }
    assert!(app.mail.all().is_empty(), "nothing was sent");

    // Real names pass, diacritics, apostrophes, dots and dashes included.
    let accepted = app
        .post(
            "/api/v1/auth/register",
            register("Zoë-Marie", "O'Neil-Ağaoğlu Dr."),
        )
        .await;
    assert_eq!(accepted.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn one_mailbox_is_one_account_whatever_the_spelling_of_its_address() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.register("Max@Müller-Bahn.de").await.status(),
        StatusCode::ACCEPTED
    );
    let canonical = "max@xn--mller-bahn-9db.de";
    app.mail.wait_for(canonical, 1).await;
    // Punycode, NFD and full-width spellings of the same domain reach the same account.
    for spelling in [
        "max@xn--mller-bahn-9db.de",
        "max@mu\u{308}ller-bahn.de",
        "max@ｍüｌｌｅｒ－ｂａｈｎ．ｄｅ",
    ] {
        assert_eq!(
            app.register(spelling).await.status(),
            StatusCode::ACCEPTED,
            "{spelling}"
        );
    }
    let mails = {
        app.mail.wait_for(canonical, 4).await;
        app.mail.to(canonical)
    };
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.subject == "Sie haben bereits ein Konto")
            .count(),
        3,
        "the other spellings found the existing account"
    );
    assert_eq!(count_rows(&app, "accounts").await, 1);

    // An address literal names no mailbox of a domain: refused.
    let literal = app.register("max@[10.0.0.5]").await;
    let body = assert_problem(
        literal,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&body),
        vec![("/email".into(), "invalid_email".into())]
    );
}

#[tokio::test]
async fn resend_and_forgot_write_the_same_for_known_and_unknown_addresses() {
    let app = TestApp::spawn().await;
    let known = fixtures::account().unverified().insert(&app).await;
    for path in [
        "/api/v1/auth/verify-email/resend",
        "/api/v1/auth/password/forgot",
    ] {
        let mut written = Vec::new();
        for email in [known.email.clone(), unique_email()] {
            let before = (
                count_rows(&app, "email_outbox").await,
                count_rows(&app, "audit_log").await,
            );
            let answer = app.post(path, json!({ "email": email })).await;
            assert_eq!(answer.status(), StatusCode::ACCEPTED);
            let after = (
                count_rows(&app, "email_outbox").await,
                count_rows(&app, "audit_log").await,
            );
            written.push((after.0 - before.0, after.1 - before.1));
        }
        assert_eq!(written[0], written[1], "{path}: known vs unknown address");
        assert_eq!(written[0], (1, 1), "{path}");
    }
    // Only the known address gets mail.
    app.mail.wait_for(&known.email, 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_link_requests_leave_one_valid_link() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_EMAIL_PER_ADDRESS", "100")
        .spawn()
        .await;
    let account = fixtures::account().insert(&app).await;
    let answers = release_together(&app, 8, |_| {
        app.post_later(
            "/api/v1/auth/password/forgot",
            None,
            json!({ "email": account.email }),
        )
    })
    .await;
    assert!(answers.iter().all(|a| a.status() == StatusCode::ACCEPTED));
    app.mail.wait_for(&account.email, 1).await;
    app.mail.assert_count_settles(&account.email, 1).await;

    let tokens: Vec<String> = app
        .mail
        .to(&account.email)
        .iter()
        .map(|m| m.token_for("reset-password"))
        .collect();
    let mut valid = 0;
    for (i, token) in tokens.iter().enumerate() {
        let password = format!("Neues-Passwort-{i}-2025");
        let reset = app
            .post(
                "/api/v1/auth/password/reset",
                json!({ "token": token, "password": password, "password_confirmation": password }),
            )
            .await;
        if reset.status() == StatusCode::NO_CONTENT {
            valid += 1;
        }
    }
    assert_eq!(valid, 1, "exactly one link works");
    let live_tokens: i64 = app
        .with_db({
            let id = account.id.clone();
            move |conn| {
                use diesel::prelude::*;
                use firmenportal::schema::email_tokens;
                email_tokens::table
                    .filter(email_tokens::account_id.eq(id))
                    .filter(email_tokens::purpose.eq("reset_password"))
                    .count()
                    .get_result(conn)
                    .unwrap()
            }
        })
        .await;
    assert_eq!(live_tokens, 1);
}
