//! A real SMTP listener for tests: accepts every message and keeps it for inspection.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl ReceivedMail {
    /// The `token` query parameter of the first link to `page` in the text body.
    pub fn token_for(&self, page: &str) -> String {
        let marker = format!("/{page}?token=");
        let start = self
            .text
            .find(&marker)
            .unwrap_or_else(|| panic!("no {page} link in mail: {}", self.text))
            + marker.len();
        self.text[start..]
            .split_whitespace()
            .next()
            .expect("token after marker")
            .to_string()
    }
}

#[derive(Clone, Default)]
struct Inbox {
    mails: Arc<Mutex<Vec<ReceivedMail>>>,
    arrived: Arc<Notify>,
}

pub struct MailSink {
    pub port: u16,
    inbox: Inbox,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MailSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MailSink {
    pub async fn start() -> MailSink {
        Self::start_on(0).await
    }

    /// Listens on a given port (0 = any).
    pub async fn start_on(port: u16) -> MailSink {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind SMTP sink");
        let port = listener.local_addr().unwrap().port();
        let inbox = Inbox::default();
        let task = {
            let inbox = inbox.clone();
            tokio::spawn(async move {
                while let Ok((socket, _)) = listener.accept().await {
                    let inbox = inbox.clone();
                    tokio::spawn(async move {
                        let _ = serve(socket, inbox).await;
                    });
                }
            })
        };
        MailSink { port, inbox, task }
    }

    pub fn all(&self) -> Vec<ReceivedMail> {
        self.inbox.mails.lock().unwrap().clone()
    }

    pub fn to(&self, address: &str) -> Vec<ReceivedMail> {
        self.all()
            .into_iter()
            .filter(|m| m.to.eq_ignore_ascii_case(address))
            .collect()
    }

    /// Waits until `address` has received `count` mails in all; returns the newest.
    pub async fn wait_for(&self, address: &str, count: usize) -> ReceivedMail {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.inbox.arrived.notified();
            let mails = self.to(address);
            if mails.len() >= count {
                return mails[count - 1].clone();
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "{address} received {} of {count} mails within 10 s",
                    self.to(address).len()
                );
            }
        }
    }

    /// Waits a moment and asserts that `address` has exactly `count` mails.
    pub async fn assert_count_settles(&self, address: &str, count: usize) {
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(self.to(address).len(), count, "mails to {address}");
    }
}

async fn serve(socket: tokio::net::TcpStream, inbox: Inbox) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 test-sink ESMTP\r\n").await?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") {
            write
                .write_all(b"250-test-sink\r\n250 8BITMIME\r\n")
                .await?;
        } else if command.starts_with("HELO")
            || command.starts_with("MAIL FROM")
            || command.starts_with("RSET")
            || command.starts_with("NOOP")
        {
            write.write_all(b"250 OK\r\n").await?;
        } else if command.starts_with("RCPT TO") {
            let address = line.trim_end()[8..]
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string();
            recipients.push(address);
            write.write_all(b"250 OK\r\n").await?;
        } else if command == "DATA" {
            write.write_all(b"354 go ahead\r\n").await?;
            let mut raw = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // Undo dot-stuffing.
                raw.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            let parsed = mailparse::parse_mail(raw.as_bytes()).expect("parse mail");
            let subject = parsed
                .headers
                .iter()
                .find(|h| h.get_key().eq_ignore_ascii_case("subject"))
                .map(|h| h.get_value())
                .unwrap_or_default();
            let mut text = String::new();
            let mut html = String::new();
            for part in std::iter::once(&parsed).chain(parsed.subparts.iter()) {
                match part.ctype.mimetype.as_str() {
                    "text/plain" => text = part.get_body().unwrap_or_default(),
                    "text/html" => html = part.get_body().unwrap_or_default(),
                    _ => {}
                }
            }
            {
                let mut mails = inbox.mails.lock().unwrap();
                for to in recipients.drain(..) {
                    mails.push(ReceivedMail {
                        to,
                        subject: subject.clone(),
                        text: text.clone(),
                        html: html.clone(),
                    });
                }
            }
            inbox.arrived.notify_waiters();
            write.write_all(b"250 queued\r\n").await?;
        } else if command.starts_with("QUIT") {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            write.write_all(b"502 not implemented\r\n").await?;
        }
    }
}
