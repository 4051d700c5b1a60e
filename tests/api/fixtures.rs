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

/// A subscription with its holder, company and company contract, inserted directly.
pub struct SubscriptionFixture {
    pub contract_number: String,
    pub subscription_number: Option<String>,
    pub chip_card_number: Option<String>,
    pub last_name: String,
    pub birth_date: chrono::NaiveDate,
    pub postal_code: String,
    pub valid_from: chrono::NaiveDate,
    pub valid_to: Option<chrono::NaiveDate>,
    pub status: String,
}

/// The ids of an inserted subscription and its records.
#[derive(Debug, Clone)]
pub struct InsertedSubscription {
    pub id: String,
    pub customer_id: String,
    pub contract_id: String,
    pub company_id: String,
    pub contract_number: String,
}

fn date(text: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// The guide's subscription: 431177 of Max Musterjobber, born 2000-10-05, 34117 Kassel,
/// active since 2023-05-01, unbefristet.
pub fn subscription() -> SubscriptionFixture {
    SubscriptionFixture {
        contract_number: format!("{}", 400_000 + rand::random::<u32>() % 500_000),
        subscription_number: None,
        chip_card_number: None,
        last_name: "Musterjobber".into(),
        birth_date: date("2000-10-05"),
        postal_code: "34117".into(),
        valid_from: date("2023-05-01"),
        valid_to: None,
        status: "active".into(),
    }
}

impl SubscriptionFixture {
    pub fn numbers(mut self, subscription_number: &str, chip_card_number: &str) -> Self {
        self.subscription_number = Some(subscription_number.into());
        self.chip_card_number = Some(chip_card_number.into());
        self
    }

    pub fn holder(mut self, last_name: &str, postal_code: &str) -> Self {
        self.last_name = last_name.into();
        self.postal_code = postal_code.into();
        self
    }

    pub fn valid(mut self, from: &str, to: Option<&str>, status: &str) -> Self {
        self.valid_from = date(from);
        self.valid_to = to.map(date);
        self.status = status.into();
        self
    }

    pub async fn insert(self, app: &TestApp) -> InsertedSubscription {
        use firmenportal::schema::{
            companies, company_contracts, consent_changes, customers, subscriptions,
        };
        let id = |_: ()| uuid::Uuid::new_v4().to_string();
        let inserted = InsertedSubscription {
            id: id(()),
            customer_id: id(()),
            contract_id: id(()),
            company_id: id(()),
            contract_number: self.contract_number.clone(),
        };
        let ids = inserted.clone();
        app.with_db(move |conn| {
            let now = chrono::Utc::now().naive_utc();
            let suffix = &ids.id[..8];
            diesel::insert_into(companies::table)
                .values((
                    companies::id.eq(&ids.company_id),
                    companies::customer_number.eq(format!("K-{suffix}").to_uppercase()),
                    companies::name.eq("Musterfirma GmbH"),
                    companies::street.eq("Königsplatz 1"),
                    companies::postal_code.eq("34117"),
                    companies::city.eq("Kassel"),
                    companies::country.eq("DE"),
                    companies::search_text.eq("musterfirma gmbh"),
                    companies::created_at.eq(now),
                    companies::updated_at.eq(now),
                ))
                .execute(conn)
                .expect("insert company");
            diesel::insert_into(company_contracts::table)
                .values((
                    company_contracts::id.eq(&ids.contract_id),
                    company_contracts::contract_number.eq(format!("FV-{suffix}").to_uppercase()),
                    company_contracts::company_id.eq(&ids.company_id),
                    company_contracts::product_offering.eq("D-Ticket Job (Rechnung)"),
                    company_contracts::status.eq("active"),
                    company_contracts::valid_from.eq(date("2023-01-01")),
                    company_contracts::created_at.eq(now),
                    company_contracts::updated_at.eq(now),
                ))
                .execute(conn)
                .expect("insert contract");
            diesel::insert_into(customers::table)
                .values((
                    customers::id.eq(&ids.customer_id),
                    customers::customer_number.eq(format!("KD-{suffix}").to_uppercase()),
                    customers::salutation.eq("mr"),
                    customers::gender.eq("male"),
                    customers::first_name.eq("Max"),
                    customers::last_name.eq(&self.last_name),
                    customers::birth_date.eq(self.birth_date),
                    customers::street.eq("Artilleriestr. 39"),
                    customers::postal_code.eq(&self.postal_code),
                    customers::city.eq("Kassel"),
                    customers::country.eq("DE"),
                    customers::marketing_consent.eq(false),
                    customers::recorded_at.eq(date("2024-10-22")),
                    customers::search_text.eq(firmenportal::domain::fold::search_text(&[
                        "Max",
                        &self.last_name,
                    ])),
                    customers::created_at.eq(now),
                    customers::updated_at.eq(now),
                ))
                .execute(conn)
                .expect("insert customer");
            diesel::insert_into(consent_changes::table)
                .values((
                    consent_changes::id.eq(uuid::Uuid::new_v4().to_string()),
                    consent_changes::customer_id.eq(&ids.customer_id),
                    consent_changes::marketing_consent.eq(false),
                    consent_changes::source.eq("operator"),
                    consent_changes::changed_at.eq(now - chrono::Duration::days(30)),
                ))
                .execute(conn)
                .expect("insert consent");
            diesel::insert_into(subscriptions::table)
                .values((
                    subscriptions::id.eq(&ids.id),
                    subscriptions::contract_number.eq(&self.contract_number),
                    subscriptions::subscription_number.eq(&self.subscription_number),
                    subscriptions::chip_card_number.eq(&self.chip_card_number),
                    subscriptions::product.eq("Deutschlandticket Job"),
                    subscriptions::valid_from.eq(self.valid_from),
                    subscriptions::valid_to.eq(self.valid_to),
                    subscriptions::status.eq(&self.status),
                    subscriptions::customer_id.eq(&ids.customer_id),
                    subscriptions::company_contract_id.eq(Some(&ids.contract_id)),
                    subscriptions::created_at.eq(now),
                    subscriptions::updated_at.eq(now),
                ))
                .execute(conn)
                .expect("insert subscription");
        })
        .await;
        inserted
    }
}

/// A company to insert, with a unique customer number.
pub struct CompanyFixture {
    pub customer_number: String,
    pub name: String,
    pub street: String,
    pub postal_code: String,
    pub city: String,
}

/// An inserted company.
#[derive(Debug, Clone)]
pub struct InsertedCompany {
    pub id: String,
    pub customer_number: String,
}

pub fn company() -> CompanyFixture {
    CompanyFixture {
        customer_number: format!("K-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
            .to_uppercase(),
        name: "Musterfirma GmbH".into(),
        street: "Königsplatz 1".into(),
        postal_code: "34117".into(),
        city: "Kassel".into(),
    }
}

impl CompanyFixture {
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.into();
        self
    }

    pub fn address(mut self, street: &str, postal_code: &str, city: &str) -> Self {
        self.street = street.into();
        self.postal_code = postal_code.into();
        self.city = city.into();
        self
    }

    pub async fn insert(self, app: &TestApp) -> InsertedCompany {
        use firmenportal::schema::companies;
        let inserted = InsertedCompany {
            id: uuid::Uuid::new_v4().to_string(),
            customer_number: self.customer_number.clone(),
        };
        let id = inserted.id.clone();
        app.with_db(move |conn| {
            let now = chrono::Utc::now().naive_utc();
            diesel::insert_into(companies::table)
                .values((
                    companies::id.eq(&id),
                    companies::customer_number.eq(&self.customer_number),
                    companies::name.eq(&self.name),
                    companies::street.eq(&self.street),
                    companies::postal_code.eq(&self.postal_code),
                    companies::city.eq(&self.city),
                    companies::country.eq("DE"),
                    companies::search_text.eq(""),
                    companies::created_at.eq(now),
                    companies::updated_at.eq(now),
                ))
                .execute(conn)
                .expect("insert company");
        })
        .await;
        inserted
    }
}

/// A company contract to insert: active since 2023-01-01, open-ended, unless told
/// otherwise.
pub struct ContractFixture {
    pub company_id: String,
    pub contract_number: String,
    pub product_offering: String,
    pub status: String,
    pub valid_from: chrono::NaiveDate,
    pub valid_to: Option<chrono::NaiveDate>,
}

pub fn contract(company: &InsertedCompany) -> ContractFixture {
    ContractFixture {
        company_id: company.id.clone(),
        contract_number: format!("FV-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
            .to_uppercase(),
        product_offering: "D-Ticket Job (Rechnung)".into(),
        status: "active".into(),
        valid_from: date("2023-01-01"),
        valid_to: None,
    }
}

impl ContractFixture {
    pub fn number(mut self, contract_number: &str) -> Self {
        self.contract_number = contract_number.into();
        self
    }

    pub fn offering(mut self, product_offering: &str) -> Self {
        self.product_offering = product_offering.into();
        self
    }

    pub fn valid(mut self, from: &str, to: Option<&str>, status: &str) -> Self {
        self.valid_from = date(from);
        self.valid_to = to.map(date);
        self.status = status.into();
        self
    }

    pub fn valid_dates(
        mut self,
        from: chrono::NaiveDate,
        to: Option<chrono::NaiveDate>,
        status: &str,
    ) -> Self {
        self.valid_from = from;
        self.valid_to = to;
        self.status = status.into();
        self
    }

    /// Inserts the contract and folds its search words as the service does.
    pub async fn insert(self, app: &TestApp) -> String {
        use firmenportal::contract_columns::{ContractScope, refresh as refresh_list_columns};
        use firmenportal::schema::company_contracts;
        let id = uuid::Uuid::new_v4().to_string();
        let inserted = id.clone();
        app.with_db(move |conn| {
            let now = chrono::Utc::now().naive_utc();
            diesel::insert_into(company_contracts::table)
                .values((
                    company_contracts::id.eq(&id),
                    company_contracts::contract_number.eq(&self.contract_number),
                    company_contracts::company_id.eq(&self.company_id),
                    company_contracts::product_offering.eq(&self.product_offering),
                    company_contracts::status.eq(&self.status),
                    company_contracts::valid_from.eq(self.valid_from),
                    company_contracts::valid_to.eq(self.valid_to),
                    company_contracts::created_at.eq(now),
                    company_contracts::updated_at.eq(now),
                ))
                .execute(conn)
                .expect("insert contract");
            refresh_list_columns(conn, ContractScope::Contracts(&[id])).expect("search words");
        })
        .await;
        inserted
    }
}

/// A signed-in company user: an account with an accepted membership.
pub struct CompanyUser {
    pub account: InsertedAccount,
    pub membership_id: String,
    pub tokens: Tokens,
}

impl CompanyUser {
    pub fn access(&self) -> &str {
        &self.tokens.access
    }
}

/// Inserts an account with an accepted membership of `role` in the company, and logs in.
pub async fn company_user(app: &TestApp, company: &InsertedCompany, role: &str) -> CompanyUser {
    use firmenportal::schema::company_memberships;
    let account = account().insert(app).await;
    let membership_id = uuid::Uuid::new_v4().to_string();
    let (id, company_id, account_id, email, role) = (
        membership_id.clone(),
        company.id.clone(),
        account.id.clone(),
        account.email.clone(),
        role.to_string(),
    );
    app.with_db(move |conn| {
        let now = chrono::Utc::now().naive_utc();
        diesel::insert_into(company_memberships::table)
            .values((
                company_memberships::id.eq(&id),
                company_memberships::company_id.eq(&company_id),
                company_memberships::email.eq(&email),
                company_memberships::account_id.eq(&account_id),
                company_memberships::first_name.eq("Max"),
                company_memberships::last_name.eq("Musterjobber"),
                company_memberships::role.eq(&role),
                company_memberships::invited_at.eq(now),
                company_memberships::accepted_at.eq(now),
                company_memberships::updated_at.eq(now),
            ))
            .execute(conn)
            .expect("insert membership");
    })
    .await;
    let tokens = account.login(app).await;
    CompanyUser {
        account,
        membership_id,
        tokens,
    }
}

/// An operator, signed in.
pub async fn operator(app: &TestApp) -> (InsertedAccount, Tokens) {
    let operator = account().operator().insert(app).await;
    let tokens = operator.login(app).await;
    (operator, tokens)
}
