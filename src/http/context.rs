//! Per-request context: the request id and the client's IP address.

use std::future::{Ready, ready};
use std::net::IpAddr;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};

use crate::error::AppError;

/// The id of this request, echoed in `X-Request-Id` and written to logs and the audit log.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

impl FromRequest for RequestId {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = req
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId(uuid::Uuid::new_v4().to_string()));
        ready(Ok(id))
    }
}

/// Proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Vec<IpAddr>);

/// The client's IP: the socket peer, or, when the peer is a trusted proxy, the nearest
/// address in `X-Forwarded-For` that is not one of our proxies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    pub fn resolve(req: &HttpRequest) -> ClientIp {
        let peer = req
            .peer_addr()
            .map_or(IpAddr::from([127, 0, 0, 1]), |addr| {
                addr.ip().to_canonical()
            });
        let trusted = req
            .app_data::<web::Data<TrustedProxies>>()
            .map(|t| t.0.as_slice())
            .unwrap_or_default();
        if !trusted.contains(&peer) {
            return ClientIp(peer);
        }
        // Each proxy appends the address it received the request from, so the walk
        // goes from the nearest hop outwards past our own proxies. An entry that does not
        // parse ends it: whatever lies beyond was written by someone we cannot trust, so
        // the last trusted hop stands for the client rather than an address the client
        // may have made up.
        let mut client = peer;
        let hops: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .flat_map(|v| v.to_str().unwrap_or("\u{0}").split(','))
            .map(str::trim)
            .collect();
        for hop in hops.into_iter().rev() {
            match hop.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
                Ok(ip) if trusted.contains(&ip) => client = ip,
                Ok(ip) => return ClientIp(ip),
                Err(_) => break,
            }
        }
        ClientIp(client)
    }

    /// Whether the request reached our trusted proxy over TLS (`X-Forwarded-Proto`).
    /// The service itself listens on plain HTTP behind such a proxy.
    pub fn came_over_tls(req: &HttpRequest) -> bool {
        let peer = req.peer_addr().map(|addr| addr.ip().to_canonical());
        let trusted = req
            .app_data::<web::Data<TrustedProxies>>()
            .is_some_and(|t| peer.is_some_and(|ip| t.0.contains(&ip)));
        trusted
            && req
                .headers()
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
    }
}

impl FromRequest for ClientIp {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(ClientIp::resolve(req)))
    }
}
