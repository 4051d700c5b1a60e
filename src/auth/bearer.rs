//! The `Authorization: Bearer` extractor: verifies the access token and that its session
//! is still open, so logout and password changes take effect at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::accounts::repo::{self, Account};
use crate::error::{AppError, TokenProblem};
use crate::state::AppState;

pub struct AuthenticatedAccount {
    pub account: Account,
    pub session_id: String,
}

impl FromRequest for AuthenticatedAccount {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer_token(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::Internal("state missing".into()))?;
            let token = token.ok_or(AppError::Token(TokenProblem::Missing))?;
            let claims = state.keys.verify(&token).map_err(AppError::Token)?;
            let (account_id, session_id) = (claims.sub.clone(), claims.sid.clone());
            let account = state
                .db
                .run(move |conn| repo::find_active_session_account(conn, &account_id, &session_id))
                .await?
                .ok_or(AppError::Token(TokenProblem::Invalid))?;
            if claims.iat < account.tokens_valid_after.and_utc().timestamp() {
                return Err(AppError::Token(TokenProblem::Invalid));
            }
            Ok(AuthenticatedAccount {
                account,
                session_id: claims.sid,
            })
        })
    }
}

fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_string())
}
