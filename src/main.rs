//! The `firmenportal` binary: parses the command and calls the library.

use std::process::ExitCode;

use firmenportal::config::Config;
use firmenportal::db::DbPool;
use firmenportal::startup::Application;

const USAGE: &str = "usage: firmenportal [serve | migrate | openapi]
  serve    run the HTTP API (default)
  migrate  apply database migrations and exit
  openapi  print the OpenAPI document";

fn main() -> ExitCode {
    // Before the runtime starts any thread.
    return_freed_memory_to_the_os();
    actix_web::rt::System::new().block_on(run())
}

async fn run() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    if command == "openapi" {
        print!("{}", firmenportal::openapi::document_json());
        return ExitCode::SUCCESS;
    }
    if !matches!(command.as_str(), "serve" | "migrate") {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    let _log = firmenportal::telemetry::init(config.log_format);
    let outcome = match command.as_str() {
        "migrate" => migrate(&config),
        _ => serve(config).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "firmenportal stopped");
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(config: &Config) -> Result<(), String> {
    let db = DbPool::new(config).map_err(|e| e.to_string())?;
    let applied = db.migrate().map_err(|e| e.to_string())?;
    tracing::info!(applied, "migrations applied");
    Ok(())
}

async fn serve(config: Config) -> Result<(), String> {
    let app = Application::build(config)
        .await
        .map_err(|e| e.to_string())?;
    app.run_until_stopped().await.map_err(|e| e.to_string())
}

/// An argon2id working memory is 19 MiB. glibc raises its mmap threshold after the first
/// such block is freed and from then on keeps these blocks in its heaps, which grew the
/// server past a gigabyte under a login flood. A fixed threshold keeps large blocks
/// mmapped, so a released working memory goes back to the OS. The number of arenas stays
/// glibc's default: with only small blocks left in them, fragmentation is small, and
/// fewer arenas made the request threads wait for each other's allocations (two arenas
/// cost `GET /me` a sixth of its throughput, `bench/run.sh`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn return_freed_memory_to_the_os() {
    // SAFETY: mallopt only sets an allocator parameter and is called before any other
    // thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_freed_memory_to_the_os() {}
