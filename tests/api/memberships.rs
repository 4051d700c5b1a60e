//! Company users (Anwender): invitations, acceptance, roles, removal and the last-admin
//! rule.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fixtures::{account, company, company_user, operator};
use crate::helpers::{
    PASSWORD, TestApp, assert_problem, count_audited, pointers, release_together, unique_email,
};

const NEW_PASSWORD: &str = "Firmenportal-Anwender-2026";

async fn invite(app: &TestApp, token: &str, company_id: &str, body: Value) -> reqwest::Response {
    app.request(
        Method::POST,
        &format!("/api/v1/companies/{company_id}/users"),
        Some(token),
        Some(body),
    )
    .await
}

fn invitation(email: &str, role: &str) -> Value {
    json!({"email": email, "first_name": "Erika", "last_name": "Personal", "role": role})
}

async fn accept(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post(
        "/api/v1/auth/invitations/accept",
        json!({"token": token, "password": password, "password_confirmation": password}),
    )
    .await
}

#[tokio::test]
async fn an_operators_invitation_of_a_first_admin_creates_a_verified_account_on_acceptance() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let (_, operator) = operator(&app).await;
    let email = unique_email();
    let response = app
        .request(
            Method::POST,
            &format!("/api/v1/admin/companies/{}/users", company.id),
            Some(&operator.access),
            Some(json!({"email": email.to_uppercase(), "first_name": "Erika", "last_name": "Personal"})),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().contains_key("location"));
    let invited: Value = response.json().await.unwrap();
    assert_eq!(invited["email"], email);
    assert_eq!(invited["role"], "admin");
    assert_eq!(invited["status"], "invited");

    let mail = app.mail.wait_for(&email, 1).await;
    assert!(
        mail.subject.contains("Musterfirma GmbH"),
        "{}",
        mail.subject
    );
    let token = mail.token_for("accept-invitation");
    let accepted = accept(&app, &token, NEW_PASSWORD).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let accepted: Value = accepted.json().await.unwrap();
    assert_eq!(accepted["account_created"], true);
    assert_eq!(accepted["company"]["id"], company.id);
    assert_eq!(accepted["company"]["role"], "admin");

    // The link is used up; the new account logs in at once (verified by the link).
    assert_problem(
        accept(&app, &token, NEW_PASSWORD).await,
        StatusCode::BAD_REQUEST,
        "invitation_token_invalid",
    )
    .await;
    let login = app.login(&email, NEW_PASSWORD).await;
    assert_eq!(login.status(), StatusCode::OK);
    let access = login.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let me = app.me(&access).await;
    assert_eq!(me["operator"], false);
    assert_eq!(
        me["companies"],
        json!([{"id": company.id, "name": "Musterfirma GmbH", "customer_number": company.customer_number, "role": "admin"}])
    );
    let own = app
        .get(&format!("/api/v1/companies/{}", company.id), Some(&access))
        .await;
    assert_eq!(own.status(), StatusCode::OK);
    assert_eq!(
        own.json::<Value>().await.unwrap()["name"],
        "Musterfirma GmbH"
    );
    let users: Value = app
        .get(
            &format!("/api/v1/companies/{}/users", company.id),
            Some(&access),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(users["total"], 1);
    assert_eq!(users["items"][0]["status"], "active");
    assert_eq!(count_audited(&app, "membership.invited").await, 1);
    assert_eq!(count_audited(&app, "membership.accepted").await, 1);
}

#[tokio::test]
async fn an_existing_account_accepts_with_its_own_password_and_a_wrong_one_counts() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let admin = company_user(&app, &company, "admin").await;
    let existing = account().insert(&app).await;
    let response = invite(
        &app,
        admin.access(),
        &company.id,
        invitation(&existing.email, "member"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let token = app
        .mail
        .wait_for(&existing.email, 1)
        .await
        .token_for("accept-invitation");

    let wrong = accept(&app, &token, "Falsches-Passwort-123").await;
    let problem =
        assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        pointers(&problem),
        [("/password".to_string(), "password_incorrect".to_string())]
    );
    assert_eq!(
        count_audited(&app, "account.password_check_failed").await,
        1
    );

    let accepted = accept(&app, &token, PASSWORD).await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let accepted: Value = accepted.json().await.unwrap();
    assert_eq!(accepted["account_created"], false);
    assert_eq!(accepted["company"]["role"], "member");
    let tokens = existing.login(&app).await;
    assert_eq!(
        app.me(&tokens.access).await["companies"][0]["role"],
        "member"
    );
}

#[tokio::test]
async fn inviting_again_replaces_the_earlier_link_and_an_expired_link_is_refused() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let admin = company_user(&app, &company, "admin").await;
    let email = unique_email();
    for _ in 0..2 {
        let response = invite(
            &app,
            admin.access(),
            &company.id,
            invitation(&email, "member"),
        )
        .await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let first = app
        .mail
        .wait_for(&email, 1)
        .await
        .token_for("accept-invitation");
    let second = app
        .mail
        .wait_for(&email, 2)
        .await
        .token_for("accept-invitation");
    assert_ne!(first, second);
    assert_problem(
        accept(&app, &first, NEW_PASSWORD).await,
        StatusCode::BAD_REQUEST,
        "invitation_token_invalid",
    )
    .await;
    let list: Value = app
        .get(
            &format!("/api/v1/companies/{}/users", company.id),
            Some(admin.access()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2, "one membership per address: {list}");

    let email = email.clone();
    let expire = email.clone();
    app.with_db(move |conn| {
        use diesel::prelude::*;
        use firmenportal::schema::company_memberships;
        diesel::update(company_memberships::table.filter(company_memberships::email.eq(expire)))
            .set(
                company_memberships::invitation_expires_at
                    .eq(chrono::Utc::now().naive_utc() - chrono::Duration::seconds(1)),
            )
            .execute(conn)
            .unwrap();
    })
    .await;
    assert_problem(
        accept(&app, &second, NEW_PASSWORD).await,
        StatusCode::BAD_REQUEST,
        "invitation_token_expired",
    )
    .await;
    assert_eq!(
        app.login(&email, NEW_PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn invitations_with_invalid_fields_or_for_an_active_user_are_refused() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let admin = company_user(&app, &company, "admin").await;
    let bad = invite(
        &app,
        admin.access(),
        &company.id,
        json!({"email": "kein-at", "first_name": "", "last_name": "Personal", "role": "chef"}),
    )
    .await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let fields: Vec<String> = pointers(&problem).into_iter().map(|(p, _)| p).collect();
    assert_eq!(fields, ["/email", "/first_name", "/role"]);
    let again = invite(
        &app,
        admin.access(),
        &company.id,
        invitation(&admin.account.email, "member"),
    )
    .await;
    assert_problem(again, StatusCode::CONFLICT, "already_member").await;
    let bad_token = app
        .post(
            "/api/v1/auth/invitations/accept",
            json!({"password": NEW_PASSWORD}),
        )
        .await;
    let problem = assert_problem(
        bad_token,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        [("/token".to_string(), "required".to_string())]
    );
    assert_problem(
        accept(&app, "unbekannt", NEW_PASSWORD).await,
        StatusCode::BAD_REQUEST,
        "invitation_token_invalid",
    )
    .await;
}

#[tokio::test]
async fn members_read_but_only_admins_change() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let admin = company_user(&app, &company, "admin").await;
    let member = company_user(&app, &company, "member").await;
    let users = format!("/api/v1/companies/{}/users", company.id);
    let list = app.get(&users, Some(member.access())).await;
    assert_eq!(list.status(), StatusCode::OK);
    assert_eq!(list.json::<Value>().await.unwrap()["total"], 2);
    let one = app
        .get(
            &format!("{users}/{}", admin.membership_id),
            Some(member.access()),
        )
        .await;
    assert_eq!(one.status(), StatusCode::OK);
    assert_eq!(one.json::<Value>().await.unwrap()["role"], "admin");
    assert_problem(
        invite(
            &app,
            member.access(),
            &company.id,
            invitation(&unique_email(), "member"),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let promote = app
        .request(
            Method::PATCH,
            &format!("{users}/{}", member.membership_id),
            Some(member.access()),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_problem(promote, StatusCode::FORBIDDEN, "forbidden").await;
    let remove = app
        .request(
            Method::DELETE,
            &format!("{users}/{}", admin.membership_id),
            Some(member.access()),
            None,
        )
        .await;
    assert_problem(remove, StatusCode::FORBIDDEN, "forbidden").await;
    let bad_role = app
        .request(
            Method::PATCH,
            &format!("{users}/{}", member.membership_id),
            Some(admin.access()),
            Some(json!({"role": "owner"})),
        )
        .await;
    let problem = assert_problem(
        bad_role,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        pointers(&problem),
        [("/role".to_string(), "invalid_choice".to_string())]
    );
    // The closed set, named.
    assert_eq!(
        problem["errors"][0]["detail"],
        "Erlaubt sind: admin, member."
    );
}

#[tokio::test]
async fn the_last_admin_can_be_neither_demoted_nor_removed() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let admin = company_user(&app, &company, "admin").await;
    let users = format!("/api/v1/companies/{}/users", company.id);
    let own = format!("{users}/{}", admin.membership_id);
    let demote = app
        .request(
            Method::PATCH,
            &own,
            Some(admin.access()),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_problem(demote, StatusCode::CONFLICT, "last_admin").await;
    let remove = app
        .request(Method::DELETE, &own, Some(admin.access()), None)
        .await;
    assert_problem(remove, StatusCode::CONFLICT, "last_admin").await;

    // With a second admin the first may step down.
    let second = company_user(&app, &company, "member").await;
    let promote = app
        .request(
            Method::PATCH,
            &format!("{users}/{}", second.membership_id),
            Some(admin.access()),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(promote.status(), StatusCode::OK);
    assert_eq!(promote.json::<Value>().await.unwrap()["role"], "admin");
    let demote = app
        .request(
            Method::PATCH,
            &own,
            Some(admin.access()),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(demote.status(), StatusCode::OK);
    assert_eq!(count_audited(&app, "membership.role_changed").await, 2);
}

#[tokio::test]
async fn two_admins_removing_each_other_at_once_leave_one_admin() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let first = company_user(&app, &company, "admin").await;
    let second = company_user(&app, &company, "admin").await;
    let users = format!("/api/v1/companies/{}/users", company.id);
    let requests = [
        (
            first.tokens.access.clone(),
            format!("{users}/{}", second.membership_id),
        ),
        (
            second.tokens.access.clone(),
            format!("{users}/{}", first.membership_id),
        ),
    ];
    let answers = release_together(&app, 2, |i| {
        let (token, path) = requests[i].clone();
        let request = app.client.delete(app.url(&path)).bearer_auth(token);
        async move { request.send().await.unwrap() }
    })
    .await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    // One removal wins; the other admin is then the last one (409), or, having been
    // removed a moment earlier, no longer sees the company (404).
    assert_eq!(statuses[0], 204, "{statuses:?}");
    assert!(statuses[1] == 409 || statuses[1] == 404, "{statuses:?}");
    let admins = crate::helpers::count_where(
        &app,
        "company_memberships",
        "role = 'admin' AND accepted_at IS NOT NULL",
    )
    .await;
    assert_eq!(admins, 1);
}

#[tokio::test]
async fn a_removed_user_loses_access_with_the_next_request() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let admin = company_user(&app, &company, "admin").await;
    let member = company_user(&app, &company, "member").await;
    let path = format!("/api/v1/companies/{}", company.id);
    assert_eq!(
        app.get(&path, Some(member.access())).await.status(),
        StatusCode::OK
    );
    let removed = app
        .request(
            Method::DELETE,
            &format!("{path}/users/{}", member.membership_id),
            Some(admin.access()),
            None,
        )
        .await;
    assert_eq!(removed.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.get(
            &format!("{path}/users/{}", member.membership_id),
            Some(admin.access()),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get(&path, Some(member.access())).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(app.me(member.access()).await["companies"], json!([]));
    assert_eq!(count_audited(&app, "membership.removed").await, 1);
}

#[tokio::test]
async fn the_last_admin_cannot_delete_their_account_until_another_admin_takes_over() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let admin = company_user(&app, &company, "admin").await;
    let member = company_user(&app, &company, "member").await;
    let delete_account = |token: String| {
        let request = app
            .client
            .delete(app.url("/api/v1/me"))
            .bearer_auth(token)
            .json(&json!({"password": PASSWORD}));
        async move { request.send().await.unwrap() }
    };

    let refused = delete_account(admin.tokens.access.clone()).await;
    assert_problem(refused, StatusCode::CONFLICT, "last_admin").await;
    // Nothing went: the account still signs in and still administers the company.
    let me: Value = app
        .get("/api/v1/me", Some(admin.access()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["companies"][0]["role"], "admin");

    // A member leaves freely.
    let left = delete_account(member.tokens.access.clone()).await;
    assert_eq!(left.status(), StatusCode::NO_CONTENT);

    let successor = company_user(&app, &company, "admin").await;
    let deleted = delete_account(admin.tokens.access.clone()).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let users: Value = app
        .get(
            &format!("/api/v1/companies/{}/users", company.id),
            Some(successor.access()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(users["total"], 1);
    assert_eq!(users["items"][0]["id"], successor.membership_id.as_str());
}

#[tokio::test]
async fn two_admins_deleting_their_accounts_at_once_leave_one_admin() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let admins = [
        company_user(&app, &company, "admin").await,
        company_user(&app, &company, "admin").await,
    ];
    let answers = release_together(&app, 2, |i| {
        let request = app
            .client
            .delete(app.url("/api/v1/me"))
            .bearer_auth(admins[i].tokens.access.clone())
            .json(&json!({"password": PASSWORD}));
        async move { request.send().await.unwrap() }
    })
    .await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [204, 409]);
    let remaining = crate::helpers::count_where(
        &app,
        "company_memberships",
        "role = 'admin' AND accepted_at IS NOT NULL",
    )
    .await;
    assert_eq!(remaining, 1);
}

/// Holds the company's lock (as every role change takes it) in a transaction of its own,
/// demotes `admin` to member in it, and commits once `go` is sent. Returns when the lock
/// is held.
async fn demote_under_the_company_lock(
    app: &TestApp,
    company_id: &str,
    membership_id: &str,
) -> (
    std::sync::mpsc::Sender<()>,
    tokio::task::JoinHandle<Result<(), firmenportal::error::AppError>>,
) {
    let (locked, is_locked) = tokio::sync::oneshot::channel();
    let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
    let (mut locked, mut wait_for_go) = (Some(locked), Some(wait_for_go));
    let (company_id, membership_id) = (company_id.to_string(), membership_id.to_string());
    let db = app.db.clone();
    let holder = tokio::spawn(async move {
        db.transaction(move |conn| {
            use diesel::prelude::*;
            use firmenportal::schema::company_memberships;
            firmenportal::memberships::repo::lock_company(conn, &company_id)?;
            if let (Some(locked), Some(wait)) = (locked.take(), wait_for_go.take()) {
                let _ = locked.send(());
                wait.recv().expect("go");
            }
            diesel::update(company_memberships::table.find(&membership_id))
                .set(company_memberships::role.eq("member"))
                .execute(conn)?;
            Ok(())
        })
        .await
    });
    is_locked.await.expect("the lock is held");
    (go, holder)
}

#[tokio::test]
async fn an_admin_demoted_at_the_same_moment_cannot_finish_an_invitation_or_a_removal() {
    let app = TestApp::spawn().await;
    let company = company().insert(&app).await;
    let _first = company_user(&app, &company, "admin").await;
    let second = company_user(&app, &company, "admin").await;
    let member = company_user(&app, &company, "member").await;
    let email = unique_email();
    let users = format!("/api/v1/companies/{}/users", company.id);
    for attempt in ["invite", "remove"] {
        if attempt == "remove" {
            // Admin again for the second round.
            let id = second.membership_id.clone();
            app.with_db(move |conn| {
                use diesel::prelude::*;
                use firmenportal::schema::company_memberships;
                diesel::update(company_memberships::table.find(id))
                    .set(company_memberships::role.eq("admin"))
                    .execute(conn)
                    .unwrap();
            })
            .await;
        }
        let (go, holder) =
            demote_under_the_company_lock(&app, &company.id, &second.membership_id).await;
        let request = match attempt {
            "invite" => app
                .client
                .post(app.url(&users))
                .json(&invitation(&email, "member")),
            _ => app
                .client
                .delete(app.url(&format!("{users}/{}", member.membership_id))),
        }
        .bearer_auth(second.access())
        .send();
        let answer = tokio::spawn(request);
        // The request reaches the lock and waits there while the demotion commits.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !answer.is_finished(),
            "{attempt} waits for the company's lock"
        );
        go.send(()).unwrap();
        holder.await.unwrap().expect("the demotion commits");
        let answer = answer.await.unwrap().unwrap();
        assert_problem(answer, StatusCode::FORBIDDEN, "forbidden").await;
    }
    assert_eq!(count_audited(&app, "membership.invited").await, 0);
    assert_eq!(count_audited(&app, "membership.removed").await, 0);
    assert_eq!(app.mail.to(&email).len(), 0);
}
