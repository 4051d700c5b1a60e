//! Data-protection rights: a subscriber's export of their own data, the operator's
//! export of a customer record, and their limits.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::applications::{employer, month_ahead, order};
use crate::fixtures::{InsertedAccount, account, company, operator, subscription};
use crate::helpers::{PASSWORD, TestApp, Tokens, assert_problem, count_audited, retry_after};

/// A subscriber as the guides walk them through: registered in English, verified,
/// signed in from a named browser, with a linked subscription.
struct Subscriber {
    account_id: String,
    email: String,
    tokens: Tokens,
    subscription_id: String,
    customer_id: String,
}

async fn registered_in_english(app: &TestApp) -> (String, Tokens) {
    let email = crate::helpers::unique_email();
    let registered = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("accept-language", "en")
        .json(&json!({
            "email": email, "password": PASSWORD, "password_confirmation": PASSWORD,
            "first_name": "Erika", "last_name": "Exportiert",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), StatusCode::ACCEPTED);
    let token = app.mail.wait_for(&email, 1).await.token_for("verify-email");
    let verified = app
        .post("/api/v1/auth/verify-email", json!({ "token": token }))
        .await;
    assert_eq!(verified.status(), StatusCode::NO_CONTENT);
    let login = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("user-agent", "Export-Test/1.0")
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    (email, Tokens::from(login.json::<Value>().await.unwrap()))
}

async fn linked_subscriber(app: &TestApp) -> Subscriber {
    let (email, tokens) = registered_in_english(app).await;
    let me: Value = app.me(&tokens.access).await;
    let inserted = subscription().insert(app).await;
    let linked = app
        .request(
            Method::POST,
            "/api/v1/me/subscriptions/link",
            Some(&tokens.access),
            Some(json!({"number": inserted.contract_number, "birth_date": "05.10.2000", "last_name": "Musterjobber", "postal_code": "34117"})),
        )
        .await;
    assert_eq!(linked.status(), StatusCode::CREATED);
    Subscriber {
        account_id: me["id"].as_str().unwrap().to_string(),
        email,
        tokens,
        subscription_id: inserted.id,
        customer_id: inserted.customer_id,
    }
}

async fn change_consent(app: &TestApp, subscriber: &Subscriber, consent: bool) {
    let changed = app
        .client
        .patch(app.url(&format!(
            "/api/v1/me/subscriptions/{}/customer",
            subscriber.subscription_id
        )))
        .bearer_auth(&subscriber.tokens.access)
        .header("content-type", "application/merge-patch+json")
        .body(json!({ "marketing_consent": consent }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
}

/// The export as a download: its file name and its document.
async fn export(app: &TestApp, token: &str) -> (String, Value, String) {
    let response = app.get("/api/v1/me/export", Some(token)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    let text = response.text().await.unwrap();
    let document = serde_json::from_str(&text).unwrap();
    (disposition, document, text)
}

/// A membership of `account` in a company of its own, as an invitation leaves it.
async fn invited(app: &TestApp, account_id: &str, email: &str) {
    use diesel::prelude::*;
    use firmenportal::schema::company_memberships;
    let company = company().named("Zweite Firma AG").insert(app).await;
    let (account_id, email) = (account_id.to_string(), email.to_string());
    app.with_db(move |conn| {
        let now = chrono::Utc::now().naive_utc();
        diesel::insert_into(company_memberships::table)
            .values((
                company_memberships::id.eq(uuid::Uuid::new_v4().to_string()),
                company_memberships::company_id.eq(&company.id),
                company_memberships::email.eq(&email),
                company_memberships::account_id.eq(&account_id),
                company_memberships::first_name.eq("Erika"),
                company_memberships::last_name.eq("Exportiert"),
                company_memberships::role.eq("member"),
                company_memberships::invited_at.eq(now),
                company_memberships::accepted_at.eq(now),
                company_memberships::updated_at.eq(now),
            ))
            .execute(conn)
            .unwrap();
    })
    .await;
}

fn actions(entries: &Value) -> Vec<&str> {
    entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn the_export_holds_every_section_of_a_real_flow_and_nothing_of_anyone_else() {
    let app = TestApp::spawn().await;
    let me = linked_subscriber(&app).await;
    change_consent(&app, &me, true).await;
    change_consent(&app, &me, false).await;
    // An order under an employer's contract, approved by its admin.
    let employer = employer(&app).await;
    let ordered = app
        .request(
            Method::POST,
            "/api/v1/me/applications",
            Some(&me.tokens.access),
            Some(order(&employer.code, &month_ahead(2))),
        )
        .await;
    assert_eq!(ordered.status(), StatusCode::CREATED);
    let application: Value = ordered.json().await.unwrap();
    let application_id = application["id"].as_str().unwrap();
    let approved = app
        .request(
            Method::POST,
            &format!(
                "/api/v1/contracts/{}/applications/{application_id}/approve",
                employer.contract_id
            ),
            Some(employer.admin.access()),
            None,
        )
        .await;
    assert_eq!(approved.status(), StatusCode::OK);
    let ticket = approved.json::<Value>().await.unwrap()["subscription_id"]
        .as_str()
        .unwrap()
        .to_string();
    invited(&app, &me.account_id, &me.email).await;
    // Someone else: their own account, subscription and order.
    let other: InsertedAccount = account().insert(&app).await;
    let other_tokens = other.login(&app).await;
    let theirs = subscription()
        .holder("Zweitmann", "10115")
        .insert(&app)
        .await;
    let mut their_order = order(&employer.code, &month_ahead(2));
    their_order["holder"]["last_name"] = json!("Zweitmann");
    let theirs_ordered = app
        .request(
            Method::POST,
            "/api/v1/me/applications",
            Some(&other_tokens.access),
            Some(their_order),
        )
        .await;
    assert_eq!(theirs_ordered.status(), StatusCode::CREATED);

    let (disposition, document, text) = export(&app, &me.tokens.access).await;
    let today = crate::helpers::today_berlin();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"firmenportal-export-{today}.json\"")
    );
    let keys: Vec<&str> = document
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for key in [
        "generated_at",
        "account",
        "sessions",
        "subscriptions",
        "applications",
        "memberships",
        "emails",
        "audit_entries",
        "explanations",
    ] {
        assert!(keys.contains(&key), "{key} in {keys:?}");
    }

    // The account.
    let account = &document["account"];
    assert_eq!(
        (
            &account["id"],
            &account["email"],
            &account["first_name"],
            &account["last_name"],
            &account["operator"],
            &account["language"],
        ),
        (
            &json!(me.account_id),
            &json!(me.email),
            &json!("Erika"),
            &json!("Exportiert"),
            &json!(false),
            &json!("en"),
        )
    );
    assert!(account["created_at"].is_string() && account["email_verified_at"].is_string());

    // The session: started, last used, from where and with what; no token.
    let sessions = document["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    let session = &sessions[0];
    assert_eq!(
        (
            &session["user_agent"],
            &session["client_ip"],
            &session["ended_at"]
        ),
        (&json!("Export-Test/1.0"), &json!("127.0.0.1"), &Value::Null)
    );
    assert!(session["started_at"].is_string() && session["last_used_at"].is_string());
    assert!(!text.contains(&me.tokens.refresh) && !text.contains(&me.tokens.access));
    assert!(!text.contains("token_hash") && !text.contains("password"));

    // The linked subscription with its record and both consent changes, and the
    // approved order's ticket.
    let subscriptions = document["subscriptions"].as_array().unwrap();
    let ids: Vec<&str> = subscriptions
        .iter()
        .map(|s| s["subscription"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&me.subscription_id.as_str()) && ids.contains(&ticket.as_str()));
    let linked = subscriptions
        .iter()
        .find(|s| s["subscription"]["id"] == me.subscription_id.as_str())
        .unwrap();
    assert_eq!(linked["customer"]["id"], me.customer_id.as_str());
    assert_eq!(linked["customer"]["last_name"], "Musterjobber");
    assert_eq!(linked["customer"]["birth_date"], "2000-10-05");
    assert_eq!(linked["customer"]["postal_code"], "34117");
    assert!(linked["subscription"]["linked_at"].is_string());
    let consents: Vec<(bool, &str)> = linked["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["marketing_consent"].as_bool().unwrap(),
                c["source"].as_str().unwrap(),
            )
        })
        .collect();
    // The operator's record came with its first word on consent.
    assert_eq!(
        consents,
        [
            (false, "self_service"),
            (true, "self_service"),
            (false, "operator")
        ]
    );

    // The order, its holder data and decision.
    let applications = document["applications"].as_array().unwrap();
    assert_eq!(applications.len(), 1);
    let order = &applications[0];
    assert_eq!(
        (
            &order["id"],
            &order["status"],
            &order["first_name"],
            &order["last_name"],
            &order["birth_date"],
            &order["personnel_number"],
            &order["subscription_id"],
        ),
        (
            &json!(application_id),
            &json!("approved"),
            &json!("Jörg"),
            &json!("Müller"),
            &json!("1990-10-05"),
            &json!("P4711"),
            &json!(ticket),
        )
    );
    assert!(order["decided_at"].is_string());

    // The membership, by the company's name only.
    let memberships = document["memberships"].as_array().unwrap();
    assert_eq!(memberships.len(), 1);
    assert_eq!(
        (&memberships[0]["company_name"], &memberships[0]["role"]),
        (&json!("Zweite Firma AG"), &json!("member"))
    );
    assert!(memberships[0]["invited_at"].is_string());

    // The e-mails: the verification, without a body or link.
    let emails = document["emails"].as_array().unwrap();
    assert!(
        emails
            .iter()
            .any(|e| e["template"] == "account.verification" && e["status"] == "sent"),
        "{emails:?}"
    );
    assert!(
        emails
            .iter()
            .all(|e| e.get("params").is_none() && e.get("body").is_none())
    );
    assert!(!text.contains("verify-email"));

    // The audit entries: own actions with their address, the employer's without.
    let audit = &document["audit_entries"];
    let done = actions(audit);
    for action in [
        "account.registered",
        "account.email_verified",
        "auth.login_succeeded",
        "subscription.linked",
        "customer.consent_changed",
        "application.submitted",
        "application.approved",
        "account.data_exported",
    ] {
        assert!(done.contains(&action), "{action} in {done:?}");
    }
    assert_eq!(
        done.iter()
            .filter(|a| **a == "customer.consent_changed")
            .count(),
        2
    );
    let approval = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "application.approved")
        .unwrap();
    assert_eq!(
        (&approval["by_you"], &approval["client_ip"]),
        (&json!(false), &Value::Null)
    );
    let login = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "auth.login_succeeded")
        .unwrap();
    assert_eq!(
        (&login["by_you"], &login["client_ip"]),
        (&json!(true), &json!("127.0.0.1"))
    );

    // Each section explained in both languages.
    let explanations = document["explanations"].as_object().unwrap();
    for section in [
        "account",
        "sessions",
        "subscriptions",
        "applications",
        "memberships",
        "emails",
        "audit_entries",
    ] {
        let explanation = &explanations[section];
        assert!(
            explanation["de"].as_str().is_some_and(|t| !t.is_empty())
                && explanation["en"].as_str().is_some_and(|t| !t.is_empty()),
            "{section}"
        );
    }

    // Nothing of anyone else: not the other subscriber, not the employer's admin.
    for foreign in [
        other.email.as_str(),
        other.id.as_str(),
        "Zweitmann",
        theirs.id.as_str(),
        employer.admin.account.email.as_str(),
        employer.admin.account.id.as_str(),
    ] {
        assert!(!text.contains(foreign), "{foreign} leaked into the export");
    }
    assert_eq!(count_audited(&app, "account.data_exported").await, 1);
}

#[tokio::test]
async fn exports_are_limited_per_account_and_each_is_audited() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_EXPORT_PER_ACCOUNT", "2")
        .spawn()
        .await;
    let mine = account().insert(&app).await.login(&app).await;
    let theirs = account().insert(&app).await.login(&app).await;
    for _ in 0..2 {
        export(&app, &mine.access).await;
    }
    let refused = app.get("/api/v1/me/export", Some(&mine.access)).await;
    assert!(retry_after(&refused) > 0);
    assert_problem(refused, StatusCode::TOO_MANY_REQUESTS, "too_many_exports").await;
    // Another account's exports are its own.
    export(&app, &theirs.access).await;
    assert_eq!(count_audited(&app, "account.data_exported").await, 3);
    // Without a session there is no export.
    let anonymous = app.get("/api/v1/me/export", None).await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED, "missing_token").await;
}

#[tokio::test]
async fn a_burst_of_exports_passes_the_limit_exactly() {
    let app = TestApp::builder()
        .set("RATE_LIMIT_EXPORT_PER_ACCOUNT", "3")
        .spawn()
        .await;
    let tokens = account().insert(&app).await.login(&app).await;
    let answers = crate::helpers::release_together(&app, 10, |_| {
        let request = app
            .client
            .get(app.url("/api/v1/me/export"))
            .bearer_auth(&tokens.access);
        async move { request.send().await.unwrap() }
    })
    .await;
    let statuses: Vec<StatusCode> = answers.iter().map(|r| r.status()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        7
    );
    assert_eq!(count_audited(&app, "account.data_exported").await, 3);
}

#[tokio::test]
async fn operators_export_a_customer_record_for_a_request_by_letter() {
    let app = TestApp::spawn().await;
    let me = linked_subscriber(&app).await;
    change_consent(&app, &me, true).await;
    let (_, operator_tokens) = operator(&app).await;
    let path = format!("/api/v1/admin/customers/{}/export", me.customer_id);

    // Only operators.
    let refused = app.get(&path, Some(&me.tokens.access)).await;
    assert_problem(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let unknown = app
        .get(
            "/api/v1/admin/customers/0190f3a4-0000-7000-8000-000000000000/export",
            Some(&operator_tokens.access),
        )
        .await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;

    let response = app.get(&path, Some(&operator_tokens.access)).await;
    assert_eq!(response.status(), StatusCode::OK);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    let document: Value = response.json().await.unwrap();
    let number = document["customer"]["customer_number"].as_str().unwrap();
    let today = crate::helpers::today_berlin();
    let expected_name: String = number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    assert_eq!(
        disposition,
        format!("attachment; filename=\"firmenportal-customer-{expected_name}-{today}.json\"")
    );
    let keys: Vec<&str> = document
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "applications",
            "audit_entries",
            "consents",
            "customer",
            "explanations",
            "generated_at",
            "subscriptions"
        ]
    );
    assert_eq!(document["customer"]["id"], me.customer_id.as_str());
    assert_eq!(document["consents"].as_array().unwrap().len(), 2);
    assert_eq!(
        document["subscriptions"][0]["id"],
        me.subscription_id.as_str()
    );
    let done = actions(&document["audit_entries"]);
    assert!(done.contains(&"customer.consent_changed"), "{done:?}");
    assert!(
        document["audit_entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["client_ip"].is_null()),
        "no one's address in a record's export"
    );
    assert_eq!(count_audited(&app, "customer.data_exported").await, 1);
}

/// An order under a new employer's contract, decided by its admin as `decision`
/// (`approve`, `reject`, or none); the order's id and the employer.
async fn ordered(
    app: &TestApp,
    token: &str,
    decision: Option<&str>,
) -> (String, crate::applications::Employer) {
    let employer = employer(app).await;
    let response = app
        .request(
            Method::POST,
            "/api/v1/me/applications",
            Some(token),
            Some(order(&employer.code, &month_ahead(2))),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    if let Some(decision) = decision {
        let body = (decision == "reject").then(|| json!({"reason": "Befristet beschäftigt."}));
        let decided = app
            .request(
                Method::POST,
                &format!(
                    "/api/v1/contracts/{}/applications/{id}/{decision}",
                    employer.contract_id
                ),
                Some(employer.admin.access()),
                body,
            )
            .await;
        assert_eq!(decided.status(), StatusCode::OK);
    }
    (id, employer)
}

/// The order as its employer reads it.
async fn as_employer_sees_it(
    app: &TestApp,
    employer: &crate::applications::Employer,
    id: &str,
) -> Value {
    let response = app
        .get(
            &format!(
                "/api/v1/contracts/{}/applications/{id}",
                employer.contract_id
            ),
            Some(employer.admin.access()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

/// The employer's list line of the order.
async fn listed(app: &TestApp, employer: &crate::applications::Employer) -> Value {
    let response = app
        .get(
            &format!("/api/v1/contracts/{}/applications", employer.contract_id),
            Some(employer.admin.access()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json::<Value>().await.unwrap()["items"][0].clone()
}

#[tokio::test]
async fn deleting_the_account_leaves_exactly_what_the_operator_must_keep() {
    let app = TestApp::spawn().await;
    let me = linked_subscriber(&app).await;
    let (approved, approving) = ordered(&app, &me.tokens.access, Some("approve")).await;
    let (rejected, rejecting) = ordered(&app, &me.tokens.access, Some("reject")).await;
    let (pending, waiting) = ordered(&app, &me.tokens.access, None).await;
    invited(&app, &me.account_id, &me.email).await;
    let ticket = as_employer_sees_it(&app, &approving, &approved).await["subscription_id"]
        .as_str()
        .unwrap()
        .to_string();
    let customers_before = crate::helpers::count_rows(&app, "customers").await;

    let deleted = app
        .request(
            Method::DELETE,
            "/api/v1/me",
            Some(&me.tokens.access),
            Some(json!({ "password": PASSWORD })),
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);

    let count = |table: &'static str, condition: String| {
        let app = &app;
        async move { crate::helpers::count_where(app, table, &condition).await }
    };
    let account = &me.account_id;
    // Gone: the account, its sessions, memberships and links.
    assert_eq!(count("accounts", format!("id = '{account}'")).await, 0);
    assert_eq!(
        count("sessions", format!("account_id = '{account}'")).await,
        0
    );
    assert_eq!(
        count(
            "company_memberships",
            format!("account_id = '{account}' OR email = '{}'", me.email)
        )
        .await,
        0
    );
    assert_eq!(
        count("subscriptions", format!("account_id = '{account}'")).await,
        0
    );
    // Kept: the customer records and tickets, unlinked.
    assert_eq!(
        crate::helpers::count_rows(&app, "customers").await,
        customers_before
    );
    for kept in [&me.subscription_id, &ticket] {
        assert_eq!(
            count(
                "subscriptions",
                format!("id = '{kept}' AND account_id IS NULL AND linked_at IS NULL")
            )
            .await,
            1,
            "{kept}"
        );
    }
    // The orders stay as rows: the pending one withdrawn; holder data erased; names only
    // where the approved order's ticket exists.
    let approved_now = as_employer_sees_it(&app, &approving, &approved).await;
    assert_eq!(
        (
            &approved_now["status"],
            &approved_now["first_name"],
            &approved_now["last_name"],
            &approved_now["personnel_number"]
        ),
        (
            &json!("approved"),
            &json!("Jörg"),
            &json!("Müller"),
            &Value::Null
        )
    );
    let line = listed(&app, &approving).await;
    assert_eq!(
        (&line["first_name"], &line["last_name"]),
        (&json!("Jörg"), &json!("Müller"))
    );
    for (id, employer, status) in [
        (&rejected, &rejecting, "rejected"),
        (&pending, &waiting, "withdrawn"),
    ] {
        let order = as_employer_sees_it(&app, employer, id).await;
        assert_eq!(
            (
                &order["status"],
                &order["first_name"],
                &order["last_name"],
                &order["personnel_number"]
            ),
            (&json!(status), &Value::Null, &Value::Null, &Value::Null),
            "{id}"
        );
        assert!(order["decided_at"].is_string() && order["created_at"].is_string());
        let line = listed(&app, employer).await;
        assert_eq!(
            (&line["first_name"], &line["last_name"]),
            (&Value::Null, &Value::Null)
        );
    }
    assert_eq!(
        count(
            "applications",
            "birth_date IS NOT NULL OR street IS NOT NULL OR personnel_number IS NOT NULL OR holder_erased_at IS NULL".into()
        )
        .await,
        0
    );
    assert_eq!(
        count("applications", "account_id IS NOT NULL".into()).await,
        0
    );
    assert_eq!(
        count("applications", "last_name = 'Müller'".into()).await,
        1
    );

    // The confirmation, in the account's language, says what stays.
    let mut confirmation = None;
    for _ in 0..100 {
        confirmation = app
            .mail
            .to(&me.email)
            .into_iter()
            .find(|m| m.subject == "Your Firmenportal account has been deleted");
        if confirmation.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let confirmation = confirmation.expect("a confirmation");
    assert!(
        confirmation.text.contains("commercial and tax law"),
        "{}",
        confirmation.text
    );
    assert_eq!(
        count(
            "email_outbox",
            format!(
                "recipient = '{}' AND template <> 'account.deleted'",
                me.email
            )
        )
        .await,
        0
    );
}

fn days_ago(days: i64) -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc() - chrono::Duration::days(days)
}

#[tokio::test]
async fn retention_erases_what_has_outlived_its_period_and_keeps_the_rest() {
    use diesel::prelude::*;
    use firmenportal::schema::{applications, audit_log, customers, subscriptions};
    let app = TestApp::builder()
        .set("RETENTION_INTERVAL_SECS", "1")
        .spawn()
        .await;
    // Two rejected orders, one decided 181 days ago.
    let first = account().insert(&app).await.login(&app).await;
    let second = account().insert(&app).await.login(&app).await;
    let (old_order, old_employer) = ordered(&app, &first.access, Some("reject")).await;
    let (recent_order, recent_employer) = ordered(&app, &second.access, Some("reject")).await;
    // Customer records: one whose last ticket ended eleven years ago, one nine years
    // ago, one without a ticket recorded eleven years ago, one current.
    let long_ended = subscription()
        .valid(
            "2013-01-01",
            Some(&(crate::helpers::today_berlin() - chrono::Months::new(132)).to_string()),
            "ended",
        )
        .insert(&app)
        .await;
    let recently_ended = subscription()
        .valid(
            "2015-01-01",
            Some(&(crate::helpers::today_berlin() - chrono::Months::new(108)).to_string()),
            "ended",
        )
        .insert(&app)
        .await;
    let without_ticket = subscription().insert(&app).await;
    let current = subscription().insert(&app).await;
    let (old_order_id, without) = (old_order.clone(), without_ticket.clone());
    app.with_db(move |conn| {
        diesel::update(applications::table.find(&old_order_id))
            .set(applications::decided_at.eq(days_ago(181)))
            .execute(conn)
            .unwrap();
        diesel::delete(subscriptions::table.find(&without.id))
            .execute(conn)
            .unwrap();
        diesel::update(customers::table.find(&without.customer_id))
            .set(
                customers::recorded_at
                    .eq((chrono::Utc::now() - chrono::Duration::days(11 * 366)).date_naive()),
            )
            .execute(conn)
            .unwrap();
        for (id, at, ip) in [
            ("audit-old-v4", days_ago(91), "203.0.113.77"),
            ("audit-old-v6", days_ago(91), "2001:db8:abcd:12:1:2:3:4"),
            ("audit-recent", days_ago(89), "198.51.100.9"),
        ] {
            diesel::insert_into(audit_log::table)
                .values((
                    audit_log::id.eq(id),
                    audit_log::occurred_at.eq(at),
                    audit_log::action.eq("auth.login_failed"),
                    audit_log::client_ip.eq(ip),
                ))
                .execute(conn)
                .unwrap();
        }
    })
    .await;

    // The job runs every second: wait for its next run to have taken everything.
    let gone = format!(
        "id IN ('{}', '{}')",
        long_ended.customer_id, without_ticket.customer_id
    );
    for _ in 0..100 {
        if crate::helpers::count_where(&app, "customers", &gone).await == 0
            && crate::helpers::count_where(&app, "audit_log", "client_ip LIKE '%/%'").await == 2
            && crate::helpers::count_where(&app, "applications", "holder_erased_at IS NOT NULL")
                .await
                == 1
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Orders: the old one's holder erased, the recent one's kept.
    let old = as_employer_sees_it(&app, &old_employer, &old_order).await;
    assert_eq!(
        (&old["status"], &old["last_name"], &old["personnel_number"]),
        (&json!("rejected"), &Value::Null, &Value::Null)
    );
    assert_eq!(listed(&app, &old_employer).await["last_name"], Value::Null);
    let recent = as_employer_sees_it(&app, &recent_employer, &recent_order).await;
    assert_eq!(recent["last_name"], "Müller", "{recent}");
    // Addresses: old ones cut to their network, the recent one whole.
    let addresses: Vec<(String, Option<String>)> = app
        .with_db(|conn| {
            audit_log::table
                .filter(audit_log::id.like("audit-%"))
                .order(audit_log::id.asc())
                .select((audit_log::id, audit_log::client_ip))
                .load(conn)
                .unwrap()
        })
        .await;
    assert_eq!(
        addresses,
        [
            (
                "audit-old-v4".to_string(),
                Some("203.0.113.0/24".to_string())
            ),
            (
                "audit-old-v6".to_string(),
                Some("2001:db8:abcd::/48".to_string())
            ),
            ("audit-recent".to_string(), Some("198.51.100.9".to_string())),
        ]
    );
    // Customer records: the long-ended and the ticketless old one go, with their
    // tickets; the others stay.
    assert_eq!(
        crate::helpers::count_where(&app, "customers", &gone).await,
        0
    );
    assert_eq!(
        crate::helpers::count_where(&app, "subscriptions", &format!("id = '{}'", long_ended.id))
            .await,
        0
    );
    let kept = format!(
        "id IN ('{}', '{}')",
        recently_ended.customer_id, current.customer_id
    );
    assert_eq!(
        crate::helpers::count_where(&app, "customers", &kept).await,
        2
    );
}
