//! HTTP handlers of the account capability: thin wrappers that extract, call the flow in
//! `service` and shape the answer.

use actix_web::{HttpResponse, delete, get, patch, post, web};

use crate::accounts::service;
use crate::accounts::types::*;
use crate::audit::AuditContext;
use crate::auth::AuthenticatedAccount;
use crate::error::Problem;
use crate::http::{ApiJson, ClientIp, RequestId};
use crate::i18n::Lang;
use crate::state::AppState;

fn context(client_ip: ClientIp, request_id: RequestId) -> AuditContext {
    AuditContext {
        client_ip,
        request_id,
    }
}

/// Register a Self-Service account.
///
/// Creates an unverified account and e-mails a verification link, valid 30 minutes.
/// Always answers `202` with the same body, whether or not the address already has an
/// account (that address then gets an "account exists" e-mail instead).
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 202, description = "Accepted; an e-mail is on its way", body = AcceptedResponse),
        (status = 422, description = "Invalid fields, all listed in `errors`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests for this address or client; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<RegisterRequest>,
    lang: Lang,
    client_ip: ClientIp,
    request_id: RequestId,
) -> Result<HttpResponse, crate::error::AppError> {
    service::register(&state, request, lang, context(client_ip, request_id)).await?;
    Ok(HttpResponse::Accepted().json(service::accepted(lang)))
}

/// Verify the e-mail address.
///
/// Consumes the token from the verification link (the link opens a frontend page that
/// posts it). Unknown or used tokens answer `verification_token_invalid`, expired ones
/// `verification_token_expired`; neither changes anything.
#[utoipa::path(
    tag = "auth",
    request_body = VerifyEmailRequest,
    responses(
        (status = 204, description = "E-mail address verified; the account can log in"),
        (status = 400, description = "`verification_token_invalid`, `verification_token_expired` or `malformed_json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Token missing", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/verify-email")]
pub async fn verify_email(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<VerifyEmailRequest>,
    client_ip: ClientIp,
    request_id: RequestId,
) -> Result<HttpResponse, crate::error::AppError> {
    service::verify_email(&state, request, context(client_ip, request_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Send a new verification link.
///
/// Always `202`. For an unverified account, a fresh link is sent (earlier links stop
/// working), at most once a minute.
#[utoipa::path(
    tag = "auth",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Accepted", body = AcceptedResponse),
        (status = 422, description = "Invalid e-mail address", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/verify-email/resend")]
pub async fn resend_verification(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<EmailRequest>,
    lang: Lang,
    client_ip: ClientIp,
    request_id: RequestId,
) -> Result<HttpResponse, crate::error::AppError> {
    service::resend_verification(&state, request, lang, context(client_ip, request_id)).await?;
    Ok(HttpResponse::Accepted().json(service::accepted(lang)))
}

/// Log in.
///
/// Answers an access token (EdDSA JWT, 15 minutes) and a refresh token. Wrong e-mail or
/// password: one generic `invalid_credentials`; a correct password for an unverified
/// address: `403 email_not_verified`.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`email_not_verified`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "E-mail or password missing", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<LoginRequest>,
    client_ip: ClientIp,
    request_id: RequestId,
) -> Result<HttpResponse, crate::error::AppError> {
    let tokens = service::login(&state, request, context(client_ip, request_id)).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// Rotate the refresh token.
///
/// Answers a new token pair; the presented refresh token stops working. Presenting an
/// already rotated token ends the whole session (reuse detection).
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 200, description = "New token pair", body = TokenResponse),
        (status = 401, description = "`invalid_refresh_token`: unknown, reused, expired or logged out", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
    client_ip: ClientIp,
    request_id: RequestId,
) -> Result<HttpResponse, crate::error::AppError> {
    let tokens = service::refresh(&state, request, context(client_ip, request_id)).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// Log out.
///
/// Ends the refresh token's session: the refresh token and every access token of the
/// session stop working at once. Idempotent.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses(
        (status = 204, description = "Session ended"),
        (status = 503, description = "Database unavailable (`service_unavailable`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
    client_ip: ClientIp,
    request_id: RequestId,
) -> Result<HttpResponse, crate::error::AppError> {
    service::logout(&state, request, context(client_ip, request_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Request a password reset link.
///
/// Always `202`. A known address gets a single-use link to
/// `{PUBLIC_APP_URL}/reset-password?token=…`, valid 30 minutes.
#[utoipa::path(
    tag = "auth",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Accepted", body = AcceptedResponse),
        (status = 422, description = "Invalid e-mail address", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password/forgot")]
pub async fn forgot_password(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<EmailRequest>,
    lang: Lang,
    client_ip: ClientIp,
    request_id: RequestId,
) -> Result<HttpResponse, crate::error::AppError> {
    service::forgot_password(&state, request, lang, context(client_ip, request_id)).await?;
    Ok(HttpResponse::Accepted().json(service::accepted(lang)))
}

/// Set a new password with a reset token.
///
/// Consumes the token, sets the password and ends every session of the account.
#[utoipa::path(
    tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password set; log in again"),
        (status = 400, description = "`password_reset_token_invalid`, `password_reset_token_expired` or `malformed_json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid password or confirmation", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password/reset")]
pub async fn reset_password(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<ResetPasswordRequest>,
    client_ip: ClientIp,
    request_id: RequestId,
) -> Result<HttpResponse, crate::error::AppError> {
    service::reset_password(&state, request, context(client_ip, request_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in account.
///
/// Names, e-mail address, role and verification state of the account the access token
/// belongs to.
#[utoipa::path(
    tag = "account",
    security(("bearer_auth" = [])),
    responses(
        (status = 200, description = "The account", body = AccountResponse),
        (status = 401, description = "`missing_token`, `invalid_token` or `token_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub async fn get_me(auth: AuthenticatedAccount) -> HttpResponse {
    HttpResponse::Ok().json(AccountResponse::from(auth.account))
}

/// Change the account's names.
///
/// Omitted fields stay as they are; all invalid fields are reported at once and nothing
/// is stored then.
#[utoipa::path(
    tag = "account",
    security(("bearer_auth" = [])),
    request_body = UpdateAccountRequest,
    responses(
        (status = 200, description = "The updated account", body = AccountResponse),
        (status = 401, description = "`missing_token`, `invalid_token` or `token_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid names", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    auth: AuthenticatedAccount,
    ApiJson(request): ApiJson<UpdateAccountRequest>,
    client_ip: ClientIp,
    request_id: RequestId,
) -> Result<HttpResponse, crate::error::AppError> {
    let account = service::update_account(
        &state,
        auth.account,
        request,
        context(client_ip, request_id),
    )
    .await?;
    Ok(HttpResponse::Ok().json(AccountResponse::from(account)))
}

/// Change the password.
///
/// Needs the current password; ends every other session of the account (this one stays).
/// Wrong current passwords count against the account's failed-login allowance.
#[utoipa::path(
    tag = "account",
    security(("bearer_auth" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed"),
        (status = 401, description = "`missing_token`, `invalid_token` or `token_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong current password (`password_incorrect`) or invalid new password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for this account, counted with failed logins; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    auth: AuthenticatedAccount,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
    client_ip: ClientIp,
    request_id: RequestId,
) -> Result<HttpResponse, crate::error::AppError> {
    service::change_password(
        &state,
        auth.account,
        auth.session_id,
        request,
        context(client_ip, request_id),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Delete the account.
///
/// Needs the password (wrong ones count against the account's failed-login allowance).
/// The account, its personal data and all sessions end at once; the audit log keeps
/// only the opaque account id.
#[utoipa::path(
    tag = "account",
    security(("bearer_auth" = [])),
    request_body = DeleteAccountRequest,
    responses(
        (status = 204, description = "Account deleted"),
        (status = 401, description = "`missing_token`, `invalid_token` or `token_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong password (`password_incorrect`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for this account, counted with failed logins; see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me")]
pub async fn delete_me(
    state: web::Data<AppState>,
    auth: AuthenticatedAccount,
    ApiJson(request): ApiJson<DeleteAccountRequest>,
    client_ip: ClientIp,
    request_id: RequestId,
) -> Result<HttpResponse, crate::error::AppError> {
    service::delete_account(
        &state,
        auth.account,
        request,
        context(client_ip, request_id),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
