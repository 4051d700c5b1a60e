//! The report of a staff list, and the upload's form and query.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::bulk_uploads::repo::BulkUploadRow;
use crate::error::AppError;

/// How many rows came out how.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"total": 3, "created": 2, "unchanged": 0, "rejected": 1}))]
pub struct RowCounts {
    /// Data rows in the file (empty lines not counted).
    #[schema(example = 3)]
    pub total: i32,
    /// Rows that became a ticket (in a dry run: would have).
    #[schema(example = 2)]
    pub created: i32,
    /// Rows whose employee already holds a current ticket under the contract.
    #[schema(example = 0)]
    pub unchanged: i32,
    /// Rows with errors; nothing of them was applied.
    #[schema(example = 1)]
    pub rejected: i32,
}

/// One error of a rejected row.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"row": 4, "column": "postal_code", "header": "PLZ", "code": "invalid_postal_code", "detail": "Bitte geben Sie eine gültige Postleitzahl ein."}))]
pub struct RowErrorReport {
    /// The line in the CSV file or the row of the sheet; the header is 1.
    #[schema(example = 4)]
    pub row: u64,
    /// The column, by its English (canonical) name.
    #[schema(example = "postal_code")]
    pub column: String,
    /// The column as the file's header wrote it (`PLZ`, `Startmonat`, `postal_code`),
    /// to point the person who filled the list at it. Reports kept from before this
    /// field existed repeat `column`.
    #[serde(default)]
    #[schema(required = true, example = "PLZ")]
    pub header: String,
    /// The field error's stable code (as in problem `errors`).
    #[schema(example = "invalid_postal_code")]
    pub code: String,
    /// What is wrong, for people.
    #[schema(example = "Bitte geben Sie eine gültige Postleitzahl ein.")]
    pub detail: String,
}

/// Who uploaded a list.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0b9f3c1e-5d2a-4c8e-9f7b-1a2b3c4d5e6f", "first_name": "Erika", "last_name": "Personal"}))]
pub struct Uploader {
    /// Account id.
    #[schema(example = "0b9f3c1e-5d2a-4c8e-9f7b-1a2b3c4d5e6f")]
    pub id: String,
    /// First name.
    #[schema(example = "Erika")]
    pub first_name: String,
    /// Last name.
    #[schema(example = "Personal")]
    pub last_name: String,
}

/// The report of an uploaded staff list (the file itself is not kept).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3c2-5d6e-7f80-9a1b-2c3d4e5f6a7b",
    "file_name": "mitarbeitende.xlsx",
    "dry_run": false,
    "rows": {"total": 3, "created": 2, "unchanged": 0, "rejected": 1},
    "errors": [{"row": 4, "column": "postal_code", "code": "invalid_postal_code", "detail": "Bitte geben Sie eine gültige Postleitzahl ein."}],
    "created_at": "2026-11-27T09:00:00Z",
    "created_by": {"id": "0b9f3c1e-5d2a-4c8e-9f7b-1a2b3c4d5e6f", "first_name": "Erika", "last_name": "Personal"}
}))]
pub struct BulkUploadReport {
    /// Opaque id of the upload.
    #[schema(example = "0190f3c2-5d6e-7f80-9a1b-2c3d4e5f6a7b")]
    pub id: String,
    /// The uploaded file's name, as sent.
    #[schema(example = "mitarbeitende.xlsx")]
    pub file_name: String,
    /// Whether the list was only checked (nothing created, nothing sent).
    #[schema(example = false)]
    pub dry_run: bool,
    /// How many rows came out how.
    pub rows: RowCounts,
    /// Every error of every rejected row, by row.
    pub errors: Vec<RowErrorReport>,
    /// When it was uploaded.
    #[schema(example = "2026-11-27T09:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// Who uploaded it; `null` when that account no longer exists.
    pub created_by: Option<Uploader>,
}

impl BulkUploadReport {
    pub fn new(row: BulkUploadRow, uploader: Option<(String, String)>) -> Result<Self, AppError> {
        let mut errors: Vec<RowErrorReport> = serde_json::from_str(&row.errors)
            .map_err(|e| AppError::Internal(format!("stored upload errors: {e}")))?;
        for error in errors.iter_mut().filter(|e| e.header.is_empty()) {
            error.header = error.column.clone();
        }
        Ok(BulkUploadReport {
            created_by: row.created_by.clone().zip(uploader).map(
                |(id, (first_name, last_name))| Uploader {
                    id,
                    first_name,
                    last_name,
                },
            ),
            id: row.id,
            file_name: row.file_name,
            dry_run: row.dry_run,
            rows: RowCounts {
                total: row.total,
                created: row.created,
                unchanged: row.unchanged,
                rejected: row.rejected,
            },
            errors,
            created_at: row.created_at.and_utc(),
        })
    }
}

/// The form of an upload: the one part `file`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct BulkUploadForm {
    /// The staff list: CSV (UTF-8, `,` or `;`, a header row) or Excel `.xlsx` (first
    /// sheet), told apart by content; columns `personnel_number, salutation, gender,
    /// first_name, last_name, birth_date, street, postal_code, city, country, email,
    /// start_month` or their German names (`Personalnummer, Anrede, Geschlecht,
    /// Vorname, Nachname, Geburtsdatum, Straße, PLZ, Ort, Land, E-Mail, Startmonat`);
    /// `personnel_number`, `gender` and `country` may be left out.
    #[schema(value_type = String, format = Binary, example = "Personalnummer;Anrede;Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;E-Mail;Startmonat")]
    pub file: Vec<u8>,
}

/// Options of an upload.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// `true`: check and report only; nothing is created and nothing sent.
    #[param(value_type = Option<bool>, example = false)]
    pub dry_run: Option<String>,
}

impl UploadQuery {
    pub fn dry_run(&self) -> Result<bool, AppError> {
        match self.dry_run.as_deref().map(str::trim) {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(_) => Err(AppError::field(
                "/dry_run",
                crate::error::FieldErrorCode::InvalidType,
            )),
        }
    }
}
