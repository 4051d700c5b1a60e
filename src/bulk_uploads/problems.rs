//! Problems of staff lists.

use actix_web::http::StatusCode;
use strum::EnumIter;

use crate::error::{AppError, ProblemSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter)]
pub enum BulkUploadProblem {
    /// The file lacks required columns; `errors` names each at `/file/{column}`.
    MissingColumns,
    /// More data rows than `BULK_UPLOAD_MAX_ROWS`.
    TooManyRows,
    /// A filled cell beyond the 64th column.
    TooManyColumns,
}

impl BulkUploadProblem {
    pub const fn spec(self) -> ProblemSpec {
        match self {
            BulkUploadProblem::MissingColumns => ProblemSpec::new(
                "missing_columns",
                StatusCode::UNPROCESSABLE_ENTITY,
                (
                    "Spalten fehlen",
                    "Der Datei fehlen Spalten, die jede Zeile braucht; errors nennt sie. Die Vorlage enthält alle.",
                ),
                (
                    "Missing columns",
                    "The file lacks columns every row needs; errors names them. The template has all of them.",
                ),
            ),
            BulkUploadProblem::TooManyRows => ProblemSpec::new(
                "too_many_rows",
                StatusCode::UNPROCESSABLE_ENTITY,
                (
                    "Zu viele Zeilen",
                    "Die Datei hat mehr Zeilen, als ein Upload enthalten darf. Bitte teilen Sie sie auf.",
                ),
                (
                    "Too many rows",
                    "The file has more rows than one upload may hold. Please split it.",
                ),
            ),
            BulkUploadProblem::TooManyColumns => ProblemSpec::new(
                "too_many_columns",
                StatusCode::UNPROCESSABLE_ENTITY,
                (
                    "Zu viele Spalten",
                    "Die Datei füllt Zellen jenseits der 64. Spalte. Die Vorlage hat 12 Spalten; bitte entfernen Sie die übrigen.",
                ),
                (
                    "Too many columns",
                    "The file fills cells beyond the 64th column. The template has 12 columns; please remove the others.",
                ),
            ),
        }
    }
}

impl From<BulkUploadProblem> for AppError {
    fn from(problem: BulkUploadProblem) -> Self {
        AppError::Problem(problem.spec())
    }
}
