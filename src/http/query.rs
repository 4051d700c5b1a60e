//! `ApiQuery<T>`: a query-string extractor whose failures are field errors naming the
//! parameter (`/per_page`), like the body's, instead of actix's plain-text 400.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError, FieldErrorCode};

pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequest for ApiQuery<T> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse_query(req.query_string()).map(ApiQuery))
    }
}

/// Parses a query string; a parameter of the wrong type or an unknown one is a field
/// error at `/<name>`.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, AppError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let message = error.inner().to_string();
        let (name, code) = match message.strip_prefix("unknown field `") {
            Some(rest) => (
                rest.split('`').next().unwrap_or_default().to_string(),
                FieldErrorCode::UnknownField,
            ),
            None => (error.path().to_string(), FieldErrorCode::InvalidType),
        };
        let pointer = if name == "." {
            String::new()
        } else {
            format!("/{name}")
        };
        AppError::Validation(vec![FieldError::new(pointer, code)])
    })
}
