//! The outermost middleware: gives every request an id (`X-Request-Id`, taken from the
//! client when it is sane), a tracing span and an access log line, makes sure every
//! error answer is problem+json in the negotiated language, and adds the security headers:
//! a Content-Security-Policy on every answer, HSTS on answers that reached our proxy
//! over TLS.

use std::time::Instant;

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use tracing::Instrument;

use crate::error::AppError;
use crate::http::{ClientIp, RequestId};
use crate::i18n::Lang;
use crate::telemetry::metrics::Metrics;
use crate::telemetry::traces;

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(&REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane_request_id(v))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let lang = Lang::negotiate(&req);
    let over_tls = ClientIp::came_over_tls(req.request());
    let policy = content_security_policy(req.path());
    let (metrics, shutdown) = req
        .app_data::<actix_web::web::Data<crate::state::AppState>>()
        .map(|state| (state.metrics.clone(), state.shutdown.clone()))
        .unzip();
    let method = req.method().clone();
    // Without export the trace id is known before the span, and the span gets every field
    // it will carry at once: the JSON log formatter stores a span's fields as a JSON
    // string, and each later `record` parses and re-serializes it (three records cost
    // ~12 µs of a GET /me's ~150 µs of server CPU). Exported spans get theirs after the
    // routing, as the exporter needs them on the span.
    let exporting = traces::exporting();
    let local_trace_id = (!exporting).then(|| traces::caller_or_new_trace_id(req.headers()));
    // Health checks, polled every few seconds, make no spans.
    let span = if req.path().starts_with("/health/") {
        tracing::Span::none()
    } else if exporting {
        tracing::info_span!(
            "request",
            otel.name = %method,
            otel.kind = "server",
            request_id = %request_id,
            http.request.method = %method,
            url.path = %req.path(),
            user_agent.original = user_agent(&req),
            http.route = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            trace_id = tracing::field::Empty,
        )
    } else {
        tracing::info_span!(
            "request",
            request_id = %request_id,
            http.request.method = %method,
            url.path = %req.path(),
            user_agent.original = user_agent(&req),
            trace_id = local_trace_id.as_deref(),
        )
    };
    let trace_id = match local_trace_id {
        Some(trace_id) => trace_id,
        None => traces::continue_trace(&span, req.headers()),
    };
    let started = Instant::now();
    let response = traces::with_trace_id(trace_id.clone(), async {
        let response = next.call(req).instrument(span.clone()).await?;
        // Re-rendered problems carry the trace id too.
        Ok::<_, actix_web::Error>(problem_in_language(response.map_into_boxed_body(), lang))
    })
    .await;
    let mut response = response?;
    let route = response.request().match_pattern();
    if exporting {
        traces::rename(
            &span,
            format!("{method} {}", route.as_deref().unwrap_or_default()).trim_end(),
        );
        if let Some(route) = &route {
            span.record("http.route", route.as_str());
        }
        span.record("http.response.status_code", response.status().as_u16());
        if response.status().is_server_error() {
            span.record("otel.status_code", "ERROR");
        }
    }
    if let Some(metrics) = &metrics {
        count(
            metrics,
            &method,
            route.as_deref(),
            &response,
            started.elapsed().as_secs_f64(),
        );
    }
    if shutdown.is_some_and(|shutdown| shutdown.is_requested()) {
        // Draining: the client's next request should open a connection to another
        // instance.
        response
            .response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(policy),
    );
    if over_tls {
        // Browsers honour HSTS only over HTTPS, so it is sent only when the request came so.
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            route = route.as_deref(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    Ok(response)
}

fn user_agent(req: &ServiceRequest) -> &str {
    req.headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The request's duration under its route template (never its raw path), and a refusal
/// by a rate limit under the limit's name. The template is looked up once per request by
/// the caller: each `match_pattern` walks the whole route table again.
fn count(
    metrics: &Metrics,
    method: &Method,
    route: Option<&str>,
    response: &ServiceResponse<BoxBody>,
    elapsed: f64,
) {
    let status = response.status();
    metrics.observe_request(method.as_str(), route, status.as_u16(), elapsed);
    if status == StatusCode::TOO_MANY_REQUESTS
        && let Some(limit) = response
            .response()
            .error()
            .and_then(|error| error.as_error::<AppError>())
            .and_then(AppError::rate_limit)
    {
        metrics.rate_limit_refused(limit);
    }
}

/// JSON answers load nothing and may not be framed. Swagger UI loads its own scripts,
/// styles and images from this origin (its styles are partly inline) and calls the API.
fn content_security_policy(path: &str) -> &'static str {
    if path.starts_with(crate::http::SWAGGER_UI_PATH) {
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; \
         form-action 'self'; frame-ancestors 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    }
}

fn is_sane_request_id(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// Re-renders our own errors in the client's language and turns any other error answer
/// (from actix itself or an extractor) into problem+json, so no HTML or plain-text page
/// and no internal cause ever leaves the service.
fn problem_in_language(response: ServiceResponse<BoxBody>, lang: Lang) -> ServiceResponse<BoxBody> {
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return response;
    }
    let replacement = match response.response().error() {
        Some(error) => match error.as_error::<AppError>() {
            // Already rendered in German by `ResponseError::error_response`.
            Some(_) if lang == Lang::De => None,
            Some(app_error) => Some(app_error.render(lang)),
            None => Some(AppError::from_status(status).render(lang)),
        },
        None => {
            let is_problem = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/problem+json"));
            (!is_problem).then(|| AppError::from_status(status).render(lang))
        }
    };
    match replacement {
        None => response,
        Some(new_response) => {
            let (req, _) = response.into_parts();
            ServiceResponse::new(req, new_response)
        }
    }
}
