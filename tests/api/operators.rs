//! `firmenportal create-operator` and `seed-demo`, through the library functions the
//! commands call.

use firmenportal::auth::password::PasswordHasher;
use firmenportal::config::AppEnv;
use firmenportal::demo::{SeedError, seed_demo};
use firmenportal::operators::{OperatorOutcome, OperatorRequest, create_operator};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::account;
use crate::helpers::{PASSWORD, TestApp, count_audited, unique_email};

fn request(email: &str, password: &str) -> OperatorRequest {
    OperatorRequest {
        email: email.into(),
        first_name: "Olga".into(),
        last_name: "Operator".into(),
        password: password.to_string().into(),
    }
}

#[tokio::test]
async fn create_operator_makes_a_verified_operator_or_grants_the_rights() {
    let app = TestApp::spawn().await;
    let hasher = PasswordHasher::new(1, 1);
    let email = unique_email();
    let outcome = create_operator(&app.db, &hasher, request(&email, PASSWORD))
        .await
        .unwrap();
    assert_eq!(outcome, OperatorOutcome::Created);
    let login = app.login(&email, PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK, "verified at once");
    let access = login.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(app.me(&access).await["operator"], true);
    let companies = app.get("/api/v1/admin/companies", Some(&access)).await;
    assert_eq!(companies.status(), StatusCode::OK);

    // An existing account gets the rights; the password line is ignored.
    let subscriber = account().insert(&app).await;
    let outcome = create_operator(&app.db, &hasher, request(&subscriber.email, ""))
        .await
        .unwrap();
    assert_eq!(outcome, OperatorOutcome::Granted);
    let tokens = subscriber.login(&app).await;
    assert_eq!(app.me(&tokens.access).await["operator"], true);
    assert_eq!(count_audited(&app, "account.operator_granted").await, 2);

    // Registration's password rules apply to a new account.
    for weak in ["kurz", "password123"] {
        let error = create_operator(&app.db, &hasher, request(&unique_email(), weak))
            .await
            .unwrap_err();
        assert_eq!(error.code(), "validation_failed", "{weak}");
    }
    let error = create_operator(&app.db, &hasher, request("kein-at", PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "validation_failed");
}

#[tokio::test]
async fn seed_demo_twice_loads_the_guides_data_once_for_the_walkthrough() {
    let app = TestApp::spawn().await;
    let first = seed_demo(&app.state.config, &app.db).await.unwrap();
    assert_eq!((first.created, first.existing), (29, 0));
    let second = seed_demo(&app.state.config, &app.db).await.unwrap();
    assert_eq!((second.created, second.existing), (0, 29));
    assert_eq!(second.company_admin, None);

    // Guide 001 with the demo company admin: log in, find the contract, generate a
    // customer code.
    let (email, password) = first.company_admin.expect("the admin's sign-in, once");
    let login = app.login(&email, &password).await;
    assert_eq!(login.status(), StatusCode::OK);
    let admin = crate::helpers::Tokens::from(login.json::<Value>().await.unwrap());
    let contracts: Value = app
        .get(
            "/api/v1/contracts?customer_number=K-100234&active=true",
            Some(&admin.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(contracts["total"], 1, "{contracts}");
    let contract_id = contracts["items"][0]["id"].as_str().unwrap();
    let code = app
        .request(
            Method::POST,
            &format!("/api/v1/contracts/{contract_id}/customer-codes"),
            Some(&admin.access),
            Some(json!({"valid_until": crate::helpers::today_berlin().to_string()})),
        )
        .await;
    assert_eq!(code.status(), StatusCode::CREATED);

    // Musterfirma's statement of June 2026: Max, Anna and Jörg at 59.85, half of the
    // list price paid by the employer.
    let june: Value = app
        .get(
            &format!("/api/v1/contracts/{contract_id}/statements/2026-06"),
            Some(&admin.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(june["tickets"], 3, "{june}");
    assert_eq!(
        june["totals"],
        json!({"job_price": "179.55", "employer_share": "94.50", "employee_share": "85.05"})
    );

    // The README's walk-through: an account links 431177 with the guide's data.
    let tokens = account().insert(&app).await.login(&app).await;
    let linked = app
        .request(
            Method::POST,
            "/api/v1/me/subscriptions/link",
            Some(&tokens.access),
            Some(json!({"number": "431177", "birth_date": "05.10.2000", "last_name": "Musterjobber", "postal_code": "34117"})),
        )
        .await;
    assert_eq!(linked.status(), StatusCode::CREATED);
    let linked: Value = linked.json().await.unwrap();
    assert_eq!(linked["valid_from"], "2023-05-01");
    assert_eq!(linked["valid_to"], Value::Null);
    assert_eq!(linked["status"], "active");
    assert_eq!(
        linked["company_contract"]["company_name"],
        "Musterfirma GmbH"
    );
    assert_eq!(
        linked["company_contract"]["product_offering"],
        "D-Ticket Job (Rechnung)"
    );
    let customer: Value = app
        .get(
            &format!(
                "/api/v1/me/subscriptions/{}/customer",
                linked["id"].as_str().unwrap()
            ),
            Some(&tokens.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            customer["salutation"].as_str(),
            customer["gender"].as_str(),
            customer["recorded_at"].as_str()
        ),
        (Some("mr"), Some("male"), Some("2024-10-22"))
    );
    assert_eq!(customer["address"]["street"], "Artilleriestr. 39");
    // His expired subscription is in the other tab.
    let expired = app
        .request(
            Method::POST,
            "/api/v1/me/subscriptions/link",
            Some(&tokens.access),
            Some(json!({"number": "398812", "birth_date": "2000-10-05", "last_name": "musterjobber", "postal_code": "34117"})),
        )
        .await;
    assert_eq!(expired.status(), StatusCode::CREATED);
    let tab: Value = app
        .get(
            "/api/v1/me/subscriptions?state=expired",
            Some(&tokens.access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tab["items"][0]["contract_number"], "398812");
}

#[tokio::test]
async fn seed_demo_is_refused_in_production() {
    let app = TestApp::spawn().await;
    let mut config = (*app.state.config).clone();
    config.app_env = AppEnv::Production;
    let refused = seed_demo(&config, &app.db).await;
    assert!(matches!(refused, Err(SeedError::Production)));
    assert_eq!(crate::helpers::count_rows(&app, "companies").await, 0);
}

#[tokio::test]
async fn seed_demo_shows_the_admin_password_once_and_then_how_to_get_a_new_one() {
    let app = TestApp::spawn().await;
    let run = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_firmenportal"));
        command
            .arg("seed-demo")
            .env("DATABASE_URL", &app.database.url)
            .env("DATA_DIR", app.data_dir.path())
            .env_remove("APP_ENV");
        async move {
            let output = tokio::task::spawn_blocking(move || command.output())
                .await
                .unwrap()
                .expect("run firmenportal");
            assert!(output.status.success());
            String::from_utf8(output.stdout).unwrap()
        }
    };
    let first = run().await;
    let password = first
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .expect("the password, on a line of its own");
    assert_eq!(
        app.login("personal@musterfirma.de", password)
            .await
            .status(),
        StatusCode::OK
    );
    let second = run().await;
    assert!(!second.contains("password: "), "{second}");
    assert!(second.contains("already there"), "{second}");
    assert!(second.contains("/api/v1/auth/password/forgot"), "{second}");
    assert!(
        second.contains("mail last --to personal@musterfirma.de --token"),
        "{second}"
    );
}
