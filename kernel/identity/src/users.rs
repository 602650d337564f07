//! Users: created, read, updated and deleted, each change audited on the
//! platform's chain, and the first administrator made on a fresh data
//! directory.

use keel_audit::Origin;
use keel_storage::Lane;
use keel_types::{TenantId, UserId, action};

use crate::{
    Change, Identity, IdentityError, audit, from_json, membership, password, session, storage,
    to_json,
};

/// A user as the kernel shows it (never with its password hash). Its
/// serialised form is what audit records of user changes hold; the HTTP
/// API answers with the gateway's own body.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// The login name.
    pub id: UserId,
    /// The display name.
    pub name: String,
    /// When the user was created, Unix seconds.
    pub created_at: i64,
}

/// The user the bootstrap creates on a fresh data directory.
pub const BOOTSTRAP_ADMIN: &str = "admin";

#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct UserRecord {
    pub(crate) name: String,
    pub(crate) password_hash: String,
    pub(crate) created_at: i64,
    /// Bumped when the password changes: sessions of older generations end.
    #[serde(default)]
    pub(crate) session_generation: u64,
    /// Random per user record: a session opened for a deleted user never
    /// works for a later user of the same name.
    #[serde(default)]
    pub(crate) nonce: String,
}

impl Identity {
    /// Creates a user with a password.
    pub fn create_user(
        &self,
        origin: &Origin,
        id: &UserId,
        name: &str,
        password: &str,
    ) -> Result<User, IdentityError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(IdentityError::Invalid("name must be 1 to 200 bytes".to_owned()));
        }
        password::check_strength(password)?;
        let record = UserRecord {
            name: name.to_owned(),
            password_hash: password::hash(password)?,
            created_at: self.clock.now().seconds,
            session_generation: 0,
            nonce: session::random_hex(16),
        };
        let mut txn = self.storage.write(&[Lane::Platform]).map_err(storage)?;
        let key = user_key(id);
        if txn.catalog_get(&key).map_err(storage)?.is_some() {
            return Err(IdentityError::Exists(id.to_string()));
        }
        txn.catalog_put(&key, &to_json(&record)?).map_err(storage)?;
        let user = User { id: id.clone(), name: record.name, created_at: record.created_at };
        let change = Change::new("users", id.as_str()).after(&user);
        audit(&mut txn, None, change.record(origin, action::USER_CREATE))?;
        txn.commit().map_err(storage)?;
        Ok(user)
    }

    /// The user `id`, if it exists.
    pub fn user(&self, id: &UserId) -> Result<Option<User>, IdentityError> {
        let record = self.user_record(id)?;
        Ok(record.map(|r| User { id: id.clone(), name: r.name, created_at: r.created_at }))
    }

    /// Every user, by id.
    pub fn users(&self) -> Result<Vec<User>, IdentityError> {
        let txn = self.storage.read().map_err(storage)?;
        let mut users = Vec::new();
        for (key, bytes) in txn.catalog_scan("user/").map_err(storage)? {
            let record: UserRecord = from_json(&bytes)?;
            let Ok(id) = UserId::new(&key["user/".len()..]) else { continue };
            users.push(User { id, name: record.name, created_at: record.created_at });
        }
        Ok(users)
    }

    /// A user's stored record.
    pub(crate) fn user_record(&self, id: &UserId) -> Result<Option<UserRecord>, IdentityError> {
        let txn = self.storage.read().map_err(storage)?;
        txn.catalog_get(&user_key(id)).map_err(storage)?.map(|b| from_json(&b)).transpose()
    }

    /// Changes a user's name and/or password; a new password ends every
    /// session the user had open.
    pub fn update_user(
        &self,
        origin: &Origin,
        id: &UserId,
        name: Option<&str>,
        password: Option<&str>,
    ) -> Result<Option<User>, IdentityError> {
        if let Some(password) = password {
            password::check_strength(password)?;
        }
        let name = name.map(str::trim);
        if name.is_some_and(|n| n.is_empty() || n.len() > 200) {
            return Err(IdentityError::Invalid("name must be 1 to 200 bytes".to_owned()));
        }
        let hash = password.map(password::hash).transpose()?;
        let mut txn = self.storage.write(&[Lane::Platform]).map_err(storage)?;
        let Some(bytes) = txn.catalog_get(&user_key(id)).map_err(storage)? else { return Ok(None) };
        let mut record: UserRecord = from_json(&bytes)?;
        let before =
            User { id: id.clone(), name: record.name.clone(), created_at: record.created_at };
        if let Some(name) = name {
            record.name = name.to_owned();
        }
        let password_changed = hash.is_some();
        if let Some(hash) = hash {
            record.password_hash = hash;
            record.session_generation = record.session_generation.wrapping_add(1);
        }
        txn.catalog_put(&user_key(id), &to_json(&record)?).map_err(storage)?;
        let user = User { id: id.clone(), name: record.name, created_at: record.created_at };
        let mut change = Change::new("users", id.as_str()).before(&before).after(&user);
        if password_changed {
            change.detail = Some("password changed; sessions ended".to_owned());
        }
        audit(&mut txn, None, change.record(origin, action::USER_UPDATE))?;
        txn.commit().map_err(storage)?;
        Ok(Some(user))
    }

    /// Deletes a user with their memberships and second factor; their
    /// sessions stop working at once. Returns whether the user existed.
    pub fn delete_user(&self, origin: &Origin, id: &UserId) -> Result<bool, IdentityError> {
        let members: Vec<String> = {
            let txn = self.storage.read().map_err(storage)?;
            let all = txn.catalog_scan("member/").map_err(storage)?;
            all.into_iter()
                .map(|(key, _)| key)
                .filter(|key| key.ends_with(&format!("/{id}")))
                .collect()
        };
        // The user's memberships are their tenants' records.
        let mut lanes = vec![Lane::Platform];
        lanes.extend(members.iter().filter_map(|key| {
            let scope = key.split('/').nth(1)?;
            TenantId::new(scope).ok().map(Lane::Tenant)
        }));
        let mut txn = self.storage.write(&lanes).map_err(storage)?;
        let Some(bytes) = txn.catalog_get(&user_key(id)).map_err(storage)? else {
            return Ok(false);
        };
        let record: UserRecord = from_json(&bytes)?;
        txn.catalog_remove(&user_key(id)).map_err(storage)?;
        for key in &members {
            let Some(bytes) = txn.catalog_get(key).map_err(storage)? else { continue };
            txn.catalog_remove(key).map_err(storage)?;
            // Each tenant's trail shows its member gone (and seals it).
            let tenant = key.split('/').nth(1).and_then(|scope| TenantId::new(scope).ok());
            if let Some(tenant) = tenant {
                let before = from_json::<membership::MembershipRecord>(&bytes)?;
                let after = membership::MembershipRecord { roles: Vec::new() };
                let mut change = Change::new("members", id.as_str()).before(&before).after(&after);
                change.detail = Some("the user was deleted".to_owned());
                audit(&mut txn, Some(&tenant), change.record(origin, action::MEMBER_SET))?;
            }
        }
        txn.catalog_remove(&format!("totp/{id}")).map_err(storage)?;
        let before = User { id: id.clone(), name: record.name, created_at: record.created_at };
        let mut change = Change::new("users", id.as_str()).before(&before);
        change.detail = Some(format!("with {} memberships and any second factor", members.len()));
        audit(&mut txn, None, change.record(origin, action::USER_DELETE))?;
        txn.commit().map_err(storage)?;
        Ok(true)
    }

    /// On a data directory with no users, creates [`BOOTSTRAP_ADMIN`] with
    /// `password`, or with a generated one that is returned (to be shown
    /// once). Returns none when users already exist.
    pub fn bootstrap(&self, password: Option<&str>) -> Result<Option<String>, IdentityError> {
        if !self.users()?.is_empty() {
            return Ok(None);
        }
        let generated = password.is_none().then(password::generate);
        let password = password.or(generated.as_deref()).unwrap_or_default();
        let id =
            UserId::new(BOOTSTRAP_ADMIN).map_err(|err| IdentityError::Invalid(err.to_string()))?;
        let origin = Origin::kernel(self.clock.now().seconds);
        self.create_user(&origin, &id, "Platform administrator", password)?;
        Ok(generated)
    }
}

pub(crate) fn user_key(id: &UserId) -> String {
    format!("user/{id}")
}
