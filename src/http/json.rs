//! `ApiJson<T>`: a JSON body extractor whose every failure is a problem+json answer:
//! 415 for a wrong content type or a content coding (a compressed body), 413 over 64 KiB, 400 for malformed JSON and 422 with a
//! JSON pointer when a field has the wrong type.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web::BytesMut};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError, FieldErrorCode};
use crate::http::problems::HttpProblem;

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ApiJson<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| {
                m.type_() == mime::APPLICATION
                    && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
            });
        // The server inflates no body (RFC 9110 §8.4: 415 for a coding it does not
        // take); read as it came, a gzip body would only fail as malformed JSON, and a
        // plain one wrongly labelled would pass.
        let encoded = req
            .headers()
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"));
        let declared_length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !content_type_ok || encoded {
                return Err(HttpProblem::UnsupportedMediaType.into());
            }
            if declared_length.is_some_and(|len| len > MAX_BODY_BYTES) {
                return Err(HttpProblem::PayloadTooLarge.into());
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|_| AppError::from(HttpProblem::MalformedJson))?;
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(HttpProblem::PayloadTooLarge.into());
                }
                body.extend_from_slice(&chunk);
            }
            parse_json(&body).map(ApiJson)
        })
    }
}

/// Parses a body; a type error names the field by JSON pointer. Every body of the API is
/// an object: serde would also read a struct from an array of its fields, so anything
/// else is refused up front.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
    {
        return Err(AppError::field("", FieldErrorCode::InvalidType));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Ok(value) => {
            deserializer
                .end()
                .map_err(|_| AppError::from(HttpProblem::MalformedJson))?;
            Ok(value)
        }
        Err(error) => {
            let inner = error.inner();
            if inner.is_data() {
                let message = inner.to_string();
                let mut pointer = to_pointer(&error.path().to_string());
                let code = if message.starts_with("unknown field") {
                    FieldErrorCode::UnknownField
                } else if let Some(rest) = message.strip_prefix("missing field `") {
                    pointer.push('/');
                    pointer.push_str(rest.split('`').next().unwrap_or_default());
                    FieldErrorCode::Required
                } else {
                    FieldErrorCode::InvalidType
                };
                Err(AppError::Validation(vec![FieldError::new(pointer, code)]))
            } else {
                Err(HttpProblem::MalformedJson.into())
            }
        }
    }
}

/// `a.b[0]` (serde_path_to_error's notation) → `/a/b/0`; the root `.` → ``.
fn to_pointer(path: &str) -> String {
    if path == "." {
        return String::new();
    }
    let mut pointer = String::new();
    for part in path.split('.') {
        for piece in part.split('[') {
            let piece = piece.trim_end_matches(']');
            if !piece.is_empty() {
                pointer.push('/');
                pointer.push_str(&piece.replace('~', "~0").replace('/', "~1"));
            }
        }
    }
    pointer
}

/// A JSON body that may be left out: a request without `Content-Type` and without a body
/// is `None`; anything else is read exactly as [`ApiJson`] reads it.
pub struct OptionalApiJson<T>(pub Option<T>);

impl<T: DeserializeOwned + 'static> FromRequest for OptionalApiJson<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let no_body = req.headers().get(header::CONTENT_TYPE).is_none()
            && req
                .headers()
                .get(header::CONTENT_LENGTH)
                .is_none_or(|length| length.as_bytes() == b"0");
        if no_body {
            return Box::pin(async { Ok(OptionalApiJson(None)) });
        }
        let body = ApiJson::<T>::from_request(req, payload);
        Box::pin(async move {
            body.await
                .map(|ApiJson(value)| OptionalApiJson(Some(value)))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        email: String,
    }

    #[test]
    fn wrong_type_names_the_field() {
        let err = parse_json::<Body>(br#"{"email": 5}"#).unwrap_err();
        match err {
            AppError::Validation(fields) => assert_eq!(fields[0].pointer, "/email"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn broken_json_is_malformed() {
        for body in [&br#"{"email": "#[..], br#"{"email": "a"} trailing"#] {
            let error = parse_json::<Body>(body).unwrap_err();
            assert_eq!(error.code(), "malformed_json");
        }
    }

    #[test]
    fn only_an_object_is_a_body() {
        for body in [&b"[\"a@example.de\"]"[..], b"null", b" 5", b"\"x\""] {
            match parse_json::<Body>(body).unwrap_err() {
                AppError::Validation(fields) => {
                    assert_eq!(fields[0].pointer, "");
                    assert_eq!(fields[0].code, FieldErrorCode::InvalidType);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn pointer_notation() {
        assert_eq!(to_pointer("a.b[0]"), "/a/b/0");
        assert_eq!(to_pointer("email"), "/email");
    }
}
