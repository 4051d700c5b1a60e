//! Records inserted directly into a test's database, for tests that need state the API
//! would take several steps to build (crates.io's seeding helpers).

use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher as _, SaltString};
use diesel::prelude::*;
use firmenportal::schema::accounts;

use crate::helpers::{PASSWORD, TestApp, Tokens, unique_email};

/// An argon2id hash of [`PASSWORD`] with the service's parameters, computed once.
pub static PASSWORD_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes(), &salt)
        .expect("hash")
        .to_string()
});

/// An account to insert; verified, without operator rights and with [`PASSWORD`]
/// unless told otherwise.
pub struct AccountFixture {
    pub email: String,
    pub first_name: String,
    pub verified: bool,
    pub operator: bool,
}

/// An inserted account.
#[derive(Debug, Clone)]
pub struct InsertedAccount {
    pub id: String,
    pub email: String,
}

pub fn account() -> AccountFixture {
    AccountFixture {
        email: unique_email(),
        first_name: "Max".into(),
        verified: true,
        operator: false,
    }
}

impl AccountFixture {
    pub fn unverified(mut self) -> Self {
        self.verified = false;
        self
    }

    pub fn operator(mut self) -> Self {
        self.operator = true;
        self
    }

    pub async fn insert(self, app: &TestApp) -> InsertedAccount {
        let id = uuid::Uuid::new_v4().to_string();
        let inserted = InsertedAccount {
            id: id.clone(),
            email: self.email.clone(),
        };
        app.with_db(move |conn| {
            let now = chrono::Utc::now().naive_utc();
            diesel::insert_into(accounts::table)
                .values((
                    accounts::id.eq(&id),
                    accounts::email.eq(&self.email),
                    accounts::password_hash.eq(PASSWORD_HASH.as_str()),
                    accounts::first_name.eq(&self.first_name),
                    accounts::last_name.eq("Musterjobber"),
                    accounts::operator.eq(self.operator),
                    accounts::email_verified_at.eq(self.verified.then_some(now)),
                    accounts::tokens_valid_after.eq(now - chrono::Duration::seconds(5)),
                    accounts::created_at.eq(now),
                    accounts::updated_at.eq(now),
                ))
                .execute(conn)
                .expect("insert account");
        })
        .await;
        inserted
    }
}

impl InsertedAccount {
    /// Logs in with [`PASSWORD`].
    pub async fn login(&self, app: &TestApp) -> Tokens {
        let response = app.login(&self.email, PASSWORD).await;
        assert_eq!(
            response.status(),
            reqwest::StatusCode::OK,
            "login {}",
            self.email
        );
        Tokens::from(response.json::<serde_json::Value>().await.unwrap())
    }

    /// Grants or withdraws operator rights.
    pub async fn set_operator(&self, app: &TestApp, operator: bool) {
        let id = self.id.clone();
        app.with_db(move |conn| {
            diesel::update(accounts::table.find(id))
                .set(accounts::operator.eq(operator))
                .execute(conn)
                .expect("update rights");
        })
        .await;
    }
}
