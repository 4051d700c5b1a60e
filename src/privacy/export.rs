//! Building the data exports: one read transaction gathers everything about an account
//! (or a customer record) with a handful of queries, each bounded by what one person
//! can have.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::customers::repo::{ConsentRow, CustomerRow};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::privacy::types::*;
use crate::schema::{
    accounts, applications, audit_log, companies, company_contracts, company_memberships,
    consent_changes, customers, email_outbox, sessions, subscriptions,
};

/// The export of the account `account_id`, as of `now`.
pub fn account_export(
    conn: &mut DbConnection,
    account_id: &str,
    now: NaiveDateTime,
) -> Result<AccountExport, AppError> {
    let account: AccountRow = accounts::table
        .find(account_id)
        .select(AccountRow::as_select())
        .first(conn)?;
    let sessions = sessions::table
        .filter(sessions::account_id.eq(account_id))
        .order((sessions::created_at.desc(), sessions::id.desc()))
        .select(SessionRow::as_select())
        .load::<SessionRow>(conn)?
        .into_iter()
        .map(ExportedSession::from)
        .collect();

    let linked = subscription_records(conn, SubscriptionsOf::Account(account_id))?;
    let customer_ids: Vec<String> = linked
        .iter()
        .map(|(_, customer_id)| customer_id.clone())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let customers = customer_records(conn, &customer_ids)?;
    let consents = consent_records(conn, &customer_ids)?;
    let subscription_ids: Vec<String> = linked.iter().map(|(s, _)| s.id.clone()).collect();
    let subscriptions = linked
        .into_iter()
        .filter_map(|(subscription, customer_id)| {
            Some(ExportedSubscription {
                subscription,
                customer: customers.get(&customer_id).map(copy_customer)?,
                consents: consents.get(&customer_id).cloned().unwrap_or_default(),
            })
        })
        .collect();

    let applications = application_records(conn, ApplicationsOf::Account(account_id))?;
    let application_ids: Vec<String> = applications.iter().map(|a| a.id.clone()).collect();
    let memberships = company_memberships::table
        .inner_join(companies::table)
        .filter(
            company_memberships::account_id
                .eq(account_id)
                .or(company_memberships::email.eq(&account.email)),
        )
        .order(company_memberships::invited_at.desc())
        .select((
            company_memberships::company_id,
            companies::name,
            company_memberships::role,
            company_memberships::email,
            company_memberships::first_name,
            company_memberships::last_name,
            company_memberships::invited_at,
            company_memberships::accepted_at,
        ))
        .load::<MembershipRecord>(conn)?
        .into_iter()
        .map(ExportedMembership::from)
        .collect();
    let emails = email_outbox::table
        .filter(email_outbox::recipient.eq(&account.email))
        .order((email_outbox::created_at.desc(), email_outbox::id.desc()))
        .select((
            email_outbox::template,
            email_outbox::subject,
            email_outbox::status,
            email_outbox::created_at,
            email_outbox::sent_at,
        ))
        .load::<EmailRecord>(conn)?
        .into_iter()
        .map(ExportedEmail::from)
        .collect();

    let subjects: Vec<String> = std::iter::once(account_id.to_string())
        .chain(subscription_ids)
        .chain(customer_ids)
        .chain(application_ids)
        .collect();
    let audit_entries = audit_records(conn, Some(account_id), &subjects)?;

    Ok(AccountExport {
        generated_at: now.and_utc(),
        account: account.into(),
        sessions,
        subscriptions,
        applications,
        memberships,
        emails,
        audit_entries,
        explanations: explanations(ACCOUNT_SECTIONS),
    })
}

/// The export of the customer record `customer_id`; `None` when there is none.
pub fn customer_export(
    conn: &mut DbConnection,
    customer_id: &str,
    now: NaiveDateTime,
) -> Result<Option<CustomerExport>, AppError> {
    let ids = [customer_id.to_string()];
    let Some(customer) = customer_records(conn, &ids)?.remove(customer_id) else {
        return Ok(None);
    };
    let consents = consent_records(conn, &ids)?
        .remove(customer_id)
        .unwrap_or_default();
    let subscriptions: Vec<ExportedSubscriptionRecord> =
        subscription_records(conn, SubscriptionsOf::Customer(customer_id))?
            .into_iter()
            .map(|(subscription, _)| subscription)
            .collect();
    let subscription_ids: Vec<String> = subscriptions.iter().map(|s| s.id.clone()).collect();
    let applications = application_records(conn, ApplicationsOf::Subscriptions(&subscription_ids))?;
    let subjects: Vec<String> = std::iter::once(customer_id.to_string())
        .chain(subscription_ids)
        .chain(applications.iter().map(|a| a.id.clone()))
        .collect();
    let audit_entries = audit_records(conn, None, &subjects)?;
    Ok(Some(CustomerExport {
        generated_at: now.and_utc(),
        customer: copy_customer(&customer),
        consents,
        subscriptions,
        applications,
        audit_entries,
        explanations: explanations(CUSTOMER_SECTIONS),
    }))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = accounts)]
struct AccountRow {
    id: String,
    email: String,
    first_name: String,
    last_name: String,
    created_at: NaiveDateTime,
    email_verified_at: Option<NaiveDateTime>,
    operator: bool,
    language: String,
}

impl From<AccountRow> for ExportedAccount {
    fn from(row: AccountRow) -> Self {
        ExportedAccount {
            id: row.id,
            email: row.email,
            first_name: row.first_name,
            last_name: row.last_name,
            created_at: row.created_at.and_utc(),
            email_verified_at: row.email_verified_at.map(|at| at.and_utc()),
            operator: row.operator,
            language: row.language,
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = sessions)]
struct SessionRow {
    created_at: NaiveDateTime,
    last_used_at: Option<NaiveDateTime>,
    expires_at: NaiveDateTime,
    revoked_at: Option<NaiveDateTime>,
    client_ip: Option<String>,
    user_agent: Option<String>,
}

impl From<SessionRow> for ExportedSession {
    fn from(row: SessionRow) -> Self {
        ExportedSession {
            started_at: row.created_at.and_utc(),
            last_used_at: row.last_used_at.map(|at| at.and_utc()),
            expires_at: row.expires_at.and_utc(),
            ended_at: row.revoked_at.map(|at| at.and_utc()),
            client_ip: row.client_ip,
            user_agent: row.user_agent,
        }
    }
}

enum SubscriptionsOf<'a> {
    Account(&'a str),
    Customer(&'a str),
}

type SubscriptionRecordRow = (
    (
        String,
        String,
        Option<String>,
        Option<String>,
        String,
        chrono::NaiveDate,
        Option<chrono::NaiveDate>,
        String,
    ),
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    NaiveDateTime,
    String,
);

/// Subscriptions with their customer record's id, oldest first.
fn subscription_records(
    conn: &mut DbConnection,
    of: SubscriptionsOf,
) -> Result<Vec<(ExportedSubscriptionRecord, String)>, AppError> {
    let mut query = subscriptions::table
        .left_join(company_contracts::table)
        .into_boxed();
    query = match of {
        SubscriptionsOf::Account(id) => query.filter(subscriptions::account_id.eq(id.to_string())),
        SubscriptionsOf::Customer(id) => {
            query.filter(subscriptions::customer_id.eq(id.to_string()))
        }
    };
    let rows: Vec<SubscriptionRecordRow> = query
        .order((subscriptions::valid_from.asc(), subscriptions::id.asc()))
        .select((
            (
                subscriptions::id,
                subscriptions::contract_number,
                subscriptions::subscription_number,
                subscriptions::chip_card_number,
                subscriptions::product,
                subscriptions::valid_from,
                subscriptions::valid_to,
                subscriptions::status,
            ),
            subscriptions::personnel_number,
            company_contracts::company_name.nullable(),
            subscriptions::linked_at,
            subscriptions::cancelled_at,
            subscriptions::created_at,
            subscriptions::customer_id,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                (
                    id,
                    contract_number,
                    subscription_number,
                    chip_card_number,
                    product,
                    valid_from,
                    valid_to,
                    status,
                ),
                personnel_number,
                company_name,
                linked_at,
                cancelled_at,
                created_at,
                customer_id,
            )| {
                (
                    ExportedSubscriptionRecord {
                        id,
                        contract_number,
                        subscription_number,
                        chip_card_number,
                        product,
                        valid_from,
                        valid_to,
                        status,
                        personnel_number,
                        company_name,
                        linked_at: linked_at.map(|at| at.and_utc()),
                        cancelled_at: cancelled_at.map(|at| at.and_utc()),
                        created_at: created_at.and_utc(),
                    },
                    customer_id,
                )
            },
        )
        .collect())
}

/// The customer records of `ids`, by id.
fn customer_records(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<BTreeMap<String, CustomerRow>, AppError> {
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    Ok(customers::table
        .filter(customers::id.eq_any(ids))
        .select(CustomerRow::as_select())
        .load::<CustomerRow>(conn)?
        .into_iter()
        .map(|row| (row.id.clone(), row))
        .collect())
}

fn copy_customer(row: &CustomerRow) -> ExportedCustomer {
    let data = &row.data;
    ExportedCustomer {
        id: row.id.clone(),
        customer_number: data.customer_number.clone(),
        salutation: data.salutation.clone(),
        gender: data.gender.clone(),
        first_name: data.first_name.clone(),
        last_name: data.last_name.clone(),
        birth_date: data.birth_date,
        street: data.street.clone(),
        postal_code: data.postal_code.clone(),
        city: data.city.clone(),
        country: data.country.clone(),
        recipient: data.recipient.clone(),
        phone: data.phone.clone(),
        phone_work: data.phone_work.clone(),
        marketing_consent: data.marketing_consent,
        recorded_at: data.recorded_at,
        created_at: row.created_at.and_utc(),
        updated_at: data.updated_at.and_utc(),
    }
}

/// The consent histories of the customer records `ids`, newest first, by record.
fn consent_records(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<BTreeMap<String, Vec<ExportedConsent>>, AppError> {
    let mut by_customer: BTreeMap<String, Vec<ExportedConsent>> = BTreeMap::new();
    if ids.is_empty() {
        return Ok(by_customer);
    }
    let rows: Vec<(String, ConsentRow)> = consent_changes::table
        .filter(consent_changes::customer_id.eq_any(ids))
        .order((
            consent_changes::changed_at.desc(),
            consent_changes::id.desc(),
        ))
        .select((consent_changes::customer_id, ConsentRow::as_select()))
        .load(conn)?;
    for (customer_id, row) in rows {
        by_customer
            .entry(customer_id)
            .or_default()
            .push(ExportedConsent {
                marketing_consent: row.marketing_consent,
                source: row.source,
                changed_at: row.changed_at.and_utc(),
            });
    }
    Ok(by_customer)
}

enum ApplicationsOf<'a> {
    Account(&'a str),
    Subscriptions(&'a [String]),
}

type ApplicationRecordRow = (
    (String, String, String, String, chrono::NaiveDate),
    (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<chrono::NaiveDate>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    ),
    (Option<String>, Option<String>, Option<bool>),
    (
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<String>,
        Option<String>,
    ),
);

/// Orders with the holder data they carried, newest first.
fn application_records(
    conn: &mut DbConnection,
    of: ApplicationsOf,
) -> Result<Vec<ExportedApplication>, AppError> {
    let mut query = applications::table
        .inner_join(company_contracts::table)
        .into_boxed();
    query = match of {
        ApplicationsOf::Account(id) => query.filter(applications::account_id.eq(id.to_string())),
        ApplicationsOf::Subscriptions([]) => return Ok(Vec::new()),
        ApplicationsOf::Subscriptions(ids) => {
            query.filter(applications::subscription_id.eq_any(ids.to_vec()))
        }
    };
    let rows: Vec<ApplicationRecordRow> = query
        .order((applications::created_at.desc(), applications::id.desc()))
        .select((
            (
                applications::id,
                applications::status,
                company_contracts::contract_number,
                company_contracts::company_name,
                applications::start_month,
            ),
            (
                applications::salutation.nullable(),
                applications::gender.nullable(),
                applications::first_name.nullable(),
                applications::last_name.nullable(),
                applications::birth_date.nullable(),
                applications::street.nullable(),
                applications::postal_code.nullable(),
                applications::city.nullable(),
                applications::country.nullable(),
            ),
            (
                applications::phone,
                applications::personnel_number,
                applications::marketing_consent.nullable(),
            ),
            (
                applications::created_at,
                applications::decided_at,
                applications::rejection_reason,
                applications::subscription_id,
            ),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(
                (id, status, contract_number, company_name, start_month),
                (
                    salutation,
                    gender,
                    first_name,
                    last_name,
                    birth_date,
                    street,
                    postal_code,
                    city,
                    country,
                ),
                (phone, personnel_number, marketing_consent),
                (created_at, decided_at, rejection_reason, subscription_id),
            )| ExportedApplication {
                id,
                status,
                contract_number,
                company_name,
                start_month,
                salutation,
                gender,
                first_name,
                last_name,
                birth_date,
                street,
                postal_code,
                city,
                country,
                phone,
                personnel_number,
                marketing_consent,
                created_at: created_at.and_utc(),
                decided_at: decided_at.map(|at| at.and_utc()),
                rejection_reason,
                subscription_id,
            },
        )
        .collect())
}

type MembershipRecord = (
    String,
    String,
    String,
    String,
    String,
    String,
    NaiveDateTime,
    Option<NaiveDateTime>,
);

impl From<MembershipRecord> for ExportedMembership {
    fn from(
        (company_id, company_name, role, email, first_name, last_name, invited_at, accepted_at): MembershipRecord,
    ) -> Self {
        ExportedMembership {
            company_id,
            company_name,
            role,
            email,
            first_name,
            last_name,
            invited_at: invited_at.and_utc(),
            accepted_at: accepted_at.map(|at| at.and_utc()),
        }
    }
}

type EmailRecord = (String, String, String, NaiveDateTime, Option<NaiveDateTime>);

impl From<EmailRecord> for ExportedEmail {
    fn from((template, subject, status, created_at, sent_at): EmailRecord) -> Self {
        ExportedEmail {
            template,
            subject: Some(subject).filter(|s| !s.is_empty()),
            status,
            created_at: created_at.and_utc(),
            sent_at: sent_at.map(|at| at.and_utc()),
        }
    }
}

/// Entries made by `actor` or about one of `subjects`, newest first. The client address
/// is shown only of what the data subject did: an employer's or an operator's address
/// is theirs, not the subject's.
fn audit_records(
    conn: &mut DbConnection,
    actor: Option<&str>,
    subjects: &[String],
) -> Result<Vec<ExportedAuditEntry>, AppError> {
    let mut query = audit_log::table
        .filter(audit_log::subject_id.eq_any(subjects.to_vec()))
        .into_boxed();
    if let Some(actor) = actor {
        query = query.or_filter(audit_log::actor_id.eq(actor.to_string()));
    }
    let rows: Vec<(String, NaiveDateTime, Option<String>, Option<String>)> = query
        .order((audit_log::occurred_at.desc(), audit_log::id.desc()))
        .select((
            audit_log::action,
            audit_log::occurred_at,
            audit_log::actor_id,
            audit_log::client_ip,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(action, at, actor_id, client_ip)| {
            let by_you = actor.is_some() && actor_id.as_deref() == actor;
            ExportedAuditEntry {
                action,
                at: at.and_utc(),
                by_you,
                client_ip: client_ip.filter(|_| by_you),
            }
        })
        .collect())
}

/// A section's key and its explanation in German and English.
type Section = (&'static str, &'static str, &'static str);

const ACCOUNT_SECTIONS: &[Section] = &[
    (
        "account",
        "Ihr Konto: Anmeldeadresse, Name, wann es angelegt und die Adresse bestätigt wurde, Betreiberrechte und Sprache.",
        "Your account: login address, name, when it was made and the address confirmed, operator rights and language.",
    ),
    (
        "sessions",
        "Ihre Anmeldungen: Beginn, letzte Nutzung, Ablauf und Ende, die zuletzt genutzte IP-Adresse und der Browser. Anmelde-Token werden nie gespeichert, nur ihre Prüfsummen, und nicht herausgegeben.",
        "Your sessions: start, last use, expiry and end, the address and browser last used. Login tokens are never stored, only their digests, and are not exported.",
    ),
    (
        "subscriptions",
        "Die mit Ihrem Konto verknüpften Abonnements, je mit dem Kundendatensatz des Verkehrsunternehmens und dem Verlauf Ihrer Werbeeinwilligung.",
        "The subscriptions linked to your account, each with the operator's customer record and the history of your marketing consent.",
    ),
    (
        "applications",
        "Ihre Anträge auf ein Deutschlandticket Job mit den angegebenen Daten und der Entscheidung. Gelöschte Angaben stehen als null.",
        "Your orders of a Deutschlandticket Job with the data given and the decision. Erased data reads null.",
    ),
    (
        "memberships",
        "Die Firmen, für die Sie handeln oder zu denen Sie eingeladen sind, mit Rolle und Einladungsdatum.",
        "The companies you act for or are invited to, with role and invitation date.",
    ),
    (
        "emails",
        "E-Mails an Ihre Adresse: Art, Betreff, Status und Versandzeit. Die Texte werden nicht aufbewahrt, da sie Links enthielten.",
        "E-mails to your address: kind, subject, status and time sent. Their texts are not kept, as they held links.",
    ),
    (
        "audit_entries",
        "Protokolleinträge zu Ihrem Konto, Ihren Abonnements, Kundendatensätzen und Anträgen oder von Ihnen: Aktion und Zeit, bei Ihren eigenen Aktionen auch die IP-Adresse.",
        "Audit entries about your account, subscriptions, customer records and orders, or made by you: action and time, for your own actions also the IP address.",
    ),
];

const CUSTOMER_SECTIONS: &[Section] = &[
    (
        "customer",
        "Der Kundendatensatz des Verkehrsunternehmens, alle Felder.",
        "The operator's customer record, every field.",
    ),
    (
        "consents",
        "Der Verlauf der Werbeeinwilligung: Wert, Herkunft und Zeit.",
        "The history of the marketing consent: value, source and time.",
    ),
    (
        "subscriptions",
        "Die Abonnements (Tickets) des Datensatzes.",
        "The record's subscriptions (tickets).",
    ),
    (
        "applications",
        "Die Anträge, aus denen Tickets des Datensatzes wurden, mit den angegebenen Daten und der Entscheidung.",
        "The orders that became the record's tickets, with the data given and the decision.",
    ),
    (
        "audit_entries",
        "Protokolleinträge zum Datensatz, seinen Abonnements und diesen Anträgen: Aktion und Zeit.",
        "Audit entries about the record, its subscriptions and those orders: action and time.",
    ),
];

fn explanations(sections: &[Section]) -> BTreeMap<String, Explanation> {
    sections
        .iter()
        .map(|(key, de, en)| {
            (
                (*key).to_string(),
                Explanation {
                    de: (*de).to_string(),
                    en: (*en).to_string(),
                },
            )
        })
        .collect()
}
