//! Applying a staff list's valid rows: each becomes an approved order as an approval
//! makes one (a customer record and an active ticket under the contract with a new
//! contract number), not linked to an account. A list never reuses a customer record:
//! name, birth date and postal code are no secret, and the ticket's number is e-mailed
//! to the list's address, so a record from outside the contract would hand its data to
//! whoever wrote the list. A row whose employee already holds a current ticket under the contract (by
//! personnel number, or by name and birth date when the row has none) is `unchanged`,
//! so uploading a file twice creates nothing the second time. The rows are written in
//! sets (one query per lookup, `COPY` on PostgreSQL), not one order at a time.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::applications::order::{
    self, CONTRACT_NUMBERS, CUSTOMER_NUMBERS, NumberKind, Order, new_customer, new_ticket,
};
use crate::bulk_uploads::mails;
use crate::bulk_uploads::rows::StaffRow;
use crate::contracts::repo::ContractRow;
use crate::customers::repo::{self as customers_repo, ConsentSource, CustomerData};
use crate::db::DbConnection;
use crate::domain::fold::fold_text;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::schema::{customers, subscriptions};
use crate::subscriptions::repo::SubscriptionData;

/// How a list's valid rows came out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    pub created: usize,
    pub unchanged: usize,
}

/// The keys a current ticket is recognised by.
#[derive(Default)]
struct Held {
    personnel_numbers: HashSet<String>,
    names: HashSet<(String, String, NaiveDate)>,
}

impl Held {
    /// Whether the row's employee holds a ticket already; if not, the row's keys are
    /// taken, so the same employee later in the file is `unchanged` too.
    fn take(&mut self, row: &StaffRow) -> bool {
        match &row.personnel_number {
            Some(number) => !self.personnel_numbers.insert(number.clone()),
            None => !self.names.insert(name_key(
                &row.holder.first_name,
                &row.holder.last_name,
                row.holder.birth_date,
            )),
        }
    }
}

fn name_key(
    first_name: &str,
    last_name: &str,
    birth_date: NaiveDate,
) -> (String, String, NaiveDate) {
    (fold_text(first_name), fold_text(last_name), birth_date)
}

/// The rows of a list sorted into those whose employee holds a current ticket under the
/// contract already (`unchanged`) and those that become one.
pub struct Plan<'a> {
    pub unchanged: usize,
    to_create: Vec<&'a StaffRow>,
}

impl Plan<'_> {
    pub fn applied(&self) -> Applied {
        Applied {
            created: self.to_create.len(),
            unchanged: self.unchanged,
        }
    }
}

/// Sorts the rows by the tickets under the contract now. Call under the contract's lock
/// (`contracts::repo::lock`), so that the tickets cannot change before [`write`].
pub fn plan<'a>(
    conn: &mut DbConnection,
    contract: &ContractRow,
    rows: &'a [StaffRow],
    today: NaiveDate,
) -> Result<Plan<'a>, AppError> {
    let mut held = current_tickets(conn, &contract.id, today)?;
    let mut unchanged = 0;
    let mut to_create = Vec::new();
    for row in rows {
        if held.take(row) {
            unchanged += 1;
        } else {
            to_create.push(row);
        }
    }
    Ok(Plan {
        unchanged,
        to_create,
    })
}

/// Writes the planned tickets in the caller's transaction, each on a new customer record
/// and naming the upload `bulk_upload_id`, and queues one e-mail per ticket.
pub fn write(
    conn: &mut DbConnection,
    contract: &ContractRow,
    plan: &Plan<'_>,
    bulk_upload_id: &str,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<Vec<String>, AppError> {
    let to_create = &plan.to_create;
    if to_create.is_empty() {
        return Ok(Vec::new());
    }
    let orders: Vec<Order<'_>> = to_create
        .iter()
        .map(|row| Order {
            contract_id: &contract.id,
            holder: &row.holder,
            start_month: row.start_month,
            personnel_number: row.personnel_number.as_deref(),
            marketing_consent: false,
            account_id: None,
            consent_source: ConsentSource::BulkUpload,
        })
        .collect();

    // A new customer record per row; the employer gives no marketing consent on the
    // employee's behalf.
    let customer_numbers = free_numbers(
        conn,
        &CUSTOMER_NUMBERS,
        orders.len(),
        |conn, first, last| {
            Ok(customers::table
                .filter(customers::customer_number.between(first, last))
                .select(customers::customer_number)
                .load(conn)?)
        },
    )?;
    let new_customers: Vec<(String, CustomerData)> = orders
        .iter()
        .zip(customer_numbers)
        .map(|(order, number)| {
            (
                uuid::Uuid::now_v7().to_string(),
                new_customer(order.holder, number, false, today, now),
            )
        })
        .collect();
    for chunk in new_customers.chunks(1000) {
        let rows: Vec<(String, &CustomerData)> =
            chunk.iter().map(|(id, data)| (id.clone(), data)).collect();
        customers_repo::insert_many(conn, &rows, ConsentSource::BulkUpload)?;
    }

    // The tickets, each with a new contract number.
    let contract_numbers = free_numbers(
        conn,
        &CONTRACT_NUMBERS,
        orders.len(),
        |conn, first, last| {
            Ok(subscriptions::table
                .filter(subscriptions::contract_number.between(first, last))
                .select(subscriptions::contract_number)
                .load(conn)?)
        },
    )?;
    let tickets: Vec<(String, SubscriptionData)> = orders
        .iter()
        .zip(&new_customers)
        .zip(contract_numbers)
        .map(|((order, (customer_id, _)), number)| {
            (
                uuid::Uuid::now_v7().to_string(),
                new_ticket(order, customer_id, number, now),
            )
        })
        .collect();
    for chunk in tickets.iter().zip(&orders).collect::<Vec<_>>().chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(
                |((id, data), order)| crate::subscriptions::repo::NewSubscription {
                    id: id.as_str(),
                    data,
                    personnel_number: order.personnel_number,
                    bulk_upload_id: Some(bulk_upload_id),
                },
            )
            .collect();
        crate::subscriptions::repo::insert_many(conn, &rows)?;
    }
    let confirmations: Vec<(String, serde_json::Value)> = tickets
        .iter()
        .zip(to_create)
        .map(|((id, _), row)| (row.email.clone(), mails::params(id)))
        .collect();
    crate::mail::outbox::enqueue_many(conn, mails::ORDERED, Lang::De, &confirmations)?;
    Ok(tickets.into_iter().map(|(id, _)| id).collect())
}

/// Whether a person holds a current (not expired) ticket under the contract, by the
/// rule a staff list recognises its rows by: the personnel number, or without one the
/// name and birth date. An approval asks it, so that a list applied since the order
/// does not get the same employee a second ticket.
pub fn holds_current_ticket(
    conn: &mut DbConnection,
    contract_id: &str,
    personnel_number: Option<&str>,
    name: (&str, &str),
    birth_date: NaiveDate,
    today: NaiveDate,
) -> Result<bool, AppError> {
    let current = subscriptions::table
        .inner_join(customers::table)
        .filter(subscriptions::company_contract_id.eq(contract_id))
        .filter(subscriptions::status.ne("ended"))
        .filter(
            subscriptions::valid_to
                .is_null()
                .or(subscriptions::valid_to.ge(today).assume_not_null()),
        );
    if let Some(number) = personnel_number {
        let held: i64 = current
            .filter(subscriptions::personnel_number.eq(number))
            .count()
            .get_result(conn)?;
        return Ok(held > 0);
    }
    let wanted = name_key(name.0, name.1, birth_date);
    let names: Vec<(String, String)> = current
        .filter(customers::birth_date.eq(birth_date))
        .select((customers::first_name, customers::last_name))
        .load(conn)?;
    Ok(names
        .iter()
        .any(|(first, last)| name_key(first, last, birth_date) == wanted))
}

/// The personnel numbers and names of the current (not expired) tickets under the
/// contract.
fn current_tickets(
    conn: &mut DbConnection,
    contract_id: &str,
    today: NaiveDate,
) -> Result<Held, AppError> {
    let rows: Vec<(Option<String>, String, String, NaiveDate)> = subscriptions::table
        .inner_join(customers::table)
        .filter(subscriptions::company_contract_id.eq(contract_id))
        .filter(subscriptions::status.ne("ended"))
        .filter(
            subscriptions::valid_to
                .is_null()
                .or(subscriptions::valid_to.ge(today).assume_not_null()),
        )
        .select((
            subscriptions::personnel_number,
            customers::first_name,
            customers::last_name,
            customers::birth_date,
        ))
        .load(conn)?;
    let mut held = Held::default();
    for (personnel_number, first_name, last_name, birth_date) in rows {
        if let Some(number) = personnel_number {
            held.personnel_numbers.insert(number);
        }
        held.names
            .insert(name_key(&first_name, &last_name, birth_date));
    }
    Ok(held)
}

/// `count` numbers of a kind that no record holds: a block from the sequence, and for
/// any the operator gave a record by hand already, a replacement from the next block.
/// A block's numbers are consecutive, so the records holding any of them are found by
/// one range query (`taken(first, last)`, an index range scan), not by a list of
/// thousands of values, which PostgreSQL may compare with every row.
fn free_numbers(
    conn: &mut DbConnection,
    kind: &NumberKind,
    count: usize,
    taken: impl Fn(&mut DbConnection, &str, &str) -> Result<Vec<String>, AppError>,
) -> Result<Vec<String>, AppError> {
    let mut numbers = Vec::with_capacity(count);
    while numbers.len() < count {
        let block = order::allocate_block(conn, kind, count - numbers.len())?;
        if block.is_empty() {
            break;
        }
        // Text ranges follow the numbers only while they are as wide: a block across
        // `…99999999` to `…100000000` is looked up as two ranges.
        let mut held = HashSet::new();
        for run in block.chunk_by(|a, b| a.len() == b.len()) {
            if let (Some(first), Some(last)) = (run.first(), run.last()) {
                held.extend(taken(conn, first, last)?);
            }
        }
        numbers.extend(block.into_iter().filter(|number| !held.contains(number)));
    }
    Ok(numbers)
}
