//! Who is asking. A handler names the principal it needs — `Subscriber`, any signed-in
//! account (the Self-Service), or `Operator`, an account with operator rights (`403
//! forbidden` otherwise) — and every request checks the token's session in the database,
//! so logout, password changes and revoked rights take effect at once.
//!
//! Two ways to get one:
//! - **`Bearer<P>`**, the read path (every `GET`): the extractor verifies the token's
//!   signature and lifetime only (`401` before anything else), and `DbPool::read_as` (or
//!   `transaction_as`) checks its session and rights on the very connection that then
//!   runs the handler's queries. One pool checkout and one hop to the blocking pool per
//!   request instead of two; on `GET /me` the two cost about as much as the query itself.
//!   A malformed query string is answered before the session is checked: its rules are
//!   public in the OpenAPI document.
//! - **`Subscriber` / `Operator` as extractors**, checked before the handler runs: for
//!   writes, so that the rights are checked before the body is (an account without them
//!   gets `403`, never a validation answer), and for handlers whose work is more than one
//!   closure on one connection (a password hashed between two queries).

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::TokenProblem;
use crate::auth::jwt::AccessClaims;
use crate::auth::repo::SessionKey;
use crate::db::{DbConnection, DbPool};
use crate::domain::{AccountId, SessionId};
use crate::error::AppError;
use crate::schema::accounts;
use crate::state::AppState;

/// The account behind a valid access token whose session is still open. Holds no
/// secrets: the password hash is read only where a password is checked.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct SignedInAccount {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    /// Operator rights: load and correct the operator's data.
    pub operator: bool,
    pub email_verified_at: Option<NaiveDateTime>,
    pub tokens_valid_after: NaiveDateTime,
    pub created_at: NaiveDateTime,
}

impl SignedInAccount {
    pub fn account_id(&self) -> AccountId {
        AccountId::from(self.id.clone())
    }
}

/// Any signed-in account: the principal of the Self-Service.
#[derive(Debug, Clone)]
pub struct Subscriber {
    pub account: SignedInAccount,
    pub session_id: SessionId,
}

/// A signed-in account with operator rights.
#[derive(Debug, Clone)]
pub struct Operator {
    pub account: SignedInAccount,
    pub session_id: SessionId,
}

/// What a handler can ask to be: admitted from the signed-in account behind a token.
pub trait Principal: Sized + Send + 'static {
    /// The principal, or the problem that refuses this account (`403 forbidden`).
    fn admit(account: SignedInAccount, session_id: SessionId) -> Result<Self, AppError>;
}

impl Principal for Subscriber {
    fn admit(account: SignedInAccount, session_id: SessionId) -> Result<Self, AppError> {
        Ok(Subscriber {
            account,
            session_id,
        })
    }
}

impl Principal for Operator {
    fn admit(account: SignedInAccount, session_id: SessionId) -> Result<Self, AppError> {
        if !account.operator {
            return Err(AppError::forbidden());
        }
        Ok(Operator {
            account,
            session_id,
        })
    }
}

/// An access token whose signature, issuer, audience and lifetime are verified, for a
/// principal `P` whose session is not checked yet: hand it to `DbPool::read_as` or
/// `DbPool::transaction_as`, which check it on the connection that runs the handler's
/// work. A missing or invalid token is refused here already (`401`), before the handler.
pub struct Bearer<P> {
    claims: AccessClaims,
    principal: PhantomData<fn() -> P>,
}

impl<P: Principal> Bearer<P> {
    /// Checks on `conn` that the token's session is open and was opened after the
    /// account's last password change or logout everywhere, and admits the principal.
    pub fn check(&self, conn: &mut DbConnection) -> Result<P, AppError> {
        let (principal, ()) = self.check_reading(conn, |conn, key| {
            Ok(crate::auth::repo::find_signed_in(conn, key)?.map(|account| (account, ())))
        })?;
        Ok(principal)
    }

    /// `check` with the principal's own rows read in the same statement, for the
    /// hottest reads (`GET /me`): `query` answers the signed-in account when the key's
    /// session is open (see `repo::session_is_open`), with what it read beside it.
    pub fn check_reading<T>(
        &self,
        conn: &mut DbConnection,
        query: impl FnOnce(
            &mut DbConnection,
            SessionKey<'_>,
        ) -> Result<Option<(SignedInAccount, T)>, AppError>,
    ) -> Result<(P, T), AppError> {
        let claims = &self.claims;
        let key = SessionKey {
            account_id: &claims.sub,
            session_id: &claims.sid,
            now: crate::clock::now(),
        };
        let (account, read) = query(conn, key)?.ok_or(AppError::from(TokenProblem::Invalid))?;
        if claims.iat < account.tokens_valid_after.and_utc().timestamp() {
            return Err(TokenProblem::Invalid.into());
        }
        let principal = P::admit(account, SessionId::from(claims.sid.clone()))?;
        Ok((principal, read))
    }
}

impl<P: Principal> FromRequest for Bearer<P> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(verified_bearer(req))
    }
}

fn verified_bearer<P>(req: &HttpRequest) -> Result<Bearer<P>, AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal("application state missing".into()))?;
    let token = bearer_token(req).ok_or(AppError::from(TokenProblem::Missing))?;
    Ok(Bearer {
        claims: state.keys.verify(token)?,
        principal: PhantomData,
    })
}

/// The read path's database work, on behalf of a principal: the session check and `work`
/// run on one connection in one hop to the blocking pool.
impl DbPool {
    /// `DbPool::read` for a principal: on SQLite a read connection (a write fails).
    pub async fn read_as<P, F, R>(&self, bearer: Bearer<P>, work: F) -> Result<R, AppError>
    where
        P: Principal,
        F: FnOnce(&mut DbConnection, P) -> Result<R, AppError> + Send + 'static,
        R: Send + 'static,
    {
        self.read(move |conn| {
            let principal = bearer.check(conn)?;
            work(conn, principal)
        })
        .await
    }

    /// `DbPool::transaction` for a principal: the session is checked in every try of
    /// the transaction, so the principal is as current as the data it changes.
    pub async fn transaction_as<P, F, R>(
        &self,
        bearer: Bearer<P>,
        mut work: F,
    ) -> Result<R, AppError>
    where
        P: Principal,
        F: FnMut(&mut DbConnection, P) -> Result<R, AppError> + Send + 'static,
        R: Send + 'static,
    {
        self.transaction(move |conn| {
            let principal = bearer.check(conn)?;
            work(conn, principal)
        })
        .await
    }
}

type Extraction<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

/// Checked before the handler: a hop of its own to the blocking pool (see the module).
impl FromRequest for Subscriber {
    type Error = AppError;
    type Future = Extraction<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        checked_before_handler(req)
    }
}

/// Checked before the handler: a hop of its own to the blocking pool (see the module).
impl FromRequest for Operator {
    type Error = AppError;
    type Future = Extraction<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        checked_before_handler(req)
    }
}

fn checked_before_handler<P: Principal>(req: &HttpRequest) -> Extraction<P> {
    let checked = verified_bearer::<P>(req).and_then(|bearer| {
        let state = req
            .app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(|| AppError::Internal("application state missing".into()))?;
        Ok((state, bearer))
    });
    Box::pin(async move {
        let (state, bearer) = checked?;
        state.db.run(move |conn| bearer.check(conn)).await
    })
}

fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}
