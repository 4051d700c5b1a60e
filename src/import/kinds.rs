//! The four kinds of import: how a row becomes a record (through the API's own request
//! types), how a batch finds what exists, and how it is written.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde_json::{Map, Value, json};

use crate::clock;
use crate::companies::repo::CompanyData;
use crate::companies::types::NewCompanyRequest;
use crate::contracts::repo::ContractData;
use crate::contracts::types::NewContractRequest;
use crate::customers::repo::{ConsentSource, CustomerData};
use crate::customers::types::{
    Gender, NewCustomerRequest, SPOKEN_GENDERS, SPOKEN_SALUTATIONS, Salutation,
};
use crate::db::DbConnection;
use crate::domain::fold::fold_number;
use crate::error::{AppError, FieldErrorCode, Problem};
use crate::i18n::Lang;
use crate::import::{ImportKind, ImportReport, RejectedRow, Row, savepoint};
use crate::schema::{companies, company_contracts, customers, subscriptions};
use crate::subscriptions::repo::SubscriptionData;
use crate::subscriptions::types::NewSubscriptionRequest;

const COMPANY_COLUMNS: &[&str] = &[
    "customer_number",
    "name",
    "address_street",
    "address_postal_code",
    "address_city",
    "address_country",
    "contact_name",
    "contact_email",
    "contact_phone",
];
const CONTRACT_COLUMNS: &[&str] = &[
    "contract_number",
    "company_customer_number",
    "product_offering",
    "status",
    "valid_from",
    "valid_to",
];
const CUSTOMER_COLUMNS: &[&str] = &[
    "customer_number",
    "salutation",
    "gender",
    "first_name",
    "last_name",
    "birth_date",
    "address_street",
    "address_postal_code",
    "address_city",
    "address_country",
    "recipient",
    "phone",
    "phone_work",
    "marketing_consent",
    "recorded_at",
];
const SUBSCRIPTION_COLUMNS: &[&str] = &[
    "contract_number",
    "subscription_number",
    "chip_card_number",
    "product",
    "valid_from",
    "valid_to",
    "status",
    "customer_number",
    "company_contract_number",
];

/// The columns a file of this kind may have.
pub fn columns(kind: ImportKind) -> &'static [&'static str] {
    match kind {
        ImportKind::Companies => COMPANY_COLUMNS,
        ImportKind::Contracts => CONTRACT_COLUMNS,
        ImportKind::Customers => CUSTOMER_COLUMNS,
        ImportKind::Subscriptions => SUBSCRIPTION_COLUMNS,
    }
}

/// Imports one batch of rows in the caller's transaction.
/// A batch's rows parsed into records, references resolved: what [`write`] applies.
pub enum Parsed {
    Companies(Vec<(u64, CompanyData)>),
    Contracts(Vec<(u64, ContractData)>),
    Customers(Vec<(u64, CustomerData)>),
    Subscriptions(Vec<(u64, SubscriptionData)>),
}

/// Parses a batch's rows, looking up the records they reference by natural key; rows
/// that do not parse go to the report. Reads only: an import never writes the kind of
/// record its rows reference, so this may run while the previous batch is written.
pub fn parse(
    conn: &mut DbConnection,
    kind: ImportKind,
    rows: &[Row],
    report: &mut ImportReport,
) -> Result<Parsed, AppError> {
    Ok(match kind {
        ImportKind::Companies => Parsed::Companies(parse_all(rows, report, company)),
        ImportKind::Contracts => {
            let companies = lookup(conn, rows, "company_customer_number", |conn, keys| {
                Ok(companies::table
                    .filter(companies::customer_number.eq_any(keys))
                    .select((companies::customer_number, companies::id))
                    .load(conn)?)
            })?;
            Parsed::Contracts(parse_all(rows, report, |row| contract(row, &companies)))
        }
        ImportKind::Customers => Parsed::Customers(parse_all(rows, report, customer)),
        ImportKind::Subscriptions => {
            let customers = lookup(conn, rows, "customer_number", |conn, keys| {
                Ok(customers::table
                    .filter(customers::customer_number.eq_any(keys))
                    .select((customers::customer_number, customers::id))
                    .load(conn)?)
            })?;
            let contracts = lookup(conn, rows, "company_contract_number", |conn, keys| {
                Ok(company_contracts::table
                    .filter(company_contracts::contract_number.eq_any(keys))
                    .select((company_contracts::contract_number, company_contracts::id))
                    .load(conn)?)
            })?;
            Parsed::Subscriptions(parse_all(rows, report, |row| {
                subscription(row, &customers, &contracts)
            }))
        }
    })
}

/// Writes a parsed batch (inside the caller's transaction).
pub fn write(
    conn: &mut DbConnection,
    parsed: Parsed,
    report: &mut ImportReport,
) -> Result<(), AppError> {
    match parsed {
        Parsed::Companies(records) => write_batch(conn, &Companies, records, report),
        Parsed::Contracts(records) => write_batch(conn, &Contracts, records, report),
        Parsed::Customers(records) => write_batch(conn, &Customers, records, report),
        Parsed::Subscriptions(records) => write_batch(conn, &Subscriptions, records, report),
    }
}

/// Ids by natural key of the records a batch's rows reference in `column`.
fn lookup(
    conn: &mut DbConnection,
    rows: &[Row],
    column: &str,
    load: impl FnOnce(&mut DbConnection, Vec<String>) -> Result<Vec<(String, String)>, AppError>,
) -> Result<HashMap<String, String>, AppError> {
    let keys: HashSet<String> = rows
        .iter()
        .filter_map(|row| row.get(column))
        .map(fold_number)
        .collect();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(load(conn, keys.into_iter().collect())?
        .into_iter()
        .collect())
}

/// A row turned into a record's columns, or its errors by column.
type ParsedRow<D> = Result<D, Vec<(String, String)>>;

fn parse_all<D>(
    rows: &[Row],
    report: &mut ImportReport,
    parse: impl Fn(&Row) -> ParsedRow<D>,
) -> Vec<(u64, D)> {
    let mut parsed = Vec::with_capacity(rows.len());
    for row in rows {
        match parse(row) {
            Ok(data) => parsed.push((row.line, data)),
            Err(errors) => {
                report
                    .rejected_rows
                    .extend(errors.into_iter().map(|(column, reason)| RejectedRow {
                        line: row.line,
                        column,
                        reason,
                    }))
            }
        }
    }
    parsed
}

/// The row's cells as the JSON body the API takes; empty cells are left out.
fn body(row: &Row, nested: &[&str]) -> Map<String, Value> {
    let mut body = Map::new();
    for (column, value) in &row.cells {
        if value.trim().is_empty() {
            continue;
        }
        let nested_in = nested
            .iter()
            .find(|prefix| column.starts_with(&format!("{prefix}_")));
        match nested_in {
            Some(prefix) => {
                let field = &column[prefix.len() + 1..];
                let object = body.entry(prefix.to_string()).or_insert_with(|| json!({}));
                object[field] = json!(value);
            }
            None => {
                body.insert(column.clone(), json!(value));
            }
        }
    }
    body
}

/// Field errors of the API's parsing, named by the file's columns.
fn by_column(error: AppError, columns: &[(&str, &str)]) -> Vec<(String, String)> {
    let problem: Problem = error.problem(Lang::En);
    if problem.errors.is_empty() {
        return vec![(String::new(), problem.detail)];
    }
    problem
        .errors
        .into_iter()
        .map(|field| {
            let column = columns
                .iter()
                .find(|(pointer, _)| *pointer == field.pointer)
                .map_or_else(
                    || field.pointer.trim_start_matches('/').replace('/', "_"),
                    |(_, c)| c.to_string(),
                );
            (column, field.detail)
        })
        .collect()
}

/// The API's parsing of a row together with the import's own findings (an unknown
/// reference, a value it could not read): every error of the row, each once. An API
/// error at a column the import already reported is the same problem seen again.
fn with_own_errors<D>(
    parsed: Result<D, AppError>,
    columns: &[(&str, &str)],
    own: Vec<(String, String)>,
) -> ParsedRow<D> {
    match parsed {
        Ok(data) if own.is_empty() => Ok(data),
        Ok(_) => Err(own),
        Err(error) => {
            let mut all = by_column(error, columns);
            all.retain(|(column, _)| !own.iter().any(|(c, _)| c == column));
            all.extend(own);
            Err(all)
        }
    }
}

fn request<T: serde::de::DeserializeOwned>(
    body: Map<String, Value>,
) -> Result<T, Vec<(String, String)>> {
    serde_json::from_value(Value::Object(body)).map_err(|e| vec![(String::new(), e.to_string())])
}

fn company(row: &Row) -> ParsedRow<CompanyData> {
    let request: NewCompanyRequest = request(body(row, &["address", "contact"]))?;
    request.parse(clock::now()).map_err(|e| by_column(e, &[]))
}

fn contract(row: &Row, companies: &HashMap<String, String>) -> ParsedRow<ContractData> {
    let mut body = body(row, &[]);
    let company = body.remove("company_customer_number");
    let company_id = company.as_ref().and_then(Value::as_str).map(fold_number);
    let known = company_id.as_ref().and_then(|number| companies.get(number));
    body.insert(
        "company_id".into(),
        json!(known.cloned().unwrap_or_default()),
    );
    let columns = [("/company_id", "company_customer_number")];
    let mut errors = Vec::new();
    if company.is_some() && known.is_none() {
        errors.push((
            "company_customer_number".to_string(),
            "No company has this customer number.".to_string(),
        ));
    }
    let request: NewContractRequest = request(body)?;
    with_own_errors(request.parse(clock::now()), &columns, errors)
}

fn customer(row: &Row) -> ParsedRow<CustomerData> {
    let mut body = body(row, &["address"]);
    // Values the API takes only in its own spelling are read as people write them;
    // one that is not understood is reported beside the row's other errors, and a
    // stand-in keeps the API's parsing from reporting it a second time.
    let mut errors = Vec::new();
    let mut spoken =
        |field: &str, read: &dyn Fn(&str) -> Option<Value>, allowed, stand_in: Value| {
            let Some(raw) = body.get(field).and_then(Value::as_str).map(str::to_string) else {
                return;
            };
            let value = read(&raw).unwrap_or_else(|| {
                let code = FieldErrorCode::InvalidChoice { allowed };
                errors.push((field.to_string(), code.detail(Lang::En)));
                stand_in
            });
            body.insert(field.to_string(), value);
        };
    spoken(
        "salutation",
        &|raw| Salutation::from_spoken(raw).map(|s| json!(s.as_ref())),
        SPOKEN_SALUTATIONS,
        json!("none"),
    );
    spoken(
        "gender",
        &|raw| Gender::from_spoken(raw).map(|g| json!(g.as_ref())),
        SPOKEN_GENDERS,
        json!("unspecified"),
    );
    spoken(
        "marketing_consent",
        &|raw| yes_or_no(raw).map(Value::Bool),
        &["true", "false", "ja", "nein", "yes", "no", "1", "0"],
        json!(false),
    );
    let request: NewCustomerRequest = request(body)?;
    with_own_errors(
        request.parse(clock::berlin_date_of(clock::now()), clock::now()),
        &[],
        errors,
    )
}

/// `true`/`false` as a file may write them (`ja`/`nein`, `yes`/`no`, `1`/`0`).
fn yes_or_no(raw: &str) -> Option<bool> {
    match raw.trim().to_lowercase().as_str() {
        "true" | "1" | "ja" | "yes" | "j" | "y" => Some(true),
        "false" | "0" | "nein" | "no" | "n" => Some(false),
        _ => None,
    }
}

fn subscription(
    row: &Row,
    customers: &HashMap<String, String>,
    contracts: &HashMap<String, String>,
) -> ParsedRow<SubscriptionData> {
    let mut body = body(row, &[]);
    let mut errors = Vec::new();
    let customer = body
        .remove("customer_number")
        .and_then(|v| v.as_str().map(fold_number));
    match customer.as_ref().map(|number| customers.get(number)) {
        Some(Some(id)) => {
            body.insert("customer_id".into(), json!(id));
        }
        Some(None) => errors.push((
            "customer_number".to_string(),
            "No customer has this customer number.".to_string(),
        )),
        None => {}
    }
    let contract = body
        .remove("company_contract_number")
        .and_then(|v| v.as_str().map(fold_number));
    match contract.as_ref().map(|number| contracts.get(number)) {
        Some(Some(id)) => {
            body.insert("company_contract_id".into(), json!(id));
        }
        Some(None) => errors.push((
            "company_contract_number".to_string(),
            "No company contract has this contract number.".to_string(),
        )),
        None => {}
    }
    let columns = [
        ("/customer_id", "customer_number"),
        ("/company_contract_id", "company_contract_number"),
    ];
    let request: NewSubscriptionRequest = request(body)?;
    with_own_errors(request.parse(clock::now()), &columns, errors)
}

/// How one kind of record is found and written.
trait Records {
    type Data: Clone;
    /// The natural key the upsert goes by.
    fn key(data: &Self::Data) -> &str;
    /// Whether two versions hold the same data (apart from the time of the change).
    fn same(a: &Self::Data, b: &Self::Data) -> bool;
    /// The ids and data of the records holding these keys.
    fn existing(
        &self,
        conn: &mut DbConnection,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Self::Data)>, AppError>;
    fn insert_many(
        &self,
        conn: &mut DbConnection,
        rows: &[(String, &Self::Data)],
    ) -> Result<(), AppError>;
    fn update(
        &self,
        conn: &mut DbConnection,
        id: &str,
        old: &Self::Data,
        new: &Self::Data,
    ) -> Result<(), AppError>;
}

/// Writes one batch: new keys in one multi-row insert, changed records one by one,
/// unchanged ones not at all. A refused insert falls back to one row at a time.
fn write_batch<R: Records>(
    conn: &mut DbConnection,
    records: &R,
    parsed: Vec<(u64, R::Data)>,
    report: &mut ImportReport,
) -> Result<(), AppError> {
    let keys: Vec<String> = parsed
        .iter()
        .map(|(_, data)| R::key(data).to_string())
        .collect();
    let existing: HashMap<String, (String, R::Data)> = records
        .existing(conn, keys)?
        .into_iter()
        .map(|(id, data)| (R::key(&data).to_string(), (id, data)))
        .collect();
    let mut new = Vec::new();
    let mut one_by_one = Vec::new();
    let mut seen = HashSet::new();
    for (line, data) in parsed {
        let key = R::key(&data).to_string();
        if !seen.insert(key.clone()) {
            // The same key twice in a batch: the later row goes after the others.
            one_by_one.push((line, data));
            continue;
        }
        match existing.get(&key) {
            None => new.push((line, uuid::Uuid::now_v7().to_string(), data)),
            Some((_, old)) if R::same(old, &data) => report.unchanged += 1,
            Some((id, old)) => match savepoint(conn, |conn| records.update(conn, id, old, &data)) {
                Ok(()) => report.updated += 1,
                Err(error) => reject(report, line, error)?,
            },
        }
    }
    let inserts: Vec<(String, &R::Data)> =
        new.iter().map(|(_, id, data)| (id.clone(), data)).collect();
    if !inserts.is_empty() {
        match savepoint(conn, |conn| records.insert_many(conn, &inserts)) {
            Ok(()) => report.created += new.len(),
            Err(error) if error.violated_unique_column().is_some() => {
                one_by_one.extend(new.into_iter().map(|(line, _, data)| (line, data)));
            }
            Err(error) => return Err(error),
        }
    }
    for (line, data) in one_by_one {
        let outcome = savepoint(conn, |conn| {
            let found = records.existing(conn, vec![R::key(&data).to_string()])?;
            match found.into_iter().next() {
                None => {
                    records.insert_many(conn, &[(uuid::Uuid::now_v7().to_string(), &data)])?;
                    Ok(Applied::Created)
                }
                Some((_, old)) if R::same(&old, &data) => Ok(Applied::Unchanged),
                Some((id, old)) => records
                    .update(conn, &id, &old, &data)
                    .map(|()| Applied::Updated),
            }
        });
        match outcome {
            Ok(Applied::Created) => report.created += 1,
            Ok(Applied::Updated) => report.updated += 1,
            Ok(Applied::Unchanged) => report.unchanged += 1,
            Err(error) => reject(report, line, error)?,
        }
    }
    Ok(())
}

enum Applied {
    Created,
    Updated,
    Unchanged,
}

/// A row the database refused (a number another record holds) is reported; any other
/// failure ends the import.
fn reject(report: &mut ImportReport, line: u64, error: AppError) -> Result<(), AppError> {
    match error.violated_unique_column() {
        Some(column) => {
            report.rejected_rows.push(RejectedRow {
                line,
                column,
                reason: "Another record already has this value.".into(),
            });
            Ok(())
        }
        None => Err(error),
    }
}

struct Companies;
struct Contracts;
struct Customers;
struct Subscriptions;

impl Records for Companies {
    type Data = CompanyData;
    fn key(data: &CompanyData) -> &str {
        &data.customer_number
    }
    fn same(a: &CompanyData, b: &CompanyData) -> bool {
        CompanyData {
            updated_at: b.updated_at,
            ..a.clone()
        } == *b
    }
    fn existing(
        &self,
        conn: &mut DbConnection,
        keys: Vec<String>,
    ) -> Result<Vec<(String, CompanyData)>, AppError> {
        Ok(companies::table
            .filter(companies::customer_number.eq_any(keys))
            .select((companies::id, CompanyData::as_select()))
            .load(conn)?)
    }
    fn insert_many(
        &self,
        conn: &mut DbConnection,
        rows: &[(String, &CompanyData)],
    ) -> Result<(), AppError> {
        let values: Vec<_> = rows
            .iter()
            .map(|(id, data)| {
                (
                    companies::id.eq(id),
                    companies::created_at.eq(data.updated_at),
                    *data,
                )
            })
            .collect();
        match conn {
            // One multi-row statement for the server; SQLite runs in-process and
            // takes the rows one by one.
            DbConnection::Postgres(pg) => {
                diesel::insert_into(companies::table)
                    .values(values)
                    .execute(pg)?;
            }
            DbConnection::Sqlite(sqlite) => {
                for value in values {
                    diesel::insert_into(companies::table)
                        .values(value)
                        .execute(sqlite)?;
                }
            }
        }
        Ok(())
    }
    fn update(
        &self,
        conn: &mut DbConnection,
        id: &str,
        _: &CompanyData,
        new: &CompanyData,
    ) -> Result<(), AppError> {
        crate::companies::repo::update(conn, id, new)
    }
}

impl Records for Contracts {
    type Data = ContractData;
    fn key(data: &ContractData) -> &str {
        &data.contract_number
    }
    fn same(a: &ContractData, b: &ContractData) -> bool {
        ContractData {
            updated_at: b.updated_at,
            ..a.clone()
        } == *b
    }
    fn existing(
        &self,
        conn: &mut DbConnection,
        keys: Vec<String>,
    ) -> Result<Vec<(String, ContractData)>, AppError> {
        Ok(company_contracts::table
            .filter(company_contracts::contract_number.eq_any(keys))
            .select((company_contracts::id, ContractData::as_select()))
            .load(conn)?)
    }
    fn insert_many(
        &self,
        conn: &mut DbConnection,
        rows: &[(String, &ContractData)],
    ) -> Result<(), AppError> {
        let values: Vec<_> = rows
            .iter()
            .map(|(id, data)| {
                (
                    company_contracts::id.eq(id),
                    company_contracts::created_at.eq(data.updated_at),
                    *data,
                )
            })
            .collect();
        match conn {
            // One multi-row statement for the server; SQLite runs in-process and
            // takes the rows one by one.
            DbConnection::Postgres(pg) => {
                diesel::insert_into(company_contracts::table)
                    .values(values)
                    .execute(pg)?;
            }
            DbConnection::Sqlite(sqlite) => {
                for value in values {
                    diesel::insert_into(company_contracts::table)
                        .values(value)
                        .execute(sqlite)?;
                }
            }
        }
        let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
        crate::contract_columns::refresh(
            conn,
            crate::contract_columns::ContractScope::Contracts(&ids),
        )
    }
    fn update(
        &self,
        conn: &mut DbConnection,
        id: &str,
        _: &ContractData,
        new: &ContractData,
    ) -> Result<(), AppError> {
        crate::contracts::repo::update(conn, id, new)
    }
}

impl Records for Customers {
    type Data = CustomerData;
    fn key(data: &CustomerData) -> &str {
        &data.customer_number
    }
    fn same(a: &CustomerData, b: &CustomerData) -> bool {
        CustomerData {
            updated_at: b.updated_at,
            ..a.clone()
        } == *b
    }
    fn existing(
        &self,
        conn: &mut DbConnection,
        keys: Vec<String>,
    ) -> Result<Vec<(String, CustomerData)>, AppError> {
        Ok(customers::table
            .filter(customers::customer_number.eq_any(keys))
            .select((customers::id, CustomerData::as_select()))
            .load(conn)?)
    }
    fn insert_many(
        &self,
        conn: &mut DbConnection,
        rows: &[(String, &CustomerData)],
    ) -> Result<(), AppError> {
        crate::customers::repo::insert_many(conn, rows, ConsentSource::Import)
    }
    fn update(
        &self,
        conn: &mut DbConnection,
        id: &str,
        old: &CustomerData,
        new: &CustomerData,
    ) -> Result<(), AppError> {
        crate::customers::repo::update(conn, id, old, new, ConsentSource::Import)
    }
}

impl Records for Subscriptions {
    type Data = SubscriptionData;
    fn key(data: &SubscriptionData) -> &str {
        &data.contract_number
    }
    fn same(a: &SubscriptionData, b: &SubscriptionData) -> bool {
        SubscriptionData {
            updated_at: b.updated_at,
            ..a.clone()
        } == *b
    }
    fn existing(
        &self,
        conn: &mut DbConnection,
        keys: Vec<String>,
    ) -> Result<Vec<(String, SubscriptionData)>, AppError> {
        Ok(subscriptions::table
            .filter(subscriptions::contract_number.eq_any(keys))
            .select((subscriptions::id, SubscriptionData::as_select()))
            .load(conn)?)
    }
    fn insert_many(
        &self,
        conn: &mut DbConnection,
        rows: &[(String, &SubscriptionData)],
    ) -> Result<(), AppError> {
        let rows: Vec<_> = rows
            .iter()
            .map(|(id, data)| crate::subscriptions::repo::NewSubscription {
                id,
                data,
                personnel_number: None,
                bulk_upload_id: None,
            })
            .collect();
        crate::subscriptions::repo::insert_many(conn, &rows)?;
        // Tickets the operator loads under a company contract tell its HR system too.
        let ids: Vec<String> = rows.iter().map(|row| row.id.to_string()).collect();
        crate::webhooks::events::tickets_created(
            conn,
            &ids,
            crate::webhooks::events::TicketSource::Operator,
            crate::webhooks::events::Origin {
                now: crate::clock::now(),
                traceparent: None,
            },
        )
    }
    fn update(
        &self,
        conn: &mut DbConnection,
        id: &str,
        _: &SubscriptionData,
        new: &SubscriptionData,
    ) -> Result<(), AppError> {
        crate::subscriptions::repo::update(conn, id, new)
    }
}
