//! The kernel's keys in a backup, when the operator asks for them: the
//! secrets key, the ring of data keys and the audit signing key, sealed
//! together (ChaCha20-Poly1305) under a key made from a passphrase the
//! operator gives and the kernel never keeps (Argon2id). Without the
//! passphrase the file reveals nothing; with it, a restore puts each key
//! back in the new data directory.

use std::path::Path;

use keel_identity::SecretsKey;
use rand::Rng as _;

use super::{BackupError, hex};

/// The sealed keys' file name in a backup.
pub(crate) const KEYS: &str = "keys.sealed";
/// What the sealed value is bound to, with its file's header and backup.
const CONTEXT: &str = "keel backup keys";
/// The key files a backup may hold, as a data directory names them, and
/// whether each is one key or a ring of them.
const KEY_FILES: [(&str, bool); 3] =
    [("secrets.key", false), ("data.key", true), ("audit-signing.key", false)];

/// The sealed file.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Sealed {
    format: u32,
    /// How the key was made from the passphrase.
    kdf: String,
    /// The salt, hex.
    salt: String,
    /// The keys, as JSON `{file name: hex}`, sealed.
    sealed: String,
}

const KDF: &str = SecretsKey::PASSPHRASE_KDF;

/// The sealed value's context: the file's header and the backup's id, so
/// that neither can be changed, nor the file moved to another backup.
fn context(format: u32, kdf: &str, salt: &str, backup: &str) -> String {
    format!("{CONTEXT}\n{format}\n{kdf}\n{salt}\n{backup}")
}

/// `files` (each key file's name and bytes: all three) sealed with
/// `passphrase` for backup `backup`.
pub(crate) fn seal(
    files: &[(String, Vec<u8>)],
    passphrase: &str,
    backup: &str,
) -> Result<Vec<u8>, BackupError> {
    if let Some((missing, _)) =
        KEY_FILES.iter().find(|(name, _)| !files.iter().any(|(given, _)| given == name))
    {
        return Err(BackupError::Keys(format!(
            "this kernel was not given its {missing} to back up"
        )));
    }
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    let key = SecretsKey::from_passphrase(passphrase, &salt)
        .map_err(|err| BackupError::Keys(err.to_string()))?;
    let plain: serde_json::Map<String, serde_json::Value> =
        files.iter().map(|(name, bytes)| (name.clone(), hex(bytes).into())).collect();
    let plain = serde_json::Value::Object(plain).to_string();
    let salt = hex(&salt);
    let sealed = key
        .seal(&context(1, KDF, &salt, backup), plain.as_bytes())
        .map_err(|err| BackupError::Keys(format!("cannot seal the keys: {err}")))?;
    let file = Sealed { format: 1, kdf: KDF.to_owned(), salt, sealed };
    serde_json::to_vec_pretty(&file)
        .map_err(|err| BackupError::Keys(format!("cannot write the sealed keys: {err}")))
}

/// The key files the sealed `bytes` of the backup at `dir` hold, opened
/// with `passphrase`: each a name a data directory uses, of the length
/// its key has.
pub(crate) fn open(
    bytes: &[u8],
    passphrase: &str,
    backup: &str,
    dir: &Path,
) -> Result<Vec<(String, Vec<u8>)>, BackupError> {
    let damaged = |why: String| BackupError::Damaged { dir: dir.to_path_buf(), why };
    let file: Sealed = serde_json::from_slice(bytes)
        .map_err(|err| damaged(format!("its {KEYS} does not read: {err}")))?;
    if file.format != 1 || file.kdf != KDF {
        return Err(damaged(format!(
            "its {KEYS} is sealed in a way this kernel does not know ({}, format {})",
            file.kdf, file.format
        )));
    }
    let salt = keel_identity::unhex(&file.salt)
        .ok_or_else(|| damaged(format!("the salt of its {KEYS} is not hex")))?;
    let key = SecretsKey::from_passphrase(passphrase, &salt)
        .map_err(|err| BackupError::Keys(err.to_string()))?;
    let plain = key.open(&context(file.format, &file.kdf, &file.salt, backup), &file.sealed).map_err(|_| {
        BackupError::Keys(format!(
            "the passphrase does not open the keys of the backup at {} (or its {KEYS} was changed)",
            dir.display()
        ))
    })?;
    let plain: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&plain)
        .map_err(|err| damaged(format!("its sealed keys do not read: {err}")))?;
    let mut files = Vec::with_capacity(plain.len());
    for (name, value) in plain {
        let Some((_, ring)) = KEY_FILES.iter().find(|(known, _)| *known == name) else {
            return Err(damaged(format!("its sealed keys name {name:?}, which is no key file")));
        };
        let bytes = value.as_str().and_then(keel_identity::unhex).unwrap_or_default();
        let whole =
            if *ring { !bytes.is_empty() && bytes.len() % 32 == 0 } else { bytes.len() == 32 };
        if !whole {
            return Err(damaged(format!("its sealed {name} is not a key")));
        }
        files.push((name, bytes));
    }
    if files.len() != KEY_FILES.len() {
        return Err(damaged(format!(
            "its sealed keys are not the {} a kernel has",
            KEY_FILES.len()
        )));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_open_with_their_passphrase_only() {
        let files = vec![
            ("secrets.key".to_owned(), vec![1; 32]),
            ("data.key".to_owned(), vec![2; 64]),
            ("audit-signing.key".to_owned(), vec![3; 32]),
        ];
        let sealed = seal(&files, "correct horse battery", "b1").unwrap();
        let text = String::from_utf8(sealed.clone()).unwrap();
        assert!(!text.contains(&hex(&[2; 32])), "no key in the clear");
        let dir = Path::new("/backups/b1");
        let mut opened = open(&sealed, "correct horse battery", "b1", dir).unwrap();
        opened.sort();
        let mut expected = files.clone();
        expected.sort();
        assert_eq!(opened, expected);
        let wrong = open(&sealed, "correct horse battery!", "b1", dir).unwrap_err();
        assert!(wrong.to_string().starts_with("the passphrase does not open the keys"), "{wrong}");
        let short = seal(&files, "short", "b1").unwrap_err();
        assert!(short.to_string().contains("12 to 1024 characters"), "{short}");
        let partial = seal(&files[1..], "correct horse battery", "b1").unwrap_err();
        assert!(partial.to_string().contains("not given its secrets.key"), "{partial}");
        // Moved to another backup, it does not open.
        assert!(open(&sealed, "correct horse battery", "b2", dir).is_err());
        let mut edited: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        edited["salt"] = "00".repeat(16).into();
        let edited = serde_json::to_vec(&edited).unwrap();
        assert!(open(&edited, "correct horse battery", "b1", dir).is_err());
    }
}
