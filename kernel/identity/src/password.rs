//! Password hashing with argon2id.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::LazyLock;

use argon2::Argon2;
use rand::Rng;

use crate::IdentityError;

/// Shortest password accepted.
const PASSWORD_CHARS_MIN: usize = 12;
/// Longest password accepted (hashing cost grows with length).
const PASSWORD_BYTES_MAX: usize = 1024;

/// Checks length bounds; length is what matters most for passwords.
pub(crate) fn check_strength(password: &str) -> Result<(), IdentityError> {
    if password.chars().count() < PASSWORD_CHARS_MIN || password.len() > PASSWORD_BYTES_MAX {
        return Err(IdentityError::Invalid(format!(
            "password must be {PASSWORD_CHARS_MIN} to {PASSWORD_BYTES_MAX} characters long"
        )));
    }
    Ok(())
}

/// Hashes a password as an argon2id PHC string with a random salt.
pub(crate) fn hash(password: &str) -> Result<String, IdentityError> {
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|err| IdentityError::Corrupt(format!("cannot salt a password: {err}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| IdentityError::Corrupt(format!("cannot hash password: {err}")))
}

/// Verifies `password` against `stored`; with none, verifies against a
/// dummy hash with the same parameters so that the failure costs the same.
pub(crate) fn verify(password: &str, stored: Option<&str>) -> bool {
    static DUMMY: LazyLock<String> =
        LazyLock::new(|| hash("not a password anyone has").unwrap_or_default());
    let Ok(parsed) = PasswordHash::new(stored.unwrap_or(&DUMMY)) else { return false };
    let bytes = if password.len() > PASSWORD_BYTES_MAX { &[][..] } else { password.as_bytes() };
    Argon2::default().verify_password(bytes, &parsed).is_ok() && stored.is_some()
}

/// A random password of 24 characters from an unambiguous alphabet.
pub(crate) fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..24).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect()
}
