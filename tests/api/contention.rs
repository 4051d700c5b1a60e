//! Contention: bursts of requests released together on the records they share. Each
//! answer is one the contract names for its operation; none is a `500`, which a
//! deadlock or a serialization failure would answer if the database's aborted
//! transactions were not retried (and if locks were not taken in one order).

use crate::helpers::today_berlin;
use chrono::{Datelike, Days, Months};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{account, company, company_user, contract, subscription};
use crate::helpers::{PASSWORD, TestApp, release_together};

fn statuses(answers: &[reqwest::Response]) -> Vec<u16> {
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
    statuses.sort_unstable();
    statuses
}

fn assert_only(answers: &[reqwest::Response], allowed: &[u16], what: &str) {
    let statuses = statuses(answers);
    assert!(
        statuses.iter().all(|status| allowed.contains(status)),
        "{what}: {statuses:?}, allowed {allowed:?}"
    );
}

#[tokio::test]
async fn bursts_of_logins_to_one_account_overlapping_each_other_all_answer_200() {
    let _bursting = crate::helpers::cores_to_itself().await;
    let app = TestApp::builder()
        .set("RATE_LIMIT_LOGIN_PER_ACCOUNT", "100000")
        .set("RATE_LIMIT_LOGIN_PER_IP", "100000")
        .set("PASSWORD_HASHING_QUEUE", "1000")
        .spawn()
        .await;
    let user = account().insert(&app).await;
    let body = json!({ "email": user.email, "password": PASSWORD });
    // Four bursts of 30, each released while the one before is still opening its
    // sessions (30 hashes on 2 threads take 0.2–0.5 s, the bursts come 150 ms apart):
    // logins counting their attempts meet logins settling theirs. Not more: the hashing
    // threads run at nice 10 beside the other tests' request threads of this process,
    // and on a 2-core machine with 30 ms hashes 4 × 60 logins kept the last waiting past
    // the client's 30 s timeout.
    let mut bursts = Vec::new();
    for _ in 0..4 {
        let requests: Vec<_> = (0..30)
            .map(|_| app.post_later("/api/v1/auth/login", None, body.clone()))
            .collect();
        bursts.push(tokio::spawn(futures_util::future::join_all(requests)));
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    }
    for (index, burst) in bursts.into_iter().enumerate() {
        let answers = burst.await.unwrap();
        assert_only(&answers, &[200], &format!("login burst {index}"));
    }
}

#[tokio::test]
async fn accounts_linking_one_subscription_at_once_get_one_winner_and_no_error() {
    let _bursting = crate::helpers::cores_to_itself().await;
    // Failures still count under the subscription's key (the row every attempt locks),
    // but do not lock it: with the default of five, five wrong attempts that happened to
    // take the lock before every right one would lock the subscription, rightly, and
    // leave no winner (the lockout has tests of its own in `subscriptions::linking`).
    let app = TestApp::builder()
        .set("RATE_LIMIT_LINK_PER_NUMBER", "100")
        .spawn()
        .await;
    let inserted = subscription().insert(&app).await;
    let mut tokens = Vec::new();
    for _ in 0..12 {
        tokens.push(account().insert(&app).await.login(&app).await.access);
    }
    let answers = release_together(&app, 24, |i| {
        // Every other attempt gives a wrong birth date: failures count under the
        // subscription's key while others link it.
        let birth_date = if i % 2 == 0 {
            "05.10.2000"
        } else {
            "06.10.2000"
        };
        app.post_later(
            "/api/v1/me/subscriptions/link",
            Some(&tokens[i / 2]),
            json!({
                "number": inserted.contract_number,
                "birth_date": birth_date,
                "last_name": "Musterjobber",
                "postal_code": "34117"
            }),
        )
    })
    .await;
    assert_only(&answers, &[201, 409, 422, 429], "link");
    assert_eq!(statuses(&answers).iter().filter(|s| **s == 201).count(), 1);
}

#[tokio::test]
async fn code_checks_and_orders_at_once_answer_only_their_documented_statuses() {
    let _bursting = crate::helpers::cores_to_itself().await;
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let contract_id = contract(&company).insert(&app).await;
    let admin = company_user(&app, &company, "admin").await;
    let generated = app
        .request(
            Method::POST,
            &format!("/api/v1/contracts/{contract_id}/customer-codes"),
            Some(admin.access()),
            Some(json!({ "valid_until": (today_berlin() + Days::new(90)).to_string() })),
        )
        .await;
    assert_eq!(generated.status(), StatusCode::CREATED);
    let code = generated.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(account().insert(&app).await.login(&app).await.access);
    }
    let answers = release_together(&app, 32, |i| {
        let typed = if i % 3 == 0 { "ZZZZ-ZZZZ-ZZZZ" } else { &code };
        app.post_later(
            "/api/v1/customer-codes/check",
            Some(&tokens[i % 4]),
            json!({ "code": typed }),
        )
    })
    .await;
    assert_only(&answers, &[200, 422, 429], "code check");
}

#[tokio::test]
async fn approvals_a_staff_list_and_cancellations_under_one_contract_at_once_never_fail() {
    let _bursting = crate::helpers::cores_to_itself().await;
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let contract_id = contract(&company).insert(&app).await;
    let admin = company_user(&app, &company, "admin").await;
    let generated = app
        .request(
            Method::POST,
            &format!("/api/v1/contracts/{contract_id}/customer-codes"),
            Some(admin.access()),
            Some(json!({ "valid_until": (today_berlin() + Days::new(90)).to_string() })),
        )
        .await;
    let code = generated.json::<Value>().await.unwrap()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let start = (today_berlin().with_day(1).unwrap() + Months::new(2)).format("%Y-%m");
    let mut applications = Vec::new();
    for i in 0..6 {
        let tokens = account().insert(&app).await.login(&app).await;
        let ordered = app
            .request(
                Method::POST,
                "/api/v1/me/applications",
                Some(&tokens.access),
                Some(json!({
                    "customer_code": code,
                    "start_month": start.to_string(),
                    "holder": {
                        "salutation": "ms", "gender": "female", "first_name": "Jana",
                        "last_name": format!("Neu{}", ["a", "b", "c", "d", "e", "f"][i]),
                        "birth_date": "14.02.1994",
                        "address": {"street": "Wilhelmsstr. 2", "postal_code": "34117", "city": "Kassel", "country": "DE"},
                        "phone": null
                    },
                    "personnel_number": format!("A-{i}"),
                    "marketing_consent": false
                })),
            )
            .await;
        assert_eq!(ordered.status(), StatusCode::CREATED);
        applications.push(
            ordered.json::<Value>().await.unwrap()["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    // Two tickets under the contract to cancel, from a first list.
    let month = (today_berlin().with_day(1).unwrap() + Months::new(2)).format("%m.%Y");
    let list = |rows: &[(&str, &str)]| {
        let mut csv = "Personalnummer;Anrede;Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;E-Mail;Startmonat\n".to_string();
        for (number, name) in rows {
            csv.push_str(&format!(
                "{number};Herr;Tom;{name};03.04.1991;Ständeplatz 1;34117;Kassel;tom@example.de;{month}\n"
            ));
        }
        csv.into_bytes()
    };
    let upload = |bytes: Vec<u8>| {
        let part = reqwest::multipart::Part::bytes(bytes).file_name("liste.csv");
        let request = app
            .client
            .post(app.url(&format!("/api/v1/contracts/{contract_id}/bulk-uploads")))
            .bearer_auth(admin.access())
            .multipart(reqwest::multipart::Form::new().part("file", part));
        async move { request.send().await.expect("upload") }
    };
    let first = upload(list(&[("L-1", "Eins"), ("L-2", "Zwei")])).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let tickets: Value = app
        .get(
            &format!("/api/v1/contracts/{contract_id}/subscriptions"),
            Some(admin.access()),
        )
        .await
        .json()
        .await
        .unwrap();
    let tickets: Vec<String> = tickets["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tickets.len(), 2);

    // Six approvals, a second list and both cancellations (each twice), all at once.
    let second_list = list(&[("L-3", "Drei"), ("L-4", "Vier"), ("A-0", "Doppelt")]);
    let answers = release_together(&app, 11, |i| {
        let request = match i {
            0..=5 => app.client.post(app.url(&format!(
                "/api/v1/contracts/{contract_id}/applications/{}/approve",
                applications[i]
            ))),
            6 => {
                let part =
                    reqwest::multipart::Part::bytes(second_list.clone()).file_name("zwei.csv");
                app.client
                    .post(app.url(&format!("/api/v1/contracts/{contract_id}/bulk-uploads")))
                    .multipart(reqwest::multipart::Form::new().part("file", part))
            }
            _ => app.client.post(app.url(&format!(
                "/api/v1/contracts/{contract_id}/subscriptions/{}/cancellation",
                tickets[i % 2]
            ))),
        }
        .bearer_auth(admin.access());
        async move { request.send().await.expect("request") }
    })
    .await;
    let (approvals, rest) = answers.split_at(6);
    let (uploads, cancellations) = rest.split_at(1);
    // An approval may lose to the list that made A-0 a ticket meanwhile.
    assert_only(approvals, &[200, 409], "approvals");
    assert_only(uploads, &[201], "upload");
    assert_only(cancellations, &[200, 409], "cancellations");
    assert_eq!(
        statuses(cancellations)
            .iter()
            .filter(|s| **s == 200)
            .count(),
        2,
        "each ticket cancelled once"
    );
}
