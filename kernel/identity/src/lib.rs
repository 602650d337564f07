//! Identity: users with argon2id password hashes, login sessions, and the
//! bootstrap of the first platform administrator.
//!
//! Users and sessions are kernel catalog records in `keel-storage`; a session
//! token is shown once and stored only as its SHA-256 digest. Failed logins
//! slow down that user at that address (never locking anyone out), and
//! unknown users and wrong passwords get the same answer in about the same
//! time.

mod membership;
mod password;
mod policy;
mod secrets;
mod session;
mod throttle;
mod token;
mod totp;

use keel_types::action;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keel_audit::Origin;
use keel_storage::{Lane, Storage};
use keel_types::{Clock, TenantId, UserId};

pub use membership::Membership;
pub use policy::{SodRule, TenantRole};
pub use secrets::SecretsKey;
pub use session::Session;
pub use token::{ApiToken, check_catalog_index};
pub use totp::{TotpEnrolment, holds_sealed_secrets, totp_code};

/// A user as the kernel shows it (never with its password hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    /// The login name.
    pub id: UserId,
    /// The display name.
    pub name: String,
    /// When the user was created, Unix seconds.
    pub created_at: i64,
}

/// Why an identity operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The user name or password is wrong; deliberately says no more.
    #[error("invalid user name or password")]
    BadCredentials,
    /// The password was right, but a second-factor code is needed.
    #[error("a one-time code from the authenticator app is required (field \"totp\")")]
    TotpRequired,
    /// Too many logins are being checked at once; retry shortly.
    #[error("too many logins at once; retry shortly")]
    Busy,
    /// Too many failed logins; retry after the given time.
    #[error("too many failed logins; retry in {retry_after_s} s")]
    Throttled {
        /// Seconds until the next attempt is accepted.
        retry_after_s: u64,
    },
    /// The user already exists.
    #[error("user {0} already exists")]
    Exists(String),
    /// The input breaks a rule (a weak password, an empty name).
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error("storage failed: {0}")]
    Storage(String),
}

/// The identity service.
pub struct Identity {
    storage: Arc<Storage>,
    clock: Arc<dyn Clock>,
    session_ttl: Duration,
    /// Seals second-factor seeds before they are stored.
    secrets: SecretsKey,
    throttle: Mutex<throttle::Throttle>,
    n_hashing: std::sync::atomic::AtomicUsize,
}

/// Password hashes computed at once (argon2id takes 19 MiB and ~20 ms each).
const HASHING_MAX: usize = 8;

/// Releases a hashing slot when dropped.
struct HashingSlot<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for HashingSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// The user the bootstrap creates on a fresh data directory.
pub const BOOTSTRAP_ADMIN: &str = "admin";

#[derive(serde::Serialize, serde::Deserialize)]
struct UserRecord {
    name: String,
    password_hash: String,
    created_at: i64,
    /// Bumped when the password changes: sessions of older generations end.
    #[serde(default)]
    session_generation: u64,
    /// Random per user record: a session opened for a deleted user never
    /// works for a later user of the same name.
    #[serde(default)]
    nonce: String,
}

impl Identity {
    /// Serves users and sessions stored in `storage`; second-factor seeds
    /// are sealed with `secrets`.
    pub fn new(
        storage: Arc<Storage>,
        clock: Arc<dyn Clock>,
        session_ttl: Duration,
        secrets: SecretsKey,
    ) -> Self {
        Self {
            storage,
            clock,
            session_ttl,
            secrets,
            throttle: Mutex::default(),
            n_hashing: Default::default(),
        }
    }

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

    /// Checks a password (and, once enrolled, a TOTP code) and opens a
    /// session. `source` is the client's address, for throttling.
    pub fn login(
        &self,
        user: &str,
        password: &str,
        totp: Option<&str>,
        source: &str,
        request_id: Option<&str>,
    ) -> Result<Session, IdentityError> {
        let now = std::time::Instant::now();
        // The attempt is counted before the password is checked, so
        // parallel guesses cannot all slip under the limit.
        self.throttle.lock().unwrap_or_else(|p| p.into_inner()).begin(user, source, now)?;
        let login = self.check_login(user, password, totp, source, request_id);
        // Only a wrong password or code stays counted: a right password
        // awaiting its second factor, or a busy or failing kernel, is no guess.
        if !matches!(login, Err(IdentityError::BadCredentials)) {
            let signed_in = login.is_ok();
            let mut throttle = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
            throttle.take_back(user, source, signed_in);
        }
        login
    }

    /// Checks a login attempt the throttle let through, and opens its session.
    fn check_login(
        &self,
        user: &str,
        password: &str,
        totp: Option<&str>,
        source: &str,
        request_id: Option<&str>,
    ) -> Result<Session, IdentityError> {
        let _slot = self.hashing_slot()?;
        let record = match UserId::new(user) {
            Ok(id) => {
                let txn = self.storage.read().map_err(storage)?;
                txn.catalog_get(&user_key(&id))
                    .map_err(storage)?
                    .map(|b| from_json::<UserRecord>(&b))
                    .transpose()?
            }
            Err(_) => None,
        };
        // Verify against a dummy hash for unknown users, so that both
        // failures take the same time and say the same thing.
        let verified =
            password::verify(password, record.as_ref().map(|r| r.password_hash.as_str()));
        let (Some(record), true) = (record, verified) else {
            tracing::warn!(user, source, "failed login");
            self.audit_failed_login(user, source, request_id)?;
            return Err(IdentityError::BadCredentials);
        };
        let id = UserId::new(user).map_err(|err| IdentityError::Invalid(err.to_string()))?;
        let origin = self.login_origin(user, source, request_id);
        if self.totp_required(&id)? {
            let Some(code) = totp else { return Err(IdentityError::TotpRequired) };
            if self.totp_check(&origin, &id, code, true)? != Some(true) {
                tracing::warn!(user, source, "failed login: wrong one-time code");
                self.audit_failed_login(user, source, request_id)?;
                return Err(IdentityError::BadCredentials);
            }
        }
        session::open(
            &self.storage,
            &id,
            (record.session_generation, &record.nonce),
            self.clock.now().seconds,
            self.session_ttl,
            origin.record(action::AUTH_LOGIN),
        )
    }

    /// Who attempts a login: the name as given, from `source`.
    fn login_origin(&self, user: &str, source: &str, request_id: Option<&str>) -> Origin {
        // The name comes from the client: keep a bounded, printable prefix.
        let actor: String = user.chars().filter(|c| !c.is_control()).take(64).collect();
        Origin {
            at: self.clock.now().seconds,
            actor,
            roles: Vec::new(),
            request_id: request_id.map(str::to_owned),
            source: Some(source.to_owned()),
        }
    }

    /// Records a failed login on the platform chain.
    fn audit_failed_login(
        &self,
        user: &str,
        source: &str,
        request_id: Option<&str>,
    ) -> Result<(), IdentityError> {
        let mut txn = self.storage.write(&[Lane::Platform]).map_err(storage)?;
        let record = self.login_origin(user, source, request_id).record(action::AUTH_LOGIN_FAILED);
        audit(&mut txn, None, record)?;
        txn.commit().map_err(storage)
    }

    /// A slot for one password hash; logins beyond the limit are refused
    /// rather than queued, so a flood cannot exhaust memory or threads.
    fn hashing_slot(&self) -> Result<HashingSlot<'_>, IdentityError> {
        let previous = self.n_hashing.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        if previous >= HASHING_MAX {
            self.n_hashing.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            return Err(IdentityError::Busy);
        }
        Ok(HashingSlot(&self.n_hashing))
    }

    /// The user a session token belongs to, if the session is open and
    /// the user still exists with the password the session was opened with.
    pub fn authenticate(&self, token: &str) -> Result<Option<UserId>, IdentityError> {
        let Some(opened) = session::find(&self.storage, token, self.clock.now().seconds)? else {
            return Ok(None);
        };
        let Some(record) = self.user_record(&opened.user)? else { return Ok(None) };
        let current =
            opened.generation == record.session_generation && opened.user_nonce == record.nonce;
        Ok(current.then_some(opened.user))
    }

    /// A user's stored record.
    fn user_record(&self, id: &UserId) -> Result<Option<UserRecord>, IdentityError> {
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

    /// Closes a session; returns the user whose session it was, if open.
    pub fn logout(&self, origin: &Origin, token: &str) -> Result<Option<UserId>, IdentityError> {
        session::close(&self.storage, origin, token)
    }

    /// Removes the sessions that have expired, `batch` per write (each
    /// audited as `auth.sessions-pruned`); returns how many. Blocking.
    pub fn prune_sessions(&self, batch: usize) -> Result<usize, IdentityError> {
        session::prune(&self.storage, self.clock.now().seconds, batch.max(1))
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

/// The lane of a tenant's records, or of the platform's.
pub(crate) fn lane(tenant: Option<&TenantId>) -> Lane {
    tenant.map_or(Lane::Platform, |t| Lane::Tenant(t.clone()))
}

fn user_key(id: &UserId) -> String {
    format!("user/{id}")
}

/// Appends `record` to the chain of `tenant` (or the platform's) in `txn`.
pub(crate) fn audit(
    txn: &mut keel_storage::WriteTxn,
    tenant: Option<&TenantId>,
    record: keel_audit::Record,
) -> Result<(), IdentityError> {
    keel_audit::append(txn, &keel_audit::chain_of(tenant), record).map(drop).map_err(storage)
}

/// What an admin change did to one kernel record, as the trail shows it:
/// never with a secret (hashes, digests and TOTP seeds stay out).
#[derive(Default)]
pub(crate) struct Change {
    collection: &'static str,
    key: String,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    pub(crate) detail: Option<String>,
}

impl Change {
    pub(crate) fn new(collection: &'static str, key: &str) -> Self {
        Self { collection, key: key.to_owned(), ..Self::default() }
    }

    pub(crate) fn before(mut self, value: &impl serde::Serialize) -> Self {
        self.before = serde_json::to_value(value).ok();
        self
    }

    pub(crate) fn after(mut self, value: &impl serde::Serialize) -> Self {
        self.after = serde_json::to_value(value).ok();
        self
    }

    pub(crate) fn record(self, origin: &Origin, action: keel_types::Action) -> keel_audit::Record {
        keel_audit::Record {
            collection: Some(self.collection.to_owned()),
            key: Some(self.key),
            before: self.before,
            after: self.after,
            detail: self.detail,
            ..origin.record(action)
        }
    }
}

pub(crate) fn storage(err: keel_storage::Error) -> IdentityError {
    IdentityError::Storage(err.to_string())
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<Vec<u8>, IdentityError> {
    serde_json::to_vec(value).map_err(|err| IdentityError::Storage(err.to_string()))
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, IdentityError> {
    serde_json::from_slice(bytes)
        .map_err(|err| IdentityError::Storage(format!("corrupt identity record: {err}")))
}

#[cfg(test)]
mod tests;
