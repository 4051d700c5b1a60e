//! HTTP handlers of the account capability: thin wrappers that extract, call the flow
//! and shape the answer. Errors every operation shares (body errors, 401 on secured
//! operations, 500, 503) are added to the document by `openapi::ProblemResponses`; the
//! annotations list what is particular to each operation.

use actix_web::{HttpResponse, delete, get, patch, post, web};

use crate::accounts::types::*;
use crate::accounts::{passwords, profile, registration, sessions};
use crate::audit::AuditContext;
use crate::auth::{Bearer, SignedInAccount, Subscriber};
use crate::error::{AppError, Problem};
use crate::http::ApiJson;
use crate::i18n::Lang;
use crate::state::AppState;

pub fn accepted(lang: Lang) -> AcceptedResponse {
    AcceptedResponse {
        message: match lang {
            Lang::De => "Falls die Angaben stimmen, erhalten Sie in Kürze eine E-Mail.".into(),
            Lang::En => "If the details are correct, you will receive an e-mail shortly.".into(),
        },
    }
}

/// Register a Self-Service account.
///
/// Creates an unverified account and e-mails a verification link, valid 30 minutes from
/// sending. Always answers `202` with the same body, whether or not the address already
/// has an account (that address then gets an "account exists" e-mail instead).
#[utoipa::path(
    tag = "auth",
    request_body = RegisterRequest,
    responses(
        (status = 202, description = "Accepted; an e-mail is on its way", body = AcceptedResponse),
        (status = 422, description = "Invalid fields, all listed in `errors` (`validation_failed`): also a common password or a confirmation that differs", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many requests for this address or client (`rate_limited`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`) or too many passwords being hashed (`service_busy`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<RegisterRequest>,
    lang: Lang,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    registration::register(&state, request, lang, context).await?;
    Ok(HttpResponse::Accepted().json(accepted(lang)))
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
    )
)]
#[post("/auth/verify-email")]
pub async fn verify_email(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<VerifyEmailRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    registration::verify_email(&state, request, context).await?;
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
        (status = 429, description = "Too many requests (`rate_limited`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/verify-email/resend")]
pub async fn resend_verification(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<EmailRequest>,
    lang: Lang,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    registration::resend_verification(&state, request, lang, context).await?;
    Ok(HttpResponse::Accepted().json(accepted(lang)))
}

/// Log in.
///
/// Answers an access token (EdDSA JWT, 15 minutes) and a refresh token. Wrong e-mail or
/// password: one generic `invalid_credentials`; a correct password for an unverified
/// address: `403 email_not_verified`. Every attempt counts against the limits of the
/// address and the client until it succeeds.
#[utoipa::path(
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 401, description = "`invalid_credentials`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`email_not_verified`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many login attempts for this address or client (`rate_limited`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`) or too many passwords being hashed (`service_busy`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<LoginRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let tokens = sessions::login(&state, request, context).await?;
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
    )
)]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let tokens = sessions::refresh(&state, request, context).await?;
    Ok(HttpResponse::Ok().json(tokens))
}

/// Log out.
///
/// Ends the refresh token's session: the refresh token and every access token of the
/// session stop working at once. Idempotent.
#[utoipa::path(
    tag = "auth",
    request_body = RefreshRequest,
    responses((status = 204, description = "Session ended"))
)]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<RefreshRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    sessions::logout(&state, request, context).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Request a password reset link.
///
/// Always `202`. A known address gets a single-use link to
/// `{PUBLIC_APP_URL}/reset-password?token=…`, valid 30 minutes from sending, at most
/// once a minute.
#[utoipa::path(
    tag = "auth",
    request_body = EmailRequest,
    responses(
        (status = 202, description = "Accepted", body = AcceptedResponse),
        (status = 429, description = "Too many requests (`rate_limited`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password/forgot")]
pub async fn forgot_password(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<EmailRequest>,
    lang: Lang,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    passwords::forgot_password(&state, request, lang, context).await?;
    Ok(HttpResponse::Accepted().json(accepted(lang)))
}

/// Set a new password with a reset token.
///
/// Consumes the token, sets the password and ends every session of the account. The
/// token is checked before the new password is hashed; attempts are limited per client.
#[utoipa::path(
    tag = "auth",
    request_body = ResetPasswordRequest,
    responses(
        (status = 204, description = "Password set; log in again"),
        (status = 400, description = "`password_reset_token_invalid`, `password_reset_token_expired` or `malformed_json`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, all listed in `errors` (`validation_failed`): also a common password or a confirmation that differs", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many reset attempts from this client (`rate_limited`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`) or too many passwords being hashed (`service_busy`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password/reset")]
pub async fn reset_password(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<ResetPasswordRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    passwords::reset_password(&state, request, context).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The signed-in account.
///
/// Names, e-mail address, rights and verification state of the account the access
/// token belongs to.
#[utoipa::path(
    tag = "account",
    security(("bearer_auth" = [])),
    responses((status = 200, description = "The account", body = AccountResponse))
)]
#[get("/me")]
pub async fn get_me(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
) -> Result<HttpResponse, AppError> {
    // The hottest read: the session check and the companies in one statement.
    let account = state
        .db
        .read(move |conn| {
            let (subscriber, companies): (Subscriber, _) =
                bearer.check_reading(conn, crate::memberships::repo::signed_in_with_companies)?;
            let companies = crate::memberships::my_companies(companies)?;
            Ok(AccountResponse::new(subscriber.account, companies))
        })
        .await?;
    Ok(HttpResponse::Ok().json(account))
}

/// The account as `/me` shows it, with the companies it acts for.
async fn account_response(
    state: &AppState,
    account: SignedInAccount,
) -> Result<AccountResponse, AppError> {
    let account_id = account.id.clone();
    let companies = state
        .db
        .run(move |conn| crate::memberships::companies_of(conn, &account_id))
        .await?;
    Ok(AccountResponse::new(account, companies))
}

/// Change the account's names.
///
/// Absent or `null` fields stay as they are; all invalid fields are reported at once and
/// nothing is stored then.
#[utoipa::path(
    tag = "account",
    security(("bearer_auth" = [])),
    request_body = UpdateAccountRequest,
    responses((status = 200, description = "The updated account", body = AccountResponse))
)]
#[patch("/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    ApiJson(request): ApiJson<UpdateAccountRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let account = profile::update_account(
        &state,
        subscriber.account,
        subscriber.session_id,
        request,
        context,
    )
    .await?;
    Ok(HttpResponse::Ok().json(account_response(&state, account).await?))
}

/// Change the password.
///
/// Needs the current password; ends every other session of the account (this one
/// stays) and any outstanding reset link. Current passwords count against the account's
/// login allowance until one is right.
#[utoipa::path(
    tag = "account",
    security(("bearer_auth" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed"),
        (status = 422, description = "Wrong current password (`password_incorrect` in `errors`) or invalid new password (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many password attempts for this account, counted with logins (`rate_limited`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`) or too many passwords being hashed (`service_busy`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    ApiJson(request): ApiJson<ChangePasswordRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    passwords::change_password(
        &state,
        subscriber.account,
        subscriber.session_id,
        request,
        context,
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Delete the account.
///
/// Needs the password (counted against the account's login allowance until right). The
/// account, its personal data, its company memberships and all sessions end at once; the
/// audit log keeps only the opaque account id. The last active admin of a company must
/// first make another user an admin (`409 last_admin`).
#[utoipa::path(
    tag = "account",
    security(("bearer_auth" = [])),
    request_body = DeleteAccountRequest,
    responses(
        (status = 204, description = "Account deleted"),
        (status = 409, description = "The account is the last active admin of a company (`last_admin`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong password (`password_incorrect` in `errors`; `validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many password attempts for this account, counted with logins (`rate_limited`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unavailable (`service_unavailable`) or too many passwords being hashed (`service_busy`); see `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me")]
pub async fn delete_me(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    ApiJson(request): ApiJson<DeleteAccountRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    profile::delete_account(&state, subscriber.account, request, context).await?;
    Ok(HttpResponse::NoContent().finish())
}
