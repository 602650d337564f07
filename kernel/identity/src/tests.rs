//! Identity's own tests: sessions, throttled logins, users, memberships,
//! API tokens and second factors, against a movable clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use keel_types::{Limits, TenantId, Timestamp};

use keel_audit::Origin;
use keel_types::UserId;

use super::*;

fn origin() -> Origin {
    Origin::kernel(0)
}

#[derive(Debug)]
struct TestClock(AtomicI64);

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        Timestamp { seconds: self.0.load(Ordering::SeqCst), nanoseconds: 0 }
    }
}

fn identity() -> (tempfile::TempDir, Identity, Arc<TestClock>) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&dir.path().join("keel.redb"), Limits::default()).unwrap();
    let clock = Arc::new(TestClock(AtomicI64::new(1_800_000_000)));
    let identity = Identity::new(
        Arc::new(storage),
        clock.clone(),
        Duration::from_secs(3600),
        crate::SecretsKey::new(&[5; 32]),
    );
    (dir, identity, clock)
}

fn alice(identity: &Identity) {
    identity
        .create_user(&origin(), &UserId::new("alice").unwrap(), "Alice", "correct horse battery")
        .unwrap();
}

#[test]
fn login_opens_a_session_until_logout_or_expiry() {
    let (_dir, identity, clock) = identity();
    alice(&identity);
    let session =
        identity.login("alice", "correct horse battery", None, "127.0.0.1", None).unwrap();
    assert_eq!(identity.authenticate(&session.token).unwrap().unwrap().as_str(), "alice");
    assert!(identity.logout(&origin(), &session.token).unwrap().is_some());
    assert_eq!(identity.authenticate(&session.token).unwrap(), None);

    let session =
        identity.login("alice", "correct horse battery", None, "127.0.0.1", None).unwrap();
    clock.0.fetch_add(3601, Ordering::SeqCst);
    assert_eq!(identity.authenticate(&session.token).unwrap(), None, "expired");
    assert_eq!(identity.authenticate("keel_forged").unwrap(), None);
}

#[test]
fn expired_sessions_are_pruned_and_open_ones_kept() {
    let (_dir, identity, clock) = identity();
    alice(&identity);
    let sessions = || identity.storage.read().unwrap().catalog_scan("session/").unwrap().len();
    for _ in 0..5 {
        identity.login("alice", "correct horse battery", None, "127.0.0.1", None).unwrap();
    }
    clock.0.fetch_add(1800, Ordering::SeqCst);
    let fresh = identity.login("alice", "correct horse battery", None, "127.0.0.1", None).unwrap();
    assert_eq!(identity.prune_sessions(2).unwrap(), 0, "none has expired yet");
    clock.0.fetch_add(1801, Ordering::SeqCst);
    // A batch at a time: 2, 2, then 1; the open session stays.
    assert_eq!(identity.prune_sessions(2).unwrap(), 5);
    assert_eq!(sessions(), 1);
    assert_eq!(identity.authenticate(&fresh.token).unwrap().unwrap().as_str(), "alice");
    let txn = identity.storage.read().unwrap();
    let (_, last) = txn.log_last(&keel_audit::chain_of(None)).unwrap().unwrap();
    assert!(String::from_utf8_lossy(&last).contains("auth.sessions-pruned"));
}

#[test]
fn unknown_users_and_wrong_passwords_look_the_same() {
    let (_dir, identity, _clock) = identity();
    alice(&identity);
    let wrong = identity
        .login("alice", "wrong password!!", None, "10.0.0.1", None)
        .unwrap_err()
        .to_string();
    let unknown = identity
        .login("mallory", "wrong password!!", None, "10.0.0.2", None)
        .unwrap_err()
        .to_string();
    let malformed =
        identity.login("Not A User", "x", None, "10.0.0.3", None).unwrap_err().to_string();
    assert_eq!(wrong, unknown);
    assert_eq!(wrong, malformed);
}

#[test]
fn repeated_failures_slow_that_user_at_that_address_and_lock_no_one_out() {
    let (_dir, identity, _clock) = identity();
    alice(&identity);
    for _ in 0..3 {
        assert!(matches!(
            identity.login("alice", "wrong password!!", None, "10.0.0.9", None),
            Err(IdentityError::BadCredentials)
        ));
    }
    let again = identity.login("alice", "correct horse battery", None, "10.0.0.9", None);
    assert!(matches!(again, Err(IdentityError::Throttled { .. })), "the guesser waits");
    let elsewhere = identity.login("alice", "correct horse battery", None, "10.0.0.10", None);
    assert!(elsewhere.is_ok(), "alice herself, elsewhere, signs in: {elsewhere:?}");
}

#[test]
fn users_are_validated_and_unique() {
    let (_dir, identity, _clock) = identity();
    alice(&identity);
    let id = UserId::new("alice").unwrap();
    assert!(matches!(
        identity.create_user(&origin(), &id, "Alice", "correct horse battery"),
        Err(IdentityError::Exists(_))
    ));
    let bob = UserId::new("bob").unwrap();
    assert!(matches!(
        identity.create_user(&origin(), &bob, "Bob", "short"),
        Err(IdentityError::Invalid(_))
    ));
    assert!(matches!(
        identity.create_user(&origin(), &bob, " ", "long enough password"),
        Err(IdentityError::Invalid(_))
    ));
    assert_eq!(identity.users().unwrap().len(), 1);
}

#[test]
fn bootstrap_creates_one_admin_once() {
    let (_dir, identity, _clock) = identity();
    let generated = identity.bootstrap(None).unwrap().expect("a generated password");
    assert_eq!(generated.len(), 24);
    identity.login(BOOTSTRAP_ADMIN, &generated, None, "127.0.0.1", None).unwrap();
    assert_eq!(identity.bootstrap(None).unwrap(), None, "never again once users exist");

    let (_dir, identity, _clock) = self::identity();
    assert_eq!(identity.bootstrap(Some("from the environment")).unwrap(), None);
    identity.login(BOOTSTRAP_ADMIN, "from the environment", None, "127.0.0.1", None).unwrap();
}

#[test]
fn memberships_are_kept_per_tenant_and_platform() {
    let (_dir, identity, _clock) = identity();
    let (alice, t1, t10) = (
        UserId::new("alice").unwrap(),
        TenantId::new("t1").unwrap(),
        TenantId::new("t10").unwrap(),
    );
    identity
        .set_roles(
            &origin(),
            Some(&t1),
            &alice,
            &["accountant".to_owned(), "accountant".to_owned()],
        )
        .unwrap();
    identity.set_roles(&origin(), Some(&t10), &alice, &["auditor".to_owned()]).unwrap();
    identity.set_roles(&origin(), None, &alice, &["platform-admin".to_owned()]).unwrap();
    let t1_members = identity.memberships(Some(Some(&t1))).unwrap();
    assert_eq!(t1_members.len(), 1, "t1 does not see t10's members");
    assert_eq!(t1_members[0].roles, ["accountant"]);
    assert_eq!(identity.memberships(Some(None)).unwrap()[0].tenant, None);
    assert_eq!(identity.memberships(None).unwrap().len(), 3);
    identity.set_roles(&origin(), Some(&t1), &alice, &[]).unwrap();
    assert!(identity.memberships(Some(Some(&t1))).unwrap().is_empty());
}

#[test]
fn api_tokens_authenticate_until_revoked_or_expired() {
    let (_dir, identity, clock) = identity();
    let acme = TenantId::new("acme").unwrap();
    let now = clock.now().seconds;
    let roles = ["bookkeeper".to_owned()];
    let ann = UserId::new("ann").unwrap();
    let (token, secret) =
        identity.create_token(&origin(), &acme, "bank feed", &roles, now + 100, &ann).unwrap();
    assert_eq!(token.created_by.as_ref(), Some(&ann));
    assert!(secret.starts_with("keel_tok_"));
    assert_eq!(identity.authenticate_token(&secret).unwrap().unwrap().id, token.id);
    assert_eq!(identity.authenticate(&secret).unwrap(), None, "a token is not a session");
    assert_eq!(identity.tokens(Some(&acme)).unwrap(), std::slice::from_ref(&token));
    assert!(identity.tokens(Some(&TenantId::new("other").unwrap())).unwrap().is_empty());
    clock.0.fetch_add(101, Ordering::SeqCst);
    assert_eq!(identity.authenticate_token(&secret).unwrap(), None, "expired");

    let (token, secret) =
        identity.create_token(&origin(), &acme, "export", &roles, now + 1000, &ann).unwrap();
    assert!(identity.revoke_token(&origin(), &acme, &token.id).unwrap().is_some());
    assert_eq!(identity.authenticate_token(&secret).unwrap(), None, "revoked");
    assert_eq!(identity.token_owner(&acme, &token.id).unwrap(), Some(ann.clone()), "still ann's");
    assert_eq!(identity.token_owner(&TenantId::new("other").unwrap(), &token.id).unwrap(), None);
    assert!(identity.revoke_token(&origin(), &acme, &token.id).unwrap().is_none());
    assert!(
        identity.create_token(&origin(), &acme, "late", &roles, now, &ann).is_err(),
        "must expire in the future"
    );
    assert_eq!(identity.authenticate_token("keel_tok_forged").unwrap(), None);
}

#[test]
fn a_second_factor_is_required_once_confirmed_and_codes_are_single_use() {
    let (_dir, identity, clock) = identity();
    alice(&identity);
    let id = UserId::new("alice").unwrap();
    let enrolment = identity.totp_enrol(&origin(), &id).unwrap();
    assert!(enrolment.otpauth_url.starts_with("otpauth://totp/Keel:alice?secret="));
    identity
        .login("alice", "correct horse battery", None, "127.0.0.1", None)
        .expect("not required before confirming");
    let now = || u64::try_from(clock.now().seconds).unwrap();
    assert!(identity.totp_confirm(&origin(), &id, "not-a-code").is_err());
    identity.totp_confirm(&origin(), &id, &totp_code(&enrolment.secret, now()).unwrap()).unwrap();
    assert!(
        identity.totp_enrol(&origin(), &id).is_err(),
        "cannot silently replace an enabled factor"
    );

    let required = identity.login("alice", "correct horse battery", None, "127.0.0.1", None);
    assert!(matches!(required, Err(IdentityError::TotpRequired)));
    clock.0.fetch_add(30, Ordering::SeqCst);
    let code = totp_code(&enrolment.secret, now()).unwrap();
    identity.login("alice", "correct horse battery", Some(&code), "127.0.0.1", None).unwrap();
    let replayed = identity.login("alice", "correct horse battery", Some(&code), "127.0.0.1", None);
    assert!(matches!(replayed, Err(IdentityError::BadCredentials)), "a code is accepted once");
    let wrong = identity.login("alice", "correct horse battery", Some("12345x"), "127.0.0.1", None);
    assert!(matches!(wrong, Err(IdentityError::BadCredentials)));
}

#[test]
fn a_seed_kept_in_plain_text_by_an_older_kernel_still_works_and_is_sealed_at_start() {
    let (_dir, identity, clock) = identity();
    alice(&identity);
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let legacy = format!(r#"{{"secret":"{secret}","enabled":true,"last_step":null}}"#);
    let mut txn = identity.storage.write(&[keel_storage::Lane::Platform]).unwrap();
    txn.catalog_put("totp/alice", legacy.as_bytes()).unwrap();
    let change = crate::Change::new("second-factors", "alice");
    crate::audit(&mut txn, None, change.record(&origin(), keel_types::action::TOTP_ENROL)).unwrap();
    txn.commit().unwrap();
    // A plain seed needs no secrets key: a kernel may make one.
    assert!(!crate::holds_sealed_secrets(&identity.storage).unwrap());

    assert_eq!(identity.seal_plain_secrets(&origin()).unwrap(), 1);
    let stored = identity.storage.read().unwrap().catalog_get("totp/alice").unwrap().unwrap();
    let stored = String::from_utf8(stored).unwrap();
    assert!(!stored.contains(secret), "sealed in place: {stored}");
    assert!(stored.contains(r#""sealed":"v1."#), "{stored}");
    assert!(crate::holds_sealed_secrets(&identity.storage).unwrap());
    assert_eq!(identity.seal_plain_secrets(&origin()).unwrap(), 0, "each is sealed once");

    let code = totp_code(secret, u64::try_from(clock.now().seconds).unwrap()).unwrap();
    identity.login("alice", "correct horse battery", Some(&code), "127.0.0.1", None).unwrap();
    clock.0.fetch_add(30, Ordering::SeqCst);
    let code = totp_code(secret, u64::try_from(clock.now().seconds).unwrap()).unwrap();
    identity.login("alice", "correct horse battery", Some(&code), "127.0.0.1", None).unwrap();
}

#[test]
fn password_changes_end_sessions_and_deleted_users_lose_access() {
    let (_dir, identity, _clock) = identity();
    alice(&identity);
    let id = UserId::new("alice").unwrap();
    let before = identity.login("alice", "correct horse battery", None, "127.0.0.1", None).unwrap();
    identity.update_user(&origin(), &id, Some("Alice A."), None).unwrap();
    assert!(identity.authenticate(&before.token).unwrap().is_some(), "a rename keeps sessions");
    identity.update_user(&origin(), &id, None, Some("a brand new password")).unwrap();
    assert_eq!(
        identity.authenticate(&before.token).unwrap(),
        None,
        "a new password ends old sessions"
    );
    let after = identity.login("alice", "a brand new password", None, "127.0.0.1", None).unwrap();
    assert!(identity.authenticate(&after.token).unwrap().is_some());
    assert!(identity.update_user(&origin(), &id, None, Some("short")).is_err());

    identity
        .set_roles(&origin(), Some(&TenantId::new("t1").unwrap()), &id, &["accountant".to_owned()])
        .unwrap();
    assert!(identity.delete_user(&origin(), &id).unwrap());
    assert_eq!(identity.authenticate(&after.token).unwrap(), None);
    assert!(identity.memberships(None).unwrap().is_empty(), "memberships go with the user");
    assert!(!identity.delete_user(&origin(), &id).unwrap());
}
