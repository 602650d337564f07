//! Signing in and out: passwords checked a few at a time, failures
//! throttled and audited, sessions authenticated and pruned.

use keel_audit::Origin;
use keel_storage::Lane;
use keel_types::{UserId, action};

use crate::users::{UserRecord, user_key};
use crate::{Identity, IdentityError, Session, audit, from_json, password, session, storage};

/// Password hashes computed at once (argon2id takes 19 MiB and ~20 ms each).
const HASHING_MAX: usize = 8;

/// Releases a hashing slot when dropped.
struct HashingSlot<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for HashingSlot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Identity {
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

    /// Closes a session; returns the user whose session it was, if open.
    pub fn logout(&self, origin: &Origin, token: &str) -> Result<Option<UserId>, IdentityError> {
        session::close(&self.storage, origin, token)
    }

    /// Removes the sessions that have expired, `batch` per write (each
    /// audited as `auth.sessions-pruned`); returns how many. Blocking.
    pub fn prune_sessions(&self, batch: usize) -> Result<usize, IdentityError> {
        session::prune(&self.storage, self.clock.now().seconds, batch.max(1))
    }
}
