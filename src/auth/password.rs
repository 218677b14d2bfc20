//! Passwords are hashed with argon2id (the `argon2` crate's defaults:
//! 19 MiB, 2 passes), stored as PHC strings that carry their parameters.
//! What a new password must be is `domain::password`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use std::sync::OnceLock;

use crate::error::AppError;

pub fn hash(password: &str) -> Result<String, String> {
    let mut salt_bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut salt_bytes);
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| format!("salt encoding failed: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("password hashing failed: {e}"))
}

/// Verifies `password` against a stored PHC hash. A malformed hash verifies
/// nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Burns the same time as a real verification, for logins with an unknown
/// email, so response time does not tell which emails have accounts.
pub fn verify_dummy(password: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let stored = DUMMY.get_or_init(|| hash("dummy password for timing").unwrap_or_default());
    let _ = verify(password, stored);
}

/// Runs argon2 work (tens of milliseconds of CPU) on the blocking pool, off
/// the async workers: the one place the auth code reaches for it.
pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
    Ok(actix_web::web::block(work).await?)
}

/// [`hash`] off the async workers.
pub async fn hash_off_thread(password: String) -> Result<String, AppError> {
    off_thread(move || hash(&password))
        .await?
        .map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &h));
        assert!(!verify("wrong horse battery", &h));
        assert!(!verify("correct horse battery", "not a hash"));
    }
}
