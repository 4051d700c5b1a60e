//! Request and response bodies of company users and invitations.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use strum::{AsRefStr, EnumString};
use utoipa::{IntoParams, ToSchema};

use crate::domain::choice::parse_choice;
use crate::domain::{EmailAddress, PersonName};
use crate::error::{AppError, FieldErrors};
use crate::http::PageQuery;
use crate::memberships::repo::MembershipRow;

/// A company user's role: `admin` manages users and generates customer codes, `member`
/// reads.
#[derive(
    strum::VariantNames,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    EnumString,
    AsRefStr,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schema(example = "admin")]
pub enum CompanyRole {
    Admin,
    Member,
}

/// Whether a company user has accepted the invitation yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(example = "active")]
pub enum MembershipStatus {
    Invited,
    Active,
}

/// A user of a company's portal (Anwender).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a5-1d2e-7f30-8a41-5b6c7d8e9f00",
    "email": "erika.personal@musterfirma.de",
    "first_name": "Erika",
    "last_name": "Personal",
    "role": "admin",
    "status": "active",
    "invited_at": "2026-11-02T09:00:00Z",
    "accepted_at": "2026-11-02T09:30:00Z"
}))]
pub struct CompanyUser {
    /// Opaque id of the membership (the `{user_id}` of its paths).
    #[schema(example = "0190f3a5-1d2e-7f30-8a41-5b6c7d8e9f00")]
    pub id: String,
    /// The invited e-mail address, canonical form.
    #[schema(example = "erika.personal@musterfirma.de")]
    pub email: String,
    /// First name as given in the invitation.
    #[schema(example = "Erika")]
    pub first_name: String,
    /// Last name as given in the invitation.
    #[schema(example = "Personal")]
    pub last_name: String,
    /// Role in the company.
    pub role: CompanyRole,
    /// `invited` until the invitation is accepted, then `active`.
    pub status: MembershipStatus,
    /// When the (latest) invitation was made.
    #[schema(example = "2026-11-02T09:00:00Z")]
    pub invited_at: DateTime<Utc>,
    /// When the invitation was accepted; `null` while invited.
    #[schema(example = "2026-11-02T09:30:00Z")]
    pub accepted_at: Option<DateTime<Utc>>,
}

impl TryFrom<MembershipRow> for CompanyUser {
    type Error = AppError;

    fn try_from(row: MembershipRow) -> Result<Self, AppError> {
        Ok(CompanyUser {
            role: parse_role(&row.role)?,
            status: if row.accepted_at.is_some() {
                MembershipStatus::Active
            } else {
                MembershipStatus::Invited
            },
            id: row.id,
            email: row.email,
            first_name: row.first_name,
            last_name: row.last_name,
            invited_at: row.invited_at.and_utc(),
            accepted_at: row.accepted_at.map(|t| t.and_utc()),
        })
    }
}

pub fn parse_role(stored: &str) -> Result<CompanyRole, AppError> {
    stored
        .parse()
        .map_err(|_| AppError::Internal(format!("stored role {stored:?}")))
}

/// A company the signed-in account acts for, with its role there.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b",
    "name": "Musterfirma GmbH",
    "customer_number": "K-100234",
    "role": "admin"
}))]
pub struct MyCompany {
    /// Opaque company id.
    #[schema(example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")]
    pub id: String,
    /// Company name.
    #[schema(example = "Musterfirma GmbH")]
    pub name: String,
    /// The company's customer number ("Kundennummer").
    #[schema(example = "K-100234")]
    pub customer_number: String,
    /// The account's role in the company.
    pub role: CompanyRole,
}

/// An invitation to act for a company.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "erika.personal@musterfirma.de",
    "first_name": "Erika",
    "last_name": "Personal",
    "role": "admin"
}))]
pub struct InviteRequest {
    /// E-mail address the invitation goes to. Inviting a pending address again replaces
    /// the earlier link; an active user's address is `409 already_member`.
    #[schema(value_type = String, required = true, format = Email, max_length = 254, example = "erika.personal@musterfirma.de")]
    pub email: Option<String>,
    /// First name, 1 to 100 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$", example = "Erika")]
    pub first_name: Option<String>,
    /// Last name, 1 to 100 characters.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$", example = "Personal")]
    pub last_name: Option<String>,
    /// Role in the company. Absent: `member` when a company admin invites, `admin` when
    /// an operator invites a company's first admin.
    #[schema(value_type = Option<CompanyRole>, example = "admin")]
    pub role: Option<String>,
}

/// A checked invitation.
#[derive(Debug, Clone)]
pub struct Invitation {
    pub email: EmailAddress,
    pub first_name: PersonName,
    pub last_name: PersonName,
    pub role: CompanyRole,
}

impl InviteRequest {
    /// Every invalid field at once; `default_role` when `role` is absent.
    pub fn parse(self, default_role: CompanyRole) -> Result<Invitation, AppError> {
        let mut errors = FieldErrors::default();
        let email = errors.take(EmailAddress::parse(
            self.email.as_deref().unwrap_or_default(),
            "/email",
        ));
        let first_name = errors.take(PersonName::parse(
            self.first_name.as_deref().unwrap_or_default(),
            "/first_name",
        ));
        let last_name = errors.take(PersonName::parse(
            self.last_name.as_deref().unwrap_or_default(),
            "/last_name",
        ));
        let role = match self.role {
            None => Some(default_role),
            Some(raw) => errors.take(parse_choice::<CompanyRole>(Some(&raw), "/role")),
        };
        errors.into_result()?;
        match (email, first_name, last_name, role) {
            (Some(email), Some(first_name), Some(last_name), Some(role)) => Ok(Invitation {
                email,
                first_name,
                last_name,
                role,
            }),
            _ => Err(AppError::Internal(
                "invitation parsed without errors".into(),
            )),
        }
    }
}

/// A change of a company user's role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "member"}))]
pub struct ChangeRoleRequest {
    /// The new role. Demoting the company's last active admin is `409 last_admin`.
    #[schema(value_type = CompanyRole, required = true, example = "member")]
    pub role: Option<String>,
}

impl ChangeRoleRequest {
    pub fn parse(self) -> Result<CompanyRole, AppError> {
        Ok(parse_choice(self.role.as_deref(), "/role")?)
    }
}

/// Acceptance of an invitation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "token": "q3VnZbq4t8Zr0kqjv3q8P1Q0S5m7yJbH0mW8u2c4x6E",
    "password": "Sicheres-Passwort-2025",
    "password_confirmation": "Sicheres-Passwort-2025"
}))]
pub struct AcceptInvitationRequest {
    /// The `token` query parameter of the invitation link.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128, pattern = r"[^\t\n\f\r ]", example = "q3VnZbq4t8Zr0kqjv3q8P1Q0S5m7yJbH0mW8u2c4x6E")]
    pub token: Option<SecretString>,
    /// For an address without an account: the new account's password (the policy of
    /// registration). For an address with an account: that account's password; a wrong
    /// one is `password_incorrect` at `/password` and counts against its login limit.
    #[schema(value_type = String, required = true, format = Password, min_length = 10, max_length = 128, example = "Sicheres-Passwort-2025")]
    pub password: Option<SecretString>,
    /// The new password again; required only when a new account is created.
    #[schema(value_type = Option<String>, format = Password, min_length = 10, max_length = 128, example = "Sicheres-Passwort-2025")]
    pub password_confirmation: Option<SecretString>,
}

/// The accepted invitation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "email": "erika.personal@musterfirma.de",
    "account_created": true,
    "company": {"id": "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b", "name": "Musterfirma GmbH", "customer_number": "K-100234", "role": "admin"}
}))]
pub struct AcceptedInvitation {
    /// The account's e-mail address; log in with it.
    #[schema(example = "erika.personal@musterfirma.de")]
    pub email: String,
    /// Whether a new account was created (else the membership was added to the
    /// existing one).
    #[schema(example = true)]
    pub account_created: bool,
    /// The company the account now acts for.
    pub company: MyCompany,
}

/// Paging of the company's users.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CompanyUserListQuery {
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}
