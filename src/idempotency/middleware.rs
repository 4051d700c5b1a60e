//! The middleware that applies `Idempotency-Key` to the POSTs it concerns (see the
//! module's documentation). It runs inside the request context (request id, language,
//! problem+json) and outside the routes, so every handler is covered without knowing.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::clock;
use crate::error::AppError;
use crate::http::ClientIp;
use crate::http::problems::HttpProblem;
use crate::idempotency::repo::{self, Claim, StoredAnswer};
use crate::idempotency::{
    HEADER, IdempotencyProblem, KEPT_FOR, REPLAYED_HEADER, RUNNING_FOR, applies_to, key,
};
use crate::state::AppState;

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(raw) = req.headers().get(HEADER).map(|v| v.as_bytes().to_vec()) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let concerned = req
        .match_pattern()
        .is_some_and(|route| applies_to(req.method(), &route));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let (true, Some(state)) = (concerned, state) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let Some(key) = key::parse(&raw) else {
        return Ok(req.error_response(AppError::from(IdempotencyProblem::KeyInvalid)));
    };
    let account = account_of(&req, &state);
    // The whole body, to compare it with the first request's; the handler then reads it
    // from memory. Bounded as the handler would bound it.
    let limit = if req.path().ends_with("/bulk-uploads") {
        // A staff list is read only for an account (the handler refuses anyone else
        // before reading), and only in one of the upload places, as without a key: a
        // key never buys a stranger megabytes of this instance's memory.
        if account.is_none() {
            return Ok(next.call(req).await?.map_into_boxed_body());
        }
        match state.uploads.admit() {
            Ok(place) => req.extensions_mut().insert(place),
            Err(busy) => return Ok(req.error_response(busy)),
        };
        // The file, and room for the multipart framing around it.
        state.config.bulk_upload.max_bytes + crate::http::json::MAX_BODY_BYTES
    } else {
        crate::http::json::MAX_BODY_BYTES
    };
    let body = match read_body(req.take_payload(), limit).await {
        Ok(body) => body,
        Err(problem) => return Ok(req.error_response(problem)),
    };
    let request_hash = fingerprint(req.headers(), req.method().as_str(), req.path(), &body).await;
    req.set_payload(Payload::from(body));
    let id = scope_id(&req, account, &key);

    let now = clock::now();
    let claim = {
        let (id, request_hash) = (id.clone(), request_hash.clone());
        state
            .db
            .run(move |conn| {
                repo::claim(
                    conn,
                    &id,
                    &request_hash,
                    now,
                    now + clock::duration(RUNNING_FOR),
                    now - clock::duration(KEPT_FOR),
                )
            })
            .await
    };
    match claim {
        Err(error) => Ok(req.error_response(error)),
        Ok(Claim::Reused) => Ok(req.error_response(AppError::from(IdempotencyProblem::KeyReused))),
        Ok(Claim::InUse) => Ok(req.error_response(AppError::from(IdempotencyProblem::KeyInUse))),
        Ok(Claim::Replay(answer)) => {
            let (request, _) = req.into_parts();
            Ok(ServiceResponse::new(request, replay(answer)))
        }
        Ok(Claim::Run) => {
            let response = next.call(req).await;
            keep_answer(&state, id, response).await
        }
    }
}

/// Stores the first answer (or gives the key up when the answer is not to be kept) and
/// returns it.
async fn keep_answer(
    state: &web::Data<AppState>,
    id: String,
    response: Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let response = match response {
        Ok(response) => response.map_into_boxed_body(),
        Err(error) => {
            release(state, id).await;
            return Err(error);
        }
    };
    let status = response.status();
    if !is_kept(status) {
        release(state, id).await;
        return Ok(response);
    }
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let body = match actix_web::body::to_bytes(body).await {
        Ok(bytes) => bytes,
        Err(_) => {
            release(state, id).await;
            return Ok(ServiceResponse::from_err(
                AppError::Internal("an answer could not be read".into()),
                request,
            ));
        }
    };
    let header_text = |name: HeaderName| {
        head.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let answer = StoredAnswer {
        status: Some(i32::from(status.as_u16())),
        body: Some(body.to_vec()),
        content_type: header_text(header::CONTENT_TYPE),
        location: header_text(header::LOCATION),
        etag: header_text(header::ETAG),
    };
    let stored = state
        .db
        .run(move |conn| repo::store(conn, &id, &answer))
        .await;
    if let Err(error) = stored {
        // The change is made; only a replay is lost. Tell the operators, answer the
        // client.
        tracing::error!(%error, "idempotency: the first answer could not be stored");
    }
    Ok(ServiceResponse::new(
        request,
        head.set_body(body).map_into_boxed_body(),
    ))
}

/// Answers that say nothing final about the request are not kept, so a retry runs:
/// server errors, rate limits, a refused token, and a key still in use.
fn is_kept(status: StatusCode) -> bool {
    !(status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::UNAUTHORIZED)
}

async fn release(state: &web::Data<AppState>, id: String) {
    if let Err(error) = state.db.run(move |conn| repo::release(conn, &id)).await {
        // The claim lapses after RUNNING_FOR; until then a retry hears 409.
        tracing::warn!(%error, "idempotency: a key could not be given up");
    }
}

fn replay(answer: StoredAnswer) -> HttpResponse {
    let status = answer
        .status
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.insert_header((
        HeaderName::from_static(REPLAYED_HEADER),
        HeaderValue::from_static("true"),
    ));
    for (name, value) in [
        (header::CONTENT_TYPE, answer.content_type),
        (header::LOCATION, answer.location),
        (header::ETAG, answer.etag),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response.insert_header((name, value));
        }
    }
    response.body(answer.body.unwrap_or_default())
}

/// The account of a valid bearer token.
fn account_of(req: &ServiceRequest, state: &AppState) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|token| state.keys.verify(token.trim()).ok())
        .map(|claims| claims.sub)
}

/// The key's row: scoped to the `account` of a valid bearer token, or else to the client
/// IP key (as the rate limits count it), and to method and path. Hashed, so neither the
/// key nor the address is stored.
fn scope_id(req: &ServiceRequest, account: Option<String>, key: &str) -> String {
    let scope = account.map_or_else(
        || crate::rate_limit::ip_key("anonymous", ClientIp::resolve(req.request()).0),
        |account| format!("account:{account}"),
    );
    let mut hash = Sha256::new();
    for part in [scope.as_str(), req.method().as_str(), req.path(), key] {
        hash.update(part.len().to_be_bytes());
        hash.update(part.as_bytes());
    }
    hex(&hash.finalize())
}

/// What makes two requests the same: method, path and body; for multipart, the fields'
/// names, file names, types and bytes in order, whatever the boundary.
async fn fingerprint(headers: &HeaderMap, method: &str, path: &str, body: &web::Bytes) -> String {
    let mut hash = Sha256::new();
    for part in [method.as_bytes(), path.as_bytes()] {
        hash.update(part.len().to_be_bytes());
        hash.update(part);
    }
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/")
        });
    if !(multipart && hash_parts(headers, body, &mut hash).await) {
        hash.update(b"body");
        hash.update(body);
    }
    hex(&hash.finalize())
}

/// Hashes a multipart body part by part; `false` when it does not parse (then its raw
/// bytes stand for it, and the handler refuses it anyway).
async fn hash_parts(headers: &HeaderMap, body: &web::Bytes, hash: &mut Sha256) -> bool {
    let bytes = body.clone();
    let stream = futures_util::stream::once(async move { Ok(bytes) });
    let mut parts = actix_multipart::Multipart::new(headers, stream);
    let mut parts_hash = Sha256::new();
    while let Some(part) = parts.next().await {
        let Ok(mut part) = part else { return false };
        let disposition = part.content_disposition();
        let described = format!(
            "{:?}|{:?}|{:?}",
            part.name(),
            disposition.and_then(|d| d.get_filename()),
            part.content_type().map(ToString::to_string),
        );
        parts_hash.update(described.len().to_be_bytes());
        parts_hash.update(described.as_bytes());
        while let Some(chunk) = part.next().await {
            let Ok(chunk) = chunk else { return false };
            parts_hash.update(&chunk);
        }
        parts_hash.update(b"|end");
    }
    hash.update(b"multipart");
    hash.update(parts_hash.finalize());
    true
}

/// Reads the payload into memory, refusing more than `limit` bytes as they arrive.
async fn read_body(mut payload: Payload, limit: usize) -> Result<web::Bytes, AppError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| AppError::from(HttpProblem::BadRequest))?;
        if body.len() + chunk.len() > limit {
            return Err(HttpProblem::PayloadTooLarge.into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
