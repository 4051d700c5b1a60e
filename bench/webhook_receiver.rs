//! A webhook receiver for bench/statements.sh: answers every `POST` with 200 — or with
//! 503 while the file `OUTAGE_FILE` exists — and counts what arrived. `GET /stats`
//! answers `{requests, delivered, first_ms, last_ms}`: requests in all, distinct
//! `webhook-id`s answered 200, and the arrival (Unix ms) of the first and the last of
//! those. `GET /reset` starts counting anew.
//!
//!   cargo bench --bench webhook_receiver -- PORT OUTAGE_FILE

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};

#[derive(Default)]
struct Counts {
    requests: u64,
    delivered: HashSet<String>,
    first_ms: u128,
    last_ms: u128,
}

struct Receiver {
    outage_file: PathBuf,
    counts: Mutex<Counts>,
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
}

async fn receive(req: HttpRequest, _body: web::Bytes, state: web::Data<Receiver>) -> HttpResponse {
    let down = state.outage_file.exists();
    let mut counts = state.counts.lock().expect("counts");
    counts.requests += 1;
    if down {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let id = req
        .headers()
        .get("webhook-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if counts.delivered.insert(id) {
        let now = now_ms();
        if counts.first_ms == 0 {
            counts.first_ms = now;
        }
        counts.last_ms = now;
    }
    HttpResponse::Ok().finish()
}

async fn stats(state: web::Data<Receiver>) -> HttpResponse {
    let counts = state.counts.lock().expect("counts");
    HttpResponse::Ok().json(serde_json::json!({
        "requests": counts.requests,
        "delivered": counts.delivered.len(),
        "first_ms": counts.first_ms as u64,
        "last_ms": counts.last_ms as u64,
    }))
}

async fn reset(state: web::Data<Receiver>) -> HttpResponse {
    *state.counts.lock().expect("counts") = Counts::default();
    HttpResponse::Ok().finish()
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let (Some(port), Some(outage_file)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: webhook_receiver PORT OUTAGE_FILE");
        std::process::exit(2);
    };
    let port: u16 = port.parse().expect("a port");
    let state = web::Data::new(Receiver {
        outage_file: PathBuf::from(outage_file),
        counts: Mutex::default(),
    });
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/stats", web::get().to(stats))
            .route("/reset", web::get().to(reset))
            .default_service(web::post().to(receive))
    })
    .workers(1)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
