//! Routes of staff lists (Massenupload): upload one for a contract (company admin or
//! operator), read the kept reports, download the empty template.

use actix_multipart::{Multipart, MultipartError};
use actix_web::http::header::{CONTENT_DISPOSITION, CONTENT_LENGTH};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, get, post, web};
use futures_util::StreamExt;

use crate::audit::{self, AuditAction, AuditContext};
use crate::auth::{Bearer, Subscriber};
use crate::bulk_uploads::repo::{self, BulkUploadRow};
use crate::bulk_uploads::slots::Admitted;
use crate::bulk_uploads::types::*;
use crate::bulk_uploads::{apply, file, rows};
use crate::contracts::portal::visible_contract;
use crate::customer_codes::CustomerCodeProblem;
use crate::error::{AppError, Problem};
use crate::http::problems::HttpProblem;
use crate::http::{ApiQuery, NestedIds, Page, PageQuery, RecordId};
use crate::i18n::Lang;
use crate::state::AppState;
use crate::webhooks::events::{self as webhook_events, Origin, TicketSource};
use crate::webhooks::types::EventType;

/// Upload a staff list (company admin or operator).
///
/// Each row is applied or rejected as a whole, and rejected rows never stop valid ones.
/// A valid row becomes an approved order — a new customer record (a list never reuses
/// one: name, birth date and postal code are no secret) and an active ticket under the
/// contract from the 1st of its start month, not linked to an account, naming this
/// upload — and its employee gets an e-mail with the contract number and the link to
/// register and link it. A row whose employee already holds a current
/// ticket under the contract (by personnel number, or by name and birth date without
/// one) is `unchanged`, so the same file twice creates nothing the second time. With
/// `dry_run=true` the list is checked and reported, and nothing created or sent. The
/// report is kept; the file is not.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"), UploadQuery),
    request_body(content = BulkUploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Read; the report says what became of each row", body = BulkUploadReport),
        (status = 403, description = "A member, not an admin (`forbidden`)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such contract, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The contract is not active today (`contract_not_active`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The file is larger than `BULK_UPLOAD_MAX_BYTES`, or an Excel file unpacks to more than `BULK_UPLOAD_MAX_UNCOMPRESSED_BYTES` or holds more records than a staff list can (`payload_too_large`)", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a multipart form, or a file that is neither CSV nor `.xlsx` (`unsupported_media_type`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Columns missing (`missing_columns`, each at `/file/{column}`), more rows than `BULK_UPLOAD_MAX_ROWS` (`too_many_rows`), a filled cell beyond the 64th column (`too_many_columns`), or no `file` part or a malformed `dry_run` (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`BULK_UPLOAD_CONCURRENCY` lists are being read and `BULK_UPLOAD_QUEUE` more wait (`service_busy`), with `Retry-After`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/contracts/{id}/bulk-uploads")]
pub async fn upload_staff_list(
    state: web::Data<AppState>,
    subscriber: Subscriber,
    id: RecordId,
    ApiQuery(query): ApiQuery<UploadQuery>,
    request: HttpRequest,
    form: Multipart,
    context: AuditContext,
) -> Result<HttpResponse, AppError> {
    let lang = Lang::negotiate(&request);
    let dry_run = query.dry_run()?;
    let contract_id = id.into_inner();
    let location = format!("/api/v1/contracts/{contract_id}/bulk-uploads");
    let limits = state.config.bulk_upload;
    // Who may upload is known before the file is read.
    {
        let (account, contract_id) = (subscriber.account.clone(), contract_id.clone());
        state
            .db
            .read(move |conn| {
                let (_, access) = visible_contract(conn, &account, &contract_id)?;
                access.require_admin()
            })
            .await?;
    }
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // The form's boundaries and headers come on top of the file.
    if declared.is_some_and(|length| length > limits.max_bytes + 64 * 1024) {
        return Err(HttpProblem::PayloadTooLarge.into());
    }
    // A place before the body is read: uploads at once hold a bounded amount of memory.
    // With an Idempotency-Key the body was read in a place the key's middleware took.
    let taken = request.extensions_mut().remove::<Admitted>();
    let admitted = match taken {
        Some(admitted) => admitted,
        None => state.uploads.admit()?,
    };
    let (file_name, bytes) = read_file(form, limits.max_bytes).await?;
    let reading = admitted.read().await?;
    let now = state.clock.now();
    let today = crate::clock::berlin_date_of(now);
    let deadline = state.config.ordering.order_deadline_day;
    let read_limits = file::ReadLimits {
        max_rows: limits.max_rows,
        max_uncompressed_bytes: limits.max_uncompressed_bytes,
    };
    // Reading a spreadsheet is CPU work: off the async workers.
    let (valid, errors, rejected, total) = tokio::task::spawn_blocking(move || {
        let _reading = reading;
        let sheet = file::read(&bytes, read_limits)?;
        let total = sheet.rows.len();
        let mut valid = Vec::with_capacity(total);
        let mut errors = Vec::new();
        let mut rejected = 0;
        for row in &sheet.rows {
            match rows::check(row, today, deadline) {
                Ok(row) => valid.push(row),
                Err(row_errors) => {
                    rejected += 1;
                    errors.extend(row_errors.into_iter().map(|error| RowErrorReport {
                        row: error.row,
                        column: error.column.name().to_string(),
                        header: sheet.header_of(error.column).to_string(),
                        code: error.code.as_str().to_string(),
                        detail: error.code.detail(lang),
                    }))
                }
            }
        }
        Ok::<_, AppError>((valid, errors, rejected, total))
    })
    .await
    .map_err(|e| AppError::Internal(format!("reading the file: {e}")))??;
    let report = state
        .db
        .transaction(move |conn| {
            let account = &subscriber.account;
            let (contract, access) = visible_contract(conn, account, &contract_id)?;
            access.require_admin()?;
            // Two uploads of one list at once: the second sees the first's tickets.
            crate::contracts::repo::lock(conn, &contract.id)?;
            if !crate::contracts::repo::is_active(&contract.data, today) {
                return Err(CustomerCodeProblem::ContractNotActive.into());
            }
            let plan = apply::plan(conn, &contract, &valid, today)?;
            let applied = plan.applied();
            let count = |n: usize| i32::try_from(n).map_err(|e| AppError::Internal(e.to_string()));
            let row = BulkUploadRow {
                id: uuid::Uuid::now_v7().to_string(),
                contract_id: contract.id.clone(),
                file_name: file_name.clone(),
                dry_run,
                total: count(total)?,
                created: count(applied.created)?,
                unchanged: count(applied.unchanged)?,
                rejected: count(rejected)?,
                errors: serde_json::to_string(&errors)
                    .map_err(|e| AppError::Internal(e.to_string()))?,
                created_at: now,
                created_by: Some(account.id.clone()),
            };
            // The report first: each ticket names it.
            repo::insert(conn, &row)?;
            // A dry run changes nothing, so it tells nobody.
            if !dry_run {
                let created = apply::write(conn, &contract, &plan, &row.id, today, now)?;
                let origin = Origin::of(&context, now);
                webhook_events::tickets_created(conn, &created, TicketSource::BulkUpload, origin)?;
                webhook_events::of_contract(
                    conn,
                    &contract.id,
                    EventType::BulkUploadCompleted,
                    serde_json::json!({
                        "bulk_upload_id": row.id,
                        "contract_id": contract.id,
                        "file_name": row.file_name,
                        "total": row.total,
                        "created": row.created,
                        "unchanged": row.unchanged,
                        "rejected": row.rejected,
                    }),
                    origin,
                )?;
            }
            audit::record(
                conn,
                &context,
                AuditAction::BulkUploaded,
                Some(&account.id),
                Some(&row.id),
                Some(serde_json::json!({
                    "contract_id": contract.id,
                    "dry_run": dry_run,
                    "created": applied.created,
                    "unchanged": applied.unchanged,
                    "rejected": rejected,
                })),
            )?;
            let uploader = Some((account.first_name.clone(), account.last_name.clone()));
            BulkUploadReport::new(row, uploader)
        })
        .await?;
    state.outbox.wake();
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("{location}/{}", report.id),
        ))
        .json(report))
}

/// The `file` part of the form, at most `max_bytes`.
async fn read_file(mut form: Multipart, max_bytes: usize) -> Result<(String, Vec<u8>), AppError> {
    let unreadable = |error: MultipartError| -> AppError {
        match error {
            MultipartError::ContentTypeMissing
            | MultipartError::ContentTypeParse
            | MultipartError::ContentTypeIncompatible => HttpProblem::UnsupportedMediaType.into(),
            _ => HttpProblem::BadRequest.into(),
        }
    };
    while let Some(field) = form.next().await {
        let mut field = field.map_err(unreadable)?;
        if field.name() != Some("file") {
            while let Some(chunk) = field.next().await {
                chunk.map_err(unreadable)?;
            }
            continue;
        }
        let file_name = field
            .content_disposition()
            .and_then(|disposition| disposition.get_filename())
            .map(|name| name.chars().filter(|c| !c.is_control()).take(200).collect())
            .filter(|name: &String| !name.trim().is_empty())
            .unwrap_or_else(|| "upload".to_string());
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(unreadable)?;
            if bytes.len() + chunk.len() > max_bytes {
                return Err(HttpProblem::PayloadTooLarge.into());
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok((file_name, bytes));
    }
    Err(AppError::field(
        "/file",
        crate::error::FieldErrorCode::Required,
    ))
}

/// A contract's staff-list reports.
///
/// Newest first, paged; each with its row counts and errors.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"), PageQuery),
    responses(
        (status = 200, description = "One page of reports", body = Page<BulkUploadReport>),
        (status = 404, description = "No such contract, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid paging (`validation_failed`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{id}/bulk-uploads")]
pub async fn list_staff_lists(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    id: RecordId,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = query.paging()?;
    let id = id.into_inner();
    let page = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            visible_contract(conn, &subscriber.account, &id)?;
            let (rows, total) = repo::list_of_contract(conn, &id, paging)?;
            let mut items = Vec::with_capacity(rows.len());
            for row in rows {
                let uploader = repo::uploader_name(conn, row.created_by.as_deref())?;
                items.push(BulkUploadReport::new(row, uploader)?);
            }
            Ok(paging.page_of(items, total))
        })
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One staff-list report.
///
/// The counts and every row error of one upload.
#[utoipa::path(
    tag = "company",
    security(("bearer_auth" = [])),
    params(
        ("id" = String, Path, description = "Contract id", example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c"),
        ("upload_id" = String, Path, description = "Upload id", example = "0190f3c2-5d6e-7f80-9a1b-2c3d4e5f6a7b"),
    ),
    responses(
        (status = 200, description = "The report", body = BulkUploadReport),
        (status = 404, description = "No such contract or upload, or another company's (`not_found`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/contracts/{id}/bulk-uploads/{upload_id}")]
pub async fn get_staff_list(
    state: web::Data<AppState>,
    bearer: Bearer<Subscriber>,
    ids: NestedIds,
) -> Result<HttpResponse, AppError> {
    let report = state
        .db
        .read_as(bearer, move |conn, subscriber| {
            visible_contract(conn, &subscriber.account, &ids.parent)?;
            let row = repo::find_of_contract(conn, &ids.parent, &ids.item)?
                .ok_or_else(AppError::not_found)?;
            let uploader = repo::uploader_name(conn, row.created_by.as_deref())?;
            BulkUploadReport::new(row, uploader)
        })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The empty staff-list template as CSV.
///
/// The German column headers, `;`-separated, UTF-8 with BOM, as a German spreadsheet
/// program opens it.
#[utoipa::path(
    tag = "company",
    responses(
        (status = 200, description = "The template", content_type = "text/csv", body = String, example = "Personalnummer;Anrede;Geschlecht;Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;Land;E-Mail;Startmonat\r\n"),
    )
)]
#[get("/bulk-uploads/template.csv")]
pub async fn template_csv() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            CONTENT_DISPOSITION,
            "attachment; filename=\"massenupload-vorlage.csv\"",
        ))
        .body(file::template_csv())
}

/// The empty staff-list template as Excel.
///
/// One sheet with the German column headers.
#[utoipa::path(
    tag = "company",
    responses(
        (status = 200, description = "The template", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
    )
)]
#[get("/bulk-uploads/template.xlsx")]
pub async fn template_xlsx() -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header((
            CONTENT_DISPOSITION,
            "attachment; filename=\"massenupload-vorlage.xlsx\"",
        ))
        .body(file::template_xlsx()?))
}
