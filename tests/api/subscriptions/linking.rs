//! Linking a subscription (guide steps 7–9): folded comparison, one generic mismatch,
//! lockout per account and per subscription, one winner of a race.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::fixtures::{account, subscription};
use crate::helpers::{
    TestApp, assert_problem, count_audited, pointers, release_together, retry_after,
};

const LINK: &str = "/api/v1/me/subscriptions/link";

fn guide_data(number: &str) -> Value {
    json!({"number": number, "birth_date": "05.10.2000", "last_name": "Musterjobber", "postal_code": "34117"})
}

async fn link(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    app.request(reqwest::Method::POST, LINK, Some(token), Some(body))
        .await
}

#[tokio::test]
async fn the_guides_subscription_links_once_and_relinks_idempotently() {
    let app = TestApp::spawn().await;
    let inserted = subscription().insert(&app).await;
    let tokens = account().insert(&app).await.login(&app).await;

    let response = link(&app, &tokens.access, guide_data(&inserted.contract_number)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        response.headers()["location"],
        format!("/api/v1/me/subscriptions/{}", inserted.id).as_str()
    );
    let linked: Value = response.json().await.unwrap();
    assert_eq!(linked["id"], inserted.id.as_str());
    assert_eq!(linked["contract_number"], inserted.contract_number.as_str());
    assert_eq!(linked["valid_from"], "2023-05-01");
    assert_eq!(linked["valid_to"], Value::Null);
    assert_eq!(linked["status"], "active");
    assert_eq!(linked["expired"], false);
    assert_eq!(
        linked["company_contract"]["company_name"],
        "Musterfirma GmbH"
    );
    assert_eq!(
        linked["company_contract"]["product_offering"],
        "D-Ticket Job (Rechnung)"
    );
    assert!(linked["linked_at"].is_string());

    let again = link(&app, &tokens.access, guide_data(&inserted.contract_number)).await;
    assert_eq!(again.status(), StatusCode::OK);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], inserted.id.as_str());
    assert_eq!(count_audited(&app, "subscription.linked").await, 1);
}

#[tokio::test]
async fn spellings_of_the_same_data_link_alike() {
    let app = TestApp::spawn().await;
    let tokens = account().insert(&app).await.login(&app).await;
    let muller = subscription()
        .numbers("AB-123", "98765432")
        .holder("Müller", "34117")
        .insert(&app)
        .await;
    let strauss = subscription().holder("Strauß", "34 117").insert(&app).await;
    let cases = [
        (
            &muller,
            muller.contract_number.clone(),
            "MÜLLER",
            "34117",
            "2000-10-05",
        ),
        (
            &muller,
            format!(" {} ", muller.contract_number),
            "mueller",
            " 34 117 ",
            "05.10.2000",
        ),
        (
            &muller,
            "ab-123".to_string(),
            "  Mu\u{308}ller ",
            "34117",
            "5.10.2000",
        ),
        (
            &muller,
            "98765432".to_string(),
            "Müller",
            "3 4 1 1 7",
            "2000-10-05",
        ),
        (
            &muller,
            "9876 5432".to_string(),
            "MUELLER",
            "34117",
            "05.10.2000",
        ),
        (
            &strauss,
            strauss.contract_number.clone(),
            "STRAUSS",
            "34117",
            "05.10.2000",
        ),
        (
            &strauss,
            strauss.contract_number.clone(),
            "strauss",
            "34117",
            "2000-10-05",
        ),
    ];
    for (target, number, last_name, postal_code, birth_date) in cases {
        let response = link(
            &app,
            &tokens.access,
            json!({"number": number, "birth_date": birth_date, "last_name": last_name, "postal_code": postal_code}),
        )
        .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "{number} {last_name} {postal_code} {birth_date}"
        );
        let path = format!("/api/v1/me/subscriptions/{}", target.id);
        let unlinked = app
            .request(reqwest::Method::DELETE, &path, Some(&tokens.access), None)
            .await;
        assert_eq!(unlinked.status(), StatusCode::NO_CONTENT);
    }
    assert_eq!(count_audited(&app, "subscription.unlinked").await, 7);
}

#[tokio::test]
async fn every_mismatch_and_an_unknown_number_answer_the_same_problem() {
    let app = TestApp::spawn().await;
    let inserted = subscription().insert(&app).await;
    let tokens = account().insert(&app).await.login(&app).await;
    let number = inserted.contract_number.as_str();
    let attempts = [
        json!({"number": number, "birth_date": "06.10.2000", "last_name": "Musterjobber", "postal_code": "34117"}),
        json!({"number": number, "birth_date": "05.10.2000", "last_name": "Mustermann", "postal_code": "34117"}),
        json!({"number": number, "birth_date": "05.10.2000", "last_name": "Musterjobber", "postal_code": "34119"}),
        json!({"number": "999999999", "birth_date": "05.10.2000", "last_name": "Musterjobber", "postal_code": "34117"}),
    ];
    let mut bodies = Vec::new();
    for attempt in attempts {
        let response = link(&app, &tokens.access, attempt).await;
        bodies.push(
            assert_problem(
                response,
                StatusCode::UNPROCESSABLE_ENTITY,
                "subscription_not_matched",
            )
            .await,
        );
    }
    assert!(bodies.iter().all(|body| *body == bodies[0]), "{bodies:?}");
    assert!(bodies[0].get("errors").is_none());
    assert_eq!(count_audited(&app, "subscription.link_failed").await, 4);
    // The audit log keeps no entered value.
    let details = app
        .with_db(|conn| {
            use diesel::prelude::*;
            use firmenportal::schema::audit_log;
            audit_log::table
                .filter(audit_log::action.like("subscription.%"))
                .select(audit_log::details)
                .load::<Option<String>>(conn)
                .unwrap()
        })
        .await;
    assert!(details.iter().all(Option::is_none), "{details:?}");
}

#[tokio::test]
async fn empty_fields_are_listed_at_once_in_german() {
    let app = TestApp::spawn().await;
    let tokens = account().insert(&app).await.login(&app).await;
    let response = link(
        &app,
        &tokens.access,
        json!({"number": "431177", "birth_date": "", "last_name": " "}),
    )
    .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        [
            ("/last_name".to_string(), "required".to_string()),
            ("/postal_code".to_string(), "required".to_string()),
            ("/birth_date".to_string(), "required".to_string()),
        ]
    );
    assert_eq!(
        problem["errors"][0]["detail"],
        "Das Feld darf nicht leer bleiben."
    );
    let malformed = link(
        &app,
        &tokens.access,
        json!({"number": "431177", "birth_date": "31.02.2000", "last_name": "Muster", "postal_code": "34117"}),
    )
    .await;
    let problem = assert_problem(
        malformed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        [("/birth_date".to_string(), "invalid_date".to_string())]
    );
    assert_eq!(count_audited(&app, "subscription.link_failed").await, 0);
}

#[tokio::test]
async fn failed_attempts_lock_the_account_out_even_for_correct_data() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_LINK_PER_ACCOUNT", "3")
        .spawn()
        .await;
    let inserted = subscription().insert(&app).await;
    let tokens = account().insert(&app).await.login(&app).await;
    for number in ["111", "222", "333"] {
        let response = link(&app, &tokens.access, guide_data(number)).await;
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let refused = link(&app, &tokens.access, guide_data(&inserted.contract_number)).await;
    assert!(retry_after(&refused) > 0);
    assert_problem(
        refused,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_link_attempts",
    )
    .await;
    assert_eq!(count_audited(&app, "subscription.link_refused").await, 1);
    // Another account is not locked out.
    let other = account().insert(&app).await.login(&app).await;
    let linked = link(&app, &other.access, guide_data(&inserted.contract_number)).await;
    assert_eq!(linked.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn failed_attempts_lock_the_subscription_whichever_number_was_typed() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_LINK_PER_NUMBER", "3")
        .spawn()
        .await;
    let inserted = subscription().numbers("A-77", "C-88").insert(&app).await;
    for number in [inserted.contract_number.as_str(), "A-77", "C-88"] {
        let guesser = account().insert(&app).await.login(&app).await;
        let wrong = json!({"number": number, "birth_date": "01.01.1990", "last_name": "Musterjobber", "postal_code": "34117"});
        assert_eq!(
            link(&app, &guesser.access, wrong).await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let holder = account().insert(&app).await.login(&app).await;
    let refused = link(&app, &holder.access, guide_data(&inserted.contract_number)).await;
    assert_problem(
        refused,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_link_attempts",
    )
    .await;
}

#[tokio::test]
async fn a_success_clears_the_accounts_failures() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_LINK_PER_ACCOUNT", "3")
        .spawn()
        .await;
    let first = subscription().insert(&app).await;
    let second = subscription().insert(&app).await;
    let tokens = account().insert(&app).await.login(&app).await;
    for number in ["111", "222"] {
        link(&app, &tokens.access, guide_data(number)).await;
    }
    assert_eq!(
        link(&app, &tokens.access, guide_data(&first.contract_number))
            .await
            .status(),
        StatusCode::CREATED
    );
    for number in ["333", "444"] {
        link(&app, &tokens.access, guide_data(number)).await;
    }
    assert_eq!(
        link(&app, &tokens.access, guide_data(&second.contract_number))
            .await
            .status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_parallel_burst_of_guesses_counts_no_more_than_the_limit() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_LINK_PER_ACCOUNT", "5")
        .spawn()
        .await;
    let tokens = account().insert(&app).await.login(&app).await;
    let answers = release_together(&app, 20, |index| {
        app.post_later(
            LINK,
            Some(&tokens.access),
            guide_data(&format!("77{index}")),
        )
    })
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 422).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
    assert_eq!(count_audited(&app, "subscription.link_failed").await, 5);
}

#[tokio::test]
async fn two_accounts_racing_for_one_subscription_give_one_winner() {
    let app = TestApp::spawn().await;
    let inserted = subscription().insert(&app).await;
    let mut tokens = Vec::new();
    for _ in 0..6 {
        tokens.push(account().insert(&app).await.login(&app).await);
    }
    let answers = release_together(&app, tokens.len(), |index| {
        app.post_later(
            LINK,
            Some(&tokens[index].access),
            guide_data(&inserted.contract_number),
        )
    })
    .await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409]);
    let winner = answers
        .iter()
        .position(|r| r.status() == StatusCode::CREATED)
        .unwrap();
    for (index, token) in tokens.iter().enumerate() {
        let list: Value = app
            .get("/api/v1/me/subscriptions", Some(&token.access))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(list["total"], i64::from(index == winner), "account {index}");
    }
}

#[tokio::test]
async fn another_accounts_subscription_answers_409_only_after_all_data_matched() {
    let app = TestApp::spawn().await;
    let inserted = subscription().insert(&app).await;
    let holder = account().insert(&app).await.login(&app).await;
    let other = account().insert(&app).await.login(&app).await;
    link(&app, &holder.access, guide_data(&inserted.contract_number)).await;
    let mut wrong = guide_data(&inserted.contract_number);
    wrong["postal_code"] = json!("10115");
    assert_problem(
        link(&app, &other.access, wrong).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "subscription_not_matched",
    )
    .await;
    assert_problem(
        link(&app, &other.access, guide_data(&inserted.contract_number)).await,
        StatusCode::CONFLICT,
        "subscription_already_linked",
    )
    .await;
}

#[tokio::test]
async fn two_instances_on_one_database_share_the_lockout() {
    let first = TestApp::builder()
        .set("RATE_LIMIT_LINK_PER_ACCOUNT", "2")
        .spawn()
        .await;
    let second = TestApp::builder()
        .database(first.database.clone())
        .set("RATE_LIMIT_LINK_PER_ACCOUNT", "2")
        .spawn()
        .await;
    let inserted = subscription().insert(&first).await;
    // Each instance signs its own tokens here (their key files differ).
    let holder = account().insert(&first).await;
    let (at_first, at_second) = (holder.login(&first).await, holder.login(&second).await);
    assert_eq!(
        link(&first, &at_first.access, guide_data("1"))
            .await
            .status(),
        422
    );
    assert_eq!(
        link(&second, &at_second.access, guide_data("2"))
            .await
            .status(),
        422
    );
    assert_problem(
        link(
            &first,
            &at_first.access,
            guide_data(&inserted.contract_number),
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_link_attempts",
    )
    .await;
    assert_problem(
        link(
            &second,
            &at_second.access,
            guide_data(&inserted.contract_number),
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_link_attempts",
    )
    .await;
}
