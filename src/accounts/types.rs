//! Request and response bodies of the account capability.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::repo::Account;

/// Registration of a Self-Service account (guide step 2: "Registrieren").
#[derive(Debug, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[derive(Default)]
#[schema(example = json!({
    "email": "max.musterjobber@example.de",
    "password": "Kassel-Tram-2024!",
    "password_confirmation": "Kassel-Tram-2024!",
    "first_name": "Max",
    "last_name": "Musterjobber"
}))]
pub struct RegisterRequest {
    /// E-mail address; becomes the login. Case-insensitive.
    #[schema(required = true, example = "max.musterjobber@example.de")]
    pub email: String,
    /// Password: 10 to 128 characters, not a common password. No composition rules.
    #[schema(
        required = true,
        example = "Kassel-Tram-2024!",
        min_length = 10,
        max_length = 128
    )]
    pub password: String,
    /// The password again ("Passwort bestätigen"); must be equal.
    #[schema(required = true, example = "Kassel-Tram-2024!")]
    pub password_confirmation: String,
    /// First name ("Vorname"), 1 to 100 characters after trimming.
    #[schema(required = true, example = "Max", min_length = 1, max_length = 100)]
    pub first_name: String,
    /// Last name ("Nachname"), 1 to 100 characters after trimming.
    #[schema(
        required = true,
        example = "Musterjobber",
        min_length = 1,
        max_length = 100
    )]
    pub last_name: String,
}

/// The answer to requests that never reveal whether an e-mail address is known.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"message": "Falls die Angaben stimmen, erhalten Sie in Kürze eine E-Mail."}))]
pub struct AcceptedResponse {
    /// What the user should expect next (German by default, English on request).
    #[schema(example = "Falls die Angaben stimmen, erhalten Sie in Kürze eine E-Mail.")]
    pub message: String,
}

/// A single-use token from an e-mailed link.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
#[schema(example = json!({"token": "q3VnZbq4t8Zr0kqjv3q8P1Q0S5m7yJbH0mW8u2c4x6E"}))]
pub struct VerifyEmailRequest {
    /// The `token` query parameter of the verification link.
    #[schema(
        required = true,
        example = "q3VnZbq4t8Zr0kqjv3q8P1Q0S5m7yJbH0mW8u2c4x6E"
    )]
    pub token: String,
}

/// An e-mail address for resend and forgot-password requests.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
#[schema(example = json!({"email": "max.musterjobber@example.de"}))]
pub struct EmailRequest {
    /// The account's e-mail address.
    #[schema(required = true, example = "max.musterjobber@example.de")]
    pub email: String,
}

/// Login with e-mail and password ("Bei Ihrem Konto anmelden").
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
#[schema(example = json!({"email": "max.musterjobber@example.de", "password": "Kassel-Tram-2024!"}))]
pub struct LoginRequest {
    /// E-mail address.
    #[schema(required = true, example = "max.musterjobber@example.de")]
    pub email: String,
    /// Password.
    #[schema(required = true, example = "Kassel-Tram-2024!")]
    pub password: String,
}

/// A token pair: a short-lived access token and a rotating refresh token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJFZERTQSIsImtpZCI6IjNmMWMyYTliN2Q0ZTVmNjAiLCJ0eXAiOiJhdCtqd3QifQ.eyJzdWIiOiIuLi4ifQ.c2ln",
    "token_type": "Bearer",
    "expires_in": 900,
    "refresh_token": "Xk2v9Qw7Lm3pR8sT1uV4wY6zA0bC5dE7fG9hJ2kL4mN"
}))]
pub struct TokenResponse {
    /// EdDSA-signed JWT for `Authorization: Bearer`; valid `expires_in` seconds.
    #[schema(
        example = "eyJhbGciOiJFZERTQSIsImtpZCI6IjNmMWMyYTliN2Q0ZTVmNjAiLCJ0eXAiOiJhdCtqd3QifQ.eyJzdWIiOiIuLi4ifQ.c2ln"
    )]
    pub access_token: String,
    /// Always `Bearer`.
    #[schema(example = "Bearer")]
    pub token_type: String,
    /// Lifetime of the access token in seconds (at most 900).
    #[schema(example = 900)]
    pub expires_in: u64,
    /// Opaque single-use refresh token; exchange it at `/api/v1/auth/refresh`.
    #[schema(example = "Xk2v9Qw7Lm3pR8sT1uV4wY6zA0bC5dE7fG9hJ2kL4mN")]
    pub refresh_token: String,
}

/// A refresh token, for refresh and logout.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "Xk2v9Qw7Lm3pR8sT1uV4wY6zA0bC5dE7fG9hJ2kL4mN"}))]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    #[schema(
        required = true,
        example = "Xk2v9Qw7Lm3pR8sT1uV4wY6zA0bC5dE7fG9hJ2kL4mN"
    )]
    pub refresh_token: String,
}

/// A new password set with an e-mailed reset token.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
#[schema(example = json!({
    "token": "q3VnZbq4t8Zr0kqjv3q8P1Q0S5m7yJbH0mW8u2c4x6E",
    "password": "Neues-Passwort-2025",
    "password_confirmation": "Neues-Passwort-2025"
}))]
pub struct ResetPasswordRequest {
    /// The `token` query parameter of the reset link.
    #[schema(
        required = true,
        example = "q3VnZbq4t8Zr0kqjv3q8P1Q0S5m7yJbH0mW8u2c4x6E"
    )]
    pub token: String,
    /// The new password (same policy as at registration).
    #[schema(required = true, example = "Neues-Passwort-2025")]
    pub password: String,
    /// The new password again.
    #[schema(required = true, example = "Neues-Passwort-2025")]
    pub password_confirmation: String,
}

/// The signed-in account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0b9f3c1e-5d2a-4c8e-9f7b-1a2b3c4d5e6f",
    "email": "max.musterjobber@example.de",
    "first_name": "Max",
    "last_name": "Musterjobber",
    "role": "subscriber",
    "email_verified_at": "2024-10-22T08:15:00Z",
    "created_at": "2024-10-22T08:00:00Z"
}))]
pub struct AccountResponse {
    /// Opaque account id.
    #[schema(example = "0b9f3c1e-5d2a-4c8e-9f7b-1a2b3c4d5e6f")]
    pub id: String,
    /// E-mail address (lower-cased).
    #[schema(example = "max.musterjobber@example.de")]
    pub email: String,
    /// First name.
    #[schema(example = "Max")]
    pub first_name: String,
    /// Last name.
    #[schema(example = "Musterjobber")]
    pub last_name: String,
    /// `subscriber`, `company_user` or `operator`.
    #[schema(example = "subscriber")]
    pub role: String,
    /// When the e-mail address was verified.
    #[schema(example = "2024-10-22T08:15:00Z")]
    pub email_verified_at: Option<DateTime<Utc>>,
    /// When the account was created.
    #[schema(example = "2024-10-22T08:00:00Z")]
    pub created_at: DateTime<Utc>,
}

impl From<Account> for AccountResponse {
    fn from(account: Account) -> Self {
        AccountResponse {
            id: account.id,
            email: account.email,
            first_name: account.first_name,
            last_name: account.last_name,
            role: account.role,
            email_verified_at: account.email_verified_at.map(|t| t.and_utc()),
            created_at: account.created_at.and_utc(),
        }
    }
}

/// Changes to the account's names; omitted fields stay as they are.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
#[schema(example = json!({"first_name": "Maximilian"}))]
pub struct UpdateAccountRequest {
    /// New first name, 1 to 100 characters after trimming.
    #[schema(example = "Maximilian")]
    pub first_name: Option<String>,
    /// New last name, 1 to 100 characters after trimming.
    #[schema(example = "Musterjobber")]
    pub last_name: Option<String>,
}

/// A password change of the signed-in account.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
#[schema(example = json!({
    "current_password": "Kassel-Tram-2024!",
    "password": "Neues-Passwort-2025",
    "password_confirmation": "Neues-Passwort-2025"
}))]
pub struct ChangePasswordRequest {
    /// The current password.
    #[schema(required = true, example = "Kassel-Tram-2024!")]
    pub current_password: String,
    /// The new password (same policy as at registration).
    #[schema(required = true, example = "Neues-Passwort-2025")]
    pub password: String,
    /// The new password again.
    #[schema(required = true, example = "Neues-Passwort-2025")]
    pub password_confirmation: String,
}

/// Confirmation of an account deletion.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(default, deny_unknown_fields)]
#[schema(example = json!({"password": "Kassel-Tram-2024!"}))]
pub struct DeleteAccountRequest {
    /// The current password.
    #[schema(required = true, example = "Kassel-Tram-2024!")]
    pub password: String,
}
