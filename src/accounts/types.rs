//! Request and response bodies of the account capability.
//!
//! Required fields are `Option`s in Rust so that every missing one is reported at once
//! (as `required` at its pointer) instead of serde stopping at the first; the schema
//! states them as required, non-null strings with every rule the server enforces.
//! Passwords and tokens are `SecretString`s: `Debug` never prints them.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::SignedInAccount;
use crate::memberships::types::MyCompany;

/// Registration of a Self-Service account (guide step 2: "Registrieren").
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "max.musterjobber@example.de",
    "password": "Kassel-Tram-2024!",
    "password_confirmation": "Kassel-Tram-2024!",
    "first_name": "Max",
    "last_name": "Musterjobber"
}))]
pub struct RegisterRequest {
    /// E-mail address; becomes the login. Case-insensitive; Unicode domains are stored
    /// in their ASCII (punycode) form. No address literals such as `user@[10.0.0.5]`.
    #[schema(value_type = String, required = true, format = Email, max_length = 254, example = "max.musterjobber@example.de")]
    pub email: Option<String>,
    /// Password: 10 to 128 characters, not a common password. No composition rules.
    #[schema(value_type = String, required = true, format = Password, min_length = 10, max_length = 128, example = "Kassel-Tram-2024!")]
    pub password: Option<SecretString>,
    /// The password again ("Passwort bestätigen"); must be equal.
    #[schema(value_type = String, required = true, format = Password, min_length = 10, max_length = 128, example = "Kassel-Tram-2024!")]
    pub password_confirmation: Option<SecretString>,
    /// First name ("Vorname"): 1 to 100 characters, letters, spaces and `'-.`, at least
    /// one letter; surrounding spaces are trimmed.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$", example = "Max")]
    pub first_name: Option<String>,
    /// Last name ("Nachname"), the same rules as the first name.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$", example = "Musterjobber")]
    pub last_name: Option<String>,
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"token": "q3VnZbq4t8Zr0kqjv3q8P1Q0S5m7yJbH0mW8u2c4x6E"}))]
pub struct VerifyEmailRequest {
    /// The `token` query parameter of the verification link.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128, pattern = r"[^\t\n\f\r ]", example = "q3VnZbq4t8Zr0kqjv3q8P1Q0S5m7yJbH0mW8u2c4x6E")]
    pub token: Option<SecretString>,
}

/// An e-mail address for resend and forgot-password requests.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "max.musterjobber@example.de"}))]
pub struct EmailRequest {
    /// The account's e-mail address.
    #[schema(value_type = String, required = true, format = Email, max_length = 254, example = "max.musterjobber@example.de")]
    pub email: Option<String>,
}

/// Login with e-mail and password ("Bei Ihrem Konto anmelden").
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"email": "max.musterjobber@example.de", "password": "Kassel-Tram-2024!"}))]
pub struct LoginRequest {
    /// E-mail address.
    #[schema(value_type = String, required = true, format = Email, max_length = 254, example = "max.musterjobber@example.de")]
    pub email: Option<String>,
    /// Password, at most 128 characters.
    #[schema(value_type = String, required = true, format = Password, min_length = 1, max_length = 128, example = "Kassel-Tram-2024!")]
    pub password: Option<SecretString>,
}

/// A token pair: a short-lived access token and a rotating refresh token.
#[derive(Serialize, Deserialize, ToSchema)]
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

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"[REDACTED]")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &"[REDACTED]")
            .finish()
    }
}

/// A refresh token, for refresh and logout.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "Xk2v9Qw7Lm3pR8sT1uV4wY6zA0bC5dE7fG9hJ2kL4mN"}))]
pub struct RefreshRequest {
    /// The refresh token from the last login or refresh.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128, pattern = r"[^\t\n\f\r ]", example = "Xk2v9Qw7Lm3pR8sT1uV4wY6zA0bC5dE7fG9hJ2kL4mN")]
    pub refresh_token: Option<SecretString>,
}

/// A new password set with an e-mailed reset token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "token": "q3VnZbq4t8Zr0kqjv3q8P1Q0S5m7yJbH0mW8u2c4x6E",
    "password": "Neues-Passwort-2025",
    "password_confirmation": "Neues-Passwort-2025"
}))]
pub struct ResetPasswordRequest {
    /// The `token` query parameter of the reset link.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 128, pattern = r"[^\t\n\f\r ]", example = "q3VnZbq4t8Zr0kqjv3q8P1Q0S5m7yJbH0mW8u2c4x6E")]
    pub token: Option<SecretString>,
    /// The new password (same policy as at registration).
    #[schema(value_type = String, required = true, format = Password, min_length = 10, max_length = 128, example = "Neues-Passwort-2025")]
    pub password: Option<SecretString>,
    /// The new password again.
    #[schema(value_type = String, required = true, format = Password, min_length = 10, max_length = 128, example = "Neues-Passwort-2025")]
    pub password_confirmation: Option<SecretString>,
}

/// The signed-in account.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0b9f3c1e-5d2a-4c8e-9f7b-1a2b3c4d5e6f",
    "email": "max.musterjobber@example.de",
    "first_name": "Max",
    "last_name": "Musterjobber",
    "operator": false,
    "companies": [{"id": "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b", "name": "Musterfirma GmbH", "customer_number": "K-100234", "role": "admin"}],
    "email_verified_at": "2024-10-22T08:15:00Z",
    "created_at": "2024-10-22T08:00:00Z"
}))]
pub struct AccountResponse {
    /// Opaque account id.
    #[schema(example = "0b9f3c1e-5d2a-4c8e-9f7b-1a2b3c4d5e6f")]
    pub id: String,
    /// E-mail address in canonical form (lower case, ASCII domain).
    #[schema(example = "max.musterjobber@example.de")]
    pub email: String,
    /// First name.
    #[schema(example = "Max")]
    pub first_name: String,
    /// Last name.
    #[schema(example = "Musterjobber")]
    pub last_name: String,
    /// Whether the account has operator rights (the operator's administration).
    #[schema(example = false)]
    pub operator: bool,
    /// The companies the account acts for in the company portal (accepted
    /// memberships), with its role in each; empty for a plain subscriber.
    pub companies: Vec<MyCompany>,
    /// When the e-mail address was verified.
    #[schema(example = "2024-10-22T08:15:00Z")]
    pub email_verified_at: Option<DateTime<Utc>>,
    /// When the account was created.
    #[schema(example = "2024-10-22T08:00:00Z")]
    pub created_at: DateTime<Utc>,
}

impl AccountResponse {
    /// The account with the companies it acts for.
    pub fn new(account: SignedInAccount, companies: Vec<MyCompany>) -> Self {
        AccountResponse {
            companies,
            id: account.id,
            email: account.email,
            first_name: account.first_name,
            last_name: account.last_name,
            operator: account.operator,
            email_verified_at: account.email_verified_at.map(|t| t.and_utc()),
            created_at: account.created_at.and_utc(),
        }
    }
}

/// Changes to the account's names; absent or `null` fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"first_name": "Maximilian"}))]
pub struct UpdateAccountRequest {
    /// New first name: 1 to 100 characters, letters, spaces and `'-.`.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$",
        example = "Maximilian"
    )]
    pub first_name: Option<String>,
    /// New last name, the same rules.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$",
        example = "Musterjobber"
    )]
    pub last_name: Option<String>,
}

/// A password change of the signed-in account.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "current_password": "Kassel-Tram-2024!",
    "password": "Neues-Passwort-2025",
    "password_confirmation": "Neues-Passwort-2025"
}))]
pub struct ChangePasswordRequest {
    /// The current password.
    #[schema(value_type = String, required = true, format = Password, min_length = 1, max_length = 128, example = "Kassel-Tram-2024!")]
    pub current_password: Option<SecretString>,
    /// The new password (same policy as at registration).
    #[schema(value_type = String, required = true, format = Password, min_length = 10, max_length = 128, example = "Neues-Passwort-2025")]
    pub password: Option<SecretString>,
    /// The new password again.
    #[schema(value_type = String, required = true, format = Password, min_length = 10, max_length = 128, example = "Neues-Passwort-2025")]
    pub password_confirmation: Option<SecretString>,
}

/// Confirmation of an account deletion.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"password": "Kassel-Tram-2024!"}))]
pub struct DeleteAccountRequest {
    /// The current password.
    #[schema(value_type = String, required = true, format = Password, min_length = 1, max_length = 128, example = "Kassel-Tram-2024!")]
    pub password: Option<SecretString>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_passwords_or_tokens() {
        let register: RegisterRequest = serde_json::from_value(serde_json::json!({
            "email": "max@example.de",
            "password": "Geheim-Passwort-1",
            "password_confirmation": "Geheim-Passwort-1",
            "first_name": "Max",
            "last_name": "Muster",
        }))
        .unwrap();
        let reset: ResetPasswordRequest = serde_json::from_value(serde_json::json!({
            "token": "Token-Geheimnis",
            "password": "Geheim-Passwort-1",
        }))
        .unwrap();
        let refresh: RefreshRequest =
            serde_json::from_value(serde_json::json!({"refresh_token": "Token-Geheimnis"}))
                .unwrap();
        let tokens = TokenResponse {
            access_token: "Token-Geheimnis".into(),
            token_type: "Bearer".into(),
            expires_in: 900,
            refresh_token: "Token-Geheimnis".into(),
        };
        for printed in [
            format!("{register:?}"),
            format!("{reset:?}"),
            format!("{refresh:?}"),
            format!("{tokens:?}"),
        ] {
            assert!(!printed.contains("Geheim"), "{printed}");
        }
        assert!(format!("{register:?}").contains("max@example.de"));
    }

    #[test]
    fn the_documented_name_pattern_is_the_enforced_one() {
        let documented = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$";
        assert_eq!(documented, crate::domain::name::NAME_PATTERN);
    }
}
