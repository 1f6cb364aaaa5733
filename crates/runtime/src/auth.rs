//! Bearer-token authentication. Every service's gRPC API sits behind
//! [`Authenticator`], a tonic interceptor that validates an HS256 JWT (signature,
//! expiry, issuer, audience) and puts the [`Caller`] into the request's
//! extensions; a missing or bad token gets UNAUTHENTICATED before any handler
//! runs. Handlers then ask the caller for roles and facilities.
//!
//! Keys: with `auth.jwks_file` set, the identity provider's public keys
//! (RS256, ES256, EdDSA) from a JSON Web Key Set, chosen by the token's `kid`
//! and re-read when the file changes (a key added is trusted, a key removed
//! no longer is, without a restart); HS256 with the shared secret is then
//! refused. Without it, HS256 with `auth.hs256_secret`: the one-machine mode
//! (`iop dev`), self-contained.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    path::PathBuf,
    sync::{Arc, RwLock},
    time::{Duration, Instant, SystemTime},
};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::{Request, Status, service::Interceptor};

use crate::settings::AuthSettings;

/// What a caller may do, independently of where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Front desk: registers and admits patients.
    Intake,
    /// Treats patients.
    Clinician,
    /// Coverage, claims and payments.
    Billing,
    /// Runs the network.
    Admin,
    /// Reads the audit trail.
    Auditor,
    /// A physician who approves placements below a level set by withdrawal or
    /// biomedical risk. Held beside `clinician`; on its own it calls nothing.
    MedicalDirector,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Role::Intake,
        Role::Clinician,
        Role::Billing,
        Role::Admin,
        Role::Auditor,
        Role::MedicalDirector,
    ];

    /// The role's claim value.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Intake => "intake",
            Role::Clinician => "clinician",
            Role::Billing => "billing",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::MedicalDirector => "medical_director",
        }
    }
}

/// Facility claim value granting every facility (network-wide staff).
pub const ALL_FACILITIES: &str = "*";

/// The claims IOP tokens carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Subject: the staff member or system calling.
    pub sub: String,
    /// Roles granted.
    pub roles: Vec<Role>,
    /// Facility ids the caller acts for; `*` means all.
    pub facilities: Vec<String>,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Not valid before, seconds since the epoch (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

/// An authenticated caller, found in every authenticated request's extensions.
#[derive(Clone)]
pub struct Caller {
    subject: String,
    roles: HashSet<Role>,
    facilities: HashSet<String>,
}

impl fmt::Debug for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Caller")
            .field("subject", &self.subject)
            .field("roles", &self.roles)
            .finish()
    }
}

impl Caller {
    /// A caller with the given identity (tests and in-process tools).
    pub fn new(subject: impl Into<String>, roles: &[Role], facilities: &[&str]) -> Self {
        Self {
            subject: subject.into(),
            roles: roles.iter().copied().collect(),
            facilities: facilities.iter().map(|f| (*f).to_owned()).collect(),
        }
    }

    /// The token's subject.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Roles, sorted, comma-separated (for the audit trail).
    pub fn roles_label(&self) -> String {
        let mut roles: Vec<_> = self.roles.iter().map(|r| r.as_str()).collect();
        roles.sort_unstable();
        roles.join(",")
    }

    /// Whether the caller holds any of `roles`.
    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.roles.contains(r))
    }

    /// Whether the caller acts for `facility_id`.
    pub fn acts_for(&self, facility_id: &str) -> bool {
        self.facilities.contains(ALL_FACILITIES) || self.facilities.contains(facility_id)
    }

    /// Fails with PERMISSION_DENIED ("permission denied", like every other
    /// refusal) unless the caller holds one of `roles`; logged at INFO here,
    /// audited by the service ([`crate::grpc::refuse`]).
    #[allow(
        clippy::result_large_err,
        reason = "tonic::Status is the error type of every handler"
    )]
    pub fn require_role(&self, roles: &[Role]) -> Result<(), Status> {
        if self.has_any_role(roles) {
            Ok(())
        } else {
            // The same text as every other refusal; which roles would do is
            // for the log, not for the caller.
            let wanted: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
            tracing::info!(
                subject = %self.subject,
                required = %wanted.join(", "),
                "refused: the caller's roles may not call this"
            );
            Err(Status::permission_denied("permission denied"))
        }
    }

    /// Fails, saying nothing of the facility, unless the caller acts for it.
    pub fn require_facility(&self, facility_id: &str) -> Result<(), Denied> {
        if self.acts_for(facility_id) {
            Ok(())
        } else {
            Err(Denied::NOT_YOUR_FACILITY)
        }
    }

    /// The caller of an authenticated request. A request that did not pass through
    /// [`Authenticator`] has none, which is a wiring bug reported as UNAUTHENTICATED.
    #[allow(
        clippy::result_large_err,
        reason = "tonic::Status is the error type of every handler"
    )]
    pub fn of<T>(request: &Request<T>) -> Result<Caller, Status> {
        request
            .extensions()
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Status::unauthenticated("no authenticated caller"))
    }
}

/// A refusal of access, worded the same whatever the reason, so that a caller
/// learns nothing from it (whether the patient exists, where, under which
/// consent). `why` is for the server's own log and audit, never the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("permission denied")]
pub struct Denied {
    /// Why, for the log: `caller does not act for the facility`, …
    pub why: &'static str,
    /// Whether the handler already wrote the denial's audit row; if not,
    /// `grpc_service!` writes it ([`crate::grpc::settle`]), so no refusal
    /// leaves the service unaudited.
    pub audited: bool,
}

impl Denied {
    /// The caller does not act for the facility named.
    pub const NOT_YOUR_FACILITY: Denied = Denied {
        why: "caller does not act for the facility",
        audited: false,
    };
    /// The id names nothing the caller may act on (it may name nothing at
    /// all): refused like any other, so ids cannot be probed.
    pub const UNKNOWN_REFERENCE: Denied = Denied {
        why: "the id names nothing the caller may act on",
        audited: false,
    };
    /// The caller's facility may not see the patient; the handler audited it
    /// with the patient and facility it decided on.
    pub const PATIENT_NOT_VISIBLE: Denied = Denied {
        why: "no facility of the caller knows the patient or holds a consent",
        audited: true,
    };
}

/// A signing secret that is unusable.
#[derive(Debug, thiserror::Error)]
#[error("auth.hs256_secret must be at least 32 bytes")]
pub struct WeakSecret;

/// Verification keys that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The shared secret is too short.
    #[error("settings: invalid `auth.hs256_secret`: {0}")]
    Weak(#[from] WeakSecret),
    /// The JWKS file cannot be read or holds no usable key.
    #[error("settings: invalid `auth.jwks_file`: {0}")]
    Jwks(String),
}

/// The algorithm a JWK is used with: its `alg`, else what its key type
/// implies; only RS256, ES256 and EdDSA are accepted.
fn jwk_algorithm(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, KeyAlgorithm};
    let named = match jwk.common.key_algorithm {
        Some(KeyAlgorithm::RS256) => Some(Algorithm::RS256),
        Some(KeyAlgorithm::ES256) => Some(Algorithm::ES256),
        Some(KeyAlgorithm::EdDSA) => Some(Algorithm::EdDSA),
        Some(_) => return None,
        None => None,
    };
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => Algorithm::ES256,
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => return None,
    };
    match named {
        Some(a) if a != implied => None,
        _ => Some(implied),
    }
}

/// Signing keys by `kid`, read from a JWKS file.
fn read_jwks(path: &std::path::Path) -> Result<HashMap<String, (DecodingKey, Algorithm)>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{}: not a JWKS: {e}", path.display()))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let signing = !matches!(
            jwk.common.public_key_use,
            Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
        );
        let (Some(kid), Some(alg), true) = (&jwk.common.key_id, jwk_algorithm(jwk), signing) else {
            continue;
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("key {kid}: {e}"))?;
        keys.insert(kid.clone(), (key, alg));
    }
    if keys.is_empty() {
        return Err(format!(
            "{}: no signing key with a kid (RS256, ES256, EdDSA)",
            path.display()
        ));
    }
    Ok(keys)
}

/// How often the JWKS file is looked at for a change, at most.
const JWKS_CHECK: Duration = Duration::from_secs(1);

/// The identity provider's keys and when the file was last seen.
struct Jwks {
    path: PathBuf,
    state: RwLock<JwksState>,
}

struct JwksState {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    stamp: Option<(SystemTime, u64)>,
    checked: Instant,
}

fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl Jwks {
    fn open(path: &str) -> Result<Self, KeysError> {
        let path = PathBuf::from(path);
        let keys = read_jwks(&path).map_err(KeysError::Jwks)?;
        let state = JwksState {
            keys,
            stamp: stamp(&path),
            checked: Instant::now(),
        };
        Ok(Self {
            path,
            state: RwLock::new(state),
        })
    }

    /// The key and algorithm of `kid`, re-reading the file first when it
    /// changed (a file that no longer reads keeps the keys it held).
    fn key(&self, kid: &str) -> Option<(DecodingKey, Algorithm)> {
        let stale = self
            .state
            .read()
            .map(|s| s.checked.elapsed() >= JWKS_CHECK)
            .unwrap_or(true);
        if stale && let Ok(mut s) = self.state.write() {
            s.checked = Instant::now();
            let now = stamp(&self.path);
            if now != s.stamp {
                match read_jwks(&self.path) {
                    Ok(keys) => {
                        tracing::info!(
                            keys = keys.len(),
                            "verification keys reloaded from auth.jwks_file"
                        );
                        s.keys = keys;
                        s.stamp = now;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "auth.jwks_file changed but does not read; keeping the keys it held")
                    }
                }
            }
        }
        self.state.read().ok()?.keys.get(kid).cloned()
    }
}

/// Where verification keys come from.
enum Keys {
    /// HS256 with the shared secret (`iop dev`).
    Shared(DecodingKey),
    /// The identity provider's, by `kid`.
    Provider(Jwks),
}

/// Longest token subject, in bytes.
pub const MAX_SUBJECT_BYTES: usize = 256;

/// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
const LEEWAY_S: u64 = 30;

/// Validates bearer tokens; cheap to clone (one per service).
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<(Keys, Validation)>,
    max_lifetime: i64,
}

impl Authenticator {
    /// Builds the validator from settings: the JWKS file's keys when
    /// `auth.jwks_file` is set, else the HS256 secret.
    pub fn new(settings: &AuthSettings) -> Result<Self, KeysError> {
        // The secret keys consistency tokens in either mode.
        if settings.hs256_secret.expose().len() < 32 {
            return Err(WeakSecret.into());
        }
        let keys = if settings.jwks_file.is_empty() {
            Keys::Shared(DecodingKey::from_secret(
                settings.hs256_secret.expose().as_bytes(),
            ))
        } else {
            Keys::Provider(Jwks::open(&settings.jwks_file)?)
        };
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_S;
        Ok(Self {
            inner: Arc::new((keys, validation)),
            max_lifetime: i64::try_from(settings.max_token_lifetime_s).unwrap_or(i64::MAX),
        })
    }

    /// Validates a raw token: signature, issuer, audience, expiry and `nbf`,
    /// `iat` not in the future, and a lifetime (`exp - iat`) of at most
    /// `auth.max_token_lifetime_s`. The caller hears only "invalid bearer
    /// token"; why is logged (at DEBUG, no claims).
    pub fn verify(&self, token: &str) -> Result<Caller, Status> {
        let invalid = |why: &dyn std::fmt::Display| {
            tracing::debug!(reason = %why, "bearer token refused");
            Status::unauthenticated("invalid bearer token")
        };
        let (keys, template) = &*self.inner;
        let claims = match keys {
            Keys::Shared(key) => jsonwebtoken::decode::<Claims>(token, key, template),
            Keys::Provider(jwks) => {
                let header = jsonwebtoken::decode_header(token).map_err(|e| invalid(&e))?;
                let kid = header.kid.ok_or_else(|| invalid(&"no kid in the header"))?;
                let (key, alg) = jwks.key(&kid).ok_or_else(|| invalid(&"unknown kid"))?;
                if header.alg != alg {
                    return Err(invalid(&"alg is not the key's"));
                }
                let mut validation = template.clone();
                validation.algorithms = vec![alg];
                jsonwebtoken::decode::<Claims>(token, &key, &validation)
            }
        }
        .map_err(|e| invalid(&e))?
        .claims;
        let now = chrono::Utc::now().timestamp();
        // The subject goes into audit rows and events (who linked, who broke
        // the glass): bounded like every other string that reaches them.
        if claims.sub.is_empty() || claims.sub.len() > MAX_SUBJECT_BYTES {
            return Err(invalid(&"empty or over-long subject"));
        }
        if claims.iat > now + LEEWAY_S as i64 {
            return Err(invalid(&"issued in the future"));
        }
        if claims.exp.saturating_sub(claims.iat) > self.max_lifetime {
            return Err(invalid(&"lifetime above auth.max_token_lifetime_s"));
        }
        Ok(Caller {
            subject: claims.sub,
            roles: claims.roles.into_iter().collect(),
            facilities: claims.facilities.into_iter().collect(),
        })
    }
}

impl Interceptor for Authenticator {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let header = request.metadata().get("authorization").ok_or_else(|| {
            Status::unauthenticated("missing bearer token (authorization metadata)")
        })?;
        let value = header
            .to_str()
            .map_err(|_| Status::unauthenticated("authorization metadata is not text"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                Status::unauthenticated("authorization metadata must be `Bearer <token>`")
            })?;
        let caller = self.verify(token.trim())?;
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}

/// Mints tokens signed with the configured secret: used by `iop dev` to print a
/// development token and by `iop token` for operators and tests.
pub struct TokenIssuer {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl TokenIssuer {
    /// Builds an issuer from settings.
    pub fn new(settings: &AuthSettings) -> Result<Self, WeakSecret> {
        if settings.hs256_secret.expose().len() < 32 {
            return Err(WeakSecret);
        }
        Ok(Self {
            key: EncodingKey::from_secret(settings.hs256_secret.expose().as_bytes()),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
        })
    }

    /// A token for `subject` valid for `ttl_seconds`.
    pub fn issue(
        &self,
        subject: &str,
        roles: &[Role],
        facilities: &[&str],
        ttl_seconds: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_owned(),
            roles: roles.to_vec(),
            facilities: facilities.iter().map(|f| (*f).to_owned()).collect(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            exp: now + ttl_seconds,
            iat: now,
            nbf: None,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.key)
    }
}

/// A fresh random signing secret (64 hex characters), for the one-machine mode.
pub fn generate_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;

    fn settings(secret: &str) -> AuthSettings {
        AuthSettings {
            hs256_secret: secret.into(),
            hs256_secret_file: String::new(),
            jwks_file: String::new(),
            issuer: "iop".into(),
            audience: "iop".into(),
            max_token_lifetime_s: 43_200,
        }
    }

    fn request_with(value: Option<&str>) -> Request<()> {
        let mut req = Request::new(());
        if let Some(v) = value {
            req.metadata_mut()
                .insert("authorization", v.parse().unwrap());
        }
        req
    }

    #[test]
    fn valid_token_yields_caller() {
        let s = settings(&generate_secret());
        let token = TokenIssuer::new(&s)
            .unwrap()
            .issue("nurse-1", &[Role::Intake], &["fac-a"], 60)
            .unwrap();
        let mut auth = Authenticator::new(&s).unwrap();
        let req = auth
            .call(request_with(Some(&format!("Bearer {token}"))))
            .unwrap();
        let caller = Caller::of(&req).unwrap();
        assert_eq!(caller.subject(), "nurse-1");
        assert!(caller.has_any_role(&[Role::Intake]));
        assert!(!caller.has_any_role(&[Role::Billing]));
        assert!(caller.acts_for("fac-a"));
        assert!(!caller.acts_for("fac-b"));
    }

    #[test]
    fn missing_wrong_key_and_expired_are_unauthenticated() {
        let s = settings(&generate_secret());
        let mut auth = Authenticator::new(&s).unwrap();
        let err = auth.call(request_with(None)).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);

        let other = TokenIssuer::new(&settings(&generate_secret())).unwrap();
        let forged = other.issue("x", &[Role::Admin], &["*"], 60).unwrap();
        let err = auth
            .call(request_with(Some(&format!("Bearer {forged}"))))
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);

        let expired = TokenIssuer::new(&s)
            .unwrap()
            .issue("x", &[Role::Admin], &["*"], -3600)
            .unwrap();
        let err = auth
            .call(request_with(Some(&format!("Bearer {expired}"))))
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);

        let err = auth.call(request_with(Some("Basic abc"))).unwrap_err();
        assert_eq!(err.code(), tonic::Code::Unauthenticated);
    }

    #[test]
    fn long_lived_future_and_not_yet_valid_tokens_are_refused_without_saying_why() {
        let s = settings(&generate_secret());
        let auth = Authenticator::new(&s).unwrap();
        let issuer = TokenIssuer::new(&s).unwrap();
        let now = chrono::Utc::now().timestamp();
        let sign = |iat: i64, exp: i64, nbf: Option<i64>| {
            let claims = Claims {
                sub: "x".into(),
                roles: vec![Role::Admin],
                facilities: vec!["*".into()],
                iss: "iop".into(),
                aud: "iop".into(),
                exp,
                iat,
                nbf,
            };
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &issuer.key).unwrap()
        };
        assert!(auth.verify(&sign(now, now + 43_200, None)).is_ok());
        for (token, why) in [
            (
                sign(now, now + 43_201, None),
                "a lifetime above the maximum",
            ),
            (sign(now + 3600, now + 7200, None), "issued in the future"),
            (sign(now, now + 600, Some(now + 300)), "not yet valid"),
        ] {
            let err = auth.verify(&token).unwrap_err();
            assert_eq!(err.code(), tonic::Code::Unauthenticated, "{why}");
            assert_eq!(err.message(), "invalid bearer token", "{why}");
        }
        // A token without `iat` cannot state its lifetime: refused.
        let no_iat = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &serde_json::json!({"sub": "x", "roles": ["admin"], "facilities": ["*"],
                "iss": "iop", "aud": "iop", "exp": now + 60}),
            &issuer.key,
        )
        .unwrap();
        assert!(auth.verify(&no_iat).is_err());
        let long = issuer
            .issue(
                &"x".repeat(MAX_SUBJECT_BYTES + 1),
                &[Role::Admin],
                &["*"],
                60,
            )
            .unwrap();
        assert!(
            auth.verify(&long).is_err(),
            "an over-long subject is refused"
        );
    }

    #[test]
    fn wildcard_facility_and_weak_secret() {
        let caller = Caller::new("admin", &[Role::Admin], &[ALL_FACILITIES]);
        assert!(caller.acts_for("anything"));
        assert!(Authenticator::new(&settings("too-short")).is_err());
        assert_eq!(
            caller.require_role(&[Role::Billing]).unwrap_err().code(),
            tonic::Code::PermissionDenied
        );
    }

    /// An identity provider's Ed25519 key: its id, its PKCS#8 private key
    /// and its public JWK.
    fn provider_key(kid: &str) -> (String, Vec<u8>, serde_json::Value) {
        use base64::Engine as _;
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        use rand::RngCore;
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let der = key.to_pkcs8_der().unwrap().as_bytes().to_vec();
        let x =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes());
        let jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"});
        (kid.to_owned(), der, jwk)
    }

    fn signed_by((kid, der, _): &(String, Vec<u8>, serde_json::Value)) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: "dr-okafor".into(),
            roles: vec![Role::Clinician],
            facilities: vec!["oakland".into()],
            iss: "iop".into(),
            aud: "iop".into(),
            exp: now + 300,
            iat: now,
            nbf: None,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ed_der(der)).unwrap()
    }

    fn publish(path: &std::path::Path, keys: &[&(String, Vec<u8>, serde_json::Value)]) {
        let set = serde_json::json!({"keys": keys.iter().map(|k| k.2.clone()).collect::<Vec<_>>()});
        // Written beside and renamed, as a ConfigMap update lands.
        let next = path.with_extension("next");
        std::fs::write(&next, serde_json::to_vec(&set).unwrap()).unwrap();
        std::fs::rename(&next, path).unwrap();
    }

    /// Polls `auth` on `token` until it answers `accepted` (the file is
    /// looked at once a second at most); fails after 10 s.
    fn until_answer(auth: &Authenticator, token: &str, accepted: bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while auth.verify(token).is_ok() != accepted {
            assert!(Instant::now() < deadline, "the key change was not seen");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    #[test]
    fn keys_from_a_jwks_rotate_without_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwks.json");
        let (old, new) = (provider_key("2026-11"), provider_key("2026-12"));
        publish(&path, &[&old]);
        let mut s = settings(&generate_secret());
        s.jwks_file = path.to_string_lossy().into_owned();
        let auth = Authenticator::new(&s).unwrap();
        let caller = auth.verify(&signed_by(&old)).unwrap();
        assert_eq!(caller.subject(), "dr-okafor");
        assert_eq!(
            auth.verify(&signed_by(&new)).unwrap_err().code(),
            tonic::Code::Unauthenticated,
            "a key not published yet"
        );
        // The provider publishes the next key beside the current one...
        publish(&path, &[&old, &new]);
        until_answer(&auth, &signed_by(&new), true);
        assert!(
            auth.verify(&signed_by(&old)).is_ok(),
            "both during the overlap"
        );
        // ...then withdraws the old one.
        publish(&path, &[&new]);
        until_answer(&auth, &signed_by(&old), false);
        assert!(auth.verify(&signed_by(&new)).is_ok());
        // The shared secret signs no bearer token any more: even one made
        // with it is refused.
        let hs = TokenIssuer::new(&s)
            .unwrap()
            .issue("x", &[Role::Admin], &["*"], 60)
            .unwrap();
        assert!(auth.verify(&hs).is_err());
        // A file that is not a key set stops start-up, naming the setting.
        std::fs::write(&path, "{}").unwrap();
        let e = Authenticator::new(&s).err().unwrap().to_string();
        assert!(e.contains("auth.jwks_file"), "{e}");
    }
}
