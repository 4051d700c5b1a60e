//! The audit log: who did what to which record, when. Entries hold opaque ids, the
//! client IP and the request id — never secrets, never e-mail addresses or names, so
//! they can outlive a deleted account (whose id then leaves them). Operators read the
//! trail at `/api/v1/admin/audit` ([`routes`]); nothing in the API changes an entry.

pub mod repo;
pub mod routes;
pub mod types;

use std::future::{Ready, ready};
use std::sync::LazyLock;

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use diesel::prelude::*;
use strum::{EnumIter, IntoEnumIterator};

use crate::db::DbConnection;
use crate::error::AppError;
use crate::http::{ClientIp, RequestId};
use crate::schema::audit_log;

/// Where an audited action came from; handlers take it as an extractor.
#[derive(Debug, Clone)]
pub struct AuditContext {
    pub client_ip: ClientIp,
    pub request_id: RequestId,
    /// The caller's W3C trace context (`traceparent`), when it sent a valid one: events
    /// the action causes carry it on to webhook receivers.
    pub traceparent: Option<String>,
    /// The client's `User-Agent` (at most [`USER_AGENT_MAX_CHARS`] characters): a
    /// session keeps it, so that its holder recognises it in their data export.
    pub user_agent: Option<String>,
}

/// How much of a `User-Agent` is kept; real ones are far shorter.
pub const USER_AGENT_MAX_CHARS: usize = 256;

impl AuditContext {
    /// The context of a command-line run (`firmenportal import`, `seed-demo`, …): the
    /// local host, and a request id naming the command.
    pub fn for_command(command: &str) -> Self {
        AuditContext {
            client_ip: ClientIp(std::net::IpAddr::from([127, 0, 0, 1])),
            request_id: RequestId(format!("cli:{command}:{}", uuid::Uuid::new_v4())),
            traceparent: None,
            user_agent: None,
        }
    }
}

impl FromRequest for AuditContext {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request_id = match RequestId::from_request(req, payload).into_inner() {
            Ok(id) => id,
            Err(error) => return ready(Err(error)),
        };
        // With traces exported, this request's own span (so that what it causes later,
        // a webhook delivery, hangs below it); else the caller's.
        let traceparent = crate::telemetry::traces::current_traceparent().or_else(|| {
            req.headers()
                .get("traceparent")
                .and_then(|value| value.to_str().ok())
                .filter(|value| is_traceparent(value))
                .map(str::to_ascii_lowercase)
        });
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|value| {
                value
                    .trim()
                    .chars()
                    .take(USER_AGENT_MAX_CHARS)
                    .collect::<String>()
            })
            .filter(|value| !value.is_empty());
        ready(Ok(AuditContext {
            client_ip: ClientIp::resolve(req),
            request_id,
            traceparent,
            user_agent,
        }))
    }
}

/// A W3C `traceparent` of version 00: `00-<32 hex trace id>-<16 hex parent id>-<2 hex
/// flags>`, ids not all zero.
fn is_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    matches!(parts.as_slice(), [version, trace, parent, flags]
        if *version == "00"
            && hex(trace, 32)
            && hex(parent, 16)
            && hex(flags, 2)
            && trace.bytes().any(|b| b != b'0')
            && parent.bytes().any(|b| b != b'0'))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum AuditAction {
    Registered,
    RegisterForExistingAccount,
    EmailVerified,
    VerificationResent,
    LoginSucceeded,
    LoginFailed,
    TokenRefreshed,
    RefreshTokenReused,
    LoggedOut,
    PasswordResetRequested,
    PasswordReset,
    PasswordChanged,
    /// A wrong current password given to change the password or delete the account.
    PasswordCheckFailed,
    AccountUpdated,
    AccountDeleted,
    /// Operator rights given to an account (`firmenportal create-operator`).
    OperatorGranted,
    CompanyCreated,
    CompanyUpdated,
    ContractCreated,
    ContractUpdated,
    CustomerCreated,
    CustomerUpdated,
    SubscriptionCreated,
    SubscriptionUpdated,
    SubscriptionLinked,
    /// A link attempt whose data did not match (or whose number is unknown).
    SubscriptionLinkFailed,
    /// A link attempt refused by the attempt limits (`429`).
    SubscriptionLinkRefused,
    /// A link attempt with matching data for a subscription another account holds.
    SubscriptionLinkConflict,
    SubscriptionUnlinked,
    /// The holder changed their customer data in the Self-Service.
    CustomerDataChanged,
    /// A marketing consent given or withdrawn.
    ConsentChanged,
    /// Someone invited to act for a company (or invited again).
    MembershipInvited,
    /// An invitation accepted: the account may now act for the company.
    MembershipAccepted,
    MembershipRoleChanged,
    MembershipRemoved,
    CustomerCodeGenerated,
    CustomerCodeRevoked,
    /// A customer-code check with an unknown, expired or revoked code.
    CustomerCodeCheckFailed,
    /// An employee's order (Antrag) with a customer code.
    ApplicationSubmitted,
    ApplicationWithdrawn,
    /// An application approved: its customer and ticket were created.
    ApplicationApproved,
    ApplicationRejected,
    /// A ticket cancelled (Kündigung) by its holder or the employer.
    SubscriptionCancelled,
    /// A staff list uploaded (Massenupload), with its counts.
    BulkUploaded,
    /// A price list entry added.
    PriceCreated,
    /// A month's final statements re-opened by an operator.
    StatementsReopened,
    WebhookCreated,
    WebhookUpdated,
    WebhookDeleted,
    WebhookSecretRotated,
    /// A delivery sent again by a company admin.
    WebhookRedelivered,
    /// A `ping` queued to an endpoint.
    WebhookPinged,
    /// An account exported its own data (GDPR Art. 15 and 20).
    DataExported,
    /// An operator exported a customer record's data (a request by letter).
    CustomerExported,
    /// An operator erased a customer record.
    CustomerErased,
}

/// Registers the audit trail's route (under `/api/v1`).
pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(routes::list_audit_entries);
}

/// Every action's name, in the order of [`AuditAction`].
static ACTION_NAMES: LazyLock<Vec<&'static str>> =
    LazyLock::new(|| AuditAction::iter().map(AuditAction::as_str).collect());

impl AuditAction {
    /// Every action's name: the values the trail's `action` filter takes.
    pub fn names() -> &'static [&'static str] {
        ACTION_NAMES.as_slice()
    }

    /// What kind of record an action's subject is, named by the action's first part
    /// (`auth.*` concern an account); `None` for a name no action has.
    pub fn subject_type_of(name: &str) -> Option<&'static str> {
        let kind = match name.split_once('.')?.0 {
            "account" | "auth" => "account",
            "company" => "company",
            "contract" => "contract",
            "customer" => "customer",
            "subscription" => "subscription",
            "membership" => "membership",
            "customer_code" => "customer_code",
            "application" => "application",
            "bulk_upload" => "bulk_upload",
            "price" => "price",
            "statement" => "statement",
            "webhook" => "webhook",
            _ => return None,
        };
        Some(kind)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Registered => "account.registered",
            AuditAction::RegisterForExistingAccount => "account.register_existing",
            AuditAction::EmailVerified => "account.email_verified",
            AuditAction::VerificationResent => "account.verification_resent",
            AuditAction::LoginSucceeded => "auth.login_succeeded",
            AuditAction::LoginFailed => "auth.login_failed",
            AuditAction::TokenRefreshed => "auth.token_refreshed",
            AuditAction::RefreshTokenReused => "auth.refresh_token_reused",
            AuditAction::LoggedOut => "auth.logged_out",
            AuditAction::PasswordResetRequested => "account.password_reset_requested",
            AuditAction::PasswordReset => "account.password_reset",
            AuditAction::PasswordChanged => "account.password_changed",
            AuditAction::PasswordCheckFailed => "account.password_check_failed",
            AuditAction::AccountUpdated => "account.updated",
            AuditAction::AccountDeleted => "account.deleted",
            AuditAction::OperatorGranted => "account.operator_granted",
            AuditAction::CompanyCreated => "company.created",
            AuditAction::CompanyUpdated => "company.updated",
            AuditAction::ContractCreated => "contract.created",
            AuditAction::ContractUpdated => "contract.updated",
            AuditAction::CustomerCreated => "customer.created",
            AuditAction::CustomerUpdated => "customer.updated",
            AuditAction::SubscriptionCreated => "subscription.created",
            AuditAction::SubscriptionUpdated => "subscription.updated",
            AuditAction::SubscriptionLinked => "subscription.linked",
            AuditAction::SubscriptionLinkFailed => "subscription.link_failed",
            AuditAction::SubscriptionLinkRefused => "subscription.link_refused",
            AuditAction::SubscriptionLinkConflict => "subscription.link_conflict",
            AuditAction::SubscriptionUnlinked => "subscription.unlinked",
            AuditAction::CustomerDataChanged => "customer.changed_by_holder",
            AuditAction::ConsentChanged => "customer.consent_changed",
            AuditAction::MembershipInvited => "membership.invited",
            AuditAction::MembershipAccepted => "membership.accepted",
            AuditAction::MembershipRoleChanged => "membership.role_changed",
            AuditAction::MembershipRemoved => "membership.removed",
            AuditAction::CustomerCodeGenerated => "customer_code.generated",
            AuditAction::CustomerCodeRevoked => "customer_code.revoked",
            AuditAction::CustomerCodeCheckFailed => "customer_code.check_failed",
            AuditAction::ApplicationSubmitted => "application.submitted",
            AuditAction::ApplicationWithdrawn => "application.withdrawn",
            AuditAction::ApplicationApproved => "application.approved",
            AuditAction::ApplicationRejected => "application.rejected",
            AuditAction::SubscriptionCancelled => "subscription.cancelled",
            AuditAction::BulkUploaded => "bulk_upload.uploaded",
            AuditAction::PriceCreated => "price.created",
            AuditAction::StatementsReopened => "statement.reopened",
            AuditAction::WebhookCreated => "webhook.created",
            AuditAction::WebhookUpdated => "webhook.updated",
            AuditAction::WebhookDeleted => "webhook.deleted",
            AuditAction::WebhookSecretRotated => "webhook.secret_rotated",
            AuditAction::WebhookRedelivered => "webhook.redelivered",
            AuditAction::WebhookPinged => "webhook.pinged",
            AuditAction::DataExported => "account.data_exported",
            AuditAction::CustomerExported => "customer.data_exported",
            AuditAction::CustomerErased => "customer.erased",
        }
    }
}

/// One entry, ready to be written.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: String,
    pub occurred_at: chrono::NaiveDateTime,
    pub actor_id: Option<String>,
    pub action: &'static str,
    pub subject_id: Option<String>,
    pub client_ip: Option<String>,
    pub request_id: Option<String>,
    pub details: Option<String>,
}

impl AuditEntry {
    pub fn new(
        context: &AuditContext,
        action: AuditAction,
        actor_id: Option<&str>,
        subject_id: Option<&str>,
        details: Option<serde_json::Value>,
    ) -> Self {
        AuditEntry {
            id: uuid::Uuid::now_v7().to_string(),
            occurred_at: crate::clock::now(),
            actor_id: actor_id.map(str::to_string),
            action: action.as_str(),
            subject_id: subject_id.map(str::to_string),
            client_ip: Some(context.client_ip.0.to_string()),
            request_id: Some(context.request_id.0.clone()),
            details: details.map(|d| d.to_string()),
        }
    }

    /// Writes the entry in the caller's transaction.
    pub fn insert(&self, conn: &mut DbConnection) -> Result<(), AppError> {
        diesel::insert_into(audit_log::table)
            .values(self)
            .execute(conn)?;
        Ok(())
    }
}

/// Writes one entry in the caller's transaction, so the entry and the change commit
/// together.
pub fn record(
    conn: &mut DbConnection,
    context: &AuditContext,
    action: AuditAction,
    actor_id: Option<&str>,
    subject_id: Option<&str>,
    details: Option<serde_json::Value>,
) -> Result<(), AppError> {
    AuditEntry::new(context, action, actor_id, subject_id, details).insert(conn)
}

/// Records what an account did to itself (most Self-Service actions).
pub fn record_for_account(
    conn: &mut DbConnection,
    context: &AuditContext,
    action: AuditAction,
    account_id: &str,
) -> Result<(), AppError> {
    record(
        conn,
        context,
        action,
        Some(account_id),
        Some(account_id),
        None,
    )
}

/// The actions recorded for a subject, oldest first (used by tests and support tools).
pub fn actions_for(conn: &mut DbConnection, subject: &str) -> Result<Vec<String>, AppError> {
    Ok(audit_log::table
        .filter(audit_log::subject_id.eq(subject))
        .order(audit_log::occurred_at.asc())
        .select(audit_log::action)
        .load(conn)?)
}
