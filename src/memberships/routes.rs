//! Routes of company users: the company's own management under
//! `/api/v1/companies/{id}/users`, the operator's invitation of a first admin, and the
//! acceptance of an invitation.

use actix_web::{HttpResponse, delete, get, patch, post, web};

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Operator, SignedInAccount, Subscriber};
use crate::companies::types::Company;
use crate::db::DbConnection;
use crate::error::{AppError, Problem};
use crate::http::{ApiJson, ApiQuery, NestedIds, Page, PageQuery, RecordId};
use crate::i18n::Lang;
use crate::mail;
use crate::memberships::access::require_admin_under_lock;
use crate::memberships::types::*;
use crate::memberships::{MembershipProblem, access_to_company, invitations, mails, repo};
use crate::state::AppState;

/// Invite a company's first admin (operator).
///
/// Like a company admin's invitation, with `role` defaulting to `admin`: the invited
/// address gets an e-mail with a single-use link, valid 7 days
/// (`INVITATION_TTL_SECS`), to `PUBLIC_APP_URL/accept-invitation?token=…`.
#[utoipa::path(
    tag = "admin",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")),
    request_body = InviteRequest,
    responses(
        (status = 201, description = "Invited; `Location` names the company user", body = CompanyUser),
        (status = 403, description = "No operator rights (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such company (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address is an active user of the company already (`already_member`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/companies/{id}/users")]
pub async fn invite_first_admin(
    state: web::Data<AppState>,
    operator: Operator,
    id: RecordId,
    ApiJson(request): ApiJson<InviteRequest>,
    lang: Lang,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let invitation = request.parse(CompanyRole::Admin)?;
    invite(
        &state,
        operator.account,
        id.into_inner(),
        invitation,
        lang,
        context,
    )
    .await
}

/// A company's data.
///
/// Name, customer number, address and contact of a company the signed-in account acts
/// for (any role; operators: any company).
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")),
    responses(
        (status = 200, description = "The company", body = Company),
        (status = 404, description = "No such company, or not one of the account's (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/companies/{id}")]
pub async fn get_portal_company(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let company = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            access_to_company(conn, &subscriber.account, &id)?;
            crate::companies::repo::find(conn, &id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Company::from(company)))
}

/// The company's users (Anwender).
///
/// Active and invited users, by last name, first name and id; paged. Any user of the
/// company may read the list.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b"), PageQuery),
    responses(
        (status = 200, description = "One page of the company's users", body = Page<CompanyUser>),
        (status = 404, description = "No such company, or not one of the account's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/companies/{id}/users")]
pub async fn list_company_users(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
    ApiQuery(query): ApiQuery<CompanyUserListQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = query.page.paging()?;
    let id = id.into_inner();
    let (rows, total) = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            access_to_company(conn, &subscriber.account, &id)?;
            repo::list(conn, &id, paging)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(CompanyUser::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// Invite a user to the company (company admin).
///
/// The address gets an e-mail with a single-use link, valid 7 days
/// (`INVITATION_TTL_SECS`), to `PUBLIC_APP_URL/accept-invitation?token=…`. Inviting a
/// pending address again updates its names and role and replaces the earlier link.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b")),
    request_body = InviteRequest,
    responses(
        (status = 201, description = "Invited; `Location` names the company user", body = CompanyUser),
        (status = 403, description = "A member, not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such company, or not one of the account's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The address is an active user of the company already (`already_member`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/companies/{id}/users")]
pub async fn invite_company_user(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    id: RecordId,
    ApiJson(request): ApiJson<InviteRequest>,
    lang: Lang,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let invitation = request.parse(CompanyRole::Member)?;
    invite(
        &state,
        subscriber.account,
        id.into_inner(),
        invitation,
        lang,
        context,
    )
    .await
}

async fn invite(
    state: &AppState,
    inviter: SignedInAccount,
    company_id: String,
    invitation: Invitation,
    lang: Lang,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let row = state
        .db
        .transaction(move |conn| {
            require_admin_under_lock(conn, &inviter, &company_id)?;
            let row = repo::invite(
                conn,
                &company_id,
                invitation.email.as_str(),
                invitation.first_name.as_str(),
                invitation.last_name.as_str(),
                invitation.role,
                &inviter.id,
                clock.now(),
            )?
            .ok_or(MembershipProblem::AlreadyMember)?;
            mail::enqueue(
                conn,
                &row.email,
                mails::INVITATION,
                lang,
                mails::invitation_params(&row.id),
            )?;
            audit::record(
                conn,
                &context,
                AuditAction::MembershipInvited,
                Some(&inviter.id),
                Some(&row.id),
                None,
            )?;
            Ok(row)
        })
        .await?;
    state.outbox.wake();
    Ok(HttpResponse::Created()
        .insert_header((
            "Location",
            format!("/api/v1/companies/{}/users/{}", row.company_id, row.id),
        ))
        .json(CompanyUser::try_from(row)?))
}

/// One company user.
///
/// Any user of the company may read it.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b"),
        ("user_id" = String, Path, description = "Company user id", example = "0190f3a5-1d2e-7f30-8a41-5b6c7d8e9f00"),
    ),
    responses(
        (status = 200, description = "The company user", body = CompanyUser),
        (status = 404, description = "No such company or user, or not the account's company (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/companies/{id}/users/{user_id}")]
pub async fn get_company_user(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    ids: NestedIds,
) -> Result<HttpResponse, AppError> {
    let row = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            access_to_company(conn, &subscriber.account, &ids.parent)?;
            repo::find(conn, &ids.parent, &ids.item)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(CompanyUser::try_from(row)?))
}

/// Change a company user's role (company admin).
///
/// Demoting the company's last active admin is refused (`409 last_admin`).
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b"),
        ("user_id" = String, Path, description = "Company user id", example = "0190f3a5-1d2e-7f30-8a41-5b6c7d8e9f00"),
    ),
    request_body(content = ChangeRoleRequest, content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The changed user", body = CompanyUser),
        (status = 403, description = "A member, not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such company or user, or not the account's company (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The company's last active admin (`last_admin`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid role (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/companies/{id}/users/{user_id}")]
pub async fn change_company_user(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    ids: NestedIds,
    ApiJson(request): ApiJson<ChangeRoleRequest>,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let role = request.parse()?;
    let row = state
        .db
        .transaction(move |conn| {
            let row = admin_target(conn, &subscriber.account, &ids)?;
            if !repo::keeps_an_admin(conn, &row, Some(role))? {
                return Err(MembershipProblem::LastAdmin.into());
            }
            repo::set_role(conn, &row.id, role, clock.now())?;
            audit::record(
                conn,
                &context,
                AuditAction::MembershipRoleChanged,
                Some(&subscriber.account.id),
                Some(&row.id),
                Some(serde_json::json!({ "role": role.as_ref() })),
            )?;
            repo::find_by_id(conn, &row.id)?.ok_or_else(AppError::not_found)
        })
        .await?;
    Ok(HttpResponse::Ok().json(CompanyUser::try_from(row)?))
}

/// Remove a company user (company admin).
///
/// The user's access to the company ends at once: their next request already answers
/// `404` for the company. A pending invitation's link dies with it. Removing the
/// company's last active admin is refused (`409 last_admin`).
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Company id", example = "0190f3a4-7b1c-7d2e-9f00-3c4d5e6f7a8b"),
        ("user_id" = String, Path, description = "Company user id", example = "0190f3a5-1d2e-7f30-8a41-5b6c7d8e9f00"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "A member, not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such company or user, or not the account's company (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The company's last active admin (`last_admin`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/companies/{id}/users/{user_id}")]
pub async fn remove_company_user(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    ids: NestedIds,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    state
        .db
        .transaction(move |conn| {
            let row = admin_target(conn, &subscriber.account, &ids)?;
            if !repo::keeps_an_admin(conn, &row, None)? {
                return Err(MembershipProblem::LastAdmin.into());
            }
            repo::delete(conn, &row.id)?;
            audit::record(
                conn,
                &context,
                AuditAction::MembershipRemoved,
                Some(&subscriber.account.id),
                Some(&row.id),
                None,
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The membership a company admin (or operator) is about to change, read under the
/// company's lock.
fn admin_target(
    conn: &mut DbConnection,
    account: &SignedInAccount,
    ids: &NestedIds,
) -> Result<repo::MembershipRow, AppError> {
    require_admin_under_lock(conn, account, &ids.parent)?;
    repo::find(conn, &ids.parent, &ids.item)?.ok_or_else(AppError::not_found)
}

/// Accept a company invitation.
///
/// With the token of the invitation link and a password: for an address without an
/// account, a verified account with that password is created; for an address with one,
/// the password must be that account's (`password_incorrect` at `/password`, counted
/// against its login limit). Then the account acts for the company. Unknown, used or
/// replaced tokens answer `invitation_token_invalid`, expired ones
/// `invitation_token_expired`.
#[utoipa::path(
    tag = "auth",
    request_body = AcceptInvitationRequest,
    responses(
        (status = 200, description = "Accepted; log in with the address and password", body = AcceptedInvitation),
        (status = 400, description = "`invitation_token_invalid` or `invitation_token_expired`", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing or invalid fields, or a wrong password (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords (`rate_limited`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/invitations/accept")]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    ApiJson(request): ApiJson<AcceptInvitationRequest>,
    lang: Lang,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let accepted = invitations::accept_invitation(&state, request, lang, context).await?;
    Ok(HttpResponse::Ok().json(accepted))
}
