//! Graceful shutdown and rollout: readiness goes 503 at once, the listener closes after
//! the drain, requests in flight finish, the workers give back what they have not
//! started, and the process exits 0.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{LoadBalancer, PASSWORD, TestAppBuilder, unique_email};
use crate::webhooks::{Receiver, employer, hook_path, register, webhook_app};

fn instance() -> TestAppBuilder {
    webhook_app()
        .set("SHUTDOWN_DRAIN_SECS", "2")
        .set("RATE_LIMIT_EMAIL_PER_IP", "1000000")
}

#[derive(Default)]
struct Outcomes {
    requests: usize,
    failures: Vec<String>,
    registered: Vec<String>,
    pinged: Vec<String>,
}

#[tokio::test]
async fn a_rollout_under_steady_load_fails_no_request_and_loses_no_write_mail_or_event() {
    let _bursting = crate::helpers::cores_to_itself().await;
    let first = instance().spawn().await;
    let second = instance().beside(&first).spawn().await;
    let receiver = Receiver::start().await;
    let employer = employer(&first).await;
    let hook = register(
        &first,
        &employer,
        &receiver.url(),
        &["subscription.created"],
    )
    .await;
    let balancer = LoadBalancer::start(&[&first, &second]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A new connection for every request, as many clients behind NAT look to a load
    // balancer: any connection routed to an instance that no longer accepts fails, so
    // only the drain (readiness off well before the listener closes) keeps them away.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let token = employer.admin.access().to_string();
    let ping_url = balancer.url(&hook_path(&employer, &hook, "/ping"));
    let load: Vec<_> = (0..4)
        .map(|worker| {
            let (client, stop, outcomes) = (client.clone(), stop.clone(), outcomes.clone());
            let (token, ping_url) = (token.clone(), ping_url.clone());
            let (register_url, me_url) = (
                balancer.url("/api/v1/auth/register"),
                balancer.url("/api/v1/me"),
            );
            tokio::spawn(async move {
                let mut turn = worker;
                while !stop.load(Ordering::SeqCst) {
                    turn += 1;
                    let email = unique_email();
                    let (request, expected) = match turn % 3 {
                        0 => (
                            client.post(&register_url).json(&json!({
                                "email": email, "password": PASSWORD,
                                "password_confirmation": PASSWORD,
                                "first_name": "Rolf", "last_name": "Ausrollen",
                            })),
                            StatusCode::ACCEPTED,
                        ),
                        1 => (client.get(&me_url).bearer_auth(&token), StatusCode::OK),
                        _ => (
                            client.post(&ping_url).bearer_auth(&token),
                            StatusCode::ACCEPTED,
                        ),
                    };
                    // What this request came to: a failure, or what it wrote.
                    let (failure, wrote) = match request.send().await {
                        Err(error) => (Some(format!("{error:?}")), None),
                        Ok(response) if response.status() != expected => (
                            Some(format!("{} answered {}", response.url(), response.status())),
                            None,
                        ),
                        Ok(response) => match turn % 3 {
                            0 => (None, Some((0, email))),
                            2 => {
                                let body: Value = response.json().await.unwrap();
                                let id = body["message_id"].as_str().unwrap().to_string();
                                (None, Some((2, id)))
                            }
                            _ => (None, None),
                        },
                    };
                    let mut outcomes = outcomes.lock().unwrap();
                    outcomes.requests += 1;
                    outcomes.failures.extend(failure);
                    match wrote {
                        Some((0, email)) => outcomes.registered.push(email),
                        Some((_, message_id)) => outcomes.pinged.push(message_id),
                        None => {}
                    }
                }
            })
        })
        .collect();

    // Mid-run, the first instance gets its SIGTERM while a new one starts beside it.
    tokio::time::sleep(Duration::from_millis(700)).await;
    first.state.shutdown.begin();
    let third = instance().beside(&first).spawn().await;
    balancer.add(&third);
    let stopped = tokio::time::timeout(Duration::from_secs(15), first.stopped())
        .await
        .expect("the first instance stops within drain and grace");
    assert!(stopped.is_ok(), "{stopped:?}");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    assert_eq!(
        outcomes.failures,
        Vec::<String>::new(),
        "of {} requests",
        outcomes.requests
    );
    assert!(
        outcomes.requests > 60,
        "a steady load: {} requests",
        outcomes.requests
    );
    assert!(!outcomes.registered.is_empty() && !outcomes.pinged.is_empty());

    // Every accepted registration is stored, and its e-mail sent once, by one of the
    // three instances.
    let emails = outcomes.registered.clone();
    let stored: i64 = second
        .with_db(move |conn| {
            use diesel::prelude::*;
            use firmenportal::schema::accounts;
            accounts::table
                .filter(accounts::email.eq_any(&emails))
                .count()
                .get_result(conn)
                .unwrap()
        })
        .await;
    assert_eq!(stored as usize, outcomes.registered.len());
    let sent = |email: &str| {
        [&first, &second, &third]
            .iter()
            .map(|app| app.mail.to(email).len())
            .sum::<usize>()
    };
    for _ in 0..200 {
        if outcomes.registered.iter().all(|email| sent(email) >= 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for email in &outcomes.registered {
        assert_eq!(sent(email), 1, "{email}");
    }

    // Every accepted ping reached the receiver once.
    receiver.wait_for(outcomes.pinged.len()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let received: Vec<String> = receiver
        .all()
        .iter()
        .map(|r| r.header("webhook-id").to_string())
        .collect();
    let unique: HashSet<&String> = received.iter().collect();
    assert_eq!(unique.len(), received.len(), "an event arrived twice");
    assert_eq!(unique, outcomes.pinged.iter().collect::<HashSet<_>>());
    receiver.stop().await;
}

/// The binary serving on SQLite in `dir` with `SHUTDOWN_DRAIN_SECS=drain`, and its port.
fn serve_binary(dir: &std::path::Path, drain: &str) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_firmenportal"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/db.sqlite", dir.display()),
        )
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("DATA_DIR", dir)
        .env("METRICS_BIND_ADDR", "off")
        .env("SHUTDOWN_DRAIN_SECS", drain)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    (child, port)
}

fn send_sigterm(child: &std::process::Child) {
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
}

/// How the process ended; it must end within 15 s (drain and grace).
async fn exit_status(mut child: std::process::Child) -> std::process::ExitStatus {
    tokio::task::spawn_blocking(move || {
        for _ in 0..150 {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        None
    })
    .await
    .unwrap()
    .expect("the process exits within drain and grace")
}

#[tokio::test]
async fn sigterm_turns_readiness_off_at_once_closes_connections_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let (child, port) = serve_binary(dir.path(), "2");
    let client = reqwest::Client::new();
    let ready = format!("http://127.0.0.1:{port}/health/ready");
    let mut up = false;
    for _ in 0..100 {
        if client
            .get(&ready)
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server did not start");

    send_sigterm(&child);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Draining: not ready, still alive, and every answer closes its connection.
    let draining = client.get(&ready).send().await.unwrap();
    assert_eq!(draining.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(draining.headers()["connection"], "close");
    let problem: Value = draining.json().await.unwrap();
    assert_eq!(problem["code"], "shutting_down");
    let live = client
        .get(format!("http://127.0.0.1:{port}/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), StatusCode::OK);

    let status = exit_status(child).await;
    assert!(status.success(), "{status:?}");
    assert!(
        client.get(&ready).send().await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn a_stopping_webhook_worker_gives_back_what_it_has_not_started() {
    // The app's own worker looks only once a minute: the test's workers do the work.
    let app = webhook_app()
        .set("WEBHOOK_POLL_INTERVAL_MS", "60000")
        .spawn()
        .await;
    let receiver = Receiver::start().await;
    let employer = employer(&app).await;
    let hook = register(&app, &employer, &receiver.url(), &["subscription.created"]).await;
    for _ in 0..5 {
        let ping = app
            .request(
                reqwest::Method::POST,
                &hook_path(&employer, &hook, "/ping"),
                Some(employer.admin.access()),
                None,
            )
            .await;
        assert_eq!(ping.status(), StatusCode::ACCEPTED);
    }
    let worker = |shutdown: firmenportal::shutdown::Shutdown| {
        firmenportal::webhooks::worker::Worker::new(
            app.db.clone(),
            app.state.config.webhooks.clone(),
            app.state.clock.clone(),
            app.state.outbox.clone(),
            app.state.metrics.webhooks.clone(),
            shutdown,
        )
    };
    let state = || async {
        app.with_db(|conn| {
            use diesel::prelude::*;
            use firmenportal::schema::webhook_deliveries::dsl::*;
            webhook_deliveries
                .select((status, attempts, locked_until.is_null()))
                .load::<(String, i32, bool)>(conn)
                .unwrap()
        })
        .await
    };

    let stopping = firmenportal::shutdown::Shutdown::default();
    stopping.begin();
    let claimed = worker(stopping).deliver_due().await.unwrap();
    assert_eq!(claimed, 5);
    // Claimed, not started, given back: due at once, no attempt counted, nothing sent.
    assert_eq!(state().await, vec![("pending".to_string(), 0, true); 5]);
    assert!(receiver.all().is_empty());

    let running = firmenportal::shutdown::Shutdown::default();
    assert_eq!(worker(running).deliver_due().await.unwrap(), 5);
    assert_eq!(state().await, vec![("delivered".to_string(), 1, true); 5]);
    assert_eq!(receiver.all().len(), 5);
    receiver.stop().await;
}

#[tokio::test]
async fn a_stopping_mail_worker_sends_the_mail_in_hand_and_gives_back_the_rest() {
    // The app's own worker looks only once a minute and is never woken here.
    let app = webhook_app()
        .set("OUTBOX_POLL_INTERVAL_MS", "60000")
        .spawn()
        .await;
    let employer = employer(&app).await;
    let hook = register(
        &app,
        &employer,
        "http://127.0.0.1:9/hook",
        &["subscription.created"],
    )
    .await;
    let recipients: Vec<String> = (0..3).map(|_| unique_email()).collect();
    {
        let (recipients, id) = (recipients.clone(), hook["id"].as_str().unwrap().to_string());
        app.with_db(move |conn| {
            for recipient in &recipients {
                firmenportal::mail::enqueue(
                    conn,
                    recipient,
                    firmenportal::webhooks::mails::DISABLED,
                    firmenportal::i18n::Lang::De,
                    firmenportal::webhooks::mails::params(&id),
                )
                .unwrap();
            }
        })
        .await;
    }
    let config = &app.state.config;
    let worker = |shutdown: firmenportal::shutdown::Shutdown| firmenportal::mail::worker::Worker {
        db: app.db.clone(),
        transport: firmenportal::mail::worker::Transport::from_config(&config.mail).unwrap(),
        from: config.mail.from.parse().unwrap(),
        waker: app.state.outbox.clone(),
        composer: firmenportal::api::compose_mail,
        links: firmenportal::mail::LinkSettings {
            public_app_url: config.http.public_app_url.clone(),
            token_ttl: config.tokens.email_token_ttl,
            invitation_ttl: config.tokens.invitation_ttl,
        },
        poll_interval: Duration::from_secs(60),
        retry_base: Duration::from_secs(1),
        max_attempts: 3,
        counts: app.state.metrics.outbox.clone(),
        shutdown,
    };
    let state = || async {
        app.with_db(|conn| {
            use diesel::prelude::*;
            use firmenportal::schema::email_outbox::dsl::*;
            let mut rows = email_outbox
                .select((status, attempts, locked_until.is_null()))
                .load::<(String, i32, bool)>(conn)
                .unwrap();
            rows.sort();
            rows
        })
        .await
    };
    let sent = || {
        recipients
            .iter()
            .map(|r| app.mail.to(r).len())
            .sum::<usize>()
    };

    let stopping = firmenportal::shutdown::Shutdown::default();
    stopping.begin();
    assert_eq!(worker(stopping).deliver_due().await.unwrap(), 3);
    // One sent (the one in hand), two given back: due at once, no attempt counted.
    let pending = ("pending".to_string(), 0, true);
    assert_eq!(
        state().await,
        vec![pending.clone(), pending, ("sent".to_string(), 1, true)]
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sent(), 1);

    let running = firmenportal::shutdown::Shutdown::default();
    assert_eq!(worker(running).deliver_due().await.unwrap(), 2);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(sent(), 3);
}

#[tokio::test]
async fn a_sigterm_while_the_instance_starts_drains_it_instead_of_killing_it() {
    let dir = tempfile::tempdir().unwrap();
    let (child, port) = serve_binary(dir.path(), "0");
    // The moment the port takes a connection, the instance is still starting: an
    // orchestrator may send its SIGTERM then.
    let mut open = false;
    for _ in 0..10_000 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            open = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(open, "the port never opened");
    send_sigterm(&child);
    let status = exit_status(child).await;
    // Killed by the signal's default, it would have no exit code.
    assert_eq!(status.code(), Some(0), "{status:?}");
}
