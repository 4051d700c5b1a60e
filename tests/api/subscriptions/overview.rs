//! The Abo-Übersicht: a real PDF whose text layer holds the holder's and the
//! subscription's data, umlauts and ß included, in German or English.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::fixtures::{account, subscription};
use crate::helpers::{TestApp, assert_problem};

#[tokio::test]
async fn the_overview_is_a_pdf_with_the_guides_data_in_its_text() {
    let app = TestApp::spawn().await;
    let inserted = subscription().holder("Größer", "34117").insert(&app).await;
    let tokens = account().insert(&app).await.login(&app).await;
    let linked = app
        .request(
            Method::POST,
            "/api/v1/me/subscriptions/link",
            Some(&tokens.access),
            Some(json!({"number": inserted.contract_number, "birth_date": "05.10.2000", "last_name": "GROESSER", "postal_code": "34117"})),
        )
        .await;
    assert_eq!(linked.status(), StatusCode::CREATED);
    let path = format!("/api/v1/me/subscriptions/{}/overview.pdf", inserted.id);
    let customer_path = format!("/api/v1/me/subscriptions/{}/customer", inserted.id);
    let patched = app
        .request(
            Method::PATCH,
            &customer_path,
            Some(&tokens.access),
            Some(json!({"address": {"street": "Weißenburgstraße 7"}, "marketing_consent": true})),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);

    let response = app.get(&path, Some(&tokens.access)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/pdf");
    assert_eq!(
        response.headers()["content-disposition"],
        format!(
            "attachment; filename=\"Abo-Uebersicht-{}.pdf\"",
            inserted.contract_number
        )
        .as_str()
    );
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let text = pdf_extract::extract_text_from_mem(&bytes).expect("the PDF has a text layer");
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format("%d.%m.%Y")
        .to_string();
    for expected in [
        "Abo-Übersicht",
        "Herr Max Größer",
        "05.10.2000",
        "Weißenburgstraße 7",
        "34117 Kassel",
        "Deutschland",
        inserted.contract_number.as_str(),
        "Deutschlandticket Job",
        "01.05.2023",
        "unbefristet",
        "AKTIV",
        "Musterfirma GmbH",
        "D-Ticket Job (Rechnung)",
        "Werbe-Einwilligung",
        "ja",
        &format!("Ausgestellt am {today}"),
    ] {
        assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
    }

    let english = app
        .client
        .get(app.url(&path))
        .bearer_auth(&tokens.access)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(english.status(), StatusCode::OK);
    let text = pdf_extract::extract_text_from_mem(&english.bytes().await.unwrap()).unwrap();
    for expected in [
        "Subscription overview",
        "Mr Max Größer",
        "open-ended",
        "ACTIVE",
        "Date of birth",
    ] {
        assert!(text.contains(expected), "{expected:?} missing in:\n{text}");
    }

    let other = account().insert(&app).await.login(&app).await;
    assert_problem(
        app.get(&path, Some(&other.access)).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
