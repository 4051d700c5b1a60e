//! The HTTP layer: every failure answers RFC 9457 problem+json; browsers, security
//! headers and request ids.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{TestApp, assert_problem, pointers};

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    let body = assert_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;
    assert!(
        !body["detail"].as_str().unwrap().contains("line"),
        "no parser internals"
    );
}

#[tokio::test]
async fn a_wrongly_typed_field_is_named_by_pointer() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/v1/auth/login",
            json!({ "email": 42, "password": "x" }),
        )
        .await;
    let body = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&body),
        vec![("/email".to_string(), "invalid_type".to_string())]
    );
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("email=a")
        .send()
        .await
        .unwrap();
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let missing = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(
        missing,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn compressed_body_is_415() {
    let app = TestApp::spawn().await;
    for coding in ["gzip", "br", "zstd"] {
        let response = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("content-type", "application/json")
            .header("content-encoding", coding)
            .body(r#"{"email":"a@example.de","password":"Sommer-Abo-2026"}"#)
            .send()
            .await
            .unwrap();
        assert_problem(
            response,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
    // `identity` is no coding at all.
    let plain = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "application/json")
        .header("content-encoding", "identity")
        .body(r#"{"email":"nobody@example.de","password":"Sommer-Abo-2026"}"#)
        .send()
        .await
        .unwrap();
    assert_problem(plain, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn body_over_64_kib_is_413() {
    let app = TestApp::spawn().await;
    let big = json!({ "email": "a@example.de", "password": "x".repeat(70 * 1024) });
    let response = app.post("/api/v1/auth/login", big).await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn unknown_route_is_404_and_wrong_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    assert_problem(
        app.get("/api/v1/nothing-here", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(app.get("/", None).await, StatusCode::NOT_FOUND, "not_found").await;

    let wrong = app
        .request(Method::GET, "/api/v1/auth/login", None, None)
        .await;
    assert_eq!(wrong.headers()["allow"], "POST");
    assert_problem(wrong, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;

    let put_me = app.request(Method::PUT, "/api/v1/me", None, None).await;
    assert_eq!(put_me.headers()["allow"], "DELETE, GET, PATCH");
    assert_problem(put_me, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed").await;

    // A literal path beside a placeholder one (`…/link` and `…/{id}`) names its own.
    let options_link = app
        .request(Method::OPTIONS, "/api/v1/me/subscriptions/link", None, None)
        .await;
    assert_eq!(options_link.headers()["allow"], "POST");
    assert_problem(
        options_link,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn problems_are_german_by_default_and_english_on_request() {
    let app = TestApp::spawn().await;
    let german = app.get("/api/v1/unknown", None).await;
    assert_eq!(german.headers()["content-language"], "de");
    let body = assert_problem(german, StatusCode::NOT_FOUND, "not_found").await;
    assert_eq!(body["title"], "Nicht gefunden");

    let english = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("accept-language", "en-GB,en;q=0.9,de;q=0.5")
        .json(&json!({ "email": "not-an-address" }))
        .send()
        .await
        .unwrap();
    assert_eq!(english.headers()["content-language"], "en");
    let body = assert_problem(
        english,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(body["title"], "Invalid input");
    assert_eq!(
        body["errors"][0]["detail"],
        "Please enter a valid e-mail address."
    );

    let preferring_german = app
        .client
        .get(app.url("/api/v1/me"))
        .header("accept-language", "fr, de;q=0.8, en;q=0.5")
        .send()
        .await
        .unwrap();
    let body = assert_problem(preferring_german, StatusCode::UNAUTHORIZED, "missing_token").await;
    assert_eq!(body["title"], "Anmeldung erforderlich");
}

#[tokio::test]
async fn browsers_on_the_frontend_origin_may_call_the_api() {
    let app = TestApp::spawn().await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
        .header("origin", "https://portal.test")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::OK);
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://portal.test"
    );

    let answer = app
        .client
        .get(app.url("/api/v1/me"))
        .header("origin", "https://portal.test")
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.headers()["access-control-allow-origin"],
        "https://portal.test"
    );
    let exposed = answer.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("x-request-id") && exposed.contains("retry-after"),
        "{exposed}"
    );
    assert_eq!(answer.headers()["cache-control"], "no-store");
    assert_eq!(answer.headers()["x-content-type-options"], "nosniff");

    let foreign = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/me"))
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(
        !foreign
            .headers()
            .contains_key("access-control-allow-origin")
    );
    assert_problem(foreign, StatusCode::BAD_REQUEST, "bad_request").await;
}

#[tokio::test]
async fn a_browser_may_send_and_read_every_header_the_contract_names() {
    let app = TestApp::spawn().await;
    let inserted = crate::fixtures::subscription().insert(&app).await;
    let tokens = crate::fixtures::account()
        .insert(&app)
        .await
        .login(&app)
        .await;
    // The Kundenverwaltung's save: PATCH with If-Match, as a frontend sends it.
    let customer = format!("/api/v1/me/subscriptions/{}/customer", inserted.id);
    let sent = [
        "authorization",
        "content-type",
        "accept",
        "accept-language",
        "if-match",
        "if-none-match",
        "idempotency-key",
        "x-request-id",
    ];
    for method in ["PATCH", "POST", "DELETE", "GET"] {
        let preflight = app
            .client
            .request(reqwest::Method::OPTIONS, app.url(&customer))
            .header("origin", "https://portal.test")
            .header("access-control-request-method", method)
            .header("access-control-request-headers", sent.join(","))
            .send()
            .await
            .unwrap();
        assert_eq!(preflight.status(), StatusCode::OK, "{method}");
        let allowed = preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        for header in sent {
            assert!(allowed.contains(header), "{header} in {allowed}");
        }
    }
    // A header the contract does not name is refused.
    let refused = app
        .client
        .request(reqwest::Method::OPTIONS, app.url(&customer))
        .header("origin", "https://portal.test")
        .header("access-control-request-method", "PATCH")
        .header("access-control-request-headers", "x-debug-backdoor")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);

    // What a frontend reads: the ETag of the customer, the file name of the PDF.
    let linked = app
        .request(
            reqwest::Method::POST,
            "/api/v1/me/subscriptions/link",
            Some(&tokens.access),
            Some(serde_json::json!({
                "number": inserted.contract_number,
                "birth_date": "05.10.2000",
                "last_name": "Musterjobber",
                "postal_code": "34117"
            })),
        )
        .await;
    assert_eq!(linked.status(), StatusCode::CREATED);
    for path in [
        customer.clone(),
        format!("/api/v1/me/subscriptions/{}/overview.pdf", inserted.id),
    ] {
        let answer = app
            .client
            .get(app.url(&path))
            .header("origin", "https://portal.test")
            .bearer_auth(&tokens.access)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
        let exposed = answer.headers()["access-control-expose-headers"]
            .to_str()
            .unwrap()
            .to_lowercase();
        for header in [
            "etag",
            "location",
            "content-disposition",
            "retry-after",
            "www-authenticate",
            "content-language",
            "x-request-id",
        ] {
            assert!(exposed.contains(header), "{header} in {exposed}");
        }
        let read = if path.ends_with(".pdf") {
            "content-disposition"
        } else {
            "etag"
        };
        assert!(answer.headers().contains_key(read), "{path} sends {read}");
    }
}

#[tokio::test]
async fn every_answer_carries_a_content_security_policy_and_swagger_ui_its_own() {
    let app = TestApp::spawn().await;
    let api = app.get("/api/v1/me", None).await;
    assert_eq!(
        api.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
    let ui = app.get("/swagger-ui/", None).await;
    let policy = ui.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-eval"), "{policy}");
    assert!(!api.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn hsts_only_when_a_trusted_proxy_says_the_request_came_over_tls() {
    let behind_proxy = TestApp::builder()
        .set("TRUSTED_PROXIES", "127.0.0.1")
        .spawn()
        .await;
    let over_tls = behind_proxy
        .client
        .get(behind_proxy.url("/health/live"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(
        over_tls.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let plain = behind_proxy
        .client
        .get(behind_proxy.url("/health/live"))
        .header("x-forwarded-proto", "http")
        .send()
        .await
        .unwrap();
    assert!(!plain.headers().contains_key("strict-transport-security"));

    // Without a trusted proxy the header is the client's word and counts for nothing.
    let direct = TestApp::spawn().await;
    let claimed = direct
        .client
        .get(direct.url("/health/live"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert!(!claimed.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn a_client_request_id_is_kept_only_when_short_and_plain() {
    let app = TestApp::spawn().await;
    let send = |id: String| {
        app.client
            .get(app.url("/health/live"))
            .header("x-request-id", id)
            .send()
    };
    let kept = send("a".repeat(128)).await.unwrap();
    assert_eq!(kept.headers()["x-request-id"], "a".repeat(128).as_str());
    for hostile in [
        "a".repeat(129),
        "id\u{1b}[31mred".to_string(),
        "x y".to_string(),
    ] {
        let Ok(replaced) = send(hostile.clone()).await else {
            continue; // a value the HTTP client itself refuses to send
        };
        let id = replaced.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string();
        assert_ne!(id, hostile);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let account = crate::fixtures::account().insert(&app).await;
    let tokens = account.login(&app).await;
    for body in [
        json!([null, null]),
        json!(["Moritz", "Muster"]),
        json!(null),
    ] {
        let answer = app
            .request(
                Method::PATCH,
                "/api/v1/me",
                Some(&tokens.access),
                Some(body),
            )
            .await;
        let problem = assert_problem(
            answer,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(
            pointers(&problem),
            vec![(String::new(), "invalid_type".to_string())]
        );
    }
    assert_eq!(app.me(&tokens.access).await["first_name"], "Max");
}

#[tokio::test]
async fn a_nul_character_never_reaches_the_database() {
    let app = TestApp::spawn().await;
    let login = app.login("max\u{0}@example.de", "Kassel-Tram-2024!").await;
    assert_problem(login, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let operator_token = crate::fixtures::account()
        .operator()
        .insert(&app)
        .await
        .login(&app)
        .await;
    let reference = app
        .request(
            Method::POST,
            "/api/v1/admin/contracts",
            Some(&operator_token.access),
            Some(json!({"contract_number": "FV-1", "company_id": "a\u{0}b", "product_offering": "D-Ticket Job", "status": "active", "valid_from": "2024-01-01"})),
        )
        .await;
    let problem = assert_problem(
        reference,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        [("/company_id".to_string(), "unknown_reference".to_string())]
    );
    let operator = crate::fixtures::account()
        .operator()
        .insert(&app)
        .await
        .login(&app)
        .await;
    let query = app
        .get(
            "/api/v1/admin/subscriptions?company_contract_id=a%00b",
            Some(&operator.access),
        )
        .await;
    // No record holds such a value: an empty page.
    assert_eq!(query.status(), StatusCode::OK);
    let page: serde_json::Value = query.json().await.unwrap();
    assert_eq!(page["total"], 0);
    let search = app
        .get("/api/v1/admin/customers?q=a%00", Some(&operator.access))
        .await;
    assert_eq!(search.status(), StatusCode::OK);
    let path = app
        .get("/api/v1/admin/companies/a%00b", Some(&operator.access))
        .await;
    assert_problem(path, StatusCode::NOT_FOUND, "not_found").await;
    let body = app
        .request(
            Method::POST,
            "/api/v1/me/subscriptions/link",
            Some(&operator.access),
            Some(json!({"number": "43\u{0}1177", "birth_date": "05.10.2000", "last_name": "M", "postal_code": "34117"})),
        )
        .await;
    let problem = assert_problem(body, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        pointers(&problem),
        [("/number".to_string(), "invalid_characters".to_string())]
    );
}
