//! Who is asking, as extractors: a handler names the principal it needs and gets it or
//! the right problem answer. `Subscriber` is any signed-in account (the Self-Service);
//! `Operator` an account with operator rights (`403 forbidden` otherwise). Every request
//! checks the token's session in the database, so logout, password changes and revoked
//! rights take effect at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::auth::TokenProblem;
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

type Extraction<T> = Pin<Box<dyn Future<Output = Result<T, AppError>>>>;

impl FromRequest for Subscriber {
    type Error = AppError;
    type Future = Extraction<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let credentials = credentials(req);
        Box::pin(async move {
            let (state, token) = credentials?;
            authenticate(&state, &token).await
        })
    }
}

impl FromRequest for Operator {
    type Error = AppError;
    type Future = Extraction<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let credentials = credentials(req);
        Box::pin(async move {
            let (state, token) = credentials?;
            let Subscriber {
                account,
                session_id,
            } = authenticate(&state, &token).await?;
            if !account.operator {
                return Err(AppError::forbidden());
            }
            Ok(Operator {
                account,
                session_id,
            })
        })
    }
}

fn credentials(req: &HttpRequest) -> Result<(web::Data<AppState>, String), AppError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("application state missing".into()))?;
    let token = bearer_token(req).ok_or(AppError::from(TokenProblem::Missing))?;
    Ok((state, token))
}

/// Verifies the access token and that its session is still open.
async fn authenticate(state: &AppState, token: &str) -> Result<Subscriber, AppError> {
    let claims = state.keys.verify(token)?;
    let (account_id, session_id) = (claims.sub.clone(), claims.sid.clone());
    let now = crate::clock::now();
    let account = state
        .db
        .run(move |conn| crate::auth::repo::find_signed_in(conn, &account_id, &session_id, now))
        .await?
        .ok_or(AppError::from(TokenProblem::Invalid))?;
    if claims.iat < account.tokens_valid_after.and_utc().timestamp() {
        return Err(TokenProblem::Invalid.into());
    }
    Ok(Subscriber {
        account,
        session_id: SessionId::from(claims.sid),
    })
}

fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}
