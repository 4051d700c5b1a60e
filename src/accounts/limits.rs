//! The rate limits of the account flows. Every limit is taken before the work it guards
//! (`rate_limit::acquire`), so a burst cannot slip past it.

use crate::audit::AuditContext;
use crate::error::AppError;
use crate::rate_limit::{self, Permit};
use crate::state::AppState;

/// Register, resend and forgot-password share one allowance: each sends an e-mail.
const EMAIL_REQUEST_SCOPE: &str = "mail";

/// Wrong passwords share one allowance per account, whether given at login or to
/// confirm a password change or an account deletion: a stolen access token must not
/// become an unlimited password oracle.
const PASSWORD_SCOPE: &str = "login";

/// Password-reset attempts per client: each may cost a hash.
const RESET_SCOPE: &str = "reset";

/// The key of an address's password attempts (known or not, so the limit tells nothing).
pub fn password_key(email: &str) -> String {
    rate_limit::email_key(PASSWORD_SCOPE, email)
}

/// Counts an e-mail-sending request against the per-IP and per-address limits, on its
/// own, so the count stands even when the request fails later.
pub async fn limit_email_request(
    state: &AppState,
    email: &str,
    context: &AuditContext,
) -> Result<(), AppError> {
    let limits = [
        (
            rate_limit::ip_key(EMAIL_REQUEST_SCOPE, context.client_ip.0),
            state.config.limits.email_per_ip,
        ),
        (
            rate_limit::email_key(EMAIL_REQUEST_SCOPE, email),
            state.config.limits.email_per_address,
        ),
    ];
    state
        .db
        .run(move |conn| rate_limit::acquire_all(conn, &limits).map(drop))
        .await
}

/// Counts a password-reset attempt of the client.
pub async fn limit_password_reset(
    state: &AppState,
    context: &AuditContext,
) -> Result<(), AppError> {
    let limit = state.config.limits.password_reset_per_ip;
    let key = rate_limit::ip_key(RESET_SCOPE, context.client_ip.0);
    state
        .db
        .run(move |conn| rate_limit::acquire(conn, &key, limit).map(drop))
        .await
}

/// The attempts a login has counted, to be given back when it succeeds.
pub struct LoginPermits {
    pub ip: Permit,
    pub account_key: String,
}

/// The limits a login attempt is counted against: per client IP and per address.
pub fn login_limits(
    limits: crate::config::LimitsConfig,
    email: &str,
    context: &AuditContext,
) -> [(String, crate::config::RateLimit); 2] {
    [
        (
            rate_limit::ip_key(PASSWORD_SCOPE, context.client_ip.0),
            limits.login_per_ip,
        ),
        (password_key(email), limits.login_per_account),
    ]
}

impl LoginPermits {
    /// The permits of [`login_limits`], as counted.
    pub fn from_counted(
        limits: &[(String, crate::config::RateLimit); 2],
        permits: Vec<Permit>,
    ) -> Result<Self, AppError> {
        let [(ip_key, _), (account_key, _)] = limits;
        let ip = permits
            .into_iter()
            .find(|permit| permit.key() == ip_key)
            .ok_or_else(|| AppError::Internal("the client's attempt was not counted".into()))?;
        Ok(LoginPermits {
            ip,
            account_key: account_key.clone(),
        })
    }
}
