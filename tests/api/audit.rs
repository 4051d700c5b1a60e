//! The operator's audit trail: filters, paging, newest first, read only, and what a
//! deleted account leaves in it.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{account, operator};
use crate::helpers::{PASSWORD, TestApp, assert_problem, pointers};

/// The trail as the operator with `token` reads it with `query`.
async fn trail(app: &TestApp, token: &str, query: &[(&str, &str)]) -> Value {
    let response = app
        .client
        .get(app.url("/api/v1/admin/audit"))
        .bearer_auth(token)
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{query:?}");
    response.json().await.unwrap()
}

fn actions(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn operators_read_the_trail_newest_first_and_filter_it_every_way() {
    let app = TestApp::spawn().await;
    let (_, operator_tokens) = operator(&app).await;
    let token = operator_tokens.access.as_str();
    let user = account().insert(&app).await;
    let user_tokens = user.login(&app).await;
    let refused = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": user.email, "password": "Falsches-Passwort-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    // Only operators read it.
    let forbidden = app
        .get("/api/v1/admin/audit", Some(&user_tokens.access))
        .await;
    assert_problem(forbidden, StatusCode::FORBIDDEN, "forbidden").await;
    let anonymous = app.get("/api/v1/admin/audit", None).await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "missing_token").await;

    // Newest first: the user's failed login, the user's login, the operator's login.
    let all = trail(&app, token, &[]).await;
    assert_eq!(all["total"], 3);
    assert_eq!(
        actions(&all),
        [
            "auth.login_failed",
            "auth.login_succeeded",
            "auth.login_succeeded"
        ]
    );
    let login = &all["items"][1];
    assert_eq!(
        login["actor"],
        json!({"account_id": user.id, "email": user.email})
    );
    assert_eq!(login["subject_type"], "account");
    assert_eq!(login["subject_id"], user.id.as_str());
    assert_eq!(login["client_ip"], "127.0.0.1");
    assert!(
        login["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert!(login["details"]["session_id"].as_str().is_some(), "{login}");
    let stamps: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["at"].as_str().unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] >= w[1]), "{stamps:?}");

    // By actor: the id, or the address (in any case); an unknown address finds nothing.
    for actor in [user.id.clone(), user.email.to_uppercase()] {
        let mine = trail(&app, token, &[("actor", &actor)]).await;
        assert_eq!(
            actions(&mine),
            ["auth.login_failed", "auth.login_succeeded"],
            "{actor}"
        );
    }
    let nobody = trail(&app, token, &[("actor", "niemand@example.de")]).await;
    assert_eq!(
        (nobody["total"].clone(), actions(&nobody).len()),
        (json!(0), 0)
    );
    // By subject and by action, together.
    let succeeded = trail(
        &app,
        token,
        &[("subject", &user.id), ("action", "auth.login_succeeded")],
    )
    .await;
    assert_eq!(succeeded["total"], 1);
    assert_eq!(succeeded["items"][0]["id"], login["id"]);
    // Paging.
    let second = trail(&app, token, &[("per_page", "1"), ("page", "2")]).await;
    assert_eq!(
        (second["total"].clone(), second["per_page"].clone()),
        (json!(3), json!(1))
    );
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["id"], login["id"]);
    // A time range is inclusive at both ends, as a timestamp or as a Berlin day.
    let at = login["at"].as_str().unwrap();
    let exactly = trail(&app, token, &[("from", at), ("to", at)]).await;
    assert_eq!(actions(&exactly), ["auth.login_succeeded"]);
    assert_eq!(exactly["items"][0]["id"], login["id"]);
    let today = crate::helpers::today_berlin();
    let (today_iso, today_german) = (
        today.format("%Y-%m-%d").to_string(),
        today.format("%d.%m.%Y").to_string(),
    );
    let day = trail(&app, token, &[("from", &today_iso), ("to", &today_german)]).await;
    assert_eq!(day["total"], 3);
    let yesterday = (today - chrono::Duration::days(1)).to_string();
    let before = trail(&app, token, &[("to", &yesterday)]).await;
    assert_eq!(before["total"], 0);
    let since_the_login = trail(&app, token, &[("from", at)]).await;
    assert_eq!(
        actions(&since_the_login),
        ["auth.login_failed", "auth.login_succeeded"]
    );
    // A NUL character, which no stored text holds (PostgreSQL refuses it), finds nothing.
    for parameter in ["actor", "subject"] {
        let nothing = trail(&app, token, &[(parameter, "R\u{bb}\u{0}")]).await;
        assert_eq!(nothing["total"], 0, "{parameter}");
        assert_eq!(nothing["items"], json!([]), "{parameter}");
    }
}

#[tokio::test]
async fn invalid_filters_name_their_parameter() {
    let app = TestApp::spawn().await;
    let (_, tokens) = operator(&app).await;
    let response = app
        .client
        .get(app.url("/api/v1/admin/audit"))
        .bearer_auth(&tokens.access)
        .query(&[
            ("action", "auth.erfunden"),
            ("from", "gestern"),
            ("actor", "kaputt@"),
            ("subject", &"x".repeat(321)),
            ("per_page", "0"),
        ])
        .send()
        .await
        .unwrap();
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let mut found = pointers(&problem);
    found.sort();
    assert_eq!(
        found,
        [
            ("/action".to_string(), "invalid_choice".to_string()),
            ("/actor".to_string(), "invalid_email".to_string()),
            ("/from".to_string(), "invalid_date".to_string()),
            ("/per_page".to_string(), "out_of_range".to_string()),
            ("/subject".to_string(), "too_long".to_string()),
        ]
    );
    // The closed set is named.
    let detail = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["pointer"] == "/action")
        .unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(detail.contains("application.approved"), "{detail}");

    let reversed = app
        .client
        .get(app.url("/api/v1/admin/audit"))
        .bearer_auth(&tokens.access)
        .query(&[("from", "2026-12-05"), ("to", "2026-12-04T12:00:00+01:00")])
        .send()
        .await
        .unwrap();
    let problem = assert_problem(
        reversed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        [("/to".to_string(), "ends_before_start".to_string())]
    );
}

#[tokio::test]
async fn no_endpoint_changes_or_deletes_an_entry() {
    let app = TestApp::spawn().await;
    let (_, tokens) = operator(&app).await;
    let before = trail(&app, &tokens.access, &[]).await;
    let id = before["items"][0]["id"].as_str().unwrap().to_string();
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        for path in [
            "/api/v1/admin/audit".to_string(),
            format!("/api/v1/admin/audit/{id}"),
        ] {
            let response = app
                .request(
                    method.clone(),
                    &path,
                    Some(&tokens.access),
                    Some(json!({"action": "auth.logged_out"})),
                )
                .await;
            assert!(
                [StatusCode::NOT_FOUND, StatusCode::METHOD_NOT_ALLOWED]
                    .contains(&response.status()),
                "{method} {path}: {}",
                response.status()
            );
        }
    }
    let after = trail(&app, &tokens.access, &[]).await;
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_deleted_accounts_entries_keep_action_and_time_but_not_its_id() {
    let app = TestApp::spawn().await;
    let (_, operator_tokens) = operator(&app).await;
    let user = account().insert(&app).await;
    let tokens = user.login(&app).await;
    let before = trail(&app, &operator_tokens.access, &[("actor", &user.id)]).await;
    let login = before["items"][0].clone();
    let deleted = app
        .request(
            Method::DELETE,
            "/api/v1/me",
            Some(&tokens.access),
            Some(json!({ "password": PASSWORD })),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    for filter in ["actor", "subject"] {
        let found = trail(&app, &operator_tokens.access, &[(filter, &user.id)]).await;
        assert_eq!(found["total"], 0, "{filter}");
    }
    let pseudonym = json!({"account_id": null, "email": "deleted-account"});
    let gone = trail(
        &app,
        &operator_tokens.access,
        &[("action", "account.deleted")],
    )
    .await;
    assert_eq!(gone["total"], 1);
    let entry = &gone["items"][0];
    assert_eq!(entry["actor"], pseudonym);
    assert_eq!(
        (
            &entry["subject_type"],
            &entry["subject_id"],
            &entry["client_ip"]
        ),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    // The login keeps its action and time.
    let logins = trail(
        &app,
        &operator_tokens.access,
        &[
            ("action", "auth.login_succeeded"),
            ("actor", "deleted-account"),
        ],
    )
    .await;
    assert_eq!(logins["total"], 1);
    let kept = &logins["items"][0];
    assert_eq!(
        (&kept["id"], &kept["at"], &kept["request_id"]),
        (&login["id"], &login["at"], &login["request_id"])
    );
    assert_eq!(kept["actor"], pseudonym);
}
