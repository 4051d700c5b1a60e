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
        ready(path_id(req, "id").map(RecordId))
    }
}

/// The path segment `name` as a record id, or `404` when no record could have it.
pub fn path_id(req: &HttpRequest, name: &str) -> Result<String, AppError> {
    let id = req.match_info().get(name).unwrap_or_default();
    let plausible =
        !id.is_empty() && id.chars().count() <= MAX_ID_CHARS && !id.chars().any(char::is_control);
    if plausible {
        Ok(id.to_string())
    } else {
        Err(AppError::not_found())
    }
}

/// The ids of a nested path such as `/companies/{id}/users/{user_id}`: the parent's
/// `{id}` and the item's (the one other path parameter, whatever its name).
#[derive(Debug, Clone)]
pub struct NestedIds {
    pub parent: String,
    pub item: String,
}

impl FromRequest for NestedIds {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(path_id(req, "id").and_then(|parent| {
            Ok(NestedIds {
                parent,
                item: {
                    let name = req
                        .match_info()
                        .iter()
                        .map(|(name, _)| name)
                        .find(|name| *name != "id")
                        .ok_or_else(|| AppError::Internal("no item id in the path".into()))?;
                    path_id(req, name)?
                },
            })
        }))
    }
}
