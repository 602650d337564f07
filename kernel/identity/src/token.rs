//! API tokens for integrations: created by an administrator, shown once,
//! stored as a SHA-256 digest, scoped to one tenant and a set of roles, and
//! expiring. A token acts as the principal `token:<id>`, on behalf of the
//! user who created it: segregation of duties compares that user, so that no
//! one approves through a token what they wrote themselves, or the reverse.

use keel_storage::Lane;
use keel_types::action;
use keel_types::{TenantId, UserId};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::{Change, Identity, IdentityError, audit, from_json, storage, to_json};

/// A token as listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApiToken {
    /// The token's id; its principal is `token:<id>`.
    pub id: String,
    /// The tenant it acts in.
    pub tenant: TenantId,
    /// What it is for.
    pub name: String,
    /// The roles it holds in its tenant.
    pub roles: Vec<String>,
    /// When it was created, Unix seconds.
    pub created_at: i64,
    /// When it stops working, Unix seconds.
    pub expires_at: i64,
    /// The user who created it, on whose behalf it acts (none: created
    /// before tokens recorded it).
    #[serde(default)]
    pub created_by: Option<UserId>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TokenRecord {
    token: ApiToken,
    digest: String,
}

/// Longest token accepted for lookup.
const TOKEN_BYTES_MAX: usize = 128;

fn digest(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn record_key(tenant: &TenantId, id: &str) -> String {
    format!("apitoken/{tenant}/{id}")
}

/// A token's record is its tenant's, the index of digests the platform's.
fn token_lanes(tenant: &TenantId) -> [Lane; 2] {
    [Lane::Platform, Lane::Tenant(tenant.clone())]
}

fn digest_key(digest: &str) -> String {
    format!("apitoken-digest/{digest}")
}

/// Who created a token: kept after it is revoked, since the documents it
/// wrote still name it.
fn owner_key(tenant: &TenantId, id: &str) -> String {
    format!("apitoken-owner/{tenant}/{id}")
}

/// Checks a catalog record against the token records and their index of
/// digests (`apitoken-digest/<digest>`, the platform's, naming a token
/// record, a tenant's): what is wrong with it, if anything; nothing for
/// records of other kinds. For audit verification: the chain cannot seal a
/// platform record that a tenant's change writes.
pub fn check_catalog_index(txn: &keel_storage::ReadTxn, key: &str, value: &[u8]) -> Option<String> {
    let read = |key: &str| match txn.catalog_get(key) {
        Ok(record) => Ok(record),
        Err(err) => Err(format!("cannot be checked against {key}: {err}")),
    };
    if key.starts_with("apitoken/") {
        let Ok(record) = serde_json::from_slice::<TokenRecord>(value) else {
            return Some("is unreadable".to_owned());
        };
        return match read(&digest_key(&record.digest)) {
            Ok(Some(indexed)) if indexed == key.as_bytes() => None,
            Ok(_) => Some(format!(
                "is missing from the index of token digests ({})",
                digest_key(&record.digest)
            )),
            Err(why) => Some(why),
        };
    }
    let indexed = key.strip_prefix("apitoken-digest/")?;
    let Ok(record_key) = std::str::from_utf8(value) else {
        return Some("names no token record".to_owned());
    };
    if !record_key.starts_with("apitoken/") {
        return Some(format!("names {record_key:?}, which is no token record"));
    }
    match read(record_key).map(|r| r.map(|r| serde_json::from_slice::<TokenRecord>(&r))) {
        Ok(Some(Ok(record))) if record.digest == indexed => None,
        Ok(Some(Ok(_))) => {
            Some(format!("names token record {record_key}, whose secret has another digest"))
        }
        Ok(Some(Err(_))) => Some(format!("names token record {record_key}, which is unreadable")),
        Ok(None) => Some(format!("names token record {record_key}, which does not exist")),
        Err(why) => Some(why),
    }
}

impl Identity {
    /// Creates a token acting for `created_by`; returns it and its secret,
    /// which is shown only now.
    pub fn create_token(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        name: &str,
        roles: &[String],
        expires_at: i64,
        created_by: &UserId,
    ) -> Result<(ApiToken, String), IdentityError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(IdentityError::Invalid("token name must be 1 to 200 bytes".to_owned()));
        }
        let now = self.clock.now().seconds;
        if expires_at <= now {
            return Err(IdentityError::Invalid("a token must expire in the future".to_owned()));
        }
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        // The id is listed and shown to plugins: it shares nothing with the secret.
        let id = crate::session::random_hex(6);
        let secret = format!("keel_tok_{hex}");
        let mut roles = roles.to_vec();
        roles.sort();
        roles.dedup();
        let token = ApiToken {
            id,
            tenant: tenant.clone(),
            name: name.to_owned(),
            roles,
            created_at: now,
            expires_at,
            created_by: Some(created_by.clone()),
        };
        let record = TokenRecord { token: token.clone(), digest: digest(&secret) };
        let mut txn = self.storage.write(&token_lanes(tenant)).map_err(storage)?;
        txn.catalog_put(&record_key(tenant, &token.id), &to_json(&record)?).map_err(storage)?;
        txn.catalog_put(&digest_key(&record.digest), record_key(tenant, &token.id).as_bytes())
            .map_err(storage)?;
        txn.catalog_put(&owner_key(tenant, &token.id), created_by.as_str().as_bytes())
            .map_err(storage)?;
        let change = Change::new("tokens", &token.id).after(&token);
        audit(&mut txn, Some(tenant), change.record(origin, action::TOKEN_CREATE))?;
        txn.commit().map_err(storage)?;
        Ok((token, secret))
    }

    /// The tokens of a tenant (`None`: of every tenant), live or expired.
    pub fn tokens(&self, tenant: Option<&TenantId>) -> Result<Vec<ApiToken>, IdentityError> {
        let prefix = tenant.map_or_else(|| "apitoken/".to_owned(), |t| format!("apitoken/{t}/"));
        let txn = self.storage.read().map_err(storage)?;
        let records = txn.catalog_scan(&prefix).map_err(storage)?;
        records.iter().map(|(_, bytes)| Ok(from_json::<TokenRecord>(bytes)?.token)).collect()
    }

    /// Revokes a token; returns it if it existed.
    pub fn revoke_token(
        &self,
        origin: &keel_audit::Origin,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<ApiToken>, IdentityError> {
        let mut txn = self.storage.write(&token_lanes(tenant)).map_err(storage)?;
        let Some(bytes) = txn.catalog_get(&record_key(tenant, id)).map_err(storage)? else {
            return Ok(None);
        };
        let record: TokenRecord = from_json(&bytes)?;
        txn.catalog_remove(&record_key(tenant, id)).map_err(storage)?;
        txn.catalog_remove(&digest_key(&record.digest)).map_err(storage)?;
        let change = Change::new("tokens", id).before(&record.token);
        audit(&mut txn, Some(tenant), change.record(origin, action::TOKEN_REVOKE))?;
        txn.commit().map_err(storage)?;
        Ok(Some(record.token))
    }

    /// The user who created token `id` of `tenant`, revoked or not; none
    /// for a token that never existed or predates owners.
    pub fn token_owner(
        &self,
        tenant: &TenantId,
        id: &str,
    ) -> Result<Option<UserId>, IdentityError> {
        let txn = self.storage.read().map_err(storage)?;
        let Some(bytes) = txn.catalog_get(&owner_key(tenant, id)).map_err(storage)? else {
            return Ok(None);
        };
        let owner = std::str::from_utf8(&bytes).ok().and_then(|name| UserId::new(name).ok());
        owner
            .map(Some)
            .ok_or_else(|| IdentityError::Corrupt(format!("corrupt owner of token {id}")))
    }

    /// The live token a secret belongs to, if any.
    pub fn authenticate_token(&self, secret: &str) -> Result<Option<ApiToken>, IdentityError> {
        if secret.len() > TOKEN_BYTES_MAX || !secret.starts_with("keel_tok_") {
            return Ok(None);
        }
        let txn = self.storage.read().map_err(storage)?;
        let Some(key) = txn.catalog_get(&digest_key(&digest(secret))).map_err(storage)? else {
            return Ok(None);
        };
        let key = String::from_utf8(key)
            .map_err(|_| IdentityError::Corrupt("corrupt token index".to_owned()))?;
        let Some(bytes) = txn.catalog_get(&key).map_err(storage)? else { return Ok(None) };
        let token = from_json::<TokenRecord>(&bytes)?.token;
        Ok((token.expires_at > self.clock.now().seconds).then_some(token))
    }
}
