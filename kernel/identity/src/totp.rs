//! Optional TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s steps).
//! Enrolment yields a secret to add to an authenticator app; once a first
//! code confirms it, every login needs a code, and each code is accepted
//! only once.

use keel_storage::Lane;
use keel_types::UserId;
use keel_types::action;
use rand::Rng;
use totp_rs::{Builder, Secret, Totp};

use keel_audit::Origin;

use crate::{Change, Identity, IdentityError, audit, from_json, storage, to_json};

/// What a user adds to an authenticator app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpEnrolment {
    /// The shared secret, base32.
    pub secret: String,
    /// The same as an `otpauth://` URL (QR codes encode this).
    pub otpauth_url: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TotpRecord {
    /// The base32 secret, sealed with the kernel's secrets key for this
    /// record's key ([`crate::SecretsKey`]).
    #[serde(default)]
    sealed: String,
    /// The secret in plain base32, as kernels before sealing kept it: still
    /// read, and sealed in its place at start ([`Identity::seal_plain_secrets`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    enabled: bool,
    /// The last time step accepted: a code is accepted only once.
    #[serde(default)]
    last_step: Option<u64>,
}

fn key(user: &UserId) -> String {
    format!("totp/{user}")
}

/// Second factors sealed, or kept plain, per write at start.
const SEAL_BATCH: usize = 100;

/// Whether `storage` holds second factors sealed with a secrets key, so
/// that a missing key must not be replaced by a new one (which would lock
/// their users out). Plain seeds of an older kernel need no key; a record
/// that cannot be read may be sealed, so it counts as sealed. Blocking.
pub fn holds_sealed_secrets(store: &keel_storage::Storage) -> Result<bool, IdentityError> {
    let mut after: Option<String> = None;
    loop {
        let read = store.read().map_err(storage)?;
        let page = read.catalog_page("totp/", after.as_deref(), SEAL_BATCH).map_err(storage)?;
        let Some((last, _)) = page.last() else { return Ok(false) };
        after = Some(last.clone());
        for (_, bytes) in &page {
            if from_json::<TotpRecord>(bytes).ok().is_none_or(|record| !record.sealed.is_empty()) {
                return Ok(true);
            }
        }
    }
}

impl Identity {
    /// The secret of `user`'s record, opened.
    fn totp_secret(&self, user: &UserId, record: &TotpRecord) -> Result<String, IdentityError> {
        if let Some(plain) = record.secret.as_ref().filter(|_| record.sealed.is_empty()) {
            return Ok(plain.clone());
        }
        let secret = self.secrets.open(&key(user), &record.sealed)?;
        String::from_utf8(secret)
            .map_err(|_| IdentityError::Corrupt(format!("the TOTP secret of {user} is not text")))
    }
}

fn totp(secret_base32: &str) -> Result<Totp, IdentityError> {
    let secret = Secret::try_from_base32(secret_base32)
        .map_err(|err| IdentityError::Corrupt(format!("corrupt TOTP secret: {err}")))?;
    Builder::new()
        .with_secret(secret)
        .build()
        .map_err(|err| IdentityError::Corrupt(format!("bad TOTP secret: {err}")))
}

impl Identity {
    /// Starts (or restarts) enrolment; refused once TOTP is enabled.
    pub fn totp_enrol(
        &self,
        origin: &Origin,
        user: &UserId,
    ) -> Result<TotpEnrolment, IdentityError> {
        let mut txn = self.storage.write(&[Lane::Platform]).map_err(storage)?;
        if let Some(bytes) = txn.catalog_get(&key(user)).map_err(storage)?
            && from_json::<TotpRecord>(&bytes)?.enabled
        {
            return Err(IdentityError::Exists(format!("a second factor for {user}")));
        }
        let mut bytes = [0u8; 20];
        rand::rng().fill(&mut bytes);
        let secret = Secret::new_stack(bytes).to_base32();
        let sealed = self.secrets.seal(&key(user), secret.as_bytes())?;
        let record = TotpRecord { sealed, secret: None, enabled: false, last_step: None };
        txn.catalog_put(&key(user), &to_json(&record)?).map_err(storage)?;
        let change = Change::new("second-factors", user.as_str());
        audit(&mut txn, None, change.record(origin, action::TOTP_ENROL))?;
        txn.commit().map_err(storage)?;
        let otpauth_url = format!(
            "otpauth://totp/Keel:{user}?secret={secret}&issuer=Keel&algorithm=SHA1&digits=6&period=30"
        );
        Ok(TotpEnrolment { secret, otpauth_url })
    }

    /// Confirms enrolment with a first code; from then on logins need one.
    pub fn totp_confirm(
        &self,
        origin: &Origin,
        user: &UserId,
        code: &str,
    ) -> Result<(), IdentityError> {
        let not_enrolled =
            || IdentityError::Invalid(format!("{user} has no pending second factor; enrol first"));
        match self.totp_check(origin, user, code, false)? {
            None => Err(not_enrolled()),
            Some(false) => Err(IdentityError::Invalid(
                "the code does not match; check the device's clock".to_owned(),
            )),
            Some(true) => Ok(()),
        }
    }

    /// Whether `user` must give a code at login.
    pub(crate) fn totp_required(&self, user: &UserId) -> Result<bool, IdentityError> {
        let txn = self.storage.read().map_err(storage)?;
        let Some(bytes) = txn.catalog_get(&key(user)).map_err(storage)? else { return Ok(false) };
        Ok(from_json::<TotpRecord>(&bytes)?.enabled)
    }

    /// Seals every second factor an older kernel kept in plain text, a
    /// batch per audited write (`totp.seal`), so that the database no
    /// longer holds them in the clear (older log segments and freed pages
    /// may, until they are reused); returns how many. A record that cannot
    /// be read is logged and left as it is. Blocking: the kernel runs it
    /// once at start.
    pub fn seal_plain_secrets(&self, origin: &Origin) -> Result<usize, IdentityError> {
        let (mut after, mut n_sealed) = (None::<String>, 0);
        loop {
            let mut txn = self.storage.write(&[Lane::Platform]).map_err(storage)?;
            let page = txn.catalog_page("totp/", after.as_deref(), SEAL_BATCH).map_err(storage)?;
            let Some((last, _)) = page.last() else { return Ok(n_sealed) };
            after = Some(last.clone());
            for (record_key, bytes) in page {
                let mut record: TotpRecord = match from_json(&bytes) {
                    Ok(record) => record,
                    Err(err) => {
                        tracing::error!(record = %record_key, error = %err, "a second factor cannot be read; left as it is");
                        continue;
                    }
                };
                let Some(plain) = record.secret.take() else { continue };
                record.sealed = self.secrets.seal(&record_key, plain.as_bytes())?;
                txn.catalog_put(&record_key, &to_json(&record)?).map_err(storage)?;
                let user = &record_key["totp/".len()..];
                let change = Change::new("second-factors", user);
                audit(&mut txn, None, change.record(origin, action::TOTP_SEAL))?;
                n_sealed += 1;
            }
            txn.commit().map_err(storage)?;
        }
    }

    /// Checks a code against the enrolled (`enabled`) or pending secret;
    /// on success enables it and uses up the step. None: nothing enrolled.
    /// The step is used up with an audit record: `totp.confirm` when
    /// confirming, `auth.second-factor` at login.
    pub(crate) fn totp_check(
        &self,
        origin: &Origin,
        user: &UserId,
        code: &str,
        enabled: bool,
    ) -> Result<Option<bool>, IdentityError> {
        let mut txn = self.storage.write(&[Lane::Platform]).map_err(storage)?;
        let Some(bytes) = txn.catalog_get(&key(user)).map_err(storage)? else { return Ok(None) };
        let mut record: TotpRecord = from_json(&bytes)?;
        if record.enabled != enabled {
            return Ok(None);
        }
        let now = u64::try_from(self.clock.now().seconds).unwrap_or_default();
        let Some(step) = totp(&self.totp_secret(user, &record)?)?.check(code.trim(), now) else {
            return Ok(Some(false));
        };
        if record.last_step.is_some_and(|last| step <= last) {
            return Ok(Some(false));
        }
        record.enabled = true;
        record.last_step = Some(step);
        if let Some(plain) = record.secret.take() {
            record.sealed = self.secrets.seal(&key(user), plain.as_bytes())?;
        }
        txn.catalog_put(&key(user), &to_json(&record)?).map_err(storage)?;
        let action = if enabled { action::AUTH_SECOND_FACTOR } else { action::TOTP_CONFIRM };
        audit(&mut txn, None, Change::new("second-factors", user.as_str()).record(origin, action))?;
        txn.commit().map_err(storage)?;
        Ok(Some(true))
    }
}

/// The current code for a base32 secret at `unix_seconds`: for tests and
/// for tools that act as an authenticator.
pub fn totp_code(secret_base32: &str, unix_seconds: u64) -> Result<String, IdentityError> {
    Ok(totp(secret_base32)?.generate(unix_seconds).to_string())
}
