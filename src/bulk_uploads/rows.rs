//! A staff list's row, checked by the rules of an employee's own order (holder, start
//! month with its deadline) plus the e-mail address the confirmation goes to. German
//! values are taken as well: `Herr`/`Frau`, `männlich`/`weiblich`/`divers`, dates
//! `TT.MM.JJJJ`, months `MM.JJJJ`.

use chrono::NaiveDate;

use crate::applications::types::{OrderedHolder, parse_personnel_number};
use crate::bulk_uploads::file::{Column, SheetRow};
use crate::customers::types::{Gender, SPOKEN_GENDERS, SPOKEN_SALUTATIONS, Salutation};
use crate::domain::address::country_code;
use crate::domain::month::parse_start_month;
use crate::domain::text::parse_line;
use crate::domain::{Address, BirthDate, EmailAddress, PersonName, PostalCode};
use crate::error::{FieldError, FieldErrorCode};

/// A valid row.
#[derive(Debug, Clone)]
pub struct StaffRow {
    pub row: u64,
    pub holder: OrderedHolder,
    pub email: String,
    pub start_month: NaiveDate,
    pub personnel_number: Option<String>,
}

/// One problem of a rejected row.
#[derive(Debug, Clone, PartialEq)]
pub struct RowError {
    pub row: u64,
    pub column: Column,
    pub code: FieldErrorCode,
}

/// What the row says, or every error it has.
pub fn check(
    row: &SheetRow,
    today: NaiveDate,
    order_deadline_day: u32,
) -> Result<StaffRow, Vec<RowError>> {
    let mut errors = RowErrors {
        row: row.row,
        errors: Vec::new(),
    };
    let cell = |column: Column| row.get(column).unwrap_or_default();
    let salutation = errors.take(Column::Salutation, salutation(cell(Column::Salutation)));
    let gender = errors.take(Column::Gender, gender(row.get(Column::Gender)));
    let first_name = errors.take(
        Column::FirstName,
        PersonName::parse(cell(Column::FirstName), "").map(|n| n.as_str().to_string()),
    );
    let last_name = errors.take(
        Column::LastName,
        PersonName::parse(cell(Column::LastName), "").map(|n| n.as_str().to_string()),
    );
    let birth_date = errors.take(
        Column::BirthDate,
        BirthDate::parse(cell(Column::BirthDate), today, "").map(BirthDate::date),
    );
    let street = errors.take(Column::Street, parse_line(cell(Column::Street), 100, ""));
    let city = errors.take(Column::City, parse_line(cell(Column::City), 100, ""));
    let country = errors.take(
        Column::Country,
        country_code(
            Some(row.get(Column::Country).unwrap_or("DE").to_string()),
            "",
        ),
    );
    let postal_code = errors.take(
        Column::PostalCode,
        PostalCode::parse(
            cell(Column::PostalCode),
            country.as_deref().unwrap_or("DE"),
            "",
        )
        .map(|code| code.as_str().to_string()),
    );
    let email = errors.take(
        Column::Email,
        EmailAddress::parse(cell(Column::Email), "").map(|e| e.as_str().to_string()),
    );
    let start_month = errors.take(
        Column::StartMonth,
        parse_start_month(cell(Column::StartMonth), today, order_deadline_day, ""),
    );
    let personnel_number = errors.take(
        Column::PersonnelNumber,
        parse_personnel_number(cell(Column::PersonnelNumber), ""),
    );
    let valid = (|| {
        Some(StaffRow {
            row: row.row,
            holder: OrderedHolder {
                salutation: salutation?,
                gender: gender?,
                first_name: first_name?,
                last_name: last_name?,
                birth_date: birth_date?,
                address: Address {
                    street: street?,
                    postal_code: postal_code?,
                    city: city?,
                    country: country?,
                },
                phone: None,
            },
            email: email?,
            start_month: start_month?,
            personnel_number: personnel_number?,
        })
    })();
    match valid {
        Some(row) if errors.errors.is_empty() => Ok(row),
        _ => Err(errors.errors),
    }
}

/// The errors of one row, collected column by column.
struct RowErrors {
    row: u64,
    errors: Vec<RowError>,
}

impl RowErrors {
    fn take<T>(&mut self, column: Column, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors.push(RowError {
                    row: self.row,
                    column,
                    code: error.code,
                });
                None
            }
        }
    }
}

fn salutation(raw: &str) -> Result<Salutation, FieldError> {
    if raw.trim().is_empty() {
        return Err(FieldError::new("", FieldErrorCode::Required));
    }
    Salutation::from_spoken(raw).ok_or(FieldError::new(
        "",
        FieldErrorCode::InvalidChoice {
            allowed: SPOKEN_SALUTATIONS,
        },
    ))
}

fn gender(raw: Option<&str>) -> Result<Gender, FieldError> {
    let Some(raw) = raw else {
        return Ok(Gender::Unspecified);
    };
    Gender::from_spoken(raw).ok_or(FieldError::new(
        "",
        FieldErrorCode::InvalidChoice {
            allowed: SPOKEN_GENDERS,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_values_are_taken() {
        assert_eq!(salutation("Herr").unwrap(), Salutation::Mr);
        assert_eq!(salutation(" FRAU ").unwrap(), Salutation::Ms);
        assert_eq!(gender(Some("männlich")).unwrap(), Gender::Male);
        assert_eq!(gender(Some("Weiblich")).unwrap(), Gender::Female);
        assert_eq!(gender(Some("divers")).unwrap(), Gender::Diverse);
        assert_eq!(gender(None).unwrap(), Gender::Unspecified);
        assert_eq!(
            salutation("Dr.").unwrap_err().code,
            FieldErrorCode::InvalidChoice {
                allowed: SPOKEN_SALUTATIONS
            }
        );
    }
}
