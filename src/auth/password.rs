//! Password policy and argon2id hashing on a bounded number of threads, so a login flood
//! cannot starve the blocking pool that database work runs on.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

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
    let chars = password.chars().count();
    if password.is_empty() {
        return Err(FieldError::new(pointer, FieldErrorCode::Required));
    }
    if chars < MIN_PASSWORD_CHARS {
        return Err(FieldError::new(
            pointer,
            FieldErrorCode::TooShort {
                min: MIN_PASSWORD_CHARS,
            },
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(FieldError::new(
            pointer,
            FieldErrorCode::TooLong {
                max: MAX_PASSWORD_CHARS,
            },
        ));
    }
    if COMMON_PASSWORDS.contains(password.to_lowercase().as_str()) {
        return Err(FieldError::new(pointer, FieldErrorCode::CommonPassword));
    }
    Ok(())
}

/// argon2id with OWASP's minimum parameters: m = 19456 KiB, t = 2, p = 1.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    threads: usize,
    /// Verified against when the e-mail is unknown, so both paths cost one hash.
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    pub fn new(threads: usize) -> Self {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let dummy_hash = argon2()
            .hash_password(b"dummy password for timing", &salt)
            .expect("hashing a constant succeeds")
            .to_string();
        PasswordHasher {
            permits: Arc::new(Semaphore::new(threads)),
            threads,
            dummy_hash: Arc::new(dummy_hash),
        }
    }

    pub fn threads(&self) -> usize {
        self.threads
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, AppError> {
        self.on_hashing_thread(move || {
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            argon2()
                .hash_password(password.expose_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| AppError::Internal(format!("hashing failed: {e}")))
        })
        .await
    }

    /// Verifies against `stored`, or against a dummy hash when there is no account, so
    /// unknown e-mails take as long as known ones.
    pub async fn verify(
        &self,
        password: SecretString,
        stored: Option<String>,
    ) -> Result<bool, AppError> {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| self.dummy_hash.as_ref().clone());
        let matches = self
            .on_hashing_thread(move || {
                let parsed = PasswordHash::new(&stored)
                    .map_err(|e| AppError::Internal(format!("stored hash unreadable: {e}")))?;
                Ok(argon2()
                    .verify_password(password.expose_secret().as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(known && matches)
    }

    async fn on_hashing_thread<R: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<R, AppError> + Send + 'static,
    ) -> Result<R, AppError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| AppError::Internal("hashing pool closed".into()))?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| AppError::Internal(format!("hashing task failed: {e}")))?
    }
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
        let hasher = PasswordHasher::new(1);
        let hash = hasher.hash("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            hasher
                .verify("correct horse battery".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse battery".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("anything at all".into(), None).await.unwrap());
    }
}
