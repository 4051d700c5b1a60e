//! Applying a staff list's valid rows: each becomes an approved order exactly as an
//! approval makes one (the holder's customer, reused when the identity matches, and an
//! active ticket under the contract with a new contract number), not linked to an
//! account. A row whose employee already holds a current ticket under the contract (by
//! personnel number, or by name and birth date when the row has none) is `unchanged`,
//! so uploading a file twice creates nothing the second time. The rows are written in
//! sets (one query per lookup, `COPY` on PostgreSQL), not one order at a time.

use std::collections::{HashMap, HashSet};

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
use crate::domain::fold::{fold_number, fold_text};
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

/// Applies the rows (in a dry run only counts them) in the caller's transaction;
/// returns the counts and queues one e-mail per created ticket.
pub fn apply(
    conn: &mut DbConnection,
    contract: &ContractRow,
    rows: &[StaffRow],
    dry_run: bool,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<Applied, AppError> {
    let mut held = current_tickets(conn, &contract.id, today)?;
    let mut applied = Applied::default();
    let mut to_create = Vec::new();
    for row in rows {
        if held.take(row) {
            applied.unchanged += 1;
        } else {
            to_create.push(row);
        }
    }
    applied.created = to_create.len();
    if dry_run || to_create.is_empty() {
        return Ok(applied);
    }

    // The holders' customers: an existing one with the same identity, else a new one
    // (shared by the rows of the same person).
    let mut known = customers_by_identity(conn, &to_create)?;
    let mut new_customers: Vec<(String, CustomerData)> = Vec::new();
    let mut customer_of_row = Vec::with_capacity(to_create.len());
    let orders: Vec<Order<'_>> = to_create
        .iter()
        .map(|row| Order {
            contract_id: &contract.id,
            product: &contract.data.product_offering,
            holder: &row.holder,
            start_month: row.start_month,
            personnel_number: row.personnel_number.as_deref(),
            marketing_consent: false,
            account_id: None,
            consent_source: ConsentSource::BulkUpload,
        })
        .collect();
    let mut pending_numbers = Vec::new();
    for order in &orders {
        let holder = order.holder;
        let key = identity_key(
            &holder.last_name,
            holder.birth_date,
            &holder.address.postal_code,
        );
        let id = known
            .entry(key)
            .or_insert_with(|| {
                let id = uuid::Uuid::now_v7().to_string();
                pending_numbers.push(new_customers.len());
                // The employer gives no marketing consent on the employee's behalf.
                new_customers.push((
                    id.clone(),
                    new_customer(holder, String::new(), false, today, now),
                ));
                id
            })
            .clone();
        customer_of_row.push(id);
    }
    let customer_numbers = free_numbers(
        conn,
        &CUSTOMER_NUMBERS,
        new_customers.len(),
        |conn, numbers| {
            Ok(customers::table
                .filter(customers::customer_number.eq_any(numbers))
                .select(customers::customer_number)
                .load(conn)?)
        },
    )?;
    for (index, number) in pending_numbers.into_iter().zip(customer_numbers) {
        let data = &mut new_customers[index].1;
        data.search_text =
            crate::domain::fold::search_text(&[&data.first_name, &data.last_name, &number]);
        data.customer_number = number;
    }
    for chunk in new_customers.chunks(1000) {
        let rows: Vec<(String, &CustomerData)> =
            chunk.iter().map(|(id, data)| (id.clone(), data)).collect();
        customers_repo::insert_many(conn, &rows, ConsentSource::BulkUpload)?;
    }

    // The tickets, each with a new contract number.
    let contract_numbers = free_numbers(conn, &CONTRACT_NUMBERS, orders.len(), |conn, numbers| {
        Ok(subscriptions::table
            .filter(subscriptions::contract_number.eq_any(numbers))
            .select(subscriptions::contract_number)
            .load(conn)?)
    })?;
    let tickets: Vec<(String, SubscriptionData)> = orders
        .iter()
        .zip(&customer_of_row)
        .zip(contract_numbers)
        .map(|((order, customer_id), number)| {
            (
                uuid::Uuid::now_v7().to_string(),
                new_ticket(order, customer_id, number, now),
            )
        })
        .collect();
    for chunk in tickets.iter().zip(&orders).collect::<Vec<_>>().chunks(1000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|((id, data), order)| (id.as_str(), data, order.personnel_number))
            .collect();
        crate::subscriptions::repo::insert_many(conn, &rows)?;
    }
    let confirmations: Vec<(String, serde_json::Value)> = tickets
        .iter()
        .zip(&to_create)
        .map(|((id, _), row)| (row.email.clone(), mails::params(id)))
        .collect();
    crate::mail::outbox::enqueue_many(conn, mails::ORDERED, Lang::De, &confirmations)?;
    Ok(applied)
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

type IdentityKey = (String, NaiveDate, String);

/// Compared as linking compares: last name folded, birth date, postal code without
/// spaces.
fn identity_key(last_name: &str, birth_date: NaiveDate, postal_code: &str) -> IdentityKey {
    (fold_text(last_name), birth_date, fold_number(postal_code))
}

/// The existing customers the rows' holders are, by identity (the oldest of several).
fn customers_by_identity(
    conn: &mut DbConnection,
    rows: &[&StaffRow],
) -> Result<HashMap<IdentityKey, String>, AppError> {
    let mut birth_dates: Vec<NaiveDate> = rows.iter().map(|row| row.holder.birth_date).collect();
    birth_dates.sort_unstable();
    birth_dates.dedup();
    let mut known = HashMap::new();
    for chunk in birth_dates.chunks(1000) {
        let found: Vec<(String, String, NaiveDate, String)> = customers::table
            .filter(customers::birth_date.eq_any(chunk))
            .order((customers::created_at.asc(), customers::id.asc()))
            .select((
                customers::id,
                customers::last_name,
                customers::birth_date,
                customers::postal_code,
            ))
            .load(conn)?;
        for (id, last_name, birth_date, postal_code) in found {
            known
                .entry(identity_key(&last_name, birth_date, &postal_code))
                .or_insert(id);
        }
    }
    Ok(known)
}

/// `count` numbers of a kind that no record holds: a block from the sequence, and for
/// any the operator gave a record by hand already, a replacement.
fn free_numbers(
    conn: &mut DbConnection,
    kind: &NumberKind,
    count: usize,
    taken: impl Fn(&mut DbConnection, &[String]) -> Result<Vec<String>, AppError>,
) -> Result<Vec<String>, AppError> {
    let mut numbers = order::allocate_block(conn, kind, count)?;
    loop {
        let mut clashes = HashSet::new();
        for chunk in numbers.chunks(1000) {
            clashes.extend(taken(conn, chunk)?);
        }
        if clashes.is_empty() {
            return Ok(numbers);
        }
        numbers.retain(|number| !clashes.contains(number));
        numbers.extend(order::allocate_block(conn, kind, clashes.len())?);
    }
}
