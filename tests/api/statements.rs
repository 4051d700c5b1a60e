//! Prices, employer shares and monthly statements (Abrechnungen): the price list, the
//! 25 % rule, which tickets a month counts, a price change between months, rounding,
//! freezing and re-opening, a burst of first reads, CSV read back in a German dialect,
//! Excel read back, formula escaping, the operator's overview and the maintenance job.

use crate::helpers::today_berlin;
use chrono::{Datelike, NaiveDate, NaiveTime};
use diesel::prelude::*;
use firmenportal::domain::month::{format_month, months_after};
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{CompanyUser, InsertedCompany, company, company_user, contract, operator};
use crate::helpers::{
    TestApp, assert_problem, count_audited, count_rows, count_where, pointers, release_together,
};

const PRODUCT: &str = "D-Ticket Job (Rechnung)";

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// A ticket to put under a contract.
struct Ticket<'a> {
    first_name: &'a str,
    last_name: &'a str,
    personnel_number: Option<&'a str>,
    valid_from: &'a str,
    valid_to: Option<&'a str>,
    status: &'a str,
}

fn ticket<'a>(last_name: &'a str, valid_from: &'a str, valid_to: Option<&'a str>) -> Ticket<'a> {
    Ticket {
        first_name: "Max",
        last_name,
        personnel_number: None,
        valid_from,
        valid_to,
        status: if valid_to.is_some() {
            "cancelled"
        } else {
            "active"
        },
    }
}

impl Ticket<'_> {
    fn status(mut self, status: &'static str) -> Self {
        self.status = status;
        self
    }

    /// Inserts the holder and the ticket under the contract; the ticket's id.
    async fn insert(self, app: &TestApp, contract_id: &str) -> String {
        use firmenportal::schema::{customers, subscriptions};
        let id = uuid::Uuid::new_v4().to_string();
        let customer_id = uuid::Uuid::new_v4().to_string();
        let values = (
            id.clone(),
            customer_id,
            contract_id.to_string(),
            self.first_name.to_string(),
            self.last_name.to_string(),
            self.personnel_number.map(str::to_string),
            date(self.valid_from),
            self.valid_to.map(date),
            self.status.to_string(),
        );
        app.with_db(move |conn| {
            let (id, customer_id, contract_id, first, last, personnel, from, to, status) = values;
            let now = chrono::Utc::now().naive_utc();
            let suffix = id[..8].to_uppercase();
            diesel::insert_into(customers::table)
                .values((
                    customers::id.eq(&customer_id),
                    customers::customer_number.eq(format!("KD-{suffix}")),
                    customers::salutation.eq("mr"),
                    customers::gender.eq("male"),
                    customers::first_name.eq(&first),
                    customers::last_name.eq(&last),
                    customers::birth_date.eq(date("1990-04-01")),
                    customers::street.eq("Artilleriestr. 39"),
                    customers::postal_code.eq("34117"),
                    customers::city.eq("Kassel"),
                    customers::country.eq("DE"),
                    customers::marketing_consent.eq(false),
                    customers::recorded_at.eq(date("2024-10-22")),
                    customers::search_text
                        .eq(firmenportal::domain::fold::search_text(&[&first, &last])),
                    customers::created_at.eq(now),
                    customers::updated_at.eq(now),
                ))
                .execute(conn)
                .expect("insert customer");
            diesel::insert_into(subscriptions::table)
                .values((
                    subscriptions::id.eq(&id),
                    subscriptions::contract_number.eq(format!("7{}", &suffix[..6])),
                    subscriptions::product.eq("Deutschlandticket Job"),
                    subscriptions::valid_from.eq(from),
                    subscriptions::valid_to.eq(to),
                    subscriptions::status.eq(status),
                    subscriptions::customer_id.eq(&customer_id),
                    subscriptions::company_contract_id.eq(Some(contract_id)),
                    subscriptions::personnel_number.eq(personnel),
                    subscriptions::created_at.eq(now),
                    subscriptions::updated_at.eq(now),
                ))
                .execute(conn)
                .expect("insert subscription");
        })
        .await;
        id
    }
}

/// A company with a contract, its admin and a signed-in operator.
struct Setup {
    company: InsertedCompany,
    contract_id: String,
    admin: CompanyUser,
    operator: String,
}

async fn setup(app: &TestApp) -> Setup {
    let company = company().insert(app).await;
    let contract_id = contract(&company).insert(app).await;
    let admin = company_user(app, &company, "admin").await;
    let (_, tokens) = operator(app).await;
    Setup {
        company,
        contract_id,
        admin,
        operator: tokens.access,
    }
}

async fn add_price(
    app: &TestApp,
    operator: &str,
    product: &str,
    from: &str,
    list: &str,
    discount: &str,
) {
    let response = app
        .request(
            Method::POST,
            "/api/v1/admin/prices",
            Some(operator),
            Some(json!({
                "product_offering": product,
                "valid_from": from,
                "list_price": list,
                "job_discount_percent": discount,
            })),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::CREATED,
        "{:?}",
        response.text().await
    );
}

/// The operator's price list of one product (`product_offering`, percent-encoded).
async fn price_list(app: &TestApp, operator: &str, product_offering: &str) -> Value {
    let response = app
        .get(
            &format!("/api/v1/admin/prices?product_offering={product_offering}"),
            Some(operator),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn set_share(app: &TestApp, operator: &str, contract_id: &str, share: Value) -> Response {
    app.request(
        Method::PATCH,
        &format!("/api/v1/admin/contracts/{contract_id}"),
        Some(operator),
        Some(json!({ "employer_share": share })),
    )
    .await
}

async fn statement(
    app: &TestApp,
    token: &str,
    contract_id: &str,
    month: &str,
    query: &str,
) -> Response {
    app.get(
        &format!("/api/v1/contracts/{contract_id}/statements/{month}{query}"),
        Some(token),
    )
    .await
}

async fn statement_ok(app: &TestApp, token: &str, contract_id: &str, month: &str) -> Value {
    let response = statement(app, token, contract_id, month, "").await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The D-Ticket price of 2026 (63.00, 5 % off) and a 50 % share on the contract.
async fn priced(app: &TestApp, setup: &Setup) {
    add_price(app, &setup.operator, PRODUCT, "2026-01-01", "63.00", "5").await;
    let response = set_share(
        app,
        &setup.operator,
        &setup.contract_id,
        json!({"kind": "percent", "value": "50"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

fn names(statement: &Value) -> Vec<String> {
    statement["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["last_name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn prices_are_kept_in_cents_and_the_job_price_rounds_the_discount_half_up() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    let create = |body: Value| {
        app.request(
            Method::POST,
            "/api/v1/admin/prices",
            Some(&setup.operator),
            Some(body),
        )
    };
    let response = create(json!({
        "product_offering": PRODUCT,
        "valid_from": "2026-01-01",
        "list_price": "63",
        "job_discount_percent": "5.00",
    }))
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/api/v1/admin/prices?")
    );
    let price: Value = response.json().await.unwrap();
    assert_eq!(price["list_price"], "63.00");
    assert_eq!(price["job_discount_percent"], "5.00");
    assert_eq!(price["job_price"], "59.85");
    assert_eq!(count_audited(&app, "price.created").await, 1);
    // 12.5 % of 58.99 is 7.37375: the discount rounds to 7.37.
    let odd = create(json!({
        "product_offering": "Schülerticket",
        "valid_from": "01.08.2026",
        "list_price": "58.99",
        "job_discount_percent": "12.5",
    }))
    .await;
    let odd: Value = odd.json().await.unwrap();
    assert_eq!(odd["job_price"], "51.62");
    assert_eq!(odd["valid_from"], "2026-08-01");

    let list = price_list(&app, &setup.operator, "D-Ticket%20Job%20(Rechnung)").await;
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["job_price"], "59.85");
    // A NUL character, which no stored text holds (PostgreSQL refuses it), finds nothing.
    let nothing = price_list(&app, &setup.operator, "D-Ticket%00").await;
    assert_eq!(nothing["total"], 0);
    assert_eq!(nothing["items"], json!([]));

    let again = create(json!({
        "product_offering": PRODUCT,
        "valid_from": "2026-01-01",
        "list_price": "64.00",
        "job_discount_percent": "5",
    }))
    .await;
    let problem = assert_problem(again, StatusCode::CONFLICT, "duplicate_key").await;
    assert_eq!(
        pointers(&problem),
        [("/valid_from".into(), "duplicate".into())]
    );

    let bad = create(json!({
        "valid_from": "2026-01-15",
        "list_price": "63,00",
        "job_discount_percent": "120",
    }))
    .await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let mut found = pointers(&problem);
    found.sort();
    assert_eq!(
        found,
        [
            ("/job_discount_percent".into(), "out_of_range".into()),
            ("/list_price".into(), "invalid_amount".into()),
            ("/product_offering".into(), "required".into()),
            ("/valid_from".into(), "not_first_of_month".into()),
        ]
    );
    let negative = create(json!({
        "product_offering": PRODUCT,
        "valid_from": "2027-01-01",
        "list_price": "-63.00",
        "job_discount_percent": "5.001",
    }))
    .await;
    let problem = assert_problem(
        negative,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let mut found = pointers(&problem);
    found.sort();
    assert_eq!(
        found,
        [
            ("/job_discount_percent".into(), "invalid_percent".into()),
            ("/list_price".into(), "invalid_amount".into()),
        ]
    );
    assert_eq!(count_rows(&app, "prices").await, 2);

    let member = app
        .get("/api/v1/admin/prices", Some(setup.admin.access()))
        .await;
    assert_problem(member, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn an_employer_share_below_25_percent_of_the_list_price_is_refused_and_the_infos_show_it() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    add_price(&app, &setup.operator, PRODUCT, "2026-01-01", "63.00", "5").await;
    let contract_path = format!("/api/v1/admin/contracts/{}", setup.contract_id);

    // 25 % of 63.00 is 15.75.
    for share in [
        json!({"kind": "percent", "value": "24.99"}),
        json!({"kind": "amount", "value": "15.74"}),
    ] {
        let response = set_share(&app, &setup.operator, &setup.contract_id, share).await;
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "employer_share_too_low",
        )
        .await;
        assert_eq!(
            pointers(&problem),
            [("/employer_share".into(), "employer_share_too_low".into())]
        );
    }
    // Refused together with another change, nothing is stored.
    let both = app
        .request(
            Method::PATCH,
            &contract_path,
            Some(&setup.operator),
            Some(json!({"status": "cancelled", "employer_share": {"kind": "percent", "value": "10"}})),
        )
        .await;
    assert_problem(
        both,
        StatusCode::UNPROCESSABLE_ENTITY,
        "employer_share_too_low",
    )
    .await;
    let stored: Value = app
        .get(&contract_path, Some(&setup.operator))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["status"], "active");
    assert_eq!(stored["employer_share"], Value::Null);

    let response = set_share(
        &app,
        &setup.operator,
        &setup.contract_id,
        json!({"kind": "amount", "value": "15.75"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["employer_share"],
        json!({"kind": "amount", "value": "15.75"})
    );
    let infos: Value = app
        .get(
            &format!("/api/v1/contracts/{}", setup.contract_id),
            Some(setup.admin.access()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        infos["employer_share"],
        json!({"kind": "amount", "value": "15.75"})
    );
    assert_eq!(count_audited(&app, "contract.updated").await, 1);

    // Malformed shares name their field.
    let bad = set_share(
        &app,
        &setup.operator,
        &setup.contract_id,
        json!({"kind": "half", "value": "50"}),
    )
    .await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        pointers(&problem),
        [("/employer_share/kind".into(), "invalid_choice".into())]
    );
    let bad = set_share(
        &app,
        &setup.operator,
        &setup.contract_id,
        json!({"kind": "percent", "value": "fifty"}),
    )
    .await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        pointers(&problem),
        [("/employer_share/value".into(), "invalid_percent".into())]
    );

    // With no price in force yet, the newest one decides: 25 % of 100.00 is 25.00.
    add_price(
        &app,
        &setup.operator,
        "D-Ticket Job Plus",
        "2027-06-01",
        "100.00",
        "0",
    )
    .await;
    let plus = app
        .request(
            Method::PATCH,
            &contract_path,
            Some(&setup.operator),
            Some(json!({"product_offering": "D-Ticket Job Plus"})),
        )
        .await;
    assert_problem(
        plus,
        StatusCode::UNPROCESSABLE_ENTITY,
        "employer_share_too_low",
    )
    .await;
    let plus = app
        .request(
            Method::PATCH,
            &contract_path,
            Some(&setup.operator),
            Some(json!({"product_offering": "D-Ticket Job Plus", "employer_share": {"kind": "amount", "value": "25.00"}})),
        )
        .await;
    assert_eq!(plus.status(), StatusCode::OK);

    // `null` removes the share.
    let removed = set_share(&app, &setup.operator, &setup.contract_id, Value::Null).await;
    let removed: Value = removed.json().await.unwrap();
    assert_eq!(removed["employer_share"], Value::Null);

    // A new contract may carry a share from the start.
    let created = app
        .request(
            Method::POST,
            "/api/v1/admin/contracts",
            Some(&setup.operator),
            Some(json!({
                "contract_number": "FV-2026-0001",
                "company_id": setup.company.id,
                "product_offering": PRODUCT,
                "status": "active",
                "valid_from": "2026-01-01",
                "employer_share": {"kind": "percent", "value": "20"},
            })),
        )
        .await;
    assert_problem(
        created,
        StatusCode::UNPROCESSABLE_ENTITY,
        "employer_share_too_low",
    )
    .await;
    assert_eq!(
        crate::helpers::count_where(
            &app,
            "company_contracts",
            "contract_number = 'FV-2026-0001'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_month_counts_every_ticket_overlapping_it_whatever_its_status_but_requested() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    priced(&app, &setup).await;
    let id = &setup.contract_id;
    // Counted in March 2026:
    ticket("Anfang", "2026-03-01", None).insert(&app, id).await;
    ticket("Ende", "2025-01-01", Some("2026-03-31"))
        .status("ended")
        .insert(&app, id)
        .await;
    ticket("Gekuendigt", "2025-06-01", Some("2026-03-31"))
        .insert(&app, id)
        .await;
    ticket("Pause", "2025-06-01", None)
        .status("paused")
        .insert(&app, id)
        .await;
    // Not counted:
    ticket("Februar", "2025-01-01", Some("2026-02-28"))
        .status("ended")
        .insert(&app, id)
        .await;
    ticket("April", "2026-04-01", None).insert(&app, id).await;
    ticket("Nie", "2026-03-01", Some("2026-02-28"))
        .insert(&app, id)
        .await;
    ticket("Beantragt", "2026-01-01", None)
        .status("requested")
        .insert(&app, id)
        .await;

    let march = statement_ok(&app, setup.admin.access(), id, "2026-03").await;
    assert_eq!(march["tickets"], 4);
    assert_eq!(march["total"], 4);
    assert_eq!(march["total_relation"], "eq");
    assert_eq!(names(&march), ["Anfang", "Ende", "Gekuendigt", "Pause"]);
    assert_eq!(
        march["price"],
        json!({"list_price": "63.00", "job_price": "59.85", "employer_share": "31.50", "employee_share": "28.35"})
    );
    assert_eq!(
        march["totals"],
        json!({"job_price": "239.40", "employer_share": "126.00", "employee_share": "113.40"})
    );
    assert_eq!(
        march["employer_share_set"],
        json!({"kind": "percent", "value": "50.00"})
    );
    assert_eq!(march["share_below_minimum"], false);
    assert_eq!(march["contract"]["id"], *id);
    assert_eq!(
        march["contract"]["customer_number"],
        setup.company.customer_number
    );
    assert_eq!(march["month"], "2026-03");
    // March has ended: the first read froze it.
    assert_eq!(march["status"], "final");
    assert!(march["final_at"].is_string());
    let item = &march["items"][0];
    for private in [
        "birth_date",
        "street",
        "postal_code",
        "city",
        "phone",
        "email",
    ] {
        assert!(item.get(private).is_none(), "{private}");
    }
    assert_eq!(item["job_price"], "59.85");
    assert_eq!(item["status"], "active");

    // Paged and sorted like the ticket list; the totals stay the month's.
    let page: Value = statement(
        &app,
        setup.admin.access(),
        id,
        "2026-03",
        "?per_page=3&page=2&sort=last_name&order=desc",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(names(&page), ["Anfang"]);
    assert_eq!(page["tickets"], 4);
    assert_eq!(page["totals"]["job_price"], "239.40");
    let by_status: Value = statement(&app, setup.admin.access(), id, "2026-03", "?sort=status")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&by_status), ["Anfang", "Gekuendigt", "Ende", "Pause"]);
    let bad = statement(
        &app,
        setup.admin.access(),
        id,
        "2026-03",
        "?sort=birth_date",
    )
    .await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        pointers(&problem),
        [("/sort".into(), "invalid_choice".into())]
    );
}

#[tokio::test]
async fn each_month_is_priced_by_its_own_entry_and_a_share_below_the_minimum_is_flagged() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    add_price(&app, &setup.operator, PRODUCT, "2026-01-01", "63.00", "5").await;
    let response = set_share(
        &app,
        &setup.operator,
        &setup.contract_id,
        json!({"kind": "amount", "value": "16.00"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    add_price(&app, &setup.operator, PRODUCT, "2026-05-01", "70.00", "5").await;
    ticket("Muster", "2025-01-01", None)
        .insert(&app, &setup.contract_id)
        .await;

    let april = statement_ok(&app, setup.admin.access(), &setup.contract_id, "2026-04").await;
    assert_eq!(
        april["price"],
        json!({"list_price": "63.00", "job_price": "59.85", "employer_share": "16.00", "employee_share": "43.85"})
    );
    assert_eq!(april["share_below_minimum"], false);
    // From May 70.00: 5 % off is 3.50; 25 % is 17.50, so 16.00 is below the minimum and
    // still what the employer pays.
    let may = statement_ok(&app, setup.admin.access(), &setup.contract_id, "2026-05").await;
    assert_eq!(
        may["price"],
        json!({"list_price": "70.00", "job_price": "66.50", "employer_share": "16.00", "employee_share": "50.50"})
    );
    assert_eq!(may["share_below_minimum"], true);

    // A third of the list price: 33.33 % of 63.00 is 20.9979, rounded half up 21.00.
    let response = set_share(
        &app,
        &setup.operator,
        &setup.contract_id,
        json!({"kind": "percent", "value": "33.33"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let june = statement_ok(&app, setup.admin.access(), &setup.contract_id, "2026-06").await;
    assert_eq!(
        june["price"]["employer_share"], "23.33",
        "33.33 % of 70.00 is 23.331"
    );
    let april_again = statement_ok(&app, setup.admin.access(), &setup.contract_id, "2026-04").await;
    assert_eq!(
        april_again["price"]["employer_share"], "16.00",
        "April was frozen before"
    );
    let march = statement_ok(&app, setup.admin.access(), &setup.contract_id, "2026-03").await;
    assert_eq!(
        march["price"],
        json!({"list_price": "63.00", "job_price": "59.85", "employer_share": "21.00", "employee_share": "38.85"})
    );

    // Before the first entry no price holds.
    let december = statement(
        &app,
        setup.admin.access(),
        &setup.contract_id,
        "2025-12",
        "",
    )
    .await;
    assert_problem(december, StatusCode::CONFLICT, "price_missing").await;
    assert_eq!(count_rows(&app, "statements").await, 4);
}

/// 10:30 UTC on `day` of the month `ahead` months after the current one (Berlin).
fn at(ahead: u32, day: u32) -> chrono::NaiveDateTime {
    let month = months_after(today_berlin(), ahead);
    NaiveDate::from_ymd_opt(month.year(), month.month(), day)
        .unwrap()
        .and_time(NaiveTime::from_hms_opt(10, 30, 0).unwrap())
}

#[tokio::test]
async fn a_final_statement_never_changes_until_an_operator_reopens_the_month() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    priced(&app, &setup).await;
    let id = &setup.contract_id;
    let month = format_month(today_berlin());
    ticket("Erste", "2025-01-01", None).insert(&app, id).await;

    let running = statement_ok(&app, setup.admin.access(), id, &month).await;
    assert_eq!(running["status"], "provisional");
    assert_eq!(running["final_at"], Value::Null);
    assert_eq!(count_rows(&app, "statements").await, 0);

    // The month ends; the first read freezes it.
    app.state.clock.set(at(1, 1));
    let frozen = statement_ok(&app, setup.admin.access(), id, &month).await;
    assert_eq!(frozen["status"], "final");
    assert_eq!(frozen["tickets"], 1);

    // Later corrections never change it: a late ticket, a new share.
    ticket("Nachzuegler", "2025-06-01", None)
        .insert(&app, id)
        .await;
    let response = set_share(
        &app,
        &setup.operator,
        id,
        json!({"kind": "percent", "value": "100"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let again = statement_ok(&app, setup.admin.access(), id, &month).await;
    assert_eq!(again["tickets"], 1);
    assert_eq!(again["price"]["employer_share"], "31.50");
    assert_eq!(again["final_at"], frozen["final_at"]);
    assert_eq!(names(&again), ["Erste"]);

    // Only operators re-open.
    let reopen_path = format!("/api/v1/admin/statements/{month}/reopen");
    let member = app
        .request(Method::POST, &reopen_path, Some(setup.admin.access()), None)
        .await;
    assert_problem(member, StatusCode::FORBIDDEN, "forbidden").await;
    let reopened = app
        .request(Method::POST, &reopen_path, Some(&setup.operator), None)
        .await;
    assert_eq!(reopened.status(), StatusCode::OK);
    let reopened: Value = reopened.json().await.unwrap();
    assert_eq!(reopened, json!({"month": month, "reopened": 1}));
    assert_eq!(count_audited(&app, "statement.reopened").await, 1);
    assert_eq!(count_rows(&app, "statement_items").await, 0);

    // Frozen anew on the next read, with the corrections.
    let refrozen = statement_ok(&app, setup.admin.access(), id, &month).await;
    assert_eq!(refrozen["status"], "final");
    assert_eq!(refrozen["tickets"], 2);
    assert_eq!(refrozen["price"]["employer_share"], "59.85");
    assert_eq!(refrozen["price"]["employee_share"], "0.00");
}

#[tokio::test]
async fn many_first_reads_of_an_ended_month_freeze_it_once() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    priced(&app, &setup).await;
    for name in ["Eins", "Zwei", "Drei"] {
        ticket(name, "2026-01-01", None)
            .insert(&app, &setup.contract_id)
            .await;
    }
    let path = format!("/api/v1/contracts/{}/statements/2026-06", setup.contract_id);
    let token = setup.admin.access().to_string();
    let answers = release_together(&app, 8, |_| {
        let request = app.client.get(app.url(&path)).bearer_auth(&token);
        async move { request.send().await.unwrap() }
    })
    .await;
    let mut final_at = Vec::new();
    for answer in answers {
        assert_eq!(answer.status(), StatusCode::OK);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["status"], "final");
        assert_eq!(body["tickets"], 3);
        final_at.push(body["final_at"].clone());
    }
    final_at.dedup();
    assert_eq!(final_at.len(), 1, "one freeze, one time: {final_at:?}");
    assert_eq!(count_rows(&app, "statements").await, 1);
    assert_eq!(count_rows(&app, "statement_items").await, 3);
}

/// Reads CSV as Python's csv module does with a German spreadsheet's dialect
/// (`;`-separated, UTF-8 with BOM).
fn read_german_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    use std::io::Write;
    let mut python = std::process::Command::new("python3")
        .args([
            "-c",
            "import csv, json, sys\n\
             class German(csv.excel):\n    delimiter = ';'\n\
             text = sys.stdin.buffer.read().decode('utf-8-sig')\n\
             print(json.dumps(list(csv.reader(text.splitlines(), dialect=German))))",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    python.stdin.take().unwrap().write_all(bytes).unwrap();
    let output = python.wait_with_output().unwrap();
    assert!(output.status.success());
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Tickets whose holder data would run as formulas in a spreadsheet.
async fn hostile_tickets(app: &TestApp, contract_id: &str) {
    let mut formula = ticket(
        "=HYPERLINK(\"http://evil.example\",\"klick\")",
        "2026-01-01",
        None,
    );
    formula.first_name = "@SUM(A1)";
    formula.personnel_number = Some("-5+3");
    formula.insert(app, contract_id).await;
    let mut plain = ticket("Müller", "2025-11-01", Some("2026-03-31"));
    plain.personnel_number = Some("P-4711");
    plain.insert(app, contract_id).await;
}

#[tokio::test]
async fn the_csv_reads_back_in_a_german_dialect_with_totals_and_no_formula_runs() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    priced(&app, &setup).await;
    hostile_tickets(&app, &setup.contract_id).await;
    let contract_number: Value = app
        .get(
            &format!("/api/v1/admin/contracts/{}", setup.contract_id),
            Some(&setup.operator),
        )
        .await
        .json()
        .await
        .unwrap();
    let contract_number = contract_number["contract_number"]
        .as_str()
        .unwrap()
        .to_string();

    let response = statement(
        &app,
        setup.admin.access(),
        &setup.contract_id,
        "2026-03.csv",
        "",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"Abrechnung_{contract_number}_2026-03.csv\"").as_str()
    );
    let bytes = response.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "UTF-8 BOM");
    let rows = read_german_csv(&bytes);
    assert_eq!(
        rows[0],
        [
            "Vertragsnummer",
            "Personalnummer",
            "Vorname",
            "Nachname",
            "Gültig ab",
            "Gültig bis",
            "Status",
            "Jobticketpreis",
            "Arbeitgeberanteil",
            "Arbeitnehmeranteil"
        ]
    );
    assert_eq!(rows.len(), 4, "header, two tickets, totals");
    // Sorted by name: "=HYPERLINK…" before "Müller".
    let hostile = &rows[1];
    assert_eq!(hostile[1], "'-5+3");
    assert_eq!(hostile[2], "'@SUM(A1)");
    assert_eq!(hostile[3], "'=HYPERLINK(\"http://evil.example\",\"klick\")");
    assert_eq!(
        &hostile[4..],
        ["01.01.2026", "", "aktiv", "59,85", "31,50", "28,35"]
    );
    let plain = &rows[2];
    assert_eq!(
        &plain[1..],
        [
            "P-4711",
            "Max",
            "Müller",
            "01.11.2025",
            "31.03.2026",
            "gekündigt",
            "59,85",
            "31,50",
            "28,35"
        ]
    );
    assert_eq!(rows[3][0], "Summe (2 Tickets)");
    assert_eq!(&rows[3][7..], ["119,70", "63,00", "56,70"]);
}

#[tokio::test]
async fn the_excel_statement_has_numbers_dates_a_totals_row_and_no_formula() {
    use calamine::{Data, DataType, Reader, Xlsx};
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    priced(&app, &setup).await;
    hostile_tickets(&app, &setup.contract_id).await;

    let response = statement(
        &app,
        setup.admin.access(),
        &setup.contract_id,
        "2026-03.xlsx",
        "",
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with("_2026-03.xlsx\"")
    );
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut workbook: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let sheet_name = workbook.sheet_names()[0].clone();
    assert_eq!(sheet_name, "Abrechnung 2026-03");
    let range = workbook.worksheet_range(&sheet_name).unwrap();
    let rows: Vec<&[Data]> = range.rows().collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0][0], Data::String("Vertragsnummer".into()));
    let hostile = rows[1];
    assert_eq!(
        hostile[3],
        Data::String("=HYPERLINK(\"http://evil.example\",\"klick\")".into())
    );
    assert_eq!(hostile[1], Data::String("-5+3".into()));
    assert!(matches!(hostile[4], Data::DateTime(_)), "{:?}", hostile[4]);
    assert_eq!(hostile[4].as_date(), Some(date("2026-01-01")));
    assert_eq!(hostile[5], Data::Empty);
    assert_eq!(hostile[7], Data::Float(59.85));
    assert_eq!(hostile[8], Data::Float(31.5));
    assert_eq!(hostile[9], Data::Float(28.35));
    assert_eq!(rows[2][5].as_date(), Some(date("2026-03-31")));
    assert_eq!(rows[3][0], Data::String("Summe (2 Tickets)".into()));
    assert_eq!(rows[3][7], Data::Float(119.7));
    let formulas = workbook.worksheet_formula(&sheet_name).unwrap();
    assert!(
        formulas
            .used_cells()
            .all(|(_, _, formula)| formula.is_empty()),
        "no formula cells"
    );
}

#[tokio::test]
async fn only_the_contracts_company_sees_its_statement_and_bad_months_are_refused() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    priced(&app, &setup).await;
    let member = company_user(&app, &setup.company, "member").await;
    let other = company_user(&app, &company().insert(&app).await, "admin").await;
    let id = &setup.contract_id;

    assert_eq!(
        statement(&app, member.access(), id, "2026-02", "")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        statement(&app, &setup.operator, id, "2026-02", "")
            .await
            .status(),
        StatusCode::OK
    );
    for suffix in ["", ".csv", ".xlsx"] {
        let response = statement(&app, other.access(), id, &format!("2026-02{suffix}"), "").await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    for bad in ["2026-13", "2026-1", "26-02", "2026_02", "Februar"] {
        let response = statement(&app, member.access(), id, bad, "").await;
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(
            pointers(&problem),
            [("/month".into(), "invalid_month".into())],
            "{bad}"
        );
    }
    let twelve_ahead = format_month(months_after(today_berlin(), 12));
    let ahead = statement_ok(&app, member.access(), id, &twelve_ahead).await;
    assert_eq!(ahead["status"], "provisional");
    let thirteen = format_month(months_after(today_berlin(), 13));
    let response = statement(&app, member.access(), id, &thirteen, "").await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        [("/month".into(), "too_far_ahead".into())]
    );
    let unpriced = statement(&app, member.access(), id, "2025-12.csv", "").await;
    assert_problem(unpriced, StatusCode::CONFLICT, "price_missing").await;
}

#[tokio::test]
async fn the_operator_overview_lists_every_contract_with_totals_sorted_filtered_and_as_csv() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    priced(&app, &setup).await;
    let other_company = company().named("Zweite AG").insert(&app).await;
    let second = contract(&other_company).number("FV-B").insert(&app).await;
    let unpriced = contract(&other_company)
        .number("FV-C")
        .offering("Semesterticket")
        .insert(&app)
        .await;
    let _ended_long_ago = contract(&other_company)
        .number("FV-D")
        .valid("2020-01-01", Some("2020-12-31"), "ended")
        .insert(&app)
        .await;
    ticket("Eins", "2026-01-01", None)
        .insert(&app, &setup.contract_id)
        .await;
    for name in ["Zwei", "Drei"] {
        ticket(name, "2026-01-01", None).insert(&app, &second).await;
    }
    ticket("Vier", "2026-01-01", None)
        .insert(&app, &unpriced)
        .await;
    // One statement of the month is final already.
    statement_ok(&app, setup.admin.access(), &setup.contract_id, "2026-04").await;

    let overview = |query: &str| {
        let path = format!("/api/v1/admin/statements/2026-04{query}");
        let token = setup.operator.clone();
        let app = &app;
        async move { app.get(&path, Some(&token)).await }
    };
    let page: Value = overview("?sort=total&order=desc")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 3, "{page}");
    let lines = page["items"].as_array().unwrap();
    assert_eq!(lines[0]["contract_number"], "FV-B");
    assert_eq!(lines[0]["tickets"], 2);
    assert_eq!(lines[0]["status"], "provisional");
    // No share on FV-B: the employee pays the whole job price.
    assert_eq!(
        lines[0]["totals"],
        json!({"job_price": "119.70", "employer_share": "0.00", "employee_share": "119.70"})
    );
    assert_eq!(lines[1]["contract_id"], setup.contract_id);
    assert_eq!(lines[1]["status"], "final");
    assert_eq!(lines[1]["totals"]["employer_share"], "31.50");
    assert_eq!(lines[2]["contract_number"], "FV-C");
    assert_eq!(lines[2]["totals"], Value::Null);
    assert_eq!(lines[2]["company_name"], "Zweite AG");

    let filtered: Value = overview(&format!(
        "?customer_number={}&sort=tickets",
        setup.company.customer_number.to_lowercase()
    ))
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(filtered["total"], 1);
    assert_eq!(filtered["items"][0]["contract_id"], setup.contract_id);
    let second_page: Value = overview("?per_page=2&page=2").await.json().await.unwrap();
    assert_eq!(second_page["items"].as_array().unwrap().len(), 1);
    let bad = overview("?sort=company").await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        pointers(&problem),
        [("/sort".into(), "invalid_choice".into())]
    );

    let csv = app
        .get(
            "/api/v1/admin/statements/2026-04.csv",
            Some(&setup.operator),
        )
        .await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert_eq!(
        csv.headers()["content-disposition"],
        "attachment; filename=\"Abrechnungen_2026-04.csv\""
    );
    let rows = read_german_csv(&csv.bytes().await.unwrap());
    assert_eq!(rows[0][0], "Vertragsnummer");
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[4],
        ["Summe", "", "", "4", "179,55", "31,50", "148,05", ""]
    );

    let member = app
        .get(
            "/api/v1/admin/statements/2026-04",
            Some(setup.admin.access()),
        )
        .await;
    assert_problem(member, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn the_maintenance_job_freezes_the_past_month_of_every_priced_contract_once() {
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    priced(&app, &setup).await;
    let other = company().insert(&app).await;
    let unpriced = contract(&other)
        .offering("Semesterticket")
        .insert(&app)
        .await;
    ticket("Eins", "2026-01-01", None)
        .insert(&app, &setup.contract_id)
        .await;
    ticket("Zwei", "2026-01-01", None)
        .insert(&app, &unpriced)
        .await;

    // Early on the 1st of the month after next: the month after this one has ended.
    app.state.clock.set(at(2, 1));
    let month = months_after(today_berlin(), 1);
    let first = firmenportal::statements::freezing::freeze_past_month(&app.db, &app.state.clock)
        .await
        .unwrap();
    let (frozen_month, outcome) = first.expect("this instance claimed the month");
    assert_eq!(frozen_month, month);
    assert_eq!(outcome.frozen, 1);
    assert_eq!(outcome.without_price, 1);
    // Claimed once: a second run (another instance) does nothing.
    let second = firmenportal::statements::freezing::freeze_past_month(&app.db, &app.state.clock)
        .await
        .unwrap();
    assert!(second.is_none());
    let frozen = statement_ok(
        &app,
        setup.admin.access(),
        &setup.contract_id,
        &format_month(month),
    )
    .await;
    assert_eq!(frozen["status"], "final");
    assert_eq!(count_rows(&app, "statements").await, 1);
}

#[tokio::test]
async fn an_erased_customer_leaves_its_statement_lines_without_a_name_and_the_totals_as_they_were()
{
    let app = TestApp::spawn().await;
    let setup = setup(&app).await;
    priced(&app, &setup).await;
    let id = &setup.contract_id;
    let month = format_month(today_berlin());
    let end_of_month = (months_after(today_berlin(), 1) - chrono::Days::new(1)).to_string();
    let mut leaving = ticket("Geht", "2025-01-01", Some(&end_of_month));
    leaving.personnel_number = Some("P-77");
    let leaving = leaving.insert(&app, id).await;
    ticket("Bleibt", "2025-01-01", None).insert(&app, id).await;
    let ticket_id = leaving.clone();
    let customer_id: String = app
        .with_db(move |conn| {
            use firmenportal::schema::subscriptions;
            subscriptions::table
                .find(ticket_id)
                .select(subscriptions::customer_id)
                .first(conn)
                .unwrap()
        })
        .await;
    let erase = format!("/api/v1/admin/customers/{customer_id}/erase");

    // Its ticket runs to the end of the month: not yet.
    let refused = app
        .request(Method::POST, &erase, Some(&setup.operator), None)
        .await;
    assert_problem(refused, StatusCode::CONFLICT, "customer_has_current_ticket").await;
    let member = app
        .request(Method::POST, &erase, Some(setup.admin.access()), None)
        .await;
    assert_problem(member, StatusCode::FORBIDDEN, "forbidden").await;

    // The month ends and is frozen; then the record is erased.
    app.state.clock.set(at(1, 1));
    let frozen = statement_ok(&app, setup.admin.access(), id, &month).await;
    assert_eq!(frozen["status"], "final");
    let erased = app
        .request(Method::POST, &erase, Some(&setup.operator), None)
        .await;
    assert_eq!(erased.status(), StatusCode::OK);
    let erased: Value = erased.json().await.unwrap();
    assert_eq!(
        (&erased["customer_id"], &erased["tickets_erased"]),
        (&json!(customer_id), &json!(1))
    );
    assert_eq!(count_audited(&app, "customer.erased").await, 1);
    let gone = app
        .get(
            &format!("/api/v1/admin/customers/{customer_id}"),
            Some(&setup.operator),
        )
        .await;
    assert_problem(gone, StatusCode::NOT_FOUND, "not_found").await;
    let again = app
        .request(Method::POST, &erase, Some(&setup.operator), None)
        .await;
    assert_problem(again, StatusCode::NOT_FOUND, "not_found").await;

    // The statement adds up as before; the line keeps its ticket and amounts, not the
    // person.
    let after = statement_ok(&app, setup.admin.access(), id, &month).await;
    for field in ["tickets", "totals", "price", "final_at", "total"] {
        assert_eq!(after[field], frozen[field], "{field}");
    }
    let line = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["subscription_id"] == leaving.as_str())
        .expect("the erased ticket's line")
        .clone();
    let before = frozen["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["subscription_id"] == leaving.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        (
            &line["first_name"],
            &line["last_name"],
            &line["personnel_number"]
        ),
        (&json!(""), &json!("(gelöscht)"), &Value::Null)
    );
    for field in [
        "contract_number",
        "job_price",
        "employer_share",
        "employee_share",
    ] {
        assert_eq!(line[field], before[field], "{field}");
    }
    assert!(names(&after).contains(&"Bleibt".to_string()));
    assert_eq!(
        count_where(&app, "subscriptions", &format!("id = '{leaving}'")).await,
        0
    );
}
