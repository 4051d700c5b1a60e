//! The data export's document (GDPR Art. 15 and 20), field by field. It holds only the
//! data subject's own data: another person appears at most as a company's name.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Everything the portal holds about the signed-in account, as one JSON document.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "generated_at": "2026-12-04T09:15:00Z",
    "account": {"id": "3f1c2b9e-8a47-4d2b-9c61-0e5d7a4b2f10", "email": "erika.mustermann@example.de", "first_name": "Erika", "last_name": "Mustermann", "created_at": "2026-11-02T08:00:00Z", "email_verified_at": "2026-11-02T08:05:00Z", "operator": false, "language": "de"},
    "sessions": [],
    "subscriptions": [],
    "applications": [],
    "memberships": [],
    "emails": [],
    "audit_entries": [],
    "explanations": {}
}))]
pub struct AccountExport {
    /// When the export was made.
    #[schema(example = "2026-12-04T09:15:00Z")]
    pub generated_at: DateTime<Utc>,
    pub account: ExportedAccount,
    /// The account's sessions (logins), newest first; never a token.
    pub sessions: Vec<ExportedSession>,
    /// Every subscription linked to the account, with its customer record and consents.
    pub subscriptions: Vec<ExportedSubscription>,
    /// The account's orders (Anträge), newest first.
    pub applications: Vec<ExportedApplication>,
    /// The companies the account acts for or is invited to.
    pub memberships: Vec<ExportedMembership>,
    /// E-mails sent to the account's address, newest first; no bodies (they held links).
    pub emails: Vec<ExportedEmail>,
    /// Audit entries about the account, its subscriptions, customer records and
    /// applications, or made by it; newest first.
    pub audit_entries: Vec<ExportedAuditEntry>,
    /// What each section holds, in German and English, by the section's key.
    #[schema(example = json!({"account": {"de": "Ihr Konto.", "en": "Your account."}}))]
    pub explanations: BTreeMap<String, Explanation>,
}

/// Everything the portal holds about one customer record (for a request that arrives
/// by letter), as one JSON document.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "generated_at": "2026-12-04T09:15:00Z",
    "customer": {"id": "0190f3a4-1111-7051-9c23-6f7a8b9c0d1e", "customer_number": "100234", "salutation": "frau", "gender": "female", "first_name": "Erika", "last_name": "Mustermann", "birth_date": "1985-04-12", "street": "Königsplatz 1", "postal_code": "34117", "city": "Kassel", "country": "DE", "recipient": null, "phone": null, "phone_work": null, "marketing_consent": false, "recorded_at": "2023-05-01", "created_at": "2023-05-01T08:00:00Z", "updated_at": "2026-11-02T08:00:00Z"},
    "consents": [],
    "subscriptions": [],
    "applications": [],
    "audit_entries": [],
    "explanations": {}
}))]
pub struct CustomerExport {
    /// When the export was made.
    #[schema(example = "2026-12-04T09:15:00Z")]
    pub generated_at: DateTime<Utc>,
    pub customer: ExportedCustomer,
    /// The record's marketing consent history, newest first.
    pub consents: Vec<ExportedConsent>,
    /// The record's subscriptions (tickets).
    pub subscriptions: Vec<ExportedSubscriptionRecord>,
    /// The orders that became the record's tickets.
    pub applications: Vec<ExportedApplication>,
    /// Audit entries about the record, its subscriptions and those orders; newest first.
    pub audit_entries: Vec<ExportedAuditEntry>,
    /// What each section holds, in German and English, by the section's key.
    #[schema(example = json!({"account": {"de": "Ihr Konto.", "en": "Your account."}}))]
    pub explanations: BTreeMap<String, Explanation>,
}

/// The account itself.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "3f1c2b9e-8a47-4d2b-9c61-0e5d7a4b2f10", "email": "erika.mustermann@example.de", "first_name": "Erika", "last_name": "Mustermann", "created_at": "2026-11-02T08:00:00Z", "email_verified_at": "2026-11-02T08:05:00Z", "operator": false, "language": "de"}))]
pub struct ExportedAccount {
    /// The account's id.
    #[schema(example = "3f1c2b9e-8a47-4d2b-9c61-0e5d7a4b2f10")]
    pub id: String,
    /// The login and contact address.
    #[schema(example = "erika.mustermann@example.de")]
    pub email: String,
    /// First name.
    #[schema(example = "Erika")]
    pub first_name: String,
    /// Last name.
    #[schema(example = "Mustermann")]
    pub last_name: String,
    /// When the account was made.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When the address was confirmed; `null` while it is not.
    #[schema(example = "2026-11-02T08:05:00Z")]
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Whether the account has the operator's rights.
    #[schema(example = false)]
    pub operator: bool,
    /// The language the account was made in (`de`, `en`).
    #[schema(example = "de")]
    pub language: String,
}

/// A session: one login and its refreshes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"started_at": "2026-12-01T07:58:00Z", "last_used_at": "2026-12-01T08:40:00Z", "expires_at": "2026-12-31T07:58:00Z", "ended_at": null, "client_ip": "203.0.113.7", "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"}))]
pub struct ExportedSession {
    /// The login.
    #[schema(example = "2026-12-01T07:58:00Z")]
    pub started_at: DateTime<Utc>,
    /// The login or the latest refresh of its tokens.
    #[schema(example = "2026-12-01T08:40:00Z")]
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it ends unless renewed by logging in.
    #[schema(example = "2026-12-31T07:58:00Z")]
    pub expires_at: DateTime<Utc>,
    /// When it was ended (logout, password change, another device's reuse of a
    /// token); `null` while it runs.
    #[schema(example = json!(null))]
    pub ended_at: Option<DateTime<Utc>>,
    /// The address the client used last.
    #[schema(example = "203.0.113.7")]
    pub client_ip: Option<String>,
    /// The client's `User-Agent` as sent last.
    #[schema(example = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0")]
    pub user_agent: Option<String>,
}

/// A linked subscription with its customer record and consent history.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ExportedSubscription {
    pub subscription: ExportedSubscriptionRecord,
    pub customer: ExportedCustomer,
    /// The customer record's marketing consent history, newest first.
    pub consents: Vec<ExportedConsent>,
}

/// A subscription (ticket) as stored.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e", "contract_number": "431177", "subscription_number": null, "chip_card_number": null, "product": "Deutschlandticket Job", "valid_from": "2023-05-01", "valid_to": null, "status": "active", "personnel_number": "P-4711", "company_name": "Musterfirma GmbH", "linked_at": "2026-11-02T08:10:00Z", "cancelled_at": null, "created_at": "2023-04-20T10:00:00Z"}))]
pub struct ExportedSubscriptionRecord {
    /// The subscription's id.
    #[schema(example = "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e")]
    pub id: String,
    /// Contract number ("Vertragsnummer").
    #[schema(example = "431177")]
    pub contract_number: String,
    /// Subscription number ("Abonummer"), if any.
    #[schema(example = json!(null))]
    pub subscription_number: Option<String>,
    /// Chip card number ("Chipkartennummer"), if any.
    #[schema(example = json!(null))]
    pub chip_card_number: Option<String>,
    /// The product.
    #[schema(example = "Deutschlandticket Job")]
    pub product: String,
    /// First day of validity.
    #[schema(example = "2023-05-01")]
    pub valid_from: NaiveDate,
    /// Last day of validity; `null` while open-ended.
    #[schema(example = json!(null))]
    pub valid_to: Option<NaiveDate>,
    /// `requested`, `active`, `paused`, `cancelled`, `blocked` or `ended`.
    #[schema(example = "active")]
    pub status: String,
    /// The employer's personnel number of the holder, if given.
    #[schema(example = "P-4711")]
    pub personnel_number: Option<String>,
    /// The employer (the company of the contract it runs under), if any.
    #[schema(example = "Musterfirma GmbH")]
    pub company_name: Option<String>,
    /// When it was linked to the account; `null` when it is not linked.
    #[schema(example = "2026-11-02T08:10:00Z")]
    pub linked_at: Option<DateTime<Utc>>,
    /// When it was cancelled, if it was.
    #[schema(example = json!(null))]
    pub cancelled_at: Option<DateTime<Utc>>,
    /// When the record was made.
    #[schema(example = "2023-04-20T10:00:00Z")]
    pub created_at: DateTime<Utc>,
}

/// A customer record, every field.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0190f3a4-1111-7051-9c23-6f7a8b9c0d1e", "customer_number": "100234", "salutation": "frau", "gender": "female", "first_name": "Erika", "last_name": "Mustermann", "birth_date": "1985-04-12", "street": "Königsplatz 1", "postal_code": "34117", "city": "Kassel", "country": "DE", "recipient": null, "phone": null, "phone_work": null, "marketing_consent": false, "recorded_at": "2023-05-01", "created_at": "2023-05-01T08:00:00Z", "updated_at": "2026-11-02T08:00:00Z"}))]
pub struct ExportedCustomer {
    /// The record's id.
    #[schema(example = "0190f3a4-1111-7051-9c23-6f7a8b9c0d1e")]
    pub id: String,
    /// Customer number ("Kundennummer").
    #[schema(example = "100234")]
    pub customer_number: String,
    /// Salutation ("Anrede").
    #[schema(example = "frau")]
    pub salutation: String,
    /// Gender ("Geschlecht").
    #[schema(example = "female")]
    pub gender: String,
    /// First name.
    #[schema(example = "Erika")]
    pub first_name: String,
    /// Last name.
    #[schema(example = "Mustermann")]
    pub last_name: String,
    /// Date of birth.
    #[schema(example = "1985-04-12")]
    pub birth_date: NaiveDate,
    /// Street and number.
    #[schema(example = "Königsplatz 1")]
    pub street: String,
    /// Postal code.
    #[schema(example = "34117")]
    pub postal_code: String,
    /// City.
    #[schema(example = "Kassel")]
    pub city: String,
    /// Country (ISO 3166-1 alpha-2).
    #[schema(example = "DE")]
    pub country: String,
    /// An addressee line ("c/o"), if any.
    #[schema(example = json!(null))]
    pub recipient: Option<String>,
    /// Telephone, if given.
    #[schema(example = json!(null))]
    pub phone: Option<String>,
    /// Telephone at work, if given.
    #[schema(example = json!(null))]
    pub phone_work: Option<String>,
    /// Whether the holder agreed to marketing by the operator.
    #[schema(example = false)]
    pub marketing_consent: bool,
    /// When the operator recorded the customer.
    #[schema(example = "2023-05-01")]
    pub recorded_at: NaiveDate,
    /// When the record was made here.
    #[schema(example = "2023-05-01T08:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub updated_at: DateTime<Utc>,
}

/// One change of the marketing consent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"marketing_consent": true, "source": "self_service", "changed_at": "2026-11-03T18:00:00Z"}))]
pub struct ExportedConsent {
    /// The consent from then on.
    #[schema(example = true)]
    pub marketing_consent: bool,
    /// Where it came from: `self_service`, `operator`, `import`, `application` or
    /// `bulk_upload`.
    #[schema(example = "self_service")]
    pub source: String,
    /// When.
    #[schema(example = "2026-11-03T18:00:00Z")]
    pub changed_at: DateTime<Utc>,
}

/// An order (Antrag) with the holder data it carried and its decision. Holder fields
/// read `null` once erased (after `APPLICATION_RETENTION_DAYS` for a rejected or
/// withdrawn order, or with the account).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0190f3a4-2222-7051-9c23-6f7a8b9c0d1e", "status": "approved", "contract_number": "FV-2023-0815", "company_name": "Musterfirma GmbH", "start_month": "2027-01-01", "salutation": "frau", "gender": "female", "first_name": "Erika", "last_name": "Mustermann", "birth_date": "1985-04-12", "street": "Königsplatz 1", "postal_code": "34117", "city": "Kassel", "country": "DE", "phone": null, "personnel_number": "P-4711", "marketing_consent": false, "created_at": "2026-12-01T08:00:00Z", "decided_at": "2026-12-02T09:00:00Z", "rejection_reason": null, "subscription_id": "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e"}))]
pub struct ExportedApplication {
    /// The order's id.
    #[schema(example = "0190f3a4-2222-7051-9c23-6f7a8b9c0d1e")]
    pub id: String,
    /// `pending`, `approved`, `rejected` or `withdrawn`.
    #[schema(example = "approved")]
    pub status: String,
    /// The company contract it was for.
    #[schema(example = "FV-2023-0815")]
    pub contract_number: String,
    /// The employer.
    #[schema(example = "Musterfirma GmbH")]
    pub company_name: String,
    /// The first month of the ticket.
    #[schema(example = "2027-01-01")]
    pub start_month: NaiveDate,
    /// Salutation.
    #[schema(example = "frau")]
    pub salutation: Option<String>,
    /// Gender.
    #[schema(example = "female")]
    pub gender: Option<String>,
    /// First name.
    #[schema(example = "Erika")]
    pub first_name: Option<String>,
    /// Last name.
    #[schema(example = "Mustermann")]
    pub last_name: Option<String>,
    /// Date of birth.
    #[schema(example = "1985-04-12")]
    pub birth_date: Option<NaiveDate>,
    /// Street and number.
    #[schema(example = "Königsplatz 1")]
    pub street: Option<String>,
    /// Postal code.
    #[schema(example = "34117")]
    pub postal_code: Option<String>,
    /// City.
    #[schema(example = "Kassel")]
    pub city: Option<String>,
    /// Country (ISO 3166-1 alpha-2).
    #[schema(example = "DE")]
    pub country: Option<String>,
    /// Telephone, if given.
    #[schema(example = json!(null))]
    pub phone: Option<String>,
    /// The personnel number given, if any.
    #[schema(example = "P-4711")]
    pub personnel_number: Option<String>,
    /// The marketing consent given with the order.
    #[schema(example = false)]
    pub marketing_consent: Option<bool>,
    /// When it was submitted.
    #[schema(example = "2026-12-01T08:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When it was approved, rejected or withdrawn.
    #[schema(example = "2026-12-02T09:00:00Z")]
    pub decided_at: Option<DateTime<Utc>>,
    /// The employer's reason for a rejection, if given.
    #[schema(example = json!(null))]
    pub rejection_reason: Option<String>,
    /// The subscription an approval made.
    #[schema(example = "0190f3a4-ae4f-7051-9c23-6f7a8b9c0d1e")]
    pub subscription_id: Option<String>,
}

/// A company the account acts for, or is invited to.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"company_id": "0190f3a4-3333-7051-9c23-6f7a8b9c0d1e", "company_name": "Musterfirma GmbH", "role": "admin", "email": "erika.mustermann@example.de", "first_name": "Erika", "last_name": "Mustermann", "invited_at": "2026-11-01T10:00:00Z", "accepted_at": "2026-11-02T08:00:00Z"}))]
pub struct ExportedMembership {
    /// The company's id.
    #[schema(example = "0190f3a4-3333-7051-9c23-6f7a8b9c0d1e")]
    pub company_id: String,
    /// The company's name.
    #[schema(example = "Musterfirma GmbH")]
    pub company_name: String,
    /// `admin` or `member`.
    #[schema(example = "admin")]
    pub role: String,
    /// The address the invitation went to.
    #[schema(example = "erika.mustermann@example.de")]
    pub email: String,
    /// The first name the invitation gave.
    #[schema(example = "Erika")]
    pub first_name: String,
    /// The last name the invitation gave.
    #[schema(example = "Mustermann")]
    pub last_name: String,
    /// When the account was invited.
    #[schema(example = "2026-11-01T10:00:00Z")]
    pub invited_at: DateTime<Utc>,
    /// When the invitation was accepted; `null` while open.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub accepted_at: Option<DateTime<Utc>>,
}

/// An e-mail sent (or to be sent) to the account's address.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"template": "account.verification", "subject": "Bitte bestätigen Sie Ihre E-Mail-Adresse", "status": "sent", "created_at": "2026-11-02T08:00:00Z", "sent_at": "2026-11-02T08:00:02Z"}))]
pub struct ExportedEmail {
    /// Which e-mail, e.g. `account.verification`, `account.password_reset`,
    /// `application.approved`.
    #[schema(example = "account.verification")]
    pub template: String,
    /// Its subject line; `null` until the e-mail is composed for sending.
    #[schema(example = "Bitte bestätigen Sie Ihre E-Mail-Adresse")]
    pub subject: Option<String>,
    /// `pending`, `sent` or `failed`.
    #[schema(example = "sent")]
    pub status: String,
    /// When it was written.
    #[schema(example = "2026-11-02T08:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When it was handed to the mail server.
    #[schema(example = "2026-11-02T08:00:02Z")]
    pub sent_at: Option<DateTime<Utc>>,
}

/// An audit entry about the data subject or made by them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"action": "auth.login_succeeded", "at": "2026-12-01T07:58:00Z", "by_you": true, "client_ip": "203.0.113.7"}))]
pub struct ExportedAuditEntry {
    /// What happened (see the operator's audit trail for the actions).
    #[schema(example = "auth.login_succeeded")]
    pub action: String,
    /// When.
    #[schema(example = "2026-12-01T07:58:00Z")]
    pub at: DateTime<Utc>,
    /// Whether the data subject did it (else an employer's or the operator's staff
    /// did, who are not named).
    #[schema(example = true)]
    pub by_you: bool,
    /// The client address, only for what the data subject did.
    #[schema(example = "203.0.113.7")]
    pub client_ip: Option<String>,
}

/// A section's explanation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"de": "Ihr Konto.", "en": "Your account."}))]
pub struct Explanation {
    /// In German.
    #[schema(example = "Ihr Konto.")]
    pub de: String,
    /// In English.
    #[schema(example = "Your account.")]
    pub en: String,
}

/// What an operator's erasure of a customer record removed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"customer_id": "0190f3a4-1111-7051-9c23-6f7a8b9c0d1e", "tickets_erased": 2, "erased_at": "2026-12-04T09:15:00Z"}))]
pub struct ErasedCustomer {
    /// The erased record's id; it no longer finds anything.
    #[schema(example = "0190f3a4-1111-7051-9c23-6f7a8b9c0d1e")]
    pub customer_id: String,
    /// How many of its (ended) tickets went with it.
    #[schema(example = 2)]
    pub tickets_erased: usize,
    /// When.
    #[schema(example = "2026-12-04T09:15:00Z")]
    pub erased_at: DateTime<Utc>,
}
