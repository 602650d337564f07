//! 32-byte keys the kernel keeps in files of their own (the audit signing
//! key, the secrets key, the ring of data keys): created once, readable by
//! the owner only, and never silently replaced.

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

/// The ring of 32-byte keys `path` holds, the current one first; none if
/// there is no such file. A file that is not a whole number of keys is an
/// error.
pub(crate) fn load_ring(path: &Path) -> std::io::Result<Option<Vec<[u8; 32]>>> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    if bytes.is_empty() || !bytes.len().is_multiple_of(32) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is not a ring of 32-byte keys", path.display()),
        ));
    }
    let ring = bytes.chunks_exact(32).map(|key| key.try_into().unwrap_or([0; 32])).collect();
    Ok(Some(ring))
}

/// Writes `ring` to `path` in place of what it held, if anything: to a new
/// file first (mode 0600, synced), then renamed over it, so that a crash
/// leaves one ring or the other whole.
pub(crate) fn write_ring(path: &Path, ring: &[[u8; 32]]) -> std::io::Result<()> {
    let next = path.with_extension("next");
    match std::fs::remove_file(&next) {
        Ok(()) => {}
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    write_private(&next, &ring.concat())?;
    std::fs::rename(&next, path)?;
    sync_dir(path)
}

#[cfg(unix)]
fn sync_dir(path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn sync_dir(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    sync_dir(path)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.key");
        assert_eq!(load_ring(&path).unwrap(), None);
        write_ring(&path, &[[1; 32]]).unwrap();
        write_ring(&path, &[[2; 32], [1; 32]]).unwrap();
        assert_eq!(load_ring(&path).unwrap(), Some(vec![[2; 32], [1; 32]]));
        std::fs::write(&path, [0u8; 40]).unwrap();
        let err = load_ring(&path).unwrap_err();
        assert!(err.to_string().contains("not a ring of 32-byte keys"), "{err}");
    }

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
