//! Login sessions: a random token shown once, stored as its SHA-256 digest.

use keel_types::action;
use std::time::Duration;

use keel_storage::Storage;
use keel_types::UserId;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::{IdentityError, from_json, to_json};

/// An open session, as returned by a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The bearer token; shown once, stored only as a digest.
    pub token: String,
    /// Whose session it is.
    pub user: UserId,
    /// When it expires, Unix seconds.
    pub expires_at: i64,
}

/// What an open session says about its user.
pub(crate) struct Opened {
    pub(crate) user: UserId,
    pub(crate) generation: u64,
    pub(crate) user_nonce: String,
}

/// Random bytes as lower-case hex.
pub(crate) fn random_hex(n_bytes: usize) -> String {
    let mut bytes = vec![0u8; n_bytes];
    rand::rng().fill(bytes.as_mut_slice());
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SessionRecord {
    user: UserId,
    expires_at: i64,
    /// The user's session generation when opened; a password change
    /// moves the user to a new generation, ending older sessions.
    #[serde(default)]
    generation: u64,
    #[serde(default)]
    user_nonce: String,
}

/// Longest token accepted for lookup.
const TOKEN_BYTES_MAX: usize = 128;

fn key(token: &str) -> String {
    let digest: String =
        Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    format!("session/{digest}")
}

pub(crate) fn open(
    storage: &Storage,
    user: &UserId,
    (generation, user_nonce): (u64, &str),
    now: i64,
    ttl: Duration,
    audit: keel_audit::Record,
) -> Result<Session, IdentityError> {
    let mut secret = [0u8; 32];
    rand::rng().fill(&mut secret);
    let token: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let token = format!("keel_{token}");
    let expires_at = now.saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
    let record = SessionRecord {
        user: user.clone(),
        expires_at,
        generation,
        user_nonce: user_nonce.to_owned(),
    };
    let mut txn = storage.write(&[keel_storage::Lane::Platform]).map_err(crate::storage)?;
    txn.catalog_put(&key(&token), &to_json(&record)?).map_err(crate::storage)?;
    // The login and its audit record commit together.
    keel_audit::append(&mut txn, &keel_audit::chain_of(None), audit).map_err(crate::storage)?;
    txn.commit().map_err(crate::storage)?;
    Ok(Session { token, user: user.clone(), expires_at })
}

/// The user and session generation of an open session.
pub(crate) fn find(
    storage: &Storage,
    token: &str,
    now: i64,
) -> Result<Option<Opened>, IdentityError> {
    if token.len() > TOKEN_BYTES_MAX {
        return Ok(None);
    }
    let txn = storage.read().map_err(crate::storage)?;
    let Some(bytes) = txn.catalog_get(&key(token)).map_err(crate::storage)? else {
        return Ok(None);
    };
    let record: SessionRecord = from_json(&bytes)?;
    let opened =
        Opened { user: record.user, generation: record.generation, user_nonce: record.user_nonce };
    Ok((record.expires_at > now).then_some(opened))
}

/// Closes a session, auditing it as `origin`'s logout; returns whose it was.
pub(crate) fn close(
    storage: &Storage,
    origin: &keel_audit::Origin,
    token: &str,
) -> Result<Option<UserId>, IdentityError> {
    if token.len() > TOKEN_BYTES_MAX {
        return Ok(None);
    }
    // Look before writing: a logout with an unknown token costs no write.
    let known = storage
        .read()
        .map_err(crate::storage)?
        .catalog_get(&key(token))
        .map_err(crate::storage)?
        .is_some();
    if !known {
        return Ok(None);
    }
    let mut txn = storage.write(&[keel_storage::Lane::Platform]).map_err(crate::storage)?;
    let Some(bytes) = txn.catalog_get(&key(token)).map_err(crate::storage)? else {
        return Ok(None);
    };
    let record: SessionRecord = from_json(&bytes)?;
    txn.catalog_remove(&key(token)).map_err(crate::storage)?;
    let audit =
        keel_audit::Record { actor: record.user.to_string(), ..origin.record(action::AUTH_LOGOUT) };
    crate::audit(&mut txn, None, audit)?;
    txn.commit().map_err(crate::storage)?;
    Ok(Some(record.user))
}

/// Removes the sessions that expired by `now`, at most `batch` in each
/// write (so a login waits for one small write at most); each write is
/// audited in the platform chain. Returns how many were removed.
pub(crate) fn prune(storage: &Storage, now: i64, batch: usize) -> Result<usize, IdentityError> {
    let mut after: Option<String> = None;
    let mut n_removed = 0;
    loop {
        let page = storage
            .read()
            .map_err(crate::storage)?
            .catalog_page("session/", after.as_deref(), batch)
            .map_err(crate::storage)?;
        let Some((last, _)) = page.last() else { return Ok(n_removed) };
        after = Some(last.clone());
        let expired: Vec<String> = page
            .into_iter()
            .filter(|(_, bytes)| {
                from_json::<SessionRecord>(bytes).is_ok_and(|r| r.expires_at <= now)
            })
            .map(|(key, _)| key)
            .collect();
        if expired.is_empty() {
            continue;
        }
        n_removed += remove_expired(storage, now, &expired)?;
    }
}

/// Removes those of `keys` that are still expired sessions, in one write.
fn remove_expired(storage: &Storage, now: i64, keys: &[String]) -> Result<usize, IdentityError> {
    let mut txn = storage.write(&[keel_storage::Lane::Platform]).map_err(crate::storage)?;
    let mut n_removed = 0;
    for key in keys {
        let Some(bytes) = txn.catalog_get(key).map_err(crate::storage)? else { continue };
        if from_json::<SessionRecord>(&bytes)?.expires_at <= now {
            txn.catalog_remove(key).map_err(crate::storage)?;
            n_removed += 1;
        }
    }
    if n_removed == 0 {
        return Ok(0);
    }
    let record = keel_audit::Record {
        detail: Some(format!("{n_removed} expired sessions removed")),
        ..keel_audit::Origin::kernel(now).record(action::AUTH_SESSIONS_PRUNED)
    };
    crate::audit(&mut txn, None, record)?;
    txn.commit().map_err(crate::storage)?;
    Ok(n_removed)
}
