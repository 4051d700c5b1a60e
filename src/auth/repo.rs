//! The one query behind every authenticated request: the account of an access token,
//! if the token's session is still open.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::principal::SignedInAccount;
use crate::db::DbConnection;
use crate::error::AppError;
use crate::schema::{accounts, sessions};

pub fn find_signed_in(
    conn: &mut DbConnection,
    account_id: &str,
    session_id: &str,
    now: NaiveDateTime,
) -> Result<Option<SignedInAccount>, AppError> {
    Ok(accounts::table
        .inner_join(sessions::table)
        .filter(accounts::id.eq(account_id))
        .filter(sessions::id.eq(session_id))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.gt(now))
        .select(SignedInAccount::as_select())
        .first(conn)
        .optional()?)
}
