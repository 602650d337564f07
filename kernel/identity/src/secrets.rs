//! Secrets the kernel must read back (second-factor seeds) are sealed
//! before they are stored: ChaCha20-Poly1305 under the kernel's secrets
//! key, which lives outside the database (`<data>/secrets.key` by default,
//! or a file the operator keeps elsewhere). A copy of the database, its log
//! or a backup of them reveals none of them. Each sealed value is bound to
//! what it is for (`context`), so it cannot be moved to another user.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::Rng;

use crate::IdentityError;

/// What a sealed value starts with: the format, so that a later one can be told apart.
const SEALED_PREFIX: &str = "v1.";

const NONCE_BYTES: usize = 12;

/// The key secrets are sealed with.
pub struct SecretsKey {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretsKey(..)")
    }
}

impl SecretsKey {
    /// The key of these 32 bytes.
    pub fn new(key: &[u8; 32]) -> Self {
        Self { cipher: ChaCha20Poly1305::new(Key::from_slice(key)) }
    }

    /// What [`SecretsKey::from_passphrase`] costs, as its callers record
    /// it: Argon2id, 64 MiB, 3 passes, one lane. Pinned, not the crate's
    /// default, so that what a passphrase sealed opens with the same key
    /// whatever the crate's release.
    pub const PASSPHRASE_KDF: &str = "argon2id m=65536 t=3 p=1";

    /// The key a passphrase makes with `salt` ([`PASSPHRASE_KDF`]): for
    /// what is kept away from the kernel, such as the keys inside a backup,
    /// where an attacker may try passphrases offline, hence a cost well
    /// above a login's. A passphrase is 12 to 1024 characters.
    ///
    /// [`PASSPHRASE_KDF`]: Self::PASSPHRASE_KDF
    pub fn from_passphrase(passphrase: &str, salt: &[u8]) -> Result<Self, IdentityError> {
        let length = passphrase.chars().count();
        if !(12..=1024).contains(&length) {
            return Err(IdentityError::Invalid(
                "a passphrase must be 12 to 1024 characters long".to_owned(),
            ));
        }
        let derive =
            |err: argon2::Error| IdentityError::Invalid(format!("cannot derive a key: {err}"));
        let params = argon2::Params::new(65_536, 3, 1, Some(32)).map_err(derive)?;
        let argon2 =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = [0u8; 32];
        argon2.hash_password_into(passphrase.as_bytes(), salt, &mut key).map_err(derive)?;
        let sealing = Self::new(&key);
        key.fill(0);
        Ok(sealing)
    }

    /// `secret` sealed for `context`, as text: `v1.` and the hex of a
    /// random nonce followed by the ciphertext and its tag.
    pub fn seal(&self, context: &str, secret: &[u8]) -> Result<String, IdentityError> {
        let mut nonce = [0u8; NONCE_BYTES];
        rand::rng().fill(&mut nonce);
        let payload = Payload { msg: secret, aad: context.as_bytes() };
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .map_err(|_| IdentityError::Corrupt(format!("cannot seal the secret of {context}")))?;
        let mut text =
            String::with_capacity(SEALED_PREFIX.len() + 2 * (NONCE_BYTES + sealed.len()));
        text.push_str(SEALED_PREFIX);
        for byte in nonce.iter().chain(&sealed) {
            text.push_str(&format!("{byte:02x}"));
        }
        Ok(text)
    }

    /// The secret `sealed` holds for `context`. An error when it was sealed
    /// with another key, for another context, or changed since.
    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, IdentityError> {
        let unreadable = || {
            IdentityError::Corrupt(format!(
                "the sealed secret of {context} cannot be opened: it was sealed with another \
                 secrets key (is --secrets-key the file this data directory was used with?) \
                 or changed since"
            ))
        };
        let bytes = sealed.strip_prefix(SEALED_PREFIX).and_then(unhex).ok_or_else(unreadable)?;
        let (nonce, ciphertext) = bytes.split_at_checked(NONCE_BYTES).ok_or_else(unreadable)?;
        let payload = Payload { msg: ciphertext, aad: context.as_bytes() };
        self.cipher.decrypt(Nonce::from_slice(nonce), payload).map_err(|_| unreadable())
    }
}

/// The bytes of lower- or upper-case hex `text`; none if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len() / 2).map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let key = SecretsKey::new(&[1; 32]);
        let sealed = key.seal("totp/alice", b"twenty bytes of seed").unwrap();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("7477656e7479"), "the plain bytes do not show: {sealed}");
        assert_eq!(key.open("totp/alice", &sealed).unwrap(), b"twenty bytes of seed");
        assert_ne!(sealed, key.seal("totp/alice", b"twenty bytes of seed").unwrap(), "fresh nonce");

        assert!(key.open("totp/bob", &sealed).is_err(), "moved to another user");
        assert!(SecretsKey::new(&[2; 32]).open("totp/alice", &sealed).is_err(), "another key");
        let mut flipped = sealed.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(key.open("totp/alice", &flipped).is_err(), "changed");
        for garbage in ["", "v1.", "v1.zz", "v1.abc", "v2.00", "v1.00112233445566778899aabb"] {
            let err = key.open("totp/alice", garbage).unwrap_err();
            assert!(err.to_string().contains("cannot be opened"), "{garbage}: {err}");
        }
    }
}
