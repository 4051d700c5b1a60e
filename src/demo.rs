//! `firmenportal seed-demo`: the guide's data (Musterfirma GmbH, Max Musterjobber and his
//! subscription 431177) and a few more records so lists are not trivial, with the price
//! list of 2025 and 2026 and Musterfirma's 50 % employer share, so that its monthly
//! statements show at once. Idempotent:
//! records are found by their natural keys and only missing ones are created. Refused
//! in production.

use serde_json::{Value, json};

use crate::audit::{self, AuditAction, AuditContext};
use crate::clock;
use crate::companies::types::NewCompanyRequest;
use crate::config::{AppEnv, Config};
use crate::contracts::types::NewContractRequest;
use crate::customers::repo::ConsentSource;
use crate::customers::types::NewCustomerRequest;
use crate::db::{DbConnection, DbPool};
use crate::error::AppError;
use crate::prices::types::NewPriceRequest;
use crate::subscriptions::types::NewSubscriptionRequest;

/// How many records the run created and how many were there already, and the demo
/// company admin's sign-in when this run created the account.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedSummary {
    pub created: usize,
    pub existing: usize,
    /// E-mail address and generated password of Musterfirma GmbH's admin; shown once.
    pub company_admin: Option<(String, String)>,
}

/// The demo company admin: an admin of Musterfirma GmbH, so a frontend developer can
/// walk guide 001 at once.
pub const DEMO_ADMIN_EMAIL: &str = "personal@musterfirma.de";
const DEMO_COMPANY: &str = "K-100234";

/// Why the demo data was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("seed-demo is refused with APP_ENV=production: demo records do not belong there")]
    Production,
    #[error(transparent)]
    App(#[from] AppError),
}

fn companies() -> Vec<Value> {
    let company = |number: &str, name: &str, street: &str, postal_code: &str, city: &str| {
        json!({"customer_number": number, "name": name,
               "address": {"street": street, "postal_code": postal_code, "city": city, "country": "DE"}})
    };
    vec![
        company(
            "K-100234",
            "Musterfirma GmbH",
            "Ständeplatz 17",
            "34117",
            "Kassel",
        ),
        company(
            "K-100235",
            "Nordhessen Logistik AG",
            "Leipziger Str. 120",
            "34123",
            "Kassel",
        ),
        company(
            "K-100236",
            "Stadtwerke Beispielstadt GmbH",
            "Königstor 3",
            "34117",
            "Kassel",
        ),
        company(
            "K-100237",
            "Fulda Medizintechnik KG",
            "Am Bahnhof 2",
            "36037",
            "Fulda",
        ),
    ]
}

/// `(contract, company customer number)`.
fn contracts() -> Vec<(Value, &'static str)> {
    let contract = |number: &str, product: &str, status: &str, from: &str, to: Option<&str>| {
        json!({"contract_number": number, "company_id": "", "product_offering": product,
               "status": status, "valid_from": from, "valid_to": to})
    };
    vec![
        (
            contract(
                "FV-2023-0815",
                "D-Ticket Job (Rechnung)",
                "active",
                "2023-01-01",
                None,
            ),
            "K-100234",
        ),
        (
            contract(
                "FV-2021-0042",
                "D-Ticket Job (Lastschrift)",
                "ended",
                "2021-01-01",
                Some("2023-04-30"),
            ),
            "K-100234",
        ),
        (
            contract(
                "FV-2024-0101",
                "D-Ticket Job (Rechnung)",
                "active",
                "2024-01-01",
                None,
            ),
            "K-100235",
        ),
        (
            contract(
                "FV-2024-0102",
                "D-Ticket Job (Rechnung)",
                "cancelled",
                "2024-03-01",
                Some("2026-12-31"),
            ),
            "K-100236",
        ),
        (
            contract(
                "FV-2025-0007",
                "D-Ticket Job (Rechnung)",
                "active",
                "2025-02-01",
                None,
            ),
            "K-100237",
        ),
    ]
}

fn customers() -> Vec<Value> {
    let customer = |number: &str,
                    salutation: &str,
                    gender: &str,
                    first: &str,
                    last: &str,
                    born: &str,
                    street: &str,
                    postal_code: &str,
                    city: &str,
                    recorded: &str| {
        json!({"customer_number": number, "salutation": salutation, "gender": gender,
               "first_name": first, "last_name": last, "birth_date": born,
               "address": {"street": street, "postal_code": postal_code, "city": city, "country": "DE"},
               "marketing_consent": false, "recorded_at": recorded})
    };
    vec![
        customer(
            "KD-4711",
            "mr",
            "male",
            "Max",
            "Musterjobber",
            "2000-10-05",
            "Artilleriestr. 39",
            "34117",
            "Kassel",
            "2024-10-22",
        ),
        customer(
            "KD-4712",
            "ms",
            "female",
            "Erika",
            "Musterfrau",
            "1985-03-14",
            "Wilhelmshöher Allee 100",
            "34119",
            "Kassel",
            "2024-01-15",
        ),
        customer(
            "KD-4713",
            "mr",
            "male",
            "Jürgen",
            "Größer",
            "1979-07-01",
            "Friedrich-Ebert-Str. 12",
            "34117",
            "Kassel",
            "2024-03-20",
        ),
        customer(
            "KD-4714",
            "ms",
            "female",
            "Aylin",
            "Demir",
            "1996-12-24",
            "Bahnhofstr. 5",
            "36037",
            "Fulda",
            "2025-02-10",
        ),
        customer(
            "KD-4715",
            "ms",
            "female",
            "Anna",
            "Schmidt",
            "1994-02-14",
            "Wilhelmsstr. 2",
            "34117",
            "Kassel",
            "2025-12-01",
        ),
        customer(
            "KD-4716",
            "mr",
            "male",
            "Jörg",
            "Müller",
            "1990-10-05",
            "Königsplatz 1",
            "34117",
            "Kassel",
            "2026-02-01",
        ),
    ]
}

/// `(subscription, customer number, company contract number)`.
fn subscriptions() -> Vec<(Value, &'static str, &'static str)> {
    let subscription = |number: &str, status: &str, from: &str, to: Option<&str>, extra: Value| {
        let mut value = json!({"contract_number": number, "product": "Deutschlandticket Job",
                               "valid_from": from, "valid_to": to, "status": status, "customer_id": ""});
        if let (Some(target), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        value
    };
    vec![
        (
            subscription("431177", "active", "2023-05-01", None, json!({})),
            "KD-4711",
            "FV-2023-0815",
        ),
        (
            subscription(
                "398812",
                "ended",
                "2022-01-01",
                Some("2023-04-30"),
                json!({}),
            ),
            "KD-4711",
            "FV-2021-0042",
        ),
        (
            subscription(
                "431178",
                "active",
                "2024-02-01",
                None,
                json!({"subscription_number": "A-200001"}),
            ),
            "KD-4712",
            "FV-2024-0101",
        ),
        (
            subscription(
                "431179",
                "cancelled",
                "2024-04-01",
                Some("2026-12-31"),
                json!({"chip_card_number": "9276001234567"}),
            ),
            "KD-4713",
            "FV-2024-0102",
        ),
        (
            subscription("431180", "active", "2025-03-01", None, json!({})),
            "KD-4714",
            "FV-2025-0007",
        ),
        // Musterfirma's statements: a ticket since January 2026 and one that ran from
        // March to September.
        (
            subscription("431181", "active", "2026-01-01", None, json!({})),
            "KD-4715",
            "FV-2023-0815",
        ),
        (
            subscription(
                "431182",
                "cancelled",
                "2026-03-01",
                Some("2026-09-30"),
                json!({}),
            ),
            "KD-4716",
            "FV-2023-0815",
        ),
    ]
}

/// The price list: the D-Ticket of 2025 (58.00) and 2026 (63.00), 5 % job discount.
fn prices() -> Vec<NewPriceRequest> {
    let price = |product: &str, from: &str, list: &str| NewPriceRequest {
        product_offering: Some(product.into()),
        valid_from: Some(from.into()),
        list_price: Some(list.into()),
        job_discount_percent: Some("5.00".into()),
    };
    let mut prices = Vec::new();
    for product in ["D-Ticket Job (Rechnung)", "D-Ticket Job (Lastschrift)"] {
        prices.push(price(product, "2025-01-01", "58.00"));
        prices.push(price(product, "2026-01-01", "63.00"));
    }
    prices
}

pub async fn seed_demo(config: &Config, db: &DbPool) -> Result<SeedSummary, SeedError> {
    if config.app_env == AppEnv::Production {
        return Err(SeedError::Production);
    }
    let mut summary = db.transaction(seed).await?;
    seed_company_admin(db, &mut summary).await?;
    Ok(summary)
}

/// Creates the demo company admin (a verified account and its accepted admin
/// membership) with a generated password, unless the account exists.
async fn seed_company_admin(db: &DbPool, summary: &mut SeedSummary) -> Result<(), AppError> {
    use crate::accounts::repo as accounts;
    use rand::distributions::{Alphanumeric, DistString};
    let exists = db
        .run(|conn| accounts::find_by_email(conn, DEMO_ADMIN_EMAIL))
        .await?
        .is_some();
    if exists {
        summary.existing += 2;
        return Ok(());
    }
    let password = Alphanumeric.sample_string(&mut rand::rngs::OsRng, 20);
    let hash = crate::auth::password::PasswordHasher::new(1, 1)
        .hash(secrecy::SecretString::from(password.clone()))
        .await?;
    db.transaction(move |conn| {
        let context = AuditContext::for_command("seed-demo");
        let now = clock::now();
        let company = crate::companies::repo::find_by_customer_number(conn, DEMO_COMPANY)?
            .ok_or_else(|| AppError::Internal(format!("demo company {DEMO_COMPANY}")))?;
        let id = uuid::Uuid::new_v4().to_string();
        accounts::insert_account(
            conn,
            &accounts::NewAccount {
                id: &id,
                email: DEMO_ADMIN_EMAIL,
                password_hash: &hash,
                first_name: "Erika",
                last_name: "Personal",
                operator: false,
                tokens_valid_after: now,
                created_at: now,
                updated_at: now,
                language: crate::i18n::Lang::De.as_str(),
            },
        )?;
        accounts::mark_email_verified(conn, &id)?;
        audit::record(
            conn,
            &context,
            AuditAction::Registered,
            None,
            Some(&id),
            None,
        )?;
        crate::memberships::repo::insert_active(
            conn,
            &company.id,
            &id,
            DEMO_ADMIN_EMAIL,
            ("Erika", "Personal"),
            crate::memberships::types::CompanyRole::Admin,
            now,
        )
    })
    .await?;
    summary.created += 2;
    summary.company_admin = Some((DEMO_ADMIN_EMAIL.to_string(), password));
    Ok(())
}

fn parse<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, AppError> {
    serde_json::from_value(value).map_err(|e| AppError::Internal(format!("demo record: {e}")))
}

fn seed(conn: &mut DbConnection) -> Result<SeedSummary, AppError> {
    use crate::{companies, contracts, customers, subscriptions};
    let context = AuditContext::for_command("seed-demo");
    let (now, today) = (clock::now(), clock::berlin_date_of(clock::now()));
    let mut summary = SeedSummary::default();
    let created =
        |summary: &mut SeedSummary, action: AuditAction, id: &str, conn: &mut DbConnection| {
            summary.created += 1;
            audit::record(conn, &context, action, None, Some(id), None)
        };
    for value in companies() {
        let data = parse::<NewCompanyRequest>(value)?.parse(now)?;
        if companies::repo::find_by_customer_number(conn, &data.customer_number)?.is_some() {
            summary.existing += 1;
            continue;
        }
        let id = uuid::Uuid::now_v7().to_string();
        companies::repo::insert(conn, &id, &data)?;
        created(&mut summary, AuditAction::CompanyCreated, &id, conn)?;
    }
    for (mut value, company_number) in contracts() {
        let company = companies::repo::find_by_customer_number(conn, company_number)?
            .ok_or_else(|| AppError::Internal(format!("demo company {company_number}")))?;
        value["company_id"] = json!(company.id);
        let data = parse::<NewContractRequest>(value)?.parse(now)?;
        if contracts::repo::find_by_number(conn, &data.contract_number)?.is_some() {
            summary.existing += 1;
            continue;
        }
        let id = uuid::Uuid::now_v7().to_string();
        contracts::repo::insert(conn, &id, &data)?;
        created(&mut summary, AuditAction::ContractCreated, &id, conn)?;
    }
    for value in customers() {
        let data = parse::<NewCustomerRequest>(value)?.parse(today, now)?;
        if customers::repo::find_by_number(conn, &data.customer_number)?.is_some() {
            summary.existing += 1;
            continue;
        }
        let id = uuid::Uuid::now_v7().to_string();
        customers::repo::insert(conn, &id, &data, ConsentSource::Operator)?;
        created(&mut summary, AuditAction::CustomerCreated, &id, conn)?;
    }
    for (mut value, customer_number, contract_number) in subscriptions() {
        let customer = customers::repo::find_by_number(conn, customer_number)?
            .ok_or_else(|| AppError::Internal(format!("demo customer {customer_number}")))?;
        let contract = contracts::repo::find_by_number(conn, contract_number)?
            .ok_or_else(|| AppError::Internal(format!("demo contract {contract_number}")))?;
        value["customer_id"] = json!(customer.id);
        value["company_contract_id"] = json!(contract.id);
        let data = parse::<NewSubscriptionRequest>(value)?.parse(now)?;
        if subscriptions::repo::find_by_contract_number(conn, &data.contract_number)?.is_some() {
            summary.existing += 1;
            continue;
        }
        let id = uuid::Uuid::now_v7().to_string();
        subscriptions::repo::insert(conn, &id, &data)?;
        created(&mut summary, AuditAction::SubscriptionCreated, &id, conn)?;
    }
    for request in prices() {
        let price = request.parse()?;
        let month = price.valid_from;
        if crate::prices::repo::in_force(conn, &price.product_offering, month)?
            .is_some_and(|found| found.valid_from == month)
        {
            summary.existing += 1;
            continue;
        }
        let id = uuid::Uuid::now_v7().to_string();
        crate::prices::repo::insert(
            conn,
            &crate::prices::repo::PriceRow {
                id: id.clone(),
                product_offering: price.product_offering,
                valid_from: month,
                list_price_cents: price.list_price.0,
                job_discount_bp: price.job_discount.0,
                created_at: now,
                created_by: None,
            },
        )?;
        created(&mut summary, AuditAction::PriceCreated, &id, conn)?;
    }
    // Musterfirma pays half of the list price.
    let musterfirma = contracts::repo::find_by_number(conn, "FV-2023-0815")?
        .ok_or_else(|| AppError::Internal("demo contract FV-2023-0815".into()))?;
    if musterfirma.employer_share()?.is_none() {
        let half = crate::prices::EmployerShare::Percent(crate::domain::Percent(5_000));
        contracts::repo::set_employer_share(conn, &musterfirma.id, Some(half))?;
        created(
            &mut summary,
            AuditAction::ContractUpdated,
            &musterfirma.id,
            conn,
        )?;
    } else {
        summary.existing += 1;
    }
    Ok(summary)
}
