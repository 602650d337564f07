//! Signed chain heads: the kernel signs "chain X had N entries ending in
//! hash H at time T" with an ed25519 key kept in its data directory. A head
//! exported and kept elsewhere later proves whether the chain was cut short
//! or rewritten, even by someone who could edit the store.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

/// What a signed head asserts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HeadStatement {
    /// The chain, such as `tenant/acme`.
    pub chain: String,
    /// Its number of entries.
    pub entries: u64,
    /// The hash of its last entry.
    pub head: String,
    /// When it was signed, Unix seconds.
    pub signed_at: i64,
}

/// A statement with its signature and the key that made it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignedHead {
    /// The statement.
    pub statement: HeadStatement,
    /// ed25519 signature of the statement's JSON, hex.
    pub signature: String,
    /// The kernel's public key, hex.
    pub public_key: String,
}

/// The kernel's signing key.
pub struct HeadSigner {
    key: SigningKey,
}

impl std::fmt::Debug for HeadSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeadSigner").field("public_key", &self.public_key()).finish()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Lower-case hex as [`hex`] writes it, and only that: a signature or key
/// spelt another way is not the one the kernel wrote.
fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != N * 2 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

impl HeadSigner {
    /// Signs with the ed25519 key of this 32-byte seed (the kernel keeps it
    /// in `<data>/audit-signing.key`).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self { key: SigningKey::from_bytes(seed) }
    }

    /// The public key, hex.
    pub fn public_key(&self) -> String {
        hex(self.key.verifying_key().as_bytes())
    }

    /// Signs a statement.
    pub fn sign(&self, statement: HeadStatement) -> SignedHead {
        let message = serde_json::to_vec(&statement).unwrap_or_default();
        let signature = hex(&self.key.sign(&message).to_bytes());
        SignedHead { statement, signature, public_key: self.public_key() }
    }
}

/// Whether `signed` carries a valid signature by its public key. (Compare
/// that key with the kernel's published one to know who signed.)
pub fn verify_signed_head(signed: &SignedHead) -> bool {
    let (Some(key), Some(signature)) =
        (unhex::<32>(&signed.public_key), unhex::<64>(&signed.signature))
    else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&key) else { return false };
    let message = serde_json::to_vec(&signed.statement).unwrap_or_default();
    key.verify(&message, &Signature::from_bytes(&signature)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_signed_verified_and_the_key_persists() {
        let signer = HeadSigner::from_seed(&[3; 32]);
        let statement = HeadStatement {
            chain: "tenant/t".to_owned(),
            entries: 7,
            head: "ab".repeat(32),
            signed_at: 1,
        };
        let signed = signer.sign(statement);
        assert!(verify_signed_head(&signed));
        assert_eq!(
            HeadSigner::from_seed(&[3; 32]).public_key(),
            signer.public_key(),
            "the same key from the same seed"
        );

        let mut forged = signed.clone();
        forged.statement.entries = 8;
        assert!(!verify_signed_head(&forged), "a changed statement fails");
        let mut respelt = signed.clone();
        respelt.signature = signed.signature.to_uppercase();
        assert!(!verify_signed_head(&respelt), "only as the kernel writes it");
        let mut garbled = signed;
        garbled.signature = "zz".to_owned();
        assert!(!verify_signed_head(&garbled));
    }
}
