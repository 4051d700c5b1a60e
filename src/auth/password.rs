//! Password policy and argon2id hashing on a bounded number of threads behind a bounded
//! queue, so a login flood can neither starve the blocking pool that database work runs
//! on nor pile up unbounded work: when the queue is full, the request answers `503
//! service_busy` at once.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{AppError, FieldError, FieldErrorCode};

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_CHARS: usize = 128;

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .collect()
});

/// Checks the policy of DESIGN.md §6: 10 to 128 characters, never truncated, no
/// composition rules, not a common password.
pub fn check_policy(password: &str, pointer: &str) -> Result<(), FieldError> {
    check_length(password, pointer)?;
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(FieldError::new(
            pointer,
            FieldErrorCode::TooShort {
                min: MIN_PASSWORD_CHARS,
            },
        ));
    }
    if COMMON_PASSWORDS.contains(password.to_lowercase().as_str()) {
        return Err(FieldError::new(pointer, FieldErrorCode::CommonPassword));
    }
    Ok(())
}

/// A password given to be checked (login, confirmation of a change): present and at
/// most 128 characters, so nobody can make the server hash 64 KiB per request.
pub fn check_length(password: &str, pointer: &str) -> Result<(), FieldError> {
    if password.is_empty() {
        return Err(FieldError::new(pointer, FieldErrorCode::Required));
    }
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return Err(FieldError::new(
            pointer,
            FieldErrorCode::TooLong {
                max: MAX_PASSWORD_CHARS,
            },
        ));
    }
    Ok(())
}

/// argon2id with OWASP's minimum parameters: m = 19456 KiB, t = 2, p = 1.
fn params() -> Params {
    Params::new(19_456, 2, 1, None).expect("static argon2 parameters are valid")
}

/// How long a hashing thread keeps its 19 MiB working memory after its last hash.
/// Reusing it saves the page faults of a fresh block per hash under load; releasing it
/// keeps an idle server small.
const KEEP_MEMORY_WHILE_BUSY: Duration = Duration::from_secs(5);

type Memory = Vec<Block>;
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// How long a client refused by a full queue should wait: the queue drains in well
/// under a second.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Hashes and verifies passwords on a fixed number of dedicated threads, so a login
/// flood queues here instead of occupying the blocking pool that database work needs,
/// and at most `threads` argon2 working memories exist at once. At most `queue` more
/// computations wait; beyond that, [`PasswordHasher::reserve`] refuses.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: crossbeam_channel::Sender<Job>,
    threads: usize,
    /// One permit per computation running or waiting.
    capacity: Arc<Semaphore>,
    /// Computations done since start (a metric; tests read it too).
    computations: Arc<AtomicU64>,
    /// Verified against when the e-mail is unknown, so both paths cost one hash.
    dummy_hash: Arc<String>,
    /// How long each computation took (`firmenportal_password_hash_duration_seconds`).
    duration: prometheus::Histogram,
}

/// A place in the hashing queue, taken before any other work of a request so that a
/// request refused as busy has changed nothing.
pub struct HashingSlot {
    hasher: PasswordHasher,
    permit: OwnedSemaphorePermit,
}

impl PasswordHasher {
    pub fn new(threads: usize, queue: usize) -> Self {
        // Unbounded here: the semaphore bounds what may be sent.
        let (jobs, waiting) = crossbeam_channel::unbounded::<Job>();
        for index in 0..threads {
            let waiting = waiting.clone();
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || hashing_thread(&waiting))
                .expect("spawn hashing thread");
        }
        let dummy_hash = hash_with(&mut Vec::new(), b"dummy password for timing")
            .expect("hashing a constant succeeds");
        PasswordHasher {
            jobs,
            threads,
            capacity: Arc::new(Semaphore::new(threads + queue)),
            computations: Arc::new(AtomicU64::new(0)),
            dummy_hash: Arc::new(dummy_hash),
            duration: crate::telemetry::metrics::seconds_histogram(
                "firmenportal_password_hash_duration_seconds",
                "Time of one argon2id hash or verification on a hashing thread",
            ),
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    /// How many hashes and verifications were computed since start.
    pub fn computations(&self) -> u64 {
        self.computations.load(Ordering::Relaxed)
    }

    /// Computations sent and not yet started by a hashing thread.
    pub fn queued(&self) -> usize {
        self.jobs.len()
    }

    /// The duration histogram, for the metrics registry.
    pub fn duration_histogram(&self) -> prometheus::Histogram {
        self.duration.clone()
    }

    /// Takes a place in the queue, or answers `503 service_busy` when it is full.
    pub fn reserve(&self) -> Result<HashingSlot, AppError> {
        let permit = self
            .capacity
            .clone()
            .try_acquire_owned()
            .map_err(|_| AppError::busy(BUSY_RETRY_AFTER))?;
        Ok(HashingSlot {
            hasher: self.clone(),
            permit,
        })
    }

    /// Reserves a place and hashes.
    pub async fn hash(&self, password: SecretString) -> Result<String, AppError> {
        self.reserve()?.hash(password).await
    }
}

impl HashingSlot {
    pub async fn hash(self, password: SecretString) -> Result<String, AppError> {
        self.on_hashing_thread(move |memory| hash_with(memory, password.expose_secret().as_bytes()))
            .await
    }

    /// Verifies against `stored`, or against a dummy hash when there is no account, so
    /// unknown e-mails take as long as known ones.
    pub async fn verify(
        self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, AppError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.hasher.dummy_hash.as_ref().clone());
        let matches = self
            .on_hashing_thread(move |memory| {
                verify_with(memory, password.expose_secret().as_bytes(), &stored)
            })
            .await?;
        Ok(known && matches)
    }

    async fn on_hashing_thread<R: Send + 'static>(
        self,
        work: impl FnOnce(&mut Memory) -> Result<R, AppError> + Send + 'static,
    ) -> Result<R, AppError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let HashingSlot { hasher, permit } = self;
        let computations = hasher.computations.clone();
        let duration = hasher.duration.clone();
        // A child of the request's span, when traces are exported.
        let span = if crate::telemetry::traces::exporting() {
            tracing::info_span!("password hash", otel.kind = "internal")
        } else {
            tracing::Span::none()
        };
        hasher
            .jobs
            .send(Box::new(move |memory| {
                let started = std::time::Instant::now();
                let outcome = span.in_scope(|| work(memory));
                computations.fetch_add(1, Ordering::Relaxed);
                duration.observe(started.elapsed().as_secs_f64());
                // The place frees when the work is done, even if the client has gone.
                drop(permit);
                // For diagnosis: RUST_LOG=firmenportal::auth::password=debug.
                tracing::debug!(
                    elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                    "argon2 computation"
                );
                let _ = reply.send(outcome);
            }))
            .map_err(|_| AppError::Internal("hashing threads stopped".into()))?;
        answer
            .await
            .map_err(|_| AppError::Internal("hashing thread failed".into()))?
    }
}

fn hashing_thread(queue: &crossbeam_channel::Receiver<Job>) {
    lower_this_threads_priority();
    let mut memory: Memory = Vec::new();
    loop {
        match queue.recv_timeout(KEEP_MEMORY_WHILE_BUSY) {
            Ok(job) => job(&mut memory),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => memory = Vec::new(),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Hashing is CPU-bound and can wait a few milliseconds; ordinary requests cannot. At
/// nice 10 the hashing threads get about a tenth of a core that a request handler of
/// this process also wants, so `GET /me` stays fast under a login flood (see
/// `bench/run.sh`) while logins still progress when every core is busy. `SCHED_IDLE`
/// was tried and starved hashing outright under such contention (the test suite beside
/// two CPU hogs: 67 s and a timed-out login, against 21 s at nice 10). Other processes,
/// such as a database in another container, compete with this process as a group
/// whatever the nice value: where they must keep a core, `PASSWORD_HASHING_THREADS`
/// below the number of cores leaves it (every core hashes by default).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn lower_this_threads_priority() {
    // SAFETY: setpriority has no memory effects; on Linux, PRIO_PROCESS with id 0 sets
    // the nice value of the calling thread only.
    let result = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
    if result != 0 {
        tracing::debug!("could not lower the priority of a hashing thread");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

/// argon2 reads its 19 MiB working memory in an order that defeats the TLB: on 4 KiB
/// pages, every few blocks cost a page walk. On 2 MiB pages a hash is about 5 % faster
/// (`cargo bench --bench argon2_hash`), and two at once get in each other's way less.
const HUGE_PAGE: usize = 2 * 1024 * 1024;
const BLOCKS_PER_HUGE_PAGE: usize = HUGE_PAGE / std::mem::size_of::<Block>();

/// `count` blocks of the thread's working memory, starting on a 2 MiB boundary, grown
/// when needed. A new buffer is asked to be backed by transparent huge pages before it
/// is first touched.
fn blocks(memory: &mut Memory, count: usize) -> &mut [Block] {
    let wanted = count + BLOCKS_PER_HUGE_PAGE;
    if memory.len() < wanted {
        let mut fresh: Memory = Vec::with_capacity(wanted);
        advise_huge_pages(
            fresh.as_ptr() as usize,
            wanted * std::mem::size_of::<Block>(),
        );
        fresh.resize(wanted, Block::default());
        *memory = fresh;
        let start = memory.as_ptr() as usize;
        let used = start.next_multiple_of(HUGE_PAGE);
        // The blocks before the boundary and after the last one used are never read:
        // the 2 MiB they take together go back to the OS (one working memory held
        // 21 MiB instead of 19).
        give_back(start, used);
        give_back(
            used + count * std::mem::size_of::<Block>(),
            start + wanted * std::mem::size_of::<Block>(),
        );
    }
    let start = memory.as_ptr() as usize;
    let offset = (start.next_multiple_of(HUGE_PAGE) - start) / std::mem::size_of::<Block>();
    &mut memory[offset..offset + count]
}

/// Returns the whole pages inside `[from, to)` of the thread's working memory to the OS.
/// They read as zeros afterwards, which is what they hold (`Block::default()`), so the
/// memory's contents do not change.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn give_back(from: usize, to: usize) {
    const PAGE: usize = 4096;
    let (from, to) = (from.next_multiple_of(PAGE), to / PAGE * PAGE);
    if to <= from {
        return;
    }
    // SAFETY: the range lies inside an allocation this thread owns and holds only zeroed
    // blocks; MADV_DONTNEED on private anonymous memory makes its pages read as zeros
    // again, so every `Block` in it stays valid and unchanged.
    let result =
        unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED) };
    if result != 0 {
        tracing::debug!("could not give back unused argon2 memory");
    }
}

#[cfg(not(target_os = "linux"))]
fn give_back(_from: usize, _to: usize) {}

/// Asks the kernel to back the 2 MiB-aligned part of `[start, start + len)` with huge
/// pages; a hint that changes nothing else.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn advise_huge_pages(start: usize, len: usize) {
    let aligned = start.next_multiple_of(HUGE_PAGE);
    let aligned_len = (start + len).saturating_sub(aligned) / HUGE_PAGE * HUGE_PAGE;
    if aligned_len == 0 {
        return;
    }
    // SAFETY: the range lies inside an allocation this thread owns; MADV_HUGEPAGE only
    // changes how the kernel backs it, never its contents or validity.
    let result = unsafe {
        libc::madvise(
            aligned as *mut libc::c_void,
            aligned_len,
            libc::MADV_HUGEPAGE,
        )
    };
    if result != 0 {
        tracing::debug!("transparent huge pages not available for argon2 memory");
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_start: usize, _len: usize) {}

fn hashing_error(error: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("password hashing failed: {error}"))
}

/// One argon2 computation in the thread's working memory.
fn compute(
    argon2: &Argon2,
    memory: &mut Memory,
    password: &[u8],
    salt: Salt,
    output_len: usize,
) -> Result<Output, AppError> {
    let mut salt_buffer = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buffer).map_err(hashing_error)?;
    let block_count = argon2.params().block_count();
    Output::init_with(output_len, |out| {
        Ok(argon2.hash_password_into_with_memory(
            password,
            salt_bytes,
            out,
            blocks(memory, block_count),
        )?)
    })
    .map_err(hashing_error)
}

/// `Argon2::hash_password` with caller-provided working memory; the result is the
/// usual PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
fn hash_with(memory: &mut Memory, password: &[u8]) -> Result<String, AppError> {
    let params = params();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let output = compute(
        &argon2,
        memory,
        password,
        salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
    )?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(hashing_error)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// `PasswordVerifier::verify_password` with caller-provided working memory; honours
/// the parameters stored with the hash and compares in constant time.
fn verify_with(memory: &mut Memory, password: &[u8], stored: &str) -> Result<bool, AppError> {
    let parsed = PasswordHash::new(stored).map_err(hashing_error)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(hashing_error("stored hash has no salt or output"));
    };
    let params = Params::try_from(&parsed).map_err(hashing_error)?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(hashing_error)?;
    let version = match parsed.version {
        Some(version) => Version::try_from(version).map_err(hashing_error)?,
        None => Version::default(),
    };
    let argon2 = Argon2::new(algorithm, version, params);
    let computed = compute(&argon2, memory, password, salt, expected.len())?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_limits() {
        assert!(check_policy("kurz", "/password").is_err());
        assert!(check_policy("1234567890", "/password").is_err(), "common");
        assert!(
            check_policy("Passwort123", "/password").is_err(),
            "common, any case"
        );
        assert!(check_policy("lange genug und selten", "/password").is_ok());
        assert!(check_policy(&"x".repeat(129), "/password").is_err());
        assert!(
            check_policy(&"ä".repeat(10), "/password").is_ok(),
            "counts characters"
        );
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let hasher = PasswordHasher::new(1, 4);
        let hash = hasher.hash("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let verify = |password: &str, stored: Option<String>| {
            let slot = hasher.reserve().unwrap();
            slot.verify(password.to_string().into(), stored)
        };
        assert!(
            verify("correct horse battery", Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse battery", Some(hash)).await.unwrap());
        assert!(!verify("anything at all", None).await.unwrap());
        assert_eq!(hasher.computations(), 4);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let hasher = PasswordHasher::new(1, 1);
        let running = hasher.reserve().unwrap();
        let waiting = hasher.reserve().unwrap();
        let refused = hasher.reserve().err().expect("the queue is full");
        assert_eq!(refused.code(), "service_busy");
        drop(waiting);
        let again = hasher.reserve().expect("a place freed");
        drop((running, again));
    }

    #[test]
    fn hashes_interoperate_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let ours = hash_with(&mut Vec::new(), b"correct horse battery").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        let reference = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        assert!(
            reference
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );

        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs = reference
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        let mut memory = Vec::new();
        assert!(verify_with(&mut memory, b"correct horse battery", &theirs).unwrap());
        assert!(!verify_with(&mut memory, b"correct horse batterY", &theirs).unwrap());
        // Reused memory gives the same answers.
        assert!(verify_with(&mut memory, b"correct horse battery", &ours).unwrap());
    }
}
