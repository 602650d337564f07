//! 32-byte keys the kernel keeps in files of their own (the audit signing
//! key, the secrets key): created once, readable by the owner only, and
//! never silently replaced.

use std::path::Path;

/// The key in `path`, or `generate()`'s, written there (mode 0600, synced)
/// when the file does not exist yet. A file of another length is an error,
/// not a reason to make a new key: data sealed or signed with the old one
/// would be lost.
pub(crate) fn load_or_create(
    path: &Path,
    generate: impl FnOnce() -> [u8; 32],
) -> std::io::Result<[u8; 32]> {
    match std::fs::read(path) {
        Ok(bytes) => bytes.try_into().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is not a 32-byte key", path.display()),
            )
        }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = generate();
            write_private(path, &key)?;
            Ok(key)
        }
        Err(err) => Err(err),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_kept_private_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("some.key");
        let made = load_or_create(&path, || [7; 32]).unwrap();
        assert_eq!(made, [7; 32]);
        assert_eq!(load_or_create(&path, || [9; 32]).unwrap(), made, "kept across restarts");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        std::fs::write(&path, b"short").unwrap();
        let err = load_or_create(&path, || [9; 32]).unwrap_err();
        assert!(err.to_string().contains("not a 32-byte key"), "{err}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"short",
            "a corrupt key is left for the operator"
        );
    }
}
