//! The sandbox OIDC issuer and the GitHub Actions ID-token endpoint.
//!
//! Owns the issuer's JWT signing key (RS256 as GitHub, or ES256), the GitHub Actions
//! claim set ([`TokenClaims`]), minting and validating tokens, and three routes:
//! `/.well-known/openid-configuration`, `/.well-known/jwks` and the Actions runtime's
//! `/token?api-version=2.0&audience=...`. It must not touch certificates (Fulcio asks
//! [`OidcIssuer::validate`] through `Shared`), nor fault injection (`faults.rs` wraps
//! the router).
//!
//! Tokens carry `iss` = [`GITHUB_ISSUER`] (not this server's loopback URL) because that
//! is what Fulcio writes into certificates and what verification policies pin; the
//! sandbox Fulcio trusts this issuer's key directly instead of discovering it.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::KeyPair as _;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use der::Decode as _;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::pkcs8::EncodePrivateKey as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::Shared;

/// The issuer of GitHub Actions ID tokens.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The audience Sigstore clients request and Fulcio requires.
pub const SIGSTORE_AUDIENCE: &str = "sigstore";

/// Clock skew tolerated for `nbf`, as Fulcio's token verifier (go-oidc v3,
/// `verify.go`) tolerates it: five minutes. `exp` has none there: a token
/// is refused from the second it ends.
pub const NBF_LEEWAY: Duration = Duration::from_secs(300);

/// Claims registered by RFC 7519 that [`OidcIssuer::mint`] sets itself.
const TIME_CLAIMS: [&str; 4] = ["iat", "nbf", "exp", "jti"];

/// JWS algorithm of minted tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 over a 2048-bit key (what GitHub uses).
    Rs256,
}

impl JwtAlgorithm {
    fn jws(self) -> Algorithm {
        match self {
            JwtAlgorithm::Es256 => Algorithm::ES256,
            JwtAlgorithm::Rs256 => Algorithm::RS256,
        }
    }
}

/// A stable pseudo-id derived from a name (a repository, an owner), so that
/// a repository keeps its id in tokens and in the GitHub API alike.
pub fn pseudo_id(name: &str) -> u64 {
    let d = Sha256::digest(name.as_bytes());
    u64::from(u32::from_be_bytes([d[0], d[1], d[2], d[3]]) % 900_000_000 + 100_000_000)
}

/// The claim set of a GitHub Actions ID token.
///
/// Field names and value types are GitHub's own (every value is a JSON string,
/// numbers and booleans included). Fields other than `iss`, `sub` and `aud` default
/// to empty so that tokens of other issuers (e.g. an email identity) also parse,
/// and an empty one is left out of a token, as another issuer's has none of
/// them (`head_ref` and `base_ref` excepted: GitHub sends them empty).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    #[serde(default, rename = "ref", skip_serializing_if = "String::is_empty")]
    pub git_ref: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ref_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ref_protected: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repository: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repository_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repository_owner: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repository_owner_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repository_visibility: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run_number: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub run_attempt: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub runner_environment: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actor: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actor_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workflow: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workflow_ref: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workflow_sha: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job_workflow_ref: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub job_workflow_sha: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub event_name: String,
    // GitHub sends it empty outside pull requests.
    #[serde(default)]
    pub head_ref: String,
    // GitHub sends it empty outside pull requests.
    #[serde(default)]
    pub base_ref: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Not a GitHub claim: lets tests mint email identities (Fulcio's SAN is then the email).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Any further claims, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Buildkite's OIDC issuer, whose tokens Fulcio maps to the pipeline's URL.
pub const BUILDKITE_ISSUER: &str = "https://agent.buildkite.com";

impl TokenClaims {
    /// The claim set GitHub Actions puts in a token for a `push` run of
    /// `.github/workflows/release.yml` in `repository` (`owner/name`) at `git_ref`.
    pub fn github(repository: &str, git_ref: &str, sha: &str) -> Self {
        let owner = repository.split('/').next().unwrap_or(repository);
        let ref_type = if git_ref.starts_with("refs/tags/") {
            "tag"
        } else {
            "branch"
        };
        let workflow_ref = format!("{repository}/.github/workflows/release.yml@{git_ref}");
        // Stable pseudo-ids derived from the names, so that a repository keeps its ids.
        let id = |s: &str| pseudo_id(s).to_string();
        Self {
            iss: GITHUB_ISSUER.into(),
            sub: format!("repo:{repository}:ref:{git_ref}"),
            aud: SIGSTORE_AUDIENCE.into(),
            git_ref: git_ref.into(),
            ref_type: ref_type.into(),
            ref_protected: "false".into(),
            sha: sha.into(),
            repository: repository.into(),
            repository_id: id(repository),
            repository_owner: owner.into(),
            repository_owner_id: id(owner),
            repository_visibility: "public".into(),
            run_id: "9876543210".into(),
            run_number: "42".into(),
            run_attempt: "1".into(),
            runner_environment: "github-hosted".into(),
            actor: owner.into(),
            actor_id: id(owner),
            workflow: "Release".into(),
            workflow_ref: workflow_ref.clone(),
            workflow_sha: sha.into(),
            job_workflow_ref: workflow_ref,
            job_workflow_sha: sha.into(),
            event_name: "push".into(),
            head_ref: String::new(),
            base_ref: String::new(),
            environment: None,
            email: None,
            extra: Map::new(),
        }
    }

    /// The SAN Fulcio writes for these claims: the workflow URI for GitHub,
    /// the pipeline's URL for Buildkite, else the email, else the subject.
    pub fn identity(&self) -> String {
        let extra = |name: &str| self.extra.get(name).and_then(Value::as_str);
        if self.is_github_actions() {
            format!("https://github.com/{}", self.job_workflow_ref)
        } else if let (BUILDKITE_ISSUER, Some(org), Some(pipeline)) = (
            self.iss.as_str(),
            extra("organization_slug"),
            extra("pipeline_slug"),
        ) {
            // Fulcio's Buildkite provider names the pipeline.
            format!("https://buildkite.com/{org}/{pipeline}")
        } else if let Some(email) = &self.email {
            email.clone()
        } else {
            self.sub.clone()
        }
    }

    /// Whether Fulcio takes these claims as a GitHub workflow's: its issuer,
    /// or an enterprise's under it (`.../<enterprise>`, Fulcio's meta-issuer
    /// `https://token.actions.githubusercontent.com/*`).
    pub fn is_github_actions(&self) -> bool {
        self.iss == GITHUB_ISSUER
            || self
                .iss
                .strip_prefix(GITHUB_ISSUER)
                .and_then(|rest| rest.strip_prefix('/'))
                .is_some_and(|slug| !slug.is_empty() && !slug.contains('/'))
    }

    /// What a Fulcio proof of possession signs: the email if there is one, else `sub`.
    pub fn challenge(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.sub)
    }
}

/// Why a token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OidcError {
    #[error("token is not a well-formed JWT: {0}")]
    Malformed(String),
    #[error("token was not signed by this issuer")]
    BadSignature,
    #[error("token is signed with an unexpected algorithm or key id")]
    WrongKey,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token audience is not \"{SIGSTORE_AUDIENCE}\"")]
    WrongAudience,
}

impl From<jsonwebtoken::errors::Error> for OidcError {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::InvalidSignature => OidcError::BadSignature,
            K::InvalidAlgorithm => OidcError::WrongKey,
            K::ExpiredSignature => OidcError::Expired,
            K::ImmatureSignature => OidcError::NotYetValid,
            K::InvalidAudience => OidcError::WrongAudience,
            _ => OidcError::Malformed(e.to_string()),
        }
    }
}

/// An OIDC identity provider with one signing key.
pub struct OidcIssuer {
    alg: JwtAlgorithm,
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    jwk: Value,
}

impl std::fmt::Debug for OidcIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcIssuer")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl OidcIssuer {
    /// A fresh key. RSA-2048 generation is done by aws-lc (tens of milliseconds).
    pub fn generate(alg: JwtAlgorithm) -> Self {
        let (encoding, decoding, mut jwk) = match alg {
            JwtAlgorithm::Rs256 => {
                let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                    .expect("aws-lc generates RSA-2048 keys");
                let pkcs8 =
                    aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)
                        .expect("RSA keys encode as PKCS#8");
                // jsonwebtoken's aws-lc backend takes the inner PKCS#1 RSAPrivateKey.
                let info = p256::pkcs8::PrivateKeyInfo::from_der(pkcs8.as_ref())
                    .expect("aws-lc emits valid PKCS#8");
                let public = pair.public_key();
                let n = public.modulus().big_endian_without_leading_zero().to_vec();
                let e = public.exponent().big_endian_without_leading_zero().to_vec();
                (
                    EncodingKey::from_rsa_der(info.private_key),
                    DecodingKey::from_rsa_raw_components(&n, &e),
                    json!({
                        "kty": "RSA",
                        "alg": "RS256",
                        "use": "sig",
                        "n": URL_SAFE_NO_PAD.encode(&n),
                        "e": URL_SAFE_NO_PAD.encode(&e),
                    }),
                )
            }
            JwtAlgorithm::Es256 => {
                let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
                let pkcs8 = key.to_pkcs8_der().expect("P-256 keys encode as PKCS#8");
                let point = key.verifying_key().to_encoded_point(false);
                let x = URL_SAFE_NO_PAD.encode(point.x().expect("uncompressed point"));
                let y = URL_SAFE_NO_PAD.encode(point.y().expect("uncompressed point"));
                (
                    EncodingKey::from_ec_der(pkcs8.as_bytes()),
                    DecodingKey::from_ec_components(&x, &y).expect("valid P-256 coordinates"),
                    json!({
                        "kty": "EC",
                        "alg": "ES256",
                        "use": "sig",
                        "crv": "P-256",
                        "x": x,
                        "y": y,
                    }),
                )
            }
        };
        // The key id is a digest of the public JWK, so it changes whenever the key does.
        let kid = hex::encode(&Sha256::digest(jwk.to_string().as_bytes())[..20]);
        jwk["kid"] = Value::String(kid.clone());
        Self {
            alg,
            kid,
            encoding,
            decoding,
            jwk,
        }
    }

    pub fn algorithm(&self) -> JwtAlgorithm {
        self.alg
    }

    pub fn key_id(&self) -> &str {
        &self.kid
    }

    /// A signed token with these claims, issued now and valid for `lifetime`.
    pub fn mint(&self, claims: &TokenClaims, lifetime: Duration) -> String {
        self.mint_at(claims, SystemTime::now(), lifetime)
    }

    /// A signed token issued at `issued_at` (possibly in the past, to test expiry).
    pub fn mint_at(
        &self,
        claims: &TokenClaims,
        issued_at: SystemTime,
        lifetime: Duration,
    ) -> String {
        let Value::Object(mut body) = serde_json::to_value(claims).expect("claims serialize")
        else {
            unreachable!("a struct serializes to a JSON object")
        };
        let iat = unix_seconds(issued_at);
        body.insert("iat".into(), iat.into());
        body.insert("nbf".into(), iat.into());
        body.insert("exp".into(), (iat + lifetime.as_secs()).into());
        body.insert("jti".into(), crate::random_hex(16).into());
        let mut header = Header::new(self.alg.jws());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, &body, &self.encoding).expect("signing with own key")
    }

    /// Check signature, `exp` (no leeway), `nbf` (with [`NBF_LEEWAY`]) and
    /// `aud` == `sigstore`, as Fulcio does; returns the claims without the
    /// time claims `mint` adds.
    pub fn validate(&self, jwt: &str) -> Result<TokenClaims, OidcError> {
        let header = jsonwebtoken::decode_header(jwt)?;
        if header.alg != self.alg.jws() || header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(OidcError::WrongKey);
        }
        let mut validation = Validation::new(self.alg.jws());
        validation.leeway = 0;
        validation.validate_nbf = false;
        validation.set_audience(&[SIGSTORE_AUDIENCE]);
        validation.required_spec_claims =
            HashSet::from(["exp", "iat", "iss", "sub", "aud"].map(String::from));
        let data = jsonwebtoken::decode::<TokenClaims>(jwt, &self.decoding, &validation)?;
        let mut claims = data.claims;
        let now = unix_seconds(SystemTime::now());
        if let Some(nbf) = claims.extra.get("nbf").and_then(Value::as_u64) {
            if nbf > now + NBF_LEEWAY.as_secs() {
                return Err(OidcError::NotYetValid);
            }
        }
        for k in TIME_CLAIMS {
            claims.extra.remove(k);
        }
        Ok(claims)
    }

    /// The JWK Set publishing the verification key.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.jwk] })
    }
}

fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Constant-time equality, so that the bearer check leaks nothing through timing.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The credentials of an `Authorization: Bearer` header. The scheme is matched
/// case-insensitively (RFC 9110 §11.1): the `id` package behind sigstore-python sends
/// `bearer`, actions/toolkit sends `Bearer`.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// `/.well-known/openid-configuration`, `/.well-known/jwks`, `/token`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/jwks", get(jwks))
        .route("/token", get(actions_token))
        .with_state(shared)
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let issuer = shared.actions_claims.lock().iss.clone();
    let alg = match shared.oidc.algorithm() {
        JwtAlgorithm::Es256 => "ES256",
        JwtAlgorithm::Rs256 => "RS256",
    };
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/.well-known/jwks", shared.urls.oidc),
        "subject_types_supported": ["public", "pairwise"],
        "response_types_supported": ["id_token"],
        "claims_supported": [
            "sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref", "sha", "repository",
            "repository_id", "repository_owner", "repository_owner_id", "run_id", "run_number",
            "run_attempt", "runner_environment", "actor", "actor_id", "workflow", "workflow_ref",
            "workflow_sha", "head_ref", "base_ref", "event_name", "ref_type", "ref_protected",
            "environment", "environment_node_id", "job_workflow_ref", "job_workflow_sha",
            "repository_visibility", "enterprise", "enterprise_id"
        ],
        "id_token_signing_alg_values_supported": [alg],
        "scopes_supported": ["openid"],
    }))
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(shared.oidc.jwks())
}

#[derive(Deserialize)]
struct TokenQuery {
    audience: Option<String>,
}

async fn actions_token(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    let presented = bearer_token(&headers);
    let authorized =
        presented.is_some_and(|t| ct_eq(t.as_bytes(), shared.actions_request_token.as_bytes()));
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/rest",
                "status": "401",
            })),
        )
            .into_response();
    }
    let mut claims = shared.actions_claims.lock().clone();
    // Without `audience`, GitHub uses the URL of the repository owner.
    claims.aud = q
        .audience
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| format!("https://github.com/{}", claims.repository_owner));
    let lifetime = *shared.actions_token_lifetime.lock();
    let jwt = shared.oidc.mint(&claims, lifetime);
    Json(json!({ "count": 1, "value": jwt })).into_response()
}

/// Shared test fixtures for the service modules that only need OIDC + CA state.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::{ca, github, rekor, tsa, Config, Urls};
    use parking_lot::Mutex;

    pub(crate) fn shared(alg: JwtAlgorithm) -> Arc<Shared> {
        let base = "http://127.0.0.1:9";
        let urls = Urls {
            oidc: base.into(),
            fulcio: base.into(),
            rekor_v1: base.into(),
            rekor_v2: base.into(),
            tsa: format!("{base}/api/v1/timestamp"),
            github_api: base.into(),
            actions_token_request: format!("{base}/token?api-version=2.0"),
            tuf: base.into(),
            github_storage: base.into(),
        };
        let valid_from = SystemTime::now() - Duration::from_secs(3600);
        let claims = TokenClaims::github("octo-org/octo-repo", "refs/tags/v1.0.0", "a3f1c5e9");
        Arc::new(Shared {
            config: Config {
                jwt_algorithm: alg,
                token_lifetime: Duration::from_secs(300),
                repository: "octo-org/octo-repo".into(),
                git_ref: "refs/tags/v1.0.0".into(),
                sha: "a3f1c5e9".into(),
                valid_from,
            },
            ca: ca::CertificateAuthority::generate(valid_from),
            oidc: OidcIssuer::generate(alg),
            rekor_v1: rekor::Log::new(rekor::LogVersion::V1, &urls.rekor_v1),
            rekor_v2: rekor::Log::new(rekor::LogVersion::V2, &urls.rekor_v2),
            tsa: tsa::TimestampAuthority::generate(valid_from),
            github: github::GitHub::new(&urls.github_api, "ghs_test"),
            actions_request_token: "actions-request-secret".into(),
            actions_claims: Mutex::new(claims),
            actions_token_lifetime: Mutex::new(Duration::from_secs(300)),
            cert_validity: Mutex::new(Duration::from_secs(600)),
            lies: Default::default(),
            tuf: crate::tuf::TufRepository::new(),
            urls,
        })
    }

    /// Send one request through a router; returns status and JSON body.
    pub(crate) async fn call(
        router: Router,
        req: axum::http::Request<axum::body::Body>,
    ) -> (StatusCode, Value) {
        use http_body_util::BodyExt as _;
        use tower::ServiceExt as _;
        let resp = router.oneshot(req).await.expect("infallible router");
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, json)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{call, shared};
    use super::*;
    use axum::body::Body;
    use axum::http::Request;

    fn claims() -> TokenClaims {
        TokenClaims::github("octo-org/octo-repo", "refs/tags/v1.0.0", "deadbeef")
    }

    #[test]
    fn github_claims_look_like_github() {
        let c = claims();
        assert_eq!(c.sub, "repo:octo-org/octo-repo:ref:refs/tags/v1.0.0");
        assert_eq!(c.aud, "sigstore");
        assert_eq!(c.ref_type, "tag");
        assert_eq!(
            c.job_workflow_ref,
            "octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0"
        );
        assert_eq!(
            c.identity(),
            "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0"
        );
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["ref"], "refs/tags/v1.0.0");
        assert_eq!(v["head_ref"], "");
        assert!(v.get("email").is_none() && v.get("environment").is_none());
    }

    #[test]
    fn identity_for_other_issuers_is_email_then_sub() {
        let mut c = claims();
        c.iss = "https://accounts.example.com".into();
        assert_eq!(c.identity(), c.sub);
        c.email = Some("dev@example.com".into());
        assert_eq!(c.identity(), "dev@example.com");
        assert_eq!(c.challenge(), "dev@example.com");
    }

    #[test]
    fn mint_then_validate_round_trips_for_both_algorithms() {
        for alg in [JwtAlgorithm::Rs256, JwtAlgorithm::Es256] {
            let issuer = OidcIssuer::generate(alg);
            let jwt = issuer.mint(&claims(), Duration::from_secs(300));
            let header = jsonwebtoken::decode_header(&jwt).unwrap();
            assert_eq!(header.alg, alg.jws());
            assert_eq!(header.kid.as_deref(), Some(issuer.key_id()));
            assert_eq!(issuer.validate(&jwt).unwrap(), claims());
        }
    }

    #[test]
    fn jwks_verifies_minted_tokens() {
        for alg in [JwtAlgorithm::Rs256, JwtAlgorithm::Es256] {
            let issuer = OidcIssuer::generate(alg);
            let jwt = issuer.mint(&claims(), Duration::from_secs(300));
            let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(issuer.jwks()).unwrap();
            let jwk = set.find(issuer.key_id()).expect("kid published");
            let key = DecodingKey::from_jwk(jwk).unwrap();
            let mut v = Validation::new(alg.jws());
            v.set_audience(&["sigstore"]);
            jsonwebtoken::decode::<Value>(&jwt, &key, &v).unwrap();
        }
    }

    #[test]
    fn expired_and_future_tokens_are_refused() {
        let issuer = OidcIssuer::generate(JwtAlgorithm::Es256);
        let past = SystemTime::now() - Duration::from_secs(600);
        let jwt = issuer.mint_at(&claims(), past, Duration::from_secs(60));
        assert_eq!(issuer.validate(&jwt), Err(OidcError::Expired));
        let future = SystemTime::now() + Duration::from_secs(600);
        let jwt = issuer.mint_at(&claims(), future, Duration::from_secs(60));
        assert_eq!(issuer.validate(&jwt), Err(OidcError::NotYetValid));
    }

    /// As Fulcio's verifier (go-oidc v3): no leeway for `exp`, five
    /// minutes for `nbf`. Regression: five seconds for both, so a token
    /// that had just ended still got a certificate here, and not there.
    #[test]
    fn exp_has_no_leeway_and_nbf_five_minutes() {
        let issuer = OidcIssuer::generate(JwtAlgorithm::Es256);
        let ended = SystemTime::now() - Duration::from_secs(62);
        let jwt = issuer.mint_at(&claims(), ended, Duration::from_secs(60));
        assert_eq!(issuer.validate(&jwt), Err(OidcError::Expired));
        let soon = SystemTime::now() + Duration::from_secs(30);
        let jwt = issuer.mint_at(&claims(), soon, Duration::from_secs(60));
        assert!(issuer.validate(&jwt).is_ok());
    }

    #[test]
    fn wrong_audience_is_refused() {
        let issuer = OidcIssuer::generate(JwtAlgorithm::Es256);
        let mut c = claims();
        c.aud = "https://github.com/octo-org".into();
        let jwt = issuer.mint(&c, Duration::from_secs(300));
        assert_eq!(issuer.validate(&jwt), Err(OidcError::WrongAudience));
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let issuer = OidcIssuer::generate(JwtAlgorithm::Rs256);
        let jwt = issuer.mint(&claims(), Duration::from_secs(300));
        let parts: Vec<&str> = jwt.split('.').collect();

        let mut sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        sig[10] ^= 1;
        let bad_sig = format!("{}.{}.{}", parts[0], parts[1], URL_SAFE_NO_PAD.encode(sig));
        assert_eq!(issuer.validate(&bad_sig), Err(OidcError::BadSignature));

        let mut body: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        body["sub"] = "repo:evil/repo:ref:refs/heads/main".into();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(body.to_string()),
            parts[2]
        );
        assert_eq!(issuer.validate(&forged), Err(OidcError::BadSignature));

        let other = OidcIssuer::generate(JwtAlgorithm::Rs256);
        let foreign = other.mint(&claims(), Duration::from_secs(300));
        assert_eq!(issuer.validate(&foreign), Err(OidcError::WrongKey));
        assert!(matches!(
            issuer.validate("not-a-jwt"),
            Err(OidcError::Malformed(_))
        ));
    }

    /// Every sandbox generates one: RSA-2048, the size GitHub's issuer
    /// uses, and no larger (generation time grows steeply with the size;
    /// the key's size is checked, not a clock).
    #[test]
    fn rsa_keys_are_2048_bits() {
        use base64::Engine as _;
        let issuer = OidcIssuer::generate(JwtAlgorithm::Rs256);
        let jwks = issuer.jwks();
        let n = jwks["keys"][0]["n"].as_str().unwrap();
        let modulus = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(n)
            .unwrap();
        assert_eq!(modulus.len() * 8, 2048);
    }

    fn token_request(query: &str, bearer: Option<&str>) -> Request<Body> {
        let mut b = Request::get(format!("/token?api-version=2.0{query}"));
        if let Some(t) = bearer {
            // The `id` package (sigstore-python) spells the scheme in lower case.
            b = b.header("authorization", format!("bearer {t}"));
        }
        b.body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn actions_endpoint_requires_the_request_token() {
        let shared = shared(JwtAlgorithm::Es256);
        for bearer in [None, Some("wrong"), Some("actions-request-secre")] {
            let (status, body) = call(
                router(shared.clone()),
                token_request("&audience=sigstore", bearer),
            )
            .await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert!(body["message"].is_string());
            assert!(body.get("value").is_none());
        }
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for (value, expected) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER abc", Some("abc")),
            ("Basic abc", None),
            ("Bearer ", None),
            ("Bearerabc", None),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            assert_eq!(bearer_token(&h), expected, "{value}");
        }
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn actions_endpoint_mints_configured_claims_for_the_audience() {
        let shared = shared(JwtAlgorithm::Rs256);
        let (status, body) = call(
            router(shared.clone()),
            token_request("&audience=sigstore", Some("actions-request-secret")),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["count"], 1);
        let jwt = body["value"].as_str().unwrap();
        let got = shared.oidc.validate(jwt).unwrap();
        assert_eq!(got, *shared.actions_claims.lock());

        let (_, body) = call(
            router(shared.clone()),
            token_request("&audience=other", Some("actions-request-secret")),
        )
        .await;
        let jwt = body["value"].as_str().unwrap();
        assert_eq!(shared.oidc.validate(jwt), Err(OidcError::WrongAudience));
    }

    #[tokio::test]
    async fn discovery_and_jwks_are_served() {
        let shared = shared(JwtAlgorithm::Rs256);
        let get = |p: &str| Request::get(p).body(Body::empty()).unwrap();
        let (s, d) = call(
            router(shared.clone()),
            get("/.well-known/openid-configuration"),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(d["issuer"], GITHUB_ISSUER);
        assert_eq!(d["id_token_signing_alg_values_supported"][0], "RS256");
        let (s, j) = call(router(shared.clone()), get("/.well-known/jwks")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(j["keys"][0]["kid"], shared.oidc.key_id());
    }
}
