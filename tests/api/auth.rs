//! Access tokens, signing keys and the principal extractors.

use actix_web::{HttpResponse, web};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fixtures;
use crate::helpers::{TestApp, assert_problem};

#[tokio::test]
async fn missing_invalid_and_expired_tokens_are_401_with_www_authenticate() {
    let app = TestApp::builder()
        .set("ACCESS_TOKEN_TTL_SECS", "1")
        .spawn()
        .await;
    let missing = app.get("/api/v1/me", None).await;
    assert!(
        missing.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    assert_problem(missing, StatusCode::UNAUTHORIZED, "missing_token").await;

    let garbage = app.get("/api/v1/me", Some("not.a.jwt")).await;
    assert!(
        garbage.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_problem(garbage, StatusCode::UNAUTHORIZED, "invalid_token").await;

    let tokens = app.signed_up_user("expiry@example.de").await;
    assert_eq!(
        app.get("/api/v1/me", Some(&tokens.access)).await.status(),
        StatusCode::OK
    );

    // A token signed with another algorithm or tampered with is refused.
    let mut tampered = tokens.access.clone();
    tampered.pop();
    tampered.push(if tokens.access.ends_with('A') {
        'B'
    } else {
        'A'
    });
    assert_problem(
        app.get("/api/v1/me", Some(&tampered)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "x", "exp": 9999999999u64}),
        &jsonwebtoken::EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    assert_problem(
        app.get("/api/v1/me", Some(&hs256)).await,
        StatusCode::UNAUTHORIZED,
        "invalid_token",
    )
    .await;

    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let expired = app.get("/api/v1/me", Some(&tokens.access)).await;
    assert!(
        expired.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert_problem(expired, StatusCode::UNAUTHORIZED, "token_expired").await;
}

#[tokio::test]
async fn jwks_publishes_the_key_that_signs_access_tokens() {
    let app = TestApp::spawn().await;
    let tokens = app.signed_up_user("jwks@example.de").await;
    let jwks: Value = app
        .get("/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&tokens.access).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    let kid = header.kid.expect("kid");
    let key = &jwks["keys"][0];
    assert_eq!(key["kid"], kid.as_str());
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");

    // Another service can verify the token with the published key alone.
    let decoding =
        jsonwebtoken::DecodingKey::from_ed_components(key["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&["firmenportal-api"]);
    validation.set_issuer(&["firmenportal"]);
    let claims = jsonwebtoken::decode::<Value>(&tokens.access, &decoding, &validation)
        .expect("verifies with the JWKS key")
        .claims;
    for claim in ["iss", "aud", "sub", "exp", "nbf", "iat", "jti", "typ"] {
        assert!(claims.get(claim).is_some(), "claim {claim}");
    }
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 900);
}

#[tokio::test]
async fn generated_development_key_survives_a_restart() {
    let first = TestApp::spawn().await;
    let tokens = first.signed_up_user("restart@example.de").await;
    let data_dir = tempfile::tempdir().unwrap();
    // Same data directory and database: a restarted instance.
    for entry in std::fs::read_dir(first.data_dir.path()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), data_dir.path().join(entry.file_name())).unwrap();
    }
    let second = TestApp::builder()
        .database(first.database.clone())
        .data_dir(data_dir)
        .spawn()
        .await;
    let me = second.get("/api/v1/me", Some(&tokens.access)).await;
    assert_eq!(me.status(), StatusCode::OK);
}

#[tokio::test]
async fn rotated_keys_still_verify_until_removed() {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let dir = tempfile::tempdir().unwrap();
    let old_key = dir.path().join("old.pem");
    let new_key = dir.path().join("new.pem");
    for path in [&old_key, &new_key] {
        let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        std::fs::write(
            path,
            key.to_pkcs8_pem(Default::default()).unwrap().as_bytes(),
        )
        .unwrap();
    }
    let old_app = TestApp::builder()
        .set("JWT_SIGNING_KEY_FILE", old_key.to_str().unwrap())
        .spawn()
        .await;
    let tokens = old_app.signed_up_user("rotate@example.de").await;

    let rotated = TestApp::builder()
        .database(old_app.database.clone())
        .set("JWT_SIGNING_KEY_FILE", new_key.to_str().unwrap())
        .set("JWT_VERIFICATION_KEY_FILES", old_key.to_str().unwrap())
        .spawn()
        .await;
    assert_eq!(
        rotated
            .get("/api/v1/me", Some(&tokens.access))
            .await
            .status(),
        StatusCode::OK
    );
    let jwks: Value = rotated
        .get("/.well-known/jwks.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);

    let removed = TestApp::builder()
        .database(old_app.database.clone())
        .set("JWT_SIGNING_KEY_FILE", new_key.to_str().unwrap())
        .spawn()
        .await;
    let refused = removed.get("/api/v1/me", Some(&tokens.access)).await;
    assert_problem(refused, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

/// Operators are told apart by the `Operator` principal, checked before the handler (the
/// extractor) or on the handler's own connection (`Bearer<Operator>` with `read_as`, the
/// read path): a probe route of each kind, on the application's own state, answers who
/// passed.
#[actix_web::test]
async fn only_accounts_with_operator_rights_pass_as_operators_and_revocation_is_immediate() {
    use firmenportal::auth::{Bearer, Operator, Subscriber};
    use firmenportal::state::AppState;
    let app = TestApp::spawn().await;
    let probe = actix_web::test::init_service(
        actix_web::App::new()
            .app_data(app.state.clone())
            .route(
                "/operator",
                web::get().to(|operator: Operator| async move {
                    HttpResponse::Ok().body(operator.account.email)
                }),
            )
            .route(
                "/operator/read",
                web::get().to(
                    |state: web::Data<AppState>, bearer: Bearer<Operator>| async move {
                        let email = state
                            .db
                            .read_as(bearer, |_, operator| Ok(operator.account.email))
                            .await?;
                        Ok::<_, firmenportal::error::AppError>(HttpResponse::Ok().body(email))
                    },
                ),
            )
            .route(
                "/subscriber",
                web::get().to(|subscriber: Subscriber| async move {
                    HttpResponse::Ok().body(subscriber.account.email)
                }),
            ),
    )
    .await;
    let call = |path: &'static str, token: Option<String>| {
        let mut request = actix_web::test::TestRequest::get().uri(path);
        if let Some(token) = token {
            request = request.insert_header(("authorization", format!("Bearer {token}")));
        }
        request.to_request()
    };

    let subscriber = fixtures::account().insert(&app).await;
    let operator = fixtures::account().operator().insert(&app).await;
    let (subscriber_token, operator_token) = (
        subscriber.login(&app).await.access,
        operator.login(&app).await.access,
    );

    for path in ["/operator", "/operator/read"] {
        let refused =
            actix_web::test::call_service(&probe, call(path, Some(subscriber_token.clone()))).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN.as_u16(), "{path}");
        let problem: Value = actix_web::test::read_body_json(refused).await;
        assert_eq!(problem["code"], "forbidden");
        let passed =
            actix_web::test::call_service(&probe, call(path, Some(operator_token.clone()))).await;
        assert_eq!(passed.status(), StatusCode::OK.as_u16(), "{path}");
        let body = actix_web::test::read_body(passed).await;
        assert_eq!(body, operator.email.as_bytes(), "{path}");
        let anonymous = actix_web::test::call_service(&probe, call(path, None)).await;
        assert_eq!(
            anonymous.status(),
            StatusCode::UNAUTHORIZED.as_u16(),
            "{path}"
        );
        let forged =
            actix_web::test::call_service(&probe, call(path, Some(format!("{operator_token}x"))))
                .await;
        assert_eq!(forged.status(), StatusCode::UNAUTHORIZED.as_u16(), "{path}");
    }
    let subscriber_ok =
        actix_web::test::call_service(&probe, call("/subscriber", Some(subscriber_token))).await;
    assert_eq!(subscriber_ok.status(), StatusCode::OK.as_u16());

    // /me tells a frontend which portal to show.
    assert_eq!(app.me(&operator_token).await["operator"], true);
    // Rights withdrawn take effect with the next request, token unchanged.
    operator.set_operator(&app, false).await;
    for path in ["/operator", "/operator/read"] {
        let withdrawn =
            actix_web::test::call_service(&probe, call(path, Some(operator_token.clone()))).await;
        assert_eq!(withdrawn.status(), StatusCode::FORBIDDEN.as_u16(), "{path}");
    }
    assert_eq!(app.me(&operator_token).await["operator"], false);
}
