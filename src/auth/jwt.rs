//! Access tokens: EdDSA (Ed25519) JWTs with a `kid`, and the key ring that signs and
//! verifies them. The active key signs; previous keys still verify until removed from
//! the configuration, and every key is published at `/.well-known/jwks.json`.
//!
//! A token is sent with every request of its 15 minutes, and checking an Ed25519
//! signature costs more than the database lookup that follows it, so the outcome of a
//! successful check is remembered per token (by its SHA-256) until the token expires.
//! Only the signature check is remembered: whether the token's session is still open is
//! asked of the database on every request, so revocation stays instant.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::TokenProblem;
use crate::config::{AppEnv, Config};
use crate::error::AppError;

/// `typ` of our access tokens, in the header (RFC 9068) and as a claim.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
pub const ACCESS_CLAIM_TYPE: &str = "access";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// Account id.
    pub sub: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    pub typ: String,
    /// Session (refresh-token family) the token belongs to; logout revokes it.
    pub sid: String,
}

struct VerificationKey {
    decoding: DecodingKey,
    public_x: String,
}

pub struct KeyRing {
    signing_kid: String,
    encoding: EncodingKey,
    verification: HashMap<String, VerificationKey>,
    issuer: String,
    audience: String,
    ttl: Duration,
    /// Tokens whose signature, issuer, audience and type were already checked.
    verified: quick_cache::sync::Cache<[u8; 32], AccessClaims>,
}

/// How many verified tokens are remembered: a token each for the busy sessions of a
/// large operator, a few megabytes at most.
const VERIFIED_TOKENS_CACHED: usize = 10_000;
/// Clock skew tolerated for `exp` and `nbf`.
const LEEWAY_SECS: i64 = 2;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("key file {path} holds no Ed25519 key in PEM (PKCS#8 or SPKI): {reason}")]
    Parse { path: String, reason: String },
    #[error("cannot write generated key to {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

impl KeyRing {
    /// Loads the configured keys. Outside production, with no key configured, a key is
    /// generated once and kept in the data directory so restarts keep sessions valid.
    pub fn load(config: &Config) -> Result<Self, KeyError> {
        let tokens = &config.tokens;
        let signing = match &tokens.signing_key_file {
            Some(path) => read_signing_key(path)?,
            None => {
                debug_assert!(config.app_env != AppEnv::Production);
                load_or_generate(&tokens.data_dir.join("jwt-signing-key.pem"))?
            }
        };
        let mut verifying = vec![signing.verifying_key()];
        for path in &tokens.verification_key_files {
            verifying.push(read_verifying_key(path)?);
        }
        let mut verification = HashMap::new();
        for key in verifying {
            let public_x = URL_SAFE_NO_PAD.encode(key.as_bytes());
            let decoding =
                DecodingKey::from_ed_components(&public_x).map_err(|e| KeyError::Parse {
                    path: "(public key)".into(),
                    reason: e.to_string(),
                })?;
            verification.insert(key_id(&key), VerificationKey { decoding, public_x });
        }
        let der = signing.to_pkcs8_der().map_err(|e| KeyError::Parse {
            path: "(signing key)".into(),
            reason: e.to_string(),
        })?;
        let encoding = EncodingKey::from_ed_der(der.as_bytes());
        Ok(KeyRing {
            signing_kid: key_id(&signing.verifying_key()),
            encoding,
            verification,
            issuer: tokens.jwt_issuer.clone(),
            audience: tokens.jwt_audience.clone(),
            ttl: tokens.access_token_ttl,
            verified: quick_cache::sync::Cache::new(VERIFIED_TOKENS_CACHED),
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&self, account_id: &str, session_id: &str) -> Result<String, AppError> {
        let now = Utc::now().timestamp();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: account_id.to_string(),
            exp: now + self.ttl.as_secs() as i64,
            nbf: now,
            iat: now,
            jti: uuid::Uuid::new_v4().to_string(),
            typ: ACCESS_CLAIM_TYPE.into(),
            sid: session_id.to_string(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.signing_kid.clone());
        header.typ = Some(ACCESS_TOKEN_TYPE.into());
        jsonwebtoken::encode(&header, &claims, &self.encoding)
            .map_err(|e| AppError::Internal(format!("signing failed: {e}")))
    }

    /// Verifies signature (EdDSA only), `iss`, `aud`, `exp`, `nbf` and `typ`; the
    /// signature of a token seen before is not checked again.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenProblem> {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let claims = match self.verified.get(&key) {
            Some(claims) => claims,
            None => {
                let claims = self.verify_signed(token)?;
                self.verified.insert(key, claims.clone());
                claims
            }
        };
        // The times are checked on every use, cached or not.
        let now = Utc::now().timestamp();
        if claims.exp + LEEWAY_SECS <= now {
            return Err(TokenProblem::Expired);
        }
        if claims.nbf - LEEWAY_SECS > now {
            return Err(TokenProblem::Invalid);
        }
        Ok(claims)
    }

    fn verify_signed(&self, token: &str) -> Result<AccessClaims, TokenProblem> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenProblem::Invalid)?;
        if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(ACCESS_TOKEN_TYPE) {
            return Err(TokenProblem::Invalid);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.verification.get(kid))
            .ok_or(TokenProblem::Invalid)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS as u64;
        let data = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenProblem::Expired,
                _ => TokenProblem::Invalid,
            })?;
        if data.claims.typ != ACCESS_CLAIM_TYPE {
            return Err(TokenProblem::Invalid);
        }
        Ok(data.claims)
    }

    /// The JSON Web Key Set of every key that verifies.
    pub fn jwks(&self) -> Jwks {
        let mut keys: Vec<Jwk> = self
            .verification
            .iter()
            .map(|(kid, key)| Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: key.public_x.clone(),
                kid: kid.clone(),
                alg: "EdDSA".into(),
                key_use: "sig".into(),
            })
            .collect();
        // The signing key first, then a stable order.
        keys.sort_by_key(|k| (k.kid != self.signing_kid, k.kid.clone()));
        Jwks { keys }
    }
}

/// JSON Web Key Set (RFC 7517).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwks {
    /// The public keys that verify access tokens; the signing key first.
    pub keys: Vec<Jwk>,
}

/// One Ed25519 public key (RFC 8037).
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Jwk {
    /// Key type; always `OKP`.
    #[schema(example = "OKP")]
    pub kty: String,
    /// Curve; always `Ed25519`.
    #[schema(example = "Ed25519")]
    pub crv: String,
    /// The public key, base64url without padding.
    #[schema(example = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")]
    pub x: String,
    /// Key id, as in the `kid` header of tokens it signed.
    #[schema(example = "3f1c2a9b7d4e5f60")]
    pub kid: String,
    /// Algorithm; always `EdDSA`.
    #[schema(example = "EdDSA")]
    pub alg: String,
    /// Public key use; always `sig`.
    #[serde(rename = "use")]
    #[schema(example = "sig")]
    pub key_use: String,
}

fn key_id(key: &VerifyingKey) -> String {
    use sha2::{Digest, Sha256};
    crate::auth::opaque::hex(&Sha256::digest(key.as_bytes())[..8])
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn read_signing_key(path: &Path) -> Result<SigningKey, KeyError> {
    SigningKey::from_pkcs8_pem(&read(path)?).map_err(|e| KeyError::Parse {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn read_verifying_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let pem = read(path)?;
    if let Ok(signing) = SigningKey::from_pkcs8_pem(&pem) {
        return Ok(signing.verifying_key());
    }
    VerifyingKey::from_public_key_pem(&pem).map_err(|e| KeyError::Parse {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn load_or_generate(path: &Path) -> Result<SigningKey, KeyError> {
    if path.exists() {
        return read_signing_key(path);
    }
    let key = SigningKey::generate(&mut rand::rngs::OsRng);
    let pem = key
        .to_pkcs8_pem(Default::default())
        .map_err(|e| KeyError::Parse {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
    let write_error = |source| KeyError::Write {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(write_error)?;
    }
    write_private_file(path, pem.as_bytes()).map_err(write_error)?;
    tracing::info!(path = %path.display(), "generated a development JWT signing key");
    Ok(key)
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}
