//! The company portal's contract list (Vertragsverwaltung) and contract infos: every
//! filter and sort against a reference computed here, paging without overlap or gap,
//! and tenant isolation.

use crate::helpers::today_berlin;
use chrono::Days;
use reqwest::StatusCode;
use serde_json::Value;

use crate::fixtures::{company, company_user, contract, operator};
use crate::helpers::{TestApp, assert_problem, pointers, release_together};

/// A contract as the test knows it, for the reference lists.
#[derive(Debug, Clone)]
struct Known {
    id: String,
    contract_number: String,
    company_id: String,
    company_name: String,
    customer_number: String,
    street: String,
    postal_code: String,
    city: String,
    product_offering: String,
    status: String,
    valid_from: String,
    active: bool,
}

impl Known {
    fn key(&self, sort: &str) -> String {
        match sort {
            "contract_number" => self.contract_number.clone(),
            "company_name" => self.company_name.clone(),
            "street" => self.street.clone(),
            "postal_code" => self.postal_code.clone(),
            "city" => self.city.clone(),
            "product_offering" => self.product_offering.clone(),
            "status" => self.status.clone(),
            "valid_from" => self.valid_from.clone(),
            other => panic!("unknown sort {other}"),
        }
    }
}

/// Three companies and fourteen contracts with many equal sort values (ties), umlauts
/// and every state.
async fn landscape(app: &TestApp) -> Vec<Known> {
    let today = today_berlin();
    let companies = [
        ("Müller Logistik GmbH", "Hauptstraße 5", "34117", "Kassel"),
        ("Musterfirma GmbH", "Königsplatz 1", "34117", "Kassel"),
        ("Zeitarbeit Nord AG", "Am Hafen 9", "20095", "Hamburg"),
    ];
    let mut known = Vec::new();
    for (index, (name, street, postal_code, city)) in companies.into_iter().enumerate() {
        let inserted = company()
            .named(name)
            .address(street, postal_code, city)
            .insert(app)
            .await;
        for n in 0..(4 + index) {
            let (status, from, to, active) = match n % 4 {
                0 => ("active", "2023-01-01".to_string(), None, true),
                1 => (
                    "cancelled",
                    "2022-05-01".into(),
                    Some(today.to_string()),
                    false,
                ),
                2 => (
                    "active",
                    "2021-01-01".into(),
                    Some((today - Days::new(1)).to_string()),
                    false,
                ),
                _ => ("active", today.to_string(), Some(today.to_string()), true),
            };
            let offering = if n % 2 == 0 {
                "D-Ticket Job (Rechnung)"
            } else {
                "D-Ticket Job (Lastschrift)"
            };
            let number = format!("FV-{}{}", ["A", "B", "C"][n % 3], index);
            let id = contract(&inserted)
                .number(&format!("{number}-{n}"))
                .offering(offering)
                .valid(&from, to.as_deref(), status)
                .insert(app)
                .await;
            known.push(Known {
                id,
                contract_number: format!("{number}-{n}"),
                company_id: inserted.id.clone(),
                company_name: name.into(),
                customer_number: inserted.customer_number.clone(),
                street: street.into(),
                postal_code: postal_code.into(),
                city: city.into(),
                product_offering: offering.into(),
                status: status.into(),
                valid_from: from,
                active,
            });
        }
    }
    known
}

async fn list_ids(app: &TestApp, token: &str, query: &str) -> (Vec<String>, i64) {
    let response = app
        .get(&format!("/api/v1/contracts?{query}"), Some(token))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{query}");
    let page: Value = response.json().await.unwrap();
    let ids = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect();
    (ids, page["total"].as_i64().unwrap())
}

fn reference(known: &[Known], sort: &str, descending: bool) -> Vec<String> {
    let mut sorted = known.to_vec();
    sorted.sort_by(|a, b| (a.key(sort), &a.id).cmp(&(b.key(sort), &b.id)));
    if descending {
        sorted.reverse();
    }
    sorted.into_iter().map(|k| k.id).collect()
}

#[tokio::test]
async fn every_sort_and_order_matches_the_reference_and_pages_never_overlap_or_skip() {
    let app = TestApp::spawn().await;
    let known = landscape(&app).await;
    let (_, operator) = operator(&app).await;
    for sort in [
        "contract_number",
        "company_name",
        "street",
        "postal_code",
        "city",
        "product_offering",
        "status",
        "valid_from",
    ] {
        for (order, descending) in [("asc", false), ("desc", true)] {
            let expected = reference(&known, sort, descending);
            let mut paged = Vec::new();
            for page in 1..=4 {
                let (ids, total) = list_ids(
                    &app,
                    &operator.access,
                    &format!("sort={sort}&order={order}&per_page=4&page={page}"),
                )
                .await;
                assert_eq!(total, known.len() as i64);
                paged.extend(ids);
            }
            assert_eq!(paged, expected, "sort={sort} order={order}");
        }
    }
    let (past_the_end, total) = list_ids(&app, &operator.access, "per_page=10&page=3").await;
    assert!(past_the_end.is_empty());
    assert_eq!(total, known.len() as i64);
}

#[tokio::test]
async fn every_filter_matches_the_reference() {
    let app = TestApp::spawn().await;
    let known = landscape(&app).await;
    let (_, operator) = operator(&app).await;
    let by = |keep: &dyn Fn(&Known) -> bool| -> Vec<String> {
        let kept: Vec<Known> = known.iter().filter(|k| keep(k)).cloned().collect();
        reference(&kept, "contract_number", false)
    };
    let hamburg = known.iter().find(|k| k.city == "Hamburg").unwrap().clone();
    let cases: Vec<(String, Vec<String>)> = vec![
        ("active=true".into(), by(&|k| k.active)),
        ("active=false".into(), by(&|k| !k.active)),
        (
            format!("customer_number={}", hamburg.customer_number.to_lowercase()),
            by(&|k| k.customer_number == hamburg.customer_number),
        ),
        (
            format!("company_id={}", hamburg.company_id),
            by(&|k| k.company_id == hamburg.company_id),
        ),
        // Case- and umlaut-tolerant substrings over the company's and contract's words.
        (
            "q=MUELLER".into(),
            by(&|k| k.company_name.starts_with("Müller")),
        ),
        (
            "q=hauptstrasse".into(),
            by(&|k| k.street == "Hauptstraße 5"),
        ),
        ("q=20095".into(), by(&|k| k.postal_code == "20095")),
        (
            "q=lastschrift".into(),
            by(&|k| k.product_offering.contains("Lastschrift")),
        ),
        (
            "q=fv-b".into(),
            by(&|k| k.contract_number.starts_with("FV-B")),
        ),
        ("q=100%25".into(), vec![]),
        // A quote cannot break out of the SQLite index's phrase.
        ("q=%22mueller".into(), vec![]),
        // Under three characters no trigram index helps; the substring rule still holds.
        ("q=BU".into(), by(&|k| k.city == "Hamburg")),
        (
            "q=kassel&active=true".into(),
            by(&|k| k.city == "Kassel" && k.active),
        ),
    ];
    for (query, expected) in cases {
        let (ids, total) = list_ids(&app, &operator.access, &format!("{query}&per_page=100")).await;
        assert_eq!(ids, expected, "{query}");
        assert_eq!(total, expected.len() as i64, "{query}");
    }
    // Small pages of a common word are read by walking the sort order, large ones
    // through SQLite's trigram index: the pages agree either way.
    let expected = by(&|k| k.city == "Kassel");
    let mut paged = Vec::new();
    for page in 1..=5 {
        let query = format!("q=kassel&per_page=2&page={page}");
        let (ids, total) = list_ids(&app, &operator.access, &query).await;
        assert_eq!(total, expected.len() as i64);
        paged.extend(ids);
    }
    assert_eq!(paged, expected);
}

#[tokio::test]
async fn company_users_see_only_their_companies_contracts() {
    let app = TestApp::spawn().await;
    let known = landscape(&app).await;
    let own = known[0].company_id.clone();
    let foreign = known.iter().find(|k| k.company_id != own).unwrap().clone();
    let member = company_user(
        &app,
        &crate::fixtures::InsertedCompany {
            id: own.clone(),
            customer_number: known[0].customer_number.clone(),
        },
        "member",
    )
    .await;
    let (ids, total) = list_ids(&app, member.access(), "per_page=100").await;
    let expected: Vec<String> = reference(
        &known
            .iter()
            .filter(|k| k.company_id == own)
            .cloned()
            .collect::<Vec<_>>(),
        "contract_number",
        false,
    );
    assert_eq!(ids, expected);
    assert_eq!(total, expected.len() as i64);
    // Another company's contracts are not found, by any filter or path.
    let (ids, total) = list_ids(
        &app,
        member.access(),
        &format!("customer_number={}", foreign.customer_number),
    )
    .await;
    assert!(ids.is_empty());
    assert_eq!(total, 0);
    for path in [
        format!("/api/v1/contracts/{}", foreign.id),
        format!("/api/v1/contracts/{}/customer-codes", foreign.id),
        format!("/api/v1/companies/{}", foreign.company_id),
        format!("/api/v1/companies/{}/users", foreign.company_id),
        format!("/api/v1/dashboard?company_id={}", foreign.company_id),
    ] {
        assert_problem(
            app.get(&path, Some(member.access())).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    // A plain subscriber sees no contracts at all.
    let subscriber = crate::fixtures::account()
        .insert(&app)
        .await
        .login(&app)
        .await;
    let (ids, total) = list_ids(&app, &subscriber.access, "").await;
    assert!(ids.is_empty());
    assert_eq!(total, 0);
}

#[tokio::test]
async fn invalid_list_parameters_are_field_errors_at_their_parameter() {
    let app = TestApp::spawn().await;
    let (_, operator) = operator(&app).await;
    let response = app
        .get(
            "/api/v1/contracts?sort=firma&order=up&per_page=101&active=ja",
            Some(&operator.access),
        )
        .await;
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
            ("/active".to_string(), "invalid_type".to_string()),
            ("/order".to_string(), "invalid_choice".to_string()),
            ("/per_page".to_string(), "out_of_range".to_string()),
            ("/sort".to_string(), "invalid_choice".to_string()),
        ]
    );
    // Given empty, a parameter with a fixed set of values is no value of that set.
    let response = app
        .get(
            "/api/v1/contracts?sort=&order=&active=",
            Some(&operator.access),
        )
        .await;
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
            ("/active".to_string(), "invalid_type".to_string()),
            ("/order".to_string(), "invalid_choice".to_string()),
            ("/sort".to_string(), "invalid_choice".to_string()),
        ]
    );
}

#[tokio::test]
async fn contract_infos_show_the_company_the_current_code_and_the_active_subscriptions() {
    let app = TestApp::spawn().await;
    // The fixture's subscription runs under its own active company contract.
    let subscription = crate::fixtures::subscription().insert(&app).await;
    crate::fixtures::subscription()
        .valid("2020-01-01", Some("2021-12-31"), "ended")
        .insert(&app)
        .await;
    let inserted = crate::fixtures::InsertedCompany {
        id: subscription.company_id.clone(),
        customer_number: String::new(),
    };
    let admin = company_user(&app, &inserted, "admin").await;
    let path = format!("/api/v1/contracts/{}", subscription.contract_id);
    let info: Value = app
        .get(&path, Some(admin.access()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["id"], subscription.contract_id);
    assert_eq!(info["status"], "active");
    assert_eq!(info["active"], true);
    assert_eq!(info["company"]["id"], subscription.company_id);
    assert_eq!(info["company"]["name"], "Musterfirma GmbH");
    assert_eq!(info["company"]["address"]["city"], "Kassel");
    assert_eq!(info["current_customer_code"], Value::Null);
    assert_eq!(info["active_subscriptions"], 1);

    let until = (today_berlin() + Days::new(30))
        .format("%d.%m.%Y")
        .to_string();
    let generated = app
        .request(
            reqwest::Method::POST,
            &format!("{path}/customer-codes"),
            Some(admin.access()),
            Some(serde_json::json!({"valid_until": until})),
        )
        .await;
    assert_eq!(generated.status(), StatusCode::CREATED);
    let generated: Value = generated.json().await.unwrap();
    let info: Value = app
        .get(&path, Some(admin.access()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["current_customer_code"]["id"], generated["id"]);
    assert_eq!(info["current_customer_code"]["code"], generated["code"]);
    assert_eq!(
        info["current_customer_code"]["valid_until"],
        (today_berlin() + Days::new(30)).to_string()
    );
}

#[tokio::test]
async fn a_renamed_company_is_listed_sorted_and_found_by_its_new_name() {
    let app = TestApp::spawn().await;
    let (_, operator) = operator(&app).await;
    let renamed = company().named("Alpha GmbH").insert(&app).await;
    let other = company().named("Beta GmbH").insert(&app).await;
    let first = contract(&renamed).insert(&app).await;
    let second = contract(&other).insert(&app).await;
    let patched = app
        .request(
            reqwest::Method::PATCH,
            &format!("/api/v1/admin/companies/{}", renamed.id),
            Some(&operator.access),
            Some(serde_json::json!({"name": "Zöllner GmbH"})),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let (ids, _) = list_ids(&app, &operator.access, "sort=company_name").await;
    assert_eq!(ids, [second.clone(), first.clone()]);
    let (ids, _) = list_ids(&app, &operator.access, "q=zoellner").await;
    assert_eq!(ids, std::slice::from_ref(&first));
    let (ids, _) = list_ids(&app, &operator.access, "q=alpha").await;
    assert!(ids.is_empty());
    let page: Value = app
        .get("/api/v1/contracts?q=zoellner", Some(&operator.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["company_name"], "Zöllner GmbH");
}

#[tokio::test]
async fn the_operators_totals_follow_every_change_of_a_contracts_state() {
    let app = TestApp::spawn().await;
    let mut known = landscape(&app).await;
    let (_, operator) = operator(&app).await;
    let totals = |known: &[Known]| {
        let active = known.iter().filter(|k| k.active).count() as i64;
        (known.len() as i64, active, known.len() as i64 - active)
    };
    let token = operator.access.clone();
    assert_eq!(listed_totals(&app, &token).await, totals(&known));

    // An active contract is cancelled as of yesterday; an ended one is reopened.
    let yesterday = (today_berlin() - Days::new(1)).to_string();
    let changes = [
        (
            known.iter().position(|k| k.active).unwrap(),
            serde_json::json!({"status": "cancelled", "valid_to": yesterday}),
            false,
        ),
        (
            known
                .iter()
                .position(|k| !k.active && k.status == "active")
                .unwrap(),
            serde_json::json!({"valid_to": null}),
            true,
        ),
    ];
    for (index, patch, active) in changes {
        let response = app
            .request(
                reqwest::Method::PATCH,
                &format!("/api/v1/admin/contracts/{}", known[index].id),
                Some(&operator.access),
                Some(patch),
            )
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        known[index].active = active;
        assert_eq!(listed_totals(&app, &token).await, totals(&known));
    }
    // A renamed contract stays counted once.
    let response = app
        .request(
            reqwest::Method::PATCH,
            &format!("/api/v1/admin/contracts/{}", known[0].id),
            Some(&operator.access),
            Some(serde_json::json!({"contract_number": "FV-NEU-1"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(listed_totals(&app, &token).await, totals(&known));
}

/// The totals of all, the active and the other contracts as the operator's list answers.
async fn listed_totals(app: &TestApp, token: &str) -> (i64, i64, i64) {
    let (_, all) = list_ids(app, token, "").await;
    let (_, active) = list_ids(app, token, "active=true").await;
    let (_, other) = list_ids(app, token, "active=false").await;
    (all, active, other)
}

#[tokio::test]
async fn contracts_created_and_changed_at_once_are_each_counted_once() {
    let app = TestApp::spawn().await;
    let (_, operator) = operator(&app).await;
    let inserted = company().insert(&app).await;
    // Eight contracts of one group at once: every insert adds to the same count row.
    let created = release_together(&app, 8, |n| {
        let request = app
            .client
            .post(app.url("/api/v1/admin/contracts"))
            .bearer_auth(&operator.access)
            .json(&serde_json::json!({
                "contract_number": format!("FV-BURST-{n}"),
                "company_id": inserted.id,
                "product_offering": "D-Ticket Job (Rechnung)",
                "status": "active",
                "valid_from": "2024-01-01",
            }))
            .send();
        async move { request.await.expect("request") }
    })
    .await;
    let mut ids = Vec::new();
    for response in created {
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    assert_eq!(listed_totals(&app, &operator.access).await, (8, 8, 0));
    // Four of them cancelled at once move from the active group to another one.
    let yesterday = (today_berlin() - Days::new(1)).to_string();
    let changed = release_together(&app, 4, |n| {
        let request = app
            .client
            .patch(app.url(&format!("/api/v1/admin/contracts/{}", ids[n])))
            .bearer_auth(&operator.access)
            .json(&serde_json::json!({"status": "cancelled", "valid_to": yesterday}))
            .send();
        async move { request.await.expect("request") }
    })
    .await;
    for response in changed {
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(listed_totals(&app, &operator.access).await, (8, 4, 4));
}
