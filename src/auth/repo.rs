//! The one query behind every authenticated request: the account of an access token,
//! if the token's session is still open.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::principal::SignedInAccount;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::schema::{accounts, sessions};

/// A token's session, to be checked at `now`.
#[derive(Debug, Clone, Copy)]
pub struct SessionKey<'a> {
    pub account_id: &'a str,
    pub session_id: &'a str,
    pub now: NaiveDateTime,
}

/// The condition that the key's session is open: the account's, neither revoked nor
/// expired. For queries over `accounts` joined with `sessions`.
#[diesel::dsl::auto_type(no_type_alias)]
pub fn session_is_open<'a>(key: SessionKey<'a>) -> _ {
    let account_id: &'a str = key.account_id;
    let session_id: &'a str = key.session_id;
    let now: NaiveDateTime = key.now;
    accounts::id
        .eq(account_id)
        .and(sessions::id.eq(session_id))
        .and(sessions::revoked_at.is_null())
        .and(sessions::expires_at.gt(now))
}

pub fn find_signed_in(
    conn: &mut DbConnection,
    key: SessionKey<'_>,
) -> Result<Option<SignedInAccount>, AppError> {
    Ok(crate::db::on_backend!(conn, |conn| accounts::table
        .inner_join(sessions::table)
        .filter(session_is_open(key))
        .select(SignedInAccount::as_select())
        .first(conn)
        .optional())?)
}
