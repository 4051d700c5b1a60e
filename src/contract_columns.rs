//! The company columns copied onto each contract (name and address, which the contract
//! list sorts by with an index) and the contract's folded search words. They depend on
//! two tables, so this module sits below both capabilities: `contracts` calls it after
//! writing a contract and `companies` after changing a company, and neither needs the
//! other for it.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::domain::fold::search_text;
use crate::error::AppError;
use crate::schema::{companies, company_contracts};

/// Which contracts' copied company columns and search words to refresh.
pub enum ContractScope<'a> {
    Contracts(&'a [String]),
    /// Every contract of a company, after the company changed.
    Company(&'a str),
}

/// Copies the company's name and address onto its contracts, where the contract list
/// sorts by them with an index, and folds the words the list's `q` looks in — the
/// contract's number and product offering and its company's name and address — into
/// `search_text`. Neither database folds umlauts and `ß` as `domain::fold` does, so it is
/// done here, whenever a contract or its company is written.
pub fn refresh(conn: &mut DbConnection, scope: ContractScope) -> Result<(), AppError> {
    let query = company_contracts::table
        .inner_join(companies::table)
        .select((
            company_contracts::id,
            company_contracts::contract_number,
            company_contracts::product_offering,
            companies::name,
            companies::street,
            companies::postal_code,
            companies::city,
        ))
        .into_boxed();
    let query = match scope {
        ContractScope::Contracts(ids) => query.filter(company_contracts::id.eq_any(ids)),
        ContractScope::Company(id) => query.filter(company_contracts::company_id.eq(id)),
    };
    type Words = (String, String, String, String, String, String, String);
    let rows: Vec<Words> = query.load(conn)?;
    for (id, number, offering, name, street, postal_code, city) in rows {
        let text = search_text(&[&number, &name, &street, &postal_code, &city, &offering]);
        diesel::update(company_contracts::table.find(id))
            .set((
                company_contracts::company_name.eq(name),
                company_contracts::company_street.eq(street),
                company_contracts::company_postal_code.eq(postal_code),
                company_contracts::company_city.eq(city),
                company_contracts::search_text.eq(text),
            ))
            .execute(conn)?;
    }
    Ok(())
}
