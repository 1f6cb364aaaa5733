//! Consistency tokens: what a write RPC returns so the caller can later read its
//! own write from a view at any site. A token names the event source, the
//! aggregate (a patient id) and that aggregate's sequence number after the write;
//! a view has applied the write once it has applied that sequence for that source.
//! Tokens are opaque to clients (base64url) and carry no PHI.
//!
//! Tokens are signed (HMAC-SHA256, truncated to 128 bits) with a key every
//! service of the network derives from `auth.hs256_secret`: a view waits only
//! for tokens a service of this network issued, so a forged token cannot make
//! it wait to learn how far a patient's history goes. (When tokens move off the
//! shared HS256 secret, this key becomes a setting of its own.)

use std::sync::Arc;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::settings::AuthSettings;

/// The key consistency tokens are signed and checked with.
#[derive(Clone)]
pub struct TokenKey(Arc<Vec<u8>>);

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// The network's key, derived from the shared `auth.hs256_secret` (domain
    /// separated, so it signs nothing a bearer token could be).
    pub fn from_settings(auth: &AuthSettings) -> Self {
        let derived = mac(
            auth.hs256_secret.expose().as_bytes(),
            b"iop consistency token v2",
        );
        Self(Arc::new(derived))
    }

    fn sign(&self, text: &str) -> String {
        hex::encode(&mac(&self.0, text.as_bytes())[..16])
    }
}

fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
    #[allow(clippy::expect_used, reason = "HMAC takes keys of any length")]
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// A point in one aggregate's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyToken {
    /// Event source context, e.g. `admissions`.
    pub source: String,
    /// Aggregate id (patient id).
    pub aggregate_id: String,
    /// Sequence number of the aggregate's last event in the write.
    pub sequence: i64,
}

/// A token that does not decode.
#[derive(Debug, thiserror::Error)]
#[error("malformed consistency token")]
pub struct MalformedToken;

const VERSION: &str = "t2";

impl ConsistencyToken {
    /// Encodes and signs the token for a client.
    pub fn encode(&self, key: &TokenKey) -> String {
        let text = format!(
            "{VERSION}|{}|{}|{}",
            self.source, self.aggregate_id, self.sequence
        );
        let signature = key.sign(&text);
        URL_SAFE_NO_PAD.encode(format!("{text}|{signature}"))
    }

    /// Decodes a token given back by a client; one whose signature does not
    /// hold under `key` is malformed.
    pub fn decode(token: &str, key: &TokenKey) -> Result<Self, MalformedToken> {
        if token.len() > 512 {
            return Err(MalformedToken);
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| MalformedToken)?;
        let text = String::from_utf8(bytes).map_err(|_| MalformedToken)?;
        let (signed, signature) = text.rsplit_once('|').ok_or(MalformedToken)?;
        let expected = key.sign(signed);
        // Compared in constant time.
        let same = expected.len() == signature.len()
            && expected
                .bytes()
                .zip(signature.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(MalformedToken);
        }
        let mut parts = signed.split('|');
        let (Some(VERSION), Some(source), Some(aggregate_id), Some(sequence), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(MalformedToken);
        };
        let sequence = sequence.parse().map_err(|_| MalformedToken)?;
        if source.is_empty() || aggregate_id.is_empty() || sequence < 1 {
            return Err(MalformedToken);
        }
        Ok(Self {
            source: source.to_owned(),
            aggregate_id: aggregate_id.to_owned(),
            sequence,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn key(secret: &str) -> TokenKey {
        TokenKey::from_settings(&AuthSettings {
            hs256_secret: secret.repeat(32).into(),
            hs256_secret_file: String::new(),
            jwks_file: String::new(),
            issuer: "iop".into(),
            audience: "iop".into(),
            max_token_lifetime_s: 60,
        })
    }

    #[test]
    fn round_trips_under_the_key_only() {
        let t = ConsistencyToken {
            source: "admissions".into(),
            aggregate_id: "p-1".into(),
            sequence: 7,
        };
        let k = key("a");
        assert_eq!(ConsistencyToken::decode(&t.encode(&k), &k).unwrap(), t);
        assert!(ConsistencyToken::decode(&t.encode(&k), &key("b")).is_err());
    }

    proptest::proptest! {
        /// Any token encodes and decodes to itself.
        #[test]
        fn every_token_round_trips(
            source in "[a-z][a-z-]{0,20}",
            aggregate_id in "[0-9a-f-]{1,36}",
            sequence in 1i64..i64::MAX,
        ) {
            let k = key("a");
            let t = ConsistencyToken { source, aggregate_id, sequence };
            proptest::prop_assert_eq!(ConsistencyToken::decode(&t.encode(&k), &k).unwrap(), t);
        }
    }

    #[test]
    fn rejects_garbage_forgeries_and_tampering() {
        let k = key("a");
        let real = ConsistencyToken {
            source: "admissions".into(),
            aggregate_id: "p-1".into(),
            sequence: 3,
        }
        .encode(&k);
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(&real).unwrap()).unwrap();
        let (_, signature) = text.rsplit_once('|').unwrap();
        // The same signature on a later sequence: a forgery.
        let forged = URL_SAFE_NO_PAD.encode(format!("t2|admissions|p-1|999|{signature}"));
        assert!(ConsistencyToken::decode(&forged, &k).is_err());
        assert!(ConsistencyToken::decode("!!!", &k).is_err());
        assert!(ConsistencyToken::decode(&URL_SAFE_NO_PAD.encode("t1|a|b|1"), &k).is_err());
        assert!(ConsistencyToken::decode(&"x".repeat(600), &k).is_err());
    }
}
