//! Consistency tokens: what a write RPC returns so the caller can later read its
//! own write from a view at any site. A token names the event source, the
//! aggregate (a patient id) and that aggregate's sequence number after the write;
//! a view has applied the write once it has applied that sequence for that source.
//! Tokens are opaque to clients (base64url) and carry no PHI.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

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

const VERSION: &str = "t1";

impl ConsistencyToken {
    /// Encodes the token for a client.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{VERSION}|{}|{}|{}",
            self.source, self.aggregate_id, self.sequence
        ))
    }

    /// Decodes a token given back by a client.
    pub fn decode(token: &str) -> Result<Self, MalformedToken> {
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| MalformedToken)?;
        let text = String::from_utf8(bytes).map_err(|_| MalformedToken)?;
        let mut parts = text.split('|');
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

    #[test]
    fn round_trips() {
        let t = ConsistencyToken {
            source: "admissions".into(),
            aggregate_id: "p-1".into(),
            sequence: 7,
        };
        assert_eq!(ConsistencyToken::decode(&t.encode()).unwrap(), t);
    }

    proptest::proptest! {
        /// Any token encodes and decodes to itself.
        #[test]
        fn every_token_round_trips(
            source in "[a-z][a-z-]{0,20}",
            aggregate_id in "[0-9a-f-]{1,36}",
            sequence in 1i64..i64::MAX,
        ) {
            let t = ConsistencyToken { source, aggregate_id, sequence };
            proptest::prop_assert_eq!(ConsistencyToken::decode(&t.encode()).unwrap(), t);
        }
    }

    #[test]
    fn rejects_garbage_and_tampering() {
        assert!(ConsistencyToken::decode("!!!").is_err());
        assert!(ConsistencyToken::decode(&URL_SAFE_NO_PAD.encode("t1|a|b")).is_err());
        assert!(ConsistencyToken::decode(&URL_SAFE_NO_PAD.encode("t1|a|b|0")).is_err());
        assert!(ConsistencyToken::decode(&URL_SAFE_NO_PAD.encode("t9|a|b|1")).is_err());
        assert!(ConsistencyToken::decode(&URL_SAFE_NO_PAD.encode("t1|a|b|1|x")).is_err());
    }
}
