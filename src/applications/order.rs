//! An approved order becomes a job ticket: the holder's customer record (the applicant's
//! own, or a new one) and a subscription under the company contract, with a contract
//! number the portal allocates. Shared by the employer's approval of an
//! application and by each valid row of a staff list (Massenupload).

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use crate::applications::types::OrderedHolder;
use crate::customers::repo::{self as customers, ConsentSource, CustomerData};
use crate::db::DbConnection;
use crate::domain::fold::search_text;
use crate::error::AppError;
use crate::schema::number_sequences;
use crate::subscriptions::repo::{self as subscriptions, SubscriptionData};

/// The status of a ticket an order creates.
pub const STATUS_ACTIVE: &str = "active";

/// The product of every ticket an order or a staff list makes: what its holder rides
/// on. How the employer is billed for it is the contract's `product_offering`
/// ("D-Ticket Job (Rechnung)"), which is not the ticket's product.
pub const JOB_TICKET_PRODUCT: &str = "Deutschlandticket Job";

/// What is ordered, for whom and under which contract.
pub struct Order<'a> {
    pub contract_id: &'a str,
    pub holder: &'a OrderedHolder,
    pub start_month: NaiveDate,
    pub personnel_number: Option<&'a str>,
    pub marketing_consent: bool,
    /// The account the ticket is linked to at once (an application's applicant).
    pub account_id: Option<&'a str>,
    pub consent_source: ConsentSource,
}

/// The customer record a ticket goes onto.
pub enum HolderRecord {
    /// The applicant's own record, found through a subscription linked to their account
    /// (`customers::repo::held_by_account`). Its data stays the holder's: an order only
    /// adds a different consent choice to its history.
    Own {
        customer_id: String,
        marketing_consent: bool,
    },
    /// A new record from the ordered holder's data.
    New,
}

/// The ticket an order became.
#[derive(Debug, Clone)]
pub struct PlacedTicket {
    pub subscription_id: String,
    pub contract_number: String,
    pub customer_id: String,
    /// Whether the customer record was created for this ticket (else it was the
    /// applicant's own).
    pub customer_created: bool,
}

/// Places the order in the caller's transaction, onto `record`.
pub fn place(
    conn: &mut DbConnection,
    order: &Order<'_>,
    record: HolderRecord,
    today: NaiveDate,
    now: NaiveDateTime,
) -> Result<PlacedTicket, AppError> {
    let holder = order.holder;
    let (customer_id, customer_created) = match record {
        HolderRecord::Own {
            customer_id,
            marketing_consent,
        } => {
            if marketing_consent != order.marketing_consent {
                customers::set_consent(
                    conn,
                    &customer_id,
                    order.marketing_consent,
                    order.consent_source,
                    now,
                )?;
            }
            (customer_id, false)
        }
        HolderRecord::New => {
            let customer_number = allocate_number(conn, &CUSTOMER_NUMBERS, |conn, number| {
                Ok(customers::find_by_number(conn, number)?.is_some())
            })?;
            let data = new_customer(holder, customer_number, order.marketing_consent, today, now);
            let id = uuid::Uuid::now_v7().to_string();
            customers::insert(conn, &id, &data, order.consent_source)?;
            (id, true)
        }
    };
    let contract_number = allocate_number(conn, &CONTRACT_NUMBERS, |conn, number| {
        Ok(subscriptions::find_by_contract_number(conn, number)?.is_some())
    })?;
    let subscription_id = uuid::Uuid::now_v7().to_string();
    let data = new_ticket(order, &customer_id, contract_number.clone(), now);
    subscriptions::insert_ordered(
        conn,
        &subscription_id,
        &data,
        order.personnel_number,
        order.account_id,
    )?;
    Ok(PlacedTicket {
        subscription_id,
        contract_number,
        customer_id,
        customer_created,
    })
}

/// The customer record of a new holder.
pub fn new_customer(
    holder: &OrderedHolder,
    customer_number: String,
    marketing_consent: bool,
    today: NaiveDate,
    now: NaiveDateTime,
) -> CustomerData {
    CustomerData {
        search_text: search_text(&[&holder.first_name, &holder.last_name, &customer_number]),
        customer_number,
        salutation: holder.salutation.as_ref().to_string(),
        gender: holder.gender.as_ref().to_string(),
        first_name: holder.first_name.clone(),
        last_name: holder.last_name.clone(),
        birth_date: holder.birth_date,
        street: holder.address.street.clone(),
        postal_code: holder.address.postal_code.clone(),
        city: holder.address.city.clone(),
        country: holder.address.country.clone(),
        recipient: None,
        phone: holder.phone.clone(),
        phone_work: None,
        marketing_consent,
        recorded_at: today,
        updated_at: now,
    }
}

/// The subscription an order creates: `active` from the 1st of the start month,
/// unbefristet, under the contract.
pub fn new_ticket(
    order: &Order<'_>,
    customer_id: &str,
    contract_number: String,
    now: NaiveDateTime,
) -> SubscriptionData {
    SubscriptionData {
        contract_number,
        subscription_number: None,
        chip_card_number: None,
        product: JOB_TICKET_PRODUCT.to_string(),
        valid_from: order.start_month,
        valid_to: None,
        status: STATUS_ACTIVE.to_string(),
        customer_id: customer_id.to_string(),
        company_contract_id: Some(order.contract_id.to_string()),
        updated_at: now,
    }
}

/// A kind of number the portal allocates: its sequence and how its numbers look.
pub struct NumberKind {
    sequence: &'static str,
    prefix: &'static str,
}

pub const CONTRACT_NUMBERS: NumberKind = NumberKind {
    sequence: "subscription_contract_number",
    prefix: "JT-",
};

pub const CUSTOMER_NUMBERS: NumberKind = NumberKind {
    sequence: "customer_number",
    prefix: "KJ-",
};

/// The next free number of a kind, e.g. `JT-00000042`. The sequence row is updated
/// first, which locks it until the transaction ends, so two transactions never take
/// the same value; a value the operator gave a record by hand already is skipped.
fn allocate_number(
    conn: &mut DbConnection,
    kind: &NumberKind,
    taken: impl Fn(&mut DbConnection, &str) -> Result<bool, AppError>,
) -> Result<String, AppError> {
    loop {
        let number = allocate_block(conn, kind, 1)?.remove(0);
        if !taken(conn, &number)? {
            return Ok(number);
        }
    }
}

/// `count` consecutive numbers of a kind, reserved in one update of the sequence (the
/// caller skips those the operator gave a record by hand already).
pub fn allocate_block(
    conn: &mut DbConnection,
    kind: &NumberKind,
    count: usize,
) -> Result<Vec<String>, AppError> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let count = i64::try_from(count).map_err(|e| AppError::Internal(e.to_string()))?;
    diesel::update(number_sequences::table.find(kind.sequence))
        .set(number_sequences::last_value.eq(number_sequences::last_value + count))
        .execute(conn)?;
    let last: i64 = number_sequences::table
        .find(kind.sequence)
        .select(number_sequences::last_value)
        .first(conn)?;
    Ok((last - count + 1..=last)
        .map(|value| format!("{}{value:08}", kind.prefix))
        .collect())
}
