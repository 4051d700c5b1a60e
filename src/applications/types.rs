//! Request and response bodies of applications (Anträge), and their parsing.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use strum::{AsRefStr, EnumString};
use utoipa::{IntoParams, ToSchema};

use crate::applications::repo::{
    ApplicationRow, ApplicationSummaryRow, ContractOfApplication, DeciderName,
};
use crate::contracts::types::SortOrder;
use crate::customers::types::{Gender, Salutation};
use crate::domain::choice::parse_choice;
use crate::domain::month::{format_month, parse_start_month};
use crate::domain::text::parse_line;
use crate::domain::{Address, AddressInput, BirthDate, PersonName, PhoneNumber, RecordNumber};
use crate::error::{AppError, FieldError, FieldErrorCode, FieldErrors};
use crate::http::{PageQuery, Paging};

/// Where an application stands: `pending` until the employer decides (`approved` or
/// `rejected`) or the employee withdraws it (`withdrawn`).
#[derive(
    strum::VariantNames,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    ToSchema,
    EnumString,
    AsRefStr,
    strum::EnumIter,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schema(example = "pending")]
pub enum ApplicationStatus {
    Pending,
    Approved,
    Rejected,
    Withdrawn,
}

/// The future holder of the ticket, as the employee gives it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "salutation": "mr", "gender": "male", "first_name": "Max", "last_name": "Musterjobber",
    "birth_date": "2000-10-05",
    "address": {"street": "Artilleriestr. 39", "postal_code": "34117", "city": "Kassel", "country": "DE"},
    "phone": null
}))]
pub struct HolderInput {
    /// Salutation ("Anrede").
    #[schema(value_type = Salutation, required = true)]
    pub salutation: Option<String>,
    /// Gender ("Geschlecht").
    #[schema(value_type = Gender, required = true)]
    pub gender: Option<String>,
    /// First name: 1 to 100 letters, spaces and `'-.`.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$", example = "Max")]
    pub first_name: Option<String>,
    /// Last name, the same rules.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 100, pattern = r"^[ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*[A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF][ '.A-Za-z\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u0386\u0388-\u03CE\u0400-\u0481\u048A-\u04FF\u1E00-\u1EFF\u0300-\u036F-]*$", example = "Musterjobber")]
    pub last_name: Option<String>,
    /// Birth date, `YYYY-MM-DD` or `TT.MM.JJJJ`, from 1900 to today.
    #[schema(value_type = String, required = true, pattern = r"^ *([0-9]{4}-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}) *$", example = "2000-10-05")]
    pub birth_date: Option<String>,
    /// Postal address; every field required (five-digit postal code in Germany).
    #[schema(value_type = AddressInput, required = true)]
    pub address: Option<AddressInput>,
    /// Telephone: E.164 or German national format, stored as E.164; `null` for none.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = r"^\+?[0-9 ()/.-]{6,30}$", example = json!(null))]
    pub phone: Option<String>,
}

/// An order of a job ticket with the customer code the employer handed out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "customer_code": "K7QM-3XHD-9PTA",
    "start_month": "2027-01",
    "holder": {
        "salutation": "mr", "gender": "male", "first_name": "Max", "last_name": "Musterjobber",
        "birth_date": "2000-10-05",
        "address": {"street": "Artilleriestr. 39", "postal_code": "34117", "city": "Kassel", "country": "DE"},
        "phone": null
    },
    "personnel_number": "P-1234",
    "marketing_consent": false
}))]
pub struct NewApplicationRequest {
    /// The customer code ("Kundencode"); case, spaces and dashes do not matter.
    #[schema(value_type = String, required = true, max_length = 64, example = "K7QM-3XHD-9PTA")]
    pub customer_code: Option<String>,
    /// First month of the ticket, `YYYY-MM`. Ordered on or before the deadline day
    /// (`ORDER_DEADLINE_DAY`, default the 10th, Europe/Berlin) it can start next month,
    /// later the month after (`month_too_early`); at most 12 months after the current
    /// one (`too_far_ahead`).
    #[schema(value_type = String, required = true, pattern = r"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])$", example = "2027-01")]
    pub start_month: Option<String>,
    /// The future holder.
    #[schema(value_type = HolderInput, required = true)]
    pub holder: Option<HolderInput>,
    /// The employer's personnel number ("Personalnummer"), 1 to 40 letters, digits and
    /// `-./` (spaces dropped, letters upper-cased), or `null`.
    #[serde(default)]
    #[schema(value_type = Option<String>, max_length = 40, pattern = r"^[ 0-9A-Za-z./-]*[0-9A-Za-z][ 0-9A-Za-z./-]*$", example = "P-1234")]
    pub personnel_number: Option<String>,
    /// Marketing consent ("Werbe-Einwilligung"); recorded in the consent history with
    /// source `application` when the order is approved.
    #[schema(value_type = bool, required = true, example = false)]
    pub marketing_consent: Option<bool>,
}

/// The holder of an order, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderedHolder {
    pub salutation: Salutation,
    pub gender: Gender,
    pub first_name: String,
    pub last_name: String,
    pub birth_date: NaiveDate,
    pub address: Address,
    pub phone: Option<String>,
}

/// An order, checked: everything but the customer code, which is checked against the
/// database.
#[derive(Debug, Clone)]
pub struct CheckedOrder {
    pub customer_code: String,
    pub start_month: NaiveDate,
    pub holder: OrderedHolder,
    pub personnel_number: Option<String>,
    pub marketing_consent: bool,
}

/// A personnel number in its canonical spelling; blank is none.
pub fn parse_personnel_number(raw: &str, pointer: &str) -> Result<Option<String>, FieldError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    RecordNumber::parse(raw, pointer).map(|number| Some(number.into_string()))
}

impl NewApplicationRequest {
    /// The order, or every field error at once (the holder's under `/holder`).
    pub fn parse(
        self,
        today: NaiveDate,
        order_deadline_day: u32,
    ) -> Result<CheckedOrder, AppError> {
        let mut errors = FieldErrors::default();
        let customer_code = match crate::customer_codes::redeem::parse_typed(
            self.customer_code,
            "/customer_code",
        ) {
            Ok(code) => Some(code),
            Err(AppError::Validation(fields)) => {
                fields.into_iter().for_each(|f| errors.push(f));
                None
            }
            Err(other) => return Err(other),
        };
        let start_month = errors.take(parse_start_month(
            self.start_month.as_deref().unwrap_or_default(),
            today,
            order_deadline_day,
            "/start_month",
        ));
        let holder = match self.holder {
            Some(holder) => holder.parse(today, &mut errors, "/holder"),
            None => {
                errors.push(FieldError::new("/holder", FieldErrorCode::Required));
                None
            }
        };
        let personnel_number = errors.take(parse_personnel_number(
            self.personnel_number.as_deref().unwrap_or_default(),
            "/personnel_number",
        ));
        let marketing_consent = errors.require(self.marketing_consent, "/marketing_consent");
        errors.into_result()?;
        match (
            customer_code,
            start_month,
            holder,
            personnel_number,
            marketing_consent,
        ) {
            (
                Some(customer_code),
                Some(start_month),
                Some(holder),
                Some(personnel_number),
                Some(marketing_consent),
            ) => Ok(CheckedOrder {
                customer_code,
                start_month,
                holder,
                personnel_number,
                marketing_consent,
            }),
            _ => Err(AppError::Internal(
                "order fields parsed without errors are complete".into(),
            )),
        }
    }
}

impl HolderInput {
    /// The holder, or field errors under `pointer`.
    pub fn parse(
        self,
        today: NaiveDate,
        errors: &mut FieldErrors,
        pointer: &str,
    ) -> Option<OrderedHolder> {
        let at = |field: &str| format!("{pointer}/{field}");
        let salutation = errors.take(parse_choice::<Salutation>(
            self.salutation.as_deref(),
            &at("salutation"),
        ));
        let gender = errors.take(parse_choice::<Gender>(
            self.gender.as_deref(),
            &at("gender"),
        ));
        let first_name = errors.take(
            PersonName::parse(
                self.first_name.as_deref().unwrap_or_default(),
                &at("first_name"),
            )
            .map(|name| name.as_str().to_string()),
        );
        let last_name = errors.take(
            PersonName::parse(
                self.last_name.as_deref().unwrap_or_default(),
                &at("last_name"),
            )
            .map(|name| name.as_str().to_string()),
        );
        let birth_date = errors.take(
            BirthDate::parse(
                self.birth_date.as_deref().unwrap_or_default(),
                today,
                &at("birth_date"),
            )
            .map(BirthDate::date),
        );
        let address = match self.address {
            Some(address) => address.parse(errors, &at("address")),
            None => {
                errors.push(FieldError::new(at("address"), FieldErrorCode::Required));
                None
            }
        };
        let phone = match self.phone {
            None => Some(None),
            Some(raw) => {
                errors.take(PhoneNumber::parse(&raw, &at("phone")).map(|p| Some(p.into_string())))
            }
        };
        Some(OrderedHolder {
            salutation: salutation?,
            gender: gender?,
            first_name: first_name?,
            last_name: last_name?,
            birth_date: birth_date?,
            address: address?,
            phone: phone?,
        })
    }
}

/// The contract an application is for.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c", "contract_number": "FV-2024-0815", "company_name": "Musterfirma GmbH", "product_offering": "Deutschlandticket Job"}))]
pub struct ApplicationContract {
    /// Contract id.
    #[schema(example = "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c")]
    pub id: String,
    /// The company contract's number.
    #[schema(example = "FV-2024-0815")]
    pub contract_number: String,
    /// The employer.
    #[schema(example = "Musterfirma GmbH")]
    pub company_name: String,
    /// The product the contract offers.
    #[schema(example = "Deutschlandticket Job")]
    pub product_offering: String,
}

/// The holder of an application, as the employee gave it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "salutation": "mr", "gender": "male", "first_name": "Max", "last_name": "Musterjobber",
    "birth_date": "2000-10-05",
    "address": {"street": "Artilleriestr. 39", "postal_code": "34117", "city": "Kassel", "country": "DE"},
    "phone": null
}))]
pub struct ApplicationHolder {
    /// Salutation.
    pub salutation: Salutation,
    /// Gender.
    pub gender: Gender,
    /// First name.
    #[schema(example = "Max")]
    pub first_name: String,
    /// Last name.
    #[schema(example = "Musterjobber")]
    pub last_name: String,
    /// Birth date.
    #[schema(example = "2000-10-05")]
    pub birth_date: NaiveDate,
    /// Postal address.
    pub address: Address,
    /// Telephone number in E.164, or `null`.
    #[schema(example = json!(null))]
    pub phone: Option<String>,
}

/// Who decided an application.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "0b9f3c1e-5d2a-4c8e-9f7b-1a2b3c4d5e6f", "first_name": "Erika", "last_name": "Personal"}))]
pub struct Decider {
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

/// An application as the employee who made it sees it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3b0-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
    "status": "pending",
    "contract": {"id": "0190f3a4-8c2d-7e3f-8a01-4d5e6f7a8b9c", "contract_number": "FV-2024-0815", "company_name": "Musterfirma GmbH", "product_offering": "Deutschlandticket Job"},
    "start_month": "2027-01",
    "holder": {
        "salutation": "mr", "gender": "male", "first_name": "Max", "last_name": "Musterjobber",
        "birth_date": "2000-10-05",
        "address": {"street": "Artilleriestr. 39", "postal_code": "34117", "city": "Kassel", "country": "DE"},
        "phone": null
    },
    "personnel_number": "P-1234",
    "marketing_consent": false,
    "created_at": "2026-11-27T09:00:00Z",
    "decided_at": null,
    "decided_by": null,
    "rejection_reason": null,
    "subscription_id": null
}))]
pub struct Application {
    /// Opaque id of the application.
    #[schema(example = "0190f3b0-1a2b-7c3d-8e4f-5a6b7c8d9e0f")]
    pub id: String,
    /// Where it stands.
    pub status: ApplicationStatus,
    /// The contract the ticket is ordered under.
    pub contract: ApplicationContract,
    /// First month of the ticket, `YYYY-MM`.
    #[schema(example = "2027-01")]
    pub start_month: String,
    /// The future holder; `null` once the holder data is erased (after
    /// `APPLICATION_RETENTION_DAYS` of a rejected or withdrawn order, or with the account).
    pub holder: Option<ApplicationHolder>,
    /// The employer's personnel number, or `null` (also once erased).
    #[schema(example = "P-1234")]
    pub personnel_number: Option<String>,
    /// Marketing consent given with the order.
    #[schema(example = false)]
    pub marketing_consent: bool,
    /// When it was made.
    #[schema(example = "2026-11-27T09:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When it was approved, rejected or withdrawn; `null` while pending.
    #[schema(example = json!(null))]
    pub decided_at: Option<DateTime<Utc>>,
    /// Who approved or rejected it; `null` while pending, when withdrawn, or when that
    /// account no longer exists.
    #[schema(example = json!(null))]
    pub decided_by: Option<Decider>,
    /// Why it was rejected; `null` otherwise.
    #[schema(example = json!(null))]
    pub rejection_reason: Option<String>,
    /// The ticket an approval created (it shows in the Aboverwaltung); `null` otherwise.
    #[schema(example = json!(null))]
    pub subscription_id: Option<String>,
}

/// An application as the employer sees it: enough to decide, and no birth date,
/// address or phone.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f3b0-1a2b-7c3d-8e4f-5a6b7c8d9e0f",
    "status": "approved",
    "first_name": "Max",
    "last_name": "Musterjobber",
    "personnel_number": "P-1234",
    "start_month": "2027-01",
    "created_at": "2026-11-27T09:00:00Z",
    "decided_at": "2026-11-27T10:30:00Z",
    "decided_by": {"id": "0b9f3c1e-5d2a-4c8e-9f7b-1a2b3c4d5e6f", "first_name": "Erika", "last_name": "Personal"},
    "rejection_reason": null,
    "subscription_id": "0190f3b1-4c5d-7e6f-8a9b-0c1d2e3f4a5b"
}))]
pub struct ApplicationListItem {
    /// Opaque id of the application.
    #[schema(example = "0190f3b0-1a2b-7c3d-8e4f-5a6b7c8d9e0f")]
    pub id: String,
    /// Where it stands.
    pub status: ApplicationStatus,
    /// The applicant's first name; `null` once the holder data is erased.
    #[schema(example = "Max")]
    pub first_name: Option<String>,
    /// The applicant's last name.
    #[schema(example = "Musterjobber")]
    pub last_name: Option<String>,
    /// The personnel number the applicant gave, or `null` (also once erased).
    #[schema(example = "P-1234")]
    pub personnel_number: Option<String>,
    /// First month of the ticket, `YYYY-MM`.
    #[schema(example = "2027-01")]
    pub start_month: String,
    /// When it was made.
    #[schema(example = "2026-11-27T09:00:00Z")]
    pub created_at: DateTime<Utc>,
    /// When it was approved, rejected or withdrawn; `null` while pending.
    #[schema(example = "2026-11-27T10:30:00Z")]
    pub decided_at: Option<DateTime<Utc>>,
    /// Who approved or rejected it; `null` while pending, when withdrawn, or when that
    /// account no longer exists.
    pub decided_by: Option<Decider>,
    /// Why it was rejected; `null` otherwise.
    #[schema(example = json!(null))]
    pub rejection_reason: Option<String>,
    /// The ticket an approval created; `null` otherwise.
    #[schema(example = "0190f3b1-4c5d-7e6f-8a9b-0c1d2e3f4a5b")]
    pub subscription_id: Option<String>,
}

/// A rejection.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "Beschäftigung endet vor dem Startmonat."}))]
pub struct RejectRequest {
    /// Why, for the applicant (1 to 500 characters); it is e-mailed to them.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 500, pattern = r"^[^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*[^\s\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF][^\u0000-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u206F\uFEFF]*$", example = "Beschäftigung endet vor dem Startmonat.")]
    pub reason: Option<String>,
}

impl RejectRequest {
    pub fn parse(self) -> Result<String, AppError> {
        Ok(parse_line(
            self.reason.as_deref().unwrap_or_default(),
            500,
            "/reason",
        )?)
    }
}

/// Column the employer's application list sorts by.
#[derive(
    strum::VariantNames,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Deserialize,
    ToSchema,
    EnumString,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
#[schema(example = "created_at")]
pub enum ApplicationSort {
    #[default]
    CreatedAt,
    LastName,
    StartMonth,
}

/// Filters, search and sorting of a contract's applications.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApplicationListQuery {
    /// Only applications in this state.
    #[param(value_type = Option<ApplicationStatus>, inline, example = "pending")]
    pub status: Option<String>,
    /// Free text: a case- and umlaut-tolerant substring of the first or last name or
    /// the personnel number. Its matches are counted up to `SEARCH_COUNT_LIMIT` (see
    /// `total_relation`).
    #[param(example = "muller")]
    pub q: Option<String>,
    /// Column to sort by (default `created_at`); ties are broken by id.
    #[param(value_type = Option<ApplicationSort>, inline, example = "created_at")]
    pub sort: Option<String>,
    /// Sort direction (default `desc` for `created_at`, newest first; `asc` otherwise).
    #[param(value_type = Option<SortOrder>, inline, example = "desc")]
    pub order: Option<String>,
    #[serde(flatten)]
    #[param(ignore)]
    pub page: PageQuery,
}

/// The checked parameters of a contract's application list.
#[derive(Debug, Clone)]
pub struct ApplicationFilter {
    pub status: Option<ApplicationStatus>,
    pub q: Option<String>,
    pub sort: ApplicationSort,
    pub order: SortOrder,
}

impl ApplicationListQuery {
    /// The filter and paging, or every invalid parameter at once.
    pub fn parse(self) -> Result<(ApplicationFilter, Paging), AppError> {
        let mut errors = FieldErrors::default();
        let paging = match self.page.paging() {
            Ok(paging) => Some(paging),
            Err(AppError::Validation(fields)) => {
                fields.into_iter().for_each(|f| errors.push(f));
                None
            }
            Err(other) => return Err(other),
        };
        let status =
            optional_choice::<ApplicationStatus>(self.status.as_deref(), "/status", &mut errors);
        let sort = optional_choice::<ApplicationSort>(self.sort.as_deref(), "/sort", &mut errors);
        let order = optional_choice::<SortOrder>(self.order.as_deref(), "/order", &mut errors);
        errors.into_result()?;
        let sort = sort.unwrap_or_default();
        let order = order.unwrap_or(match sort {
            ApplicationSort::CreatedAt => SortOrder::Desc,
            _ => SortOrder::Asc,
        });
        Ok((
            ApplicationFilter {
                status,
                q: self.q.filter(|q| !q.trim().is_empty()),
                sort,
                order,
            },
            paging.ok_or_else(|| AppError::Internal("paging parsed without errors".into()))?,
        ))
    }
}

/// An absent parameter is `None`; a given one, even empty, must be one of the values
/// (`invalid_choice`).
fn optional_choice<E: std::str::FromStr + strum::VariantNames>(
    raw: Option<&str>,
    pointer: &str,
    errors: &mut FieldErrors,
) -> Option<E> {
    errors.take(crate::domain::choice::parse_given(raw?, pointer))
}

fn stored<E: std::str::FromStr>(value: &str, what: &str) -> Result<E, AppError> {
    value
        .parse()
        .map_err(|_| AppError::Internal(format!("stored {what} {value:?}")))
}

fn decider(decided_by: Option<String>, name: Option<DeciderName>) -> Option<Decider> {
    decided_by
        .zip(name)
        .map(|(id, (first_name, last_name))| Decider {
            id,
            first_name,
            last_name,
        })
}

/// The holder an order carries; `None` once erased.
fn holder(row: &ApplicationRow) -> Result<Option<ApplicationHolder>, AppError> {
    let Some(fields) = row.holder_fields() else {
        return Ok(None);
    };
    Ok(Some(ApplicationHolder {
        salutation: stored(fields.salutation, "salutation")?,
        gender: stored(fields.gender, "gender")?,
        address: fields.address,
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        birth_date: fields.birth_date,
        phone: row.phone.clone(),
    }))
}

impl Application {
    pub fn new(
        row: ApplicationRow,
        contract: ContractOfApplication,
        decided_by: Option<DeciderName>,
    ) -> Result<Self, AppError> {
        Ok(Application {
            decided_by: decider(row.decided_by.clone(), decided_by),
            status: stored(&row.status, "application status")?,
            contract: ApplicationContract {
                id: row.contract_id.clone(),
                contract_number: contract.contract_number,
                company_name: contract.company_name,
                product_offering: contract.product_offering,
            },
            start_month: format_month(row.start_month),
            holder: holder(&row)?,
            id: row.id,
            personnel_number: row.personnel_number,
            marketing_consent: row.marketing_consent,
            created_at: row.created_at.and_utc(),
            decided_at: row.decided_at.map(|at| at.and_utc()),
            rejection_reason: row.rejection_reason,
            subscription_id: row.subscription_id,
        })
    }
}

impl ApplicationListItem {
    pub fn new(
        row: ApplicationSummaryRow,
        decided_by: Option<DeciderName>,
    ) -> Result<Self, AppError> {
        Ok(ApplicationListItem {
            decided_by: decider(row.decided_by, decided_by),
            status: stored(&row.status, "application status")?,
            start_month: format_month(row.start_month),
            id: row.id,
            // Empty once erased; an approved order's names stay with its ticket.
            first_name: Some(row.first_name).filter(|name| !name.is_empty()),
            last_name: Some(row.last_name).filter(|name| !name.is_empty()),
            personnel_number: row.personnel_number,
            created_at: row.created_at.and_utc(),
            decided_at: row.decided_at.map(|at| at.and_utc()),
            rejection_reason: row.rejection_reason,
            subscription_id: row.subscription_id,
        })
    }
}
