//! The `firmenportal` binary: parses the command and calls the library.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use firmenportal::config::Config;
use firmenportal::db::DbPool;
use firmenportal::error::AppError;
use firmenportal::i18n::Lang;
use firmenportal::import::{ImportKind, ImportOptions};
use firmenportal::operators::{OperatorOutcome, OperatorRequest};
use firmenportal::startup::Application;
use firmenportal::telemetry::LogStream;

/// Backend of the Deutschlandticket Job portal.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Create a verified operator account, or give an existing account operator
    /// rights. The password is read as one line from standard input.
    CreateOperator {
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: String,
        #[arg(long)]
        last_name: String,
    },
    /// Load companies, contracts, customers or subscriptions from a CSV file (upsert
    /// by natural key; every rejected row is reported; exits 1 if any was rejected).
    Import {
        kind: ImportKind,
        file: PathBuf,
        /// Check every row and report, but change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Load the guide's demo data (idempotent; refused in production).
    SeedDemo,
    /// The e-mails of development without SMTP_URL, written to DATA_DIR/mail.
    #[command(subcommand)]
    Mail(MailCommand),
}

#[derive(Subcommand)]
enum MailCommand {
    /// Print the newest e-mail to an address, or only its link or token. Waits for
    /// one to arrive when there is none yet.
    Last {
        /// The recipient's address.
        #[arg(long)]
        to: String,
        /// Print only the mail's first link.
        #[arg(long, conflicts_with = "token")]
        link: bool,
        /// Print only the `token` of the mail's first link that has one.
        #[arg(long)]
        token: bool,
        /// Seconds to wait for a mail to that address.
        #[arg(long, default_value_t = 10)]
        wait: u64,
    },
}

fn main() -> ExitCode {
    // Before the runtime starts any thread.
    return_freed_memory_to_the_os();
    actix_web::rt::System::new().block_on(run())
}

async fn run() -> ExitCode {
    let command = Cli::parse().command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        print!("{}", firmenportal::openapi::document_json());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    // The server logs to stdout; a command keeps stdout for what it reports.
    let log_stream = match command {
        Command::Serve => LogStream::Stdout,
        _ => LogStream::Stderr,
    };
    let _log = firmenportal::telemetry::init(config.log_format, log_stream);
    let outcome = match command {
        Command::Migrate => migrate(&config),
        Command::CreateOperator {
            email,
            first_name,
            last_name,
        } => create_operator(&config, email, first_name, last_name).await,
        Command::Import {
            kind,
            file,
            dry_run,
        } => import(&config, kind, file, dry_run).await,
        Command::SeedDemo => seed_demo(&config).await,
        Command::Mail(MailCommand::Last {
            to,
            link,
            token,
            wait,
        }) => mail_last(&config, &to, link, token, wait).await,
        Command::Serve | Command::Openapi => serve(config).await,
    };
    match outcome {
        Ok(code) => code,
        // Said once: in the server's log, or on a command's standard error.
        Err(error) if log_stream == LogStream::Stdout => {
            tracing::error!(%error, "firmenportal stopped");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn mail_last(
    config: &Config,
    to: &str,
    link: bool,
    token: bool,
    wait: u64,
) -> Result<ExitCode, String> {
    let Some(dir) = &config.mail.files_dir else {
        return Err(
            "no e-mail files here: with SMTP_URL (or APP_ENV=production) e-mails go \
                    to the SMTP server"
                .into(),
        );
    };
    let until = std::time::Instant::now() + std::time::Duration::from_secs(wait);
    let mail = loop {
        if let Some(mail) = firmenportal::mail::files::newest_to(dir, to)? {
            break mail;
        }
        if std::time::Instant::now() >= until {
            return Err(format!(
                "no e-mail to {to} in {} (waited {wait} s)",
                dir.display()
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    if link {
        let link = mail
            .link()
            .ok_or_else(|| format!("{}: the mail has no link", mail.path.display()))?;
        println!("{link}");
    } else if token {
        let token = mail
            .token()
            .ok_or_else(|| format!("{}: the mail has no link with a token", mail.path.display()))?;
        println!("{token}");
    } else {
        println!(
            "{}\nSubject: {}\n\n{}",
            mail.path.display(),
            mail.subject,
            mail.text
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn migrate(config: &Config) -> Result<ExitCode, String> {
    let db = migrated_pool(config)?;
    drop(db);
    Ok(ExitCode::SUCCESS)
}

fn migrated_pool(config: &Config) -> Result<DbPool, String> {
    let db = DbPool::new(config).map_err(|e| e.to_string())?;
    let applied = db.migrate().map_err(|e| e.to_string())?;
    tracing::info!(applied, "migrations applied");
    Ok(db)
}

async fn create_operator(
    config: &Config,
    email: String,
    first_name: String,
    last_name: String,
) -> Result<ExitCode, String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("reading the password from standard input: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    let db = migrated_pool(config)?;
    let hasher = firmenportal::auth::password::PasswordHasher::new(1, 1);
    let request = OperatorRequest {
        email,
        first_name,
        last_name,
        password: password.into(),
    };
    match firmenportal::operators::create_operator(&db, &hasher, request).await {
        Ok(OperatorOutcome::Created) => println!("created a verified operator account"),
        Ok(OperatorOutcome::Granted) => {
            println!("the existing account now has operator rights (password unchanged)")
        }
        Err(error) => return Err(describe(&error)),
    }
    Ok(ExitCode::SUCCESS)
}

async fn import(
    config: &Config,
    kind: ImportKind,
    file: PathBuf,
    dry_run: bool,
) -> Result<ExitCode, String> {
    let db = migrated_pool(config)?;
    let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    let report = firmenportal::import::import(&db, kind, &bytes, ImportOptions { dry_run })
        .await
        .map_err(|error| match error {
            firmenportal::import::ImportError::App(error) => describe(&error),
            other => other.to_string(),
        })?;
    print!("{report}");
    Ok(if report.rejected() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn seed_demo(config: &Config) -> Result<ExitCode, String> {
    let db = migrated_pool(config)?;
    let summary = firmenportal::demo::seed_demo(config, &db)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "demo data: {} created, {} already there",
        summary.created, summary.existing
    );
    match &summary.company_admin {
        Some((email, password)) => println!(
            "company admin of Musterfirma GmbH: {email}\npassword: {password}\n\
             (shown only now)"
        ),
        None => {
            let admin = firmenportal::demo::DEMO_ADMIN_EMAIL;
            let api = format!("http://{}/api/v1", config.http.bind_addr);
            println!(
                "company admin of Musterfirma GmbH: {admin}, already there (the first run \
                 showed her password). For a new one, with the server running:\n  \
                 curl -sS -X POST {api}/auth/password/forgot \
                 -H 'content-type: application/json' -d '{{\"email\": \"{admin}\"}}'\n  \
                 firmenportal mail last --to {admin} --token\n\
                 and post that token with the new password (as \"password\" and \
                 \"password_confirmation\") to {api}/auth/password/reset."
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An error for a terminal: field errors one per line with pointer and reason.
fn describe(error: &AppError) -> String {
    let problem = error.problem(Lang::En);
    let mut text = format!("{}: {}", problem.code, problem.detail);
    for field in &problem.errors {
        text.push_str(&format!(
            "\n  {} {}: {}",
            field.pointer, field.code, field.detail
        ));
    }
    text
}

async fn serve(config: Config) -> Result<ExitCode, String> {
    // SIGTERM drains the instance and stops it gracefully; the process then exits 0.
    // Caught from before the listener opens, so even a SIGTERM during the start drains.
    let signals = firmenportal::shutdown::Signals::register();
    let app = Application::build(config)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(signals.begin_on_signal(app.shutdown()));
    app.run_until_stopped().await.map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
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
