//! `RecordId`: the `{id}` of a path. Ids are UUIDs; a value no record could have (too
//! long, or with control characters such as NUL, which PostgreSQL cannot even compare)
//! names no record and answers `404` like any unknown id.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};

use crate::error::AppError;

/// The `{id}` segment of the request's path.
#[derive(Debug, Clone)]
pub struct RecordId(pub String);

impl RecordId {
    pub fn into_inner(self) -> String {
        self.0
    }
}

const MAX_ID_CHARS: usize = 64;

impl FromRequest for RecordId {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req.match_info().get("id").unwrap_or_default();
        let plausible = !id.is_empty()
            && id.chars().count() <= MAX_ID_CHARS
            && !id.chars().any(char::is_control);
        ready(if plausible {
            Ok(RecordId(id.to_string()))
        } else {
            Err(AppError::not_found())
        })
    }
}
