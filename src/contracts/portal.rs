//! The company portal's contract routes: the contract list (Vertragsverwaltung) and the
//! contract infos, for company users over their companies' contracts and for operators
//! over all. A contract of another company answers `404` like an unknown one.

use actix_web::{HttpResponse, get, web};

use crate::auth::{Bearer, SignedInAccount, Subscriber};
use crate::contracts::repo::{self, ContractRow};
use crate::contracts::types::*;
use crate::db::DbConnection;
use crate::error::{AppError, Problem};
use crate::http::{ApiQuery, Page, PageQuery, RecordId};
use crate::memberships::{CompanyAccess, access_to_company, visible_companies};
use crate::state::AppState;

/// The contract and the account's access to it, or `404` when the account may not see
/// it.
pub fn visible_contract(
    conn: &mut DbConnection,
    account: &SignedInAccount,
    id: &str,
) -> Result<(ContractRow, CompanyAccess), AppError> {
    let contract = repo::find(conn, id)?.ok_or_else(AppError::not_found)?;
    // An operator sees every company, and a contract's company exists (a foreign key):
    // no second round trip to ask.
    let access = if account.operator {
        CompanyAccess::Operator
    } else {
        access_to_company(conn, account, &contract.data.company_id)?
    };
    Ok((contract, access))
}

/// The contract list (Vertragsverwaltung).
///
/// Company users see their companies' contracts, operators all. Filter by customer
/// number ("Suche Kundennummer"), `active` ("Aktive Verträge"), free text `q` and
/// company; sort by any column (`order` asc or desc, ties by id); paged, with the
/// `total` for "angezeigt 1 bis 1 von 1 Einträge". A page past the end is empty and
/// still carries the total.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(PortalContractListQuery, PageQuery),
    responses(
        (status = 200, description = "One page of contracts", body = Page<ContractListItem>),
        (status = 422, description = "An unknown `sort` or `order`, a malformed `active`, or invalid paging (`validation_failed`, with the parameter as pointer)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts")]
pub async fn list_portal_contracts(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    ApiQuery(query): ApiQuery<PortalContractListQuery>,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let (filter, paging) = query.parse()?;
    let search_count_limit = state.config.lists.search_count_limit;
    let (rows, total) = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            let visible = visible_companies(conn, &subscriber.account)?;
            repo::list_for_portal(
                conn,
                visible.as_deref(),
                &filter,
                clock.today_berlin(),
                paging,
                search_count_limit,
            )
        })
        .await?;
    let items = rows
        .into_iter()
        .map(ContractListItem::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(HttpResponse::Ok().json(paging.page_of(items, total)))
}

/// Contract infos.
///
/// The contract with its company's data ("Firmendaten"), its current customer code and
/// the number of subscriptions active under it.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")),
    responses(
        (status = 200, description = "The contract infos", body = ContractInfo),
        (status = 404, description = "No such contract, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{id}")]
pub async fn get_contract_info(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
) -> Result<HttpResponse, AppError> {
    let clock = state.clock.clone();
    let id = id.into_inner();
    let info = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            let (contract, _) = visible_contract(conn, &subscriber.account, &id)?;
            let today = clock.today_berlin();
            let company = crate::companies::repo::find(conn, &contract.data.company_id)?
                .ok_or_else(AppError::not_found)?;
            let current = crate::customer_codes::repo::current(conn, &id, today)?;
            let active_subscriptions = repo::count_active_subscriptions(conn, &id, today)?;
            Ok(ContractInfo {
                employer_share: contract.employer_share()?.map(EmployerShareBody::from),
                status: parse_status(&contract.data.status)?,
                active: repo::is_active(&contract.data, today),
                id: contract.id,
                contract_number: contract.data.contract_number,
                product_offering: contract.data.product_offering,
                valid_from: contract.data.valid_from,
                valid_to: contract.data.valid_to,
                company: PortalCompany::from(company),
                current_customer_code: current.map(|code| CurrentCustomerCode {
                    code: crate::customer_codes::code::display(&code.code),
                    id: code.id,
                    valid_until: code.valid_until,
                }),
                active_subscriptions,
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(info))
}
