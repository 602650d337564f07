//! How deliveries are signed, the scheme Stripe and GitHub use: the header
//! `Keel-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`, where the HMAC
//! is keyed with the webhook's secret (the whole `whsec_…` text) over the
//! timestamp, a dot and the raw body. A receiver recomputes it, compares in
//! constant time, and refuses a timestamp too far from its clock, so that a
//! captured delivery cannot be replayed later.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Keel-Signature";
/// How far from the receiver's clock [`verify`] accepts a timestamp, in
/// seconds, by default.
pub const TOLERANCE_S: i64 = 300;
/// What every secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC accepts a key of any length.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header's value for `body` sent at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex(&digest))
}

/// Checks a signature header, as a receiver does: a `v1` signature of
/// `body` under `secret`, with a timestamp within `tolerance_s` of `now`.
pub fn verify(
    secret: &str,
    header: &str,
    body: &[u8],
    now: i64,
    tolerance_s: i64,
) -> Result<(), String> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v1)) => signatures.extend(keel_identity::unhex(v1)),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or("the signature has no timestamp t=")?;
    if now.abs_diff(timestamp) > tolerance_s.unsigned_abs() {
        return Err(format!(
            "the signature's timestamp {timestamp} is more than {tolerance_s} s from now ({now})"
        ));
    }
    let matches = signatures
        .iter()
        .any(|signature| mac(secret, timestamp, body).verify_slice(signature).is_ok());
    if matches { Ok(()) } else { Err("no v1 signature matches the body".to_owned()) }
}

/// A fresh secret: the prefix and 32 random bytes in hex.
pub fn new_secret() -> String {
    use rand::Rng as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    format!("{SECRET_PREFIX}{}", hex(&bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_secret_body_and_time() {
        let secret = new_secret();
        assert!(secret.starts_with(SECRET_PREFIX) && secret.len() == SECRET_PREFIX.len() + 64);
        let body = br#"{"id":"demo:1"}"#;
        let header = sign(&secret, 1_765_000_000, body);
        assert!(header.starts_with("t=1765000000,v1="), "{header}");
        verify(&secret, &header, body, 1_765_000_100, TOLERANCE_S).unwrap();

        assert!(verify(&new_secret(), &header, body, 1_765_000_000, TOLERANCE_S).is_err());
        assert!(verify(&secret, &header, br#"{"id":"demo:2"}"#, 1_765_000_000, 300).is_err());
        let late = verify(&secret, &header, body, 1_765_000_301, TOLERANCE_S).unwrap_err();
        assert!(late.contains("more than 300 s"), "{late}");
        let moved = header.replace("t=1765000000", "t=1765000001");
        assert!(verify(&secret, &moved, body, 1_765_000_000, TOLERANCE_S).is_err());
        assert!(verify(&secret, "v1=00", body, 0, TOLERANCE_S).is_err());
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_the_timestamp_a_dot_and_the_body() {
        // Computed apart, with Python's hmac module, as a receiver would.
        let header = sign("whsec_test", 1_765_000_000, br#"{"id":"demo:1"}"#);
        assert_eq!(
            header,
            "t=1765000000,v1=a25c8ba88065ee1a8ddf1407c7da68793d62a12383d39315a6d51d1341d2f0c8"
        );
    }
}
