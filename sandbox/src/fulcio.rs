//! The sandbox Fulcio v2 REST API.
//!
//! Owns the HTTP surface (`POST /api/v2/signingCert`, `GET /api/v2/trustBundle`,
//! `GET /api/v2/configuration`), request parsing for both request forms Fulcio accepts
//! (public key + proof of possession, or a CSR), token checks (delegated to
//! `Shared::oidc`), and the OIDC extensions Fulcio writes into leaves. Key material and
//! certificate assembly belong to `ca.rs`; fault injection to `faults.rs`.
//!
//! Clients differ in how they send the token: `sigstore-fulcio` puts it in
//! `credentials.oidcIdentityToken`, sigstore-python in an `Authorization: Bearer`
//! header with only `certificateSigningRequest` in the body. Both are accepted, as by
//! the real service (gRPC-gateway maps the header to credentials).

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use const_oid::db::rfc5912::ECDSA_WITH_SHA_256;
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, Utf8StringRef};
use der::pem::LineEnding;
use der::{Decode as _, Encode as _};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey as _;
use serde::Deserialize;
use serde_json::{json, Value};
use x509_cert::ext::Extension;
use x509_cert::request::CertReq;

use crate::ca::{LeafRequest, San};
use crate::lies::FulcioLie;
use crate::oidc::{OidcError, TokenClaims, SIGSTORE_AUDIENCE};
use crate::Shared;

/// Fulcio's OID arc for OIDC-derived certificate extensions (docs/oid-info.md).
pub mod oid {
    use const_oid::ObjectIdentifier as O;
    /// Deprecated issuer, raw string.
    pub const ISSUER_V1: O = O::new_unwrap("1.3.6.1.4.1.57264.1.1");
    pub const GITHUB_WORKFLOW_TRIGGER: O = O::new_unwrap("1.3.6.1.4.1.57264.1.2");
    pub const GITHUB_WORKFLOW_SHA: O = O::new_unwrap("1.3.6.1.4.1.57264.1.3");
    pub const GITHUB_WORKFLOW_NAME: O = O::new_unwrap("1.3.6.1.4.1.57264.1.4");
    pub const GITHUB_WORKFLOW_REPOSITORY: O = O::new_unwrap("1.3.6.1.4.1.57264.1.5");
    pub const GITHUB_WORKFLOW_REF: O = O::new_unwrap("1.3.6.1.4.1.57264.1.6");
    /// Issuer, DER UTF8String.
    pub const ISSUER_V2: O = O::new_unwrap("1.3.6.1.4.1.57264.1.8");
    pub const BUILD_SIGNER_URI: O = O::new_unwrap("1.3.6.1.4.1.57264.1.9");
    pub const BUILD_SIGNER_DIGEST: O = O::new_unwrap("1.3.6.1.4.1.57264.1.10");
    pub const RUNNER_ENVIRONMENT: O = O::new_unwrap("1.3.6.1.4.1.57264.1.11");
    pub const SOURCE_REPOSITORY_URI: O = O::new_unwrap("1.3.6.1.4.1.57264.1.12");
    pub const SOURCE_REPOSITORY_DIGEST: O = O::new_unwrap("1.3.6.1.4.1.57264.1.13");
    pub const SOURCE_REPOSITORY_REF: O = O::new_unwrap("1.3.6.1.4.1.57264.1.14");
    pub const SOURCE_REPOSITORY_IDENTIFIER: O = O::new_unwrap("1.3.6.1.4.1.57264.1.15");
    pub const SOURCE_REPOSITORY_OWNER_URI: O = O::new_unwrap("1.3.6.1.4.1.57264.1.16");
    pub const SOURCE_REPOSITORY_OWNER_IDENTIFIER: O = O::new_unwrap("1.3.6.1.4.1.57264.1.17");
    pub const BUILD_CONFIG_URI: O = O::new_unwrap("1.3.6.1.4.1.57264.1.18");
    pub const BUILD_CONFIG_DIGEST: O = O::new_unwrap("1.3.6.1.4.1.57264.1.19");
    pub const BUILD_TRIGGER: O = O::new_unwrap("1.3.6.1.4.1.57264.1.20");
    pub const RUN_INVOCATION_URI: O = O::new_unwrap("1.3.6.1.4.1.57264.1.21");
    pub const SOURCE_REPOSITORY_VISIBILITY: O = O::new_unwrap("1.3.6.1.4.1.57264.1.22");
    pub const DEPLOYMENT_ENVIRONMENT: O = O::new_unwrap("1.3.6.1.4.1.57264.1.23");
    pub const TOKEN_SUBJECT: O = O::new_unwrap("1.3.6.1.4.1.57264.1.24");
}

const GITHUB_SERVER: &str = "https://github.com";

/// A refused request, rendered as Fulcio's gRPC-gateway error body.
#[derive(Debug, thiserror::Error)]
pub enum FulcioError {
    #[error("There was an error processing the identity token: {0}")]
    Token(#[from] OidcError),
    #[error("There was an error processing the identity token: no token in the request")]
    MissingToken,
    #[error("The request could not be parsed: {0}")]
    BadRequest(String),
    #[error("The public key supplied in the request could not be parsed: {0}")]
    PublicKey(String),
    #[error("The signature supplied in the request could not be verified")]
    ProofOfPossession,
    #[error("The certificate signing request could not be parsed: {0}")]
    Csr(String),
    #[error("error communicating with CA backend: {0}")]
    Ca(#[from] crate::ca::CaError),
}

impl FulcioError {
    fn status(&self) -> (StatusCode, u16) {
        match self {
            // Fulcio answers every token it cannot use (expired, another
            // audience, not signed by the issuer, none) with InvalidArgument
            // and one generic message (`pkg/server/grpc_server.go`:
            // `invalidIdentityToken`): HTTP 400, never 401.
            FulcioError::Token(_) | FulcioError::MissingToken => (StatusCode::BAD_REQUEST, 3),
            FulcioError::Ca(_) => (StatusCode::INTERNAL_SERVER_ERROR, 13),
            _ => (StatusCode::BAD_REQUEST, 3),
        }
    }
}

impl IntoResponse for FulcioError {
    fn into_response(self) -> Response {
        let (status, code) = self.status();
        // The token's fault stays in the server's log, as Fulcio keeps it.
        let message = match self {
            FulcioError::Token(_) | FulcioError::MissingToken => {
                "There was an error processing the identity token".to_owned()
            }
            other => other.to_string(),
        };
        (
            status,
            Json(json!({ "code": code, "message": message, "details": [] })),
        )
            .into_response()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SigningCertRequest {
    #[serde(default)]
    credentials: Option<Credentials>,
    #[serde(default)]
    public_key_request: Option<PublicKeyRequest>,
    #[serde(default)]
    certificate_signing_request: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(default)]
    oidc_identity_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyRequest {
    public_key: PublicKeyContent,
    #[serde(default)]
    proof_of_possession: String,
}

#[derive(Deserialize)]
struct PublicKeyContent {
    /// Informational: the PEM/DER content identifies the algorithm.
    #[serde(default)]
    #[allow(dead_code)]
    algorithm: String,
    content: String,
}

/// `/api/v2/signingCert`, `/api/v2/trustBundle`, `/api/v2/configuration`.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v2/signingCert", post(signing_cert))
        // The GitHub-style instance's Fulcio (base URL `{fulcio}/github`):
        // the same CA, leaves without an SCT, as GitHub's Fulcio issues them.
        .route("/github/api/v2/signingCert", post(signing_cert_without_sct))
        .route("/api/v2/trustBundle", get(trust_bundle))
        .route("/api/v2/configuration", get(configuration))
        .with_state(shared)
}

async fn signing_cert(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, FulcioError> {
    issue(&shared, &headers, &body, true)
}

async fn signing_cert_without_sct(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, FulcioError> {
    issue(&shared, &headers, &body, false)
}

fn issue(
    shared: &Shared,
    headers: &HeaderMap,
    body: &Bytes,
    embed_sct: bool,
) -> Result<Response, FulcioError> {
    let req: SigningCertRequest =
        serde_json::from_slice(body).map_err(|e| FulcioError::BadRequest(e.to_string()))?;
    let token = req
        .credentials
        .and_then(|c| c.oidc_identity_token)
        .filter(|t| !t.is_empty())
        .or_else(|| fulcio_bearer(headers))
        .ok_or(FulcioError::MissingToken)?;
    let claims = shared.oidc.validate(&token)?;

    let spki_der = match (req.public_key_request, req.certificate_signing_request) {
        (Some(pk), None) => {
            let spki = decode_public_key(&pk.public_key.content)?;
            verify_proof_of_possession(&spki, claims.challenge(), &pk.proof_of_possession)?;
            spki
        }
        (None, Some(csr)) => verify_csr(&csr)?,
        _ => {
            return Err(FulcioError::BadRequest(
                "exactly one of publicKeyRequest and certificateSigningRequest is required".into(),
            ))
        }
    };

    let validity = *shared.cert_validity.lock();
    let now = SystemTime::now();
    let mut san = San::from_identity(&claims.identity());
    let mut claims = claims;
    let mut with_sct = embed_sct;
    match shared.lies.take_fulcio() {
        Some(FulcioLie::AnotherIdentity(identity)) => san = San::from_identity(&identity),
        Some(FulcioLie::AnotherIssuer(issuer)) => claims.iss = issuer,
        Some(FulcioLie::NoSct) => with_sct = false,
        None => {}
    }
    let leaf = shared.ca.issue_leaf(&LeafRequest {
        public_key_der: &spki_der,
        san,
        extensions: fulcio_extensions(&claims)?,
        not_before: now,
        validity,
        embed_sct: with_sct,
    })?;
    let mut chain = vec![pem(&leaf)];
    chain.extend(shared.ca.chain_der().iter().map(|c| pem(c)));
    // As Fulcio's v2 API answers (200; 201 is the legacy API's): a CA with no
    // CT log (GitHub's) gives the detached form, its SCT empty, as the
    // gateway writes a field left unset.
    let answer = if embed_sct {
        json!({ "signedCertificateEmbeddedSct": { "chain": { "certificates": chain } } })
    } else {
        json!({ "signedCertificateDetachedSct": {
            "chain": { "certificates": chain },
            "signedCertificateTimestamp": ""
        } })
    };
    Ok((StatusCode::OK, Json(answer)).into_response())
}

async fn trust_bundle(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let chain: Vec<String> = shared.ca.chain_der().iter().map(|c| pem(c)).collect();
    Json(json!({ "chains": [ { "certificates": chain } ] }))
}

async fn configuration(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let issuer = shared.actions_claims.lock().iss.clone();
    Json(json!({
        "issuers": [{
            "issuerUrl": issuer,
            "audience": SIGSTORE_AUDIENCE,
            "challengeClaim": "sub",
            "issuerType": "github-workflow",
        }]
    }))
}

/// The token of the `Authorization` header as Fulcio reads it
/// (`strings.Replace(auth, "Bearer ", "", 1)`): `Bearer ` exactly, so a
/// `bearer x` header is the token `bearer x`, which does not validate.
fn fulcio_bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    Some(value.replacen("Bearer ", "", 1)).filter(|t| !t.is_empty())
}

fn pem(der: &[u8]) -> String {
    der::pem::encode_string("CERTIFICATE", LineEnding::LF, der).expect("PEM of in-memory DER")
}

/// The DER of a PEM block labelled `label`.
fn pem_block(bytes: &[u8], label: &str) -> Result<Vec<u8>, String> {
    let (found, der) = der::pem::decode_vec(bytes).map_err(|e| e.to_string())?;
    if found != label {
        return Err(format!("expected a {label} PEM block, got {found}"));
    }
    Ok(der)
}

/// A public key as Fulcio's `challenges.ParsePublicKey` takes the
/// `publicKey.content` string: PEM, else the string's bytes as DER (never
/// base64: the field is a proto `string`, which the gateway passes as is).
fn decode_public_key(content: &str) -> Result<Vec<u8>, FulcioError> {
    let der = if content.trim_start().starts_with("-----BEGIN") {
        pem_block(content.as_bytes(), "PUBLIC KEY").map_err(FulcioError::PublicKey)?
    } else {
        content.as_bytes().to_vec()
    };
    VerifyingKey::from_public_key_der(&der)
        .map_err(|e| FulcioError::PublicKey(format!("only ECDSA P-256 keys are supported: {e}")))?;
    Ok(der)
}

/// ECDSA-SHA256 over the challenge, ASN.1 DER only, as Fulcio checks it
/// (sigstore's verifier calls `ecdsa.VerifyASN1`: a fixed-size r||s is refused).
fn verify_proof_of_possession(spki: &[u8], challenge: &str, b64: &str) -> Result<(), FulcioError> {
    let key = VerifyingKey::from_public_key_der(spki)
        .map_err(|e| FulcioError::PublicKey(e.to_string()))?;
    let raw = STANDARD
        .decode(b64.trim())
        .map_err(|_| FulcioError::ProofOfPossession)?;
    let ok = DerSignature::try_from(raw.as_slice())
        .is_ok_and(|sig| key.verify(challenge.as_bytes(), &sig).is_ok());
    ok.then_some(()).ok_or(FulcioError::ProofOfPossession)
}

/// Parse a PKCS#10 request and check its self-signature; returns its SPKI DER.
/// The request is a proto `bytes` field, so the gateway base64-decodes it,
/// and Fulcio's `cryptoutils.ParseCSR` then wants a PEM block.
fn verify_csr(input: &str) -> Result<Vec<u8>, FulcioError> {
    let pem = STANDARD
        .decode(input.split_whitespace().collect::<String>())
        .map_err(|e| FulcioError::Csr(format!("not base64: {e}")))?;
    let der = pem_block(&pem, "CERTIFICATE REQUEST").map_err(FulcioError::Csr)?;
    let csr = CertReq::from_der(&der).map_err(|e| FulcioError::Csr(e.to_string()))?;
    if csr.algorithm.oid != ECDSA_WITH_SHA_256 {
        return Err(FulcioError::Csr(format!(
            "unsupported signature algorithm {}",
            csr.algorithm.oid
        )));
    }
    let spki = csr
        .info
        .public_key
        .to_der()
        .map_err(|e| FulcioError::Csr(e.to_string()))?;
    let key = VerifyingKey::from_public_key_der(&spki)
        .map_err(|e| FulcioError::PublicKey(format!("only ECDSA P-256 keys are supported: {e}")))?;
    let info = csr
        .info
        .to_der()
        .map_err(|e| FulcioError::Csr(e.to_string()))?;
    let sig = csr
        .signature
        .as_bytes()
        .and_then(|b| DerSignature::try_from(b).ok())
        .ok_or(FulcioError::ProofOfPossession)?;
    key.verify(&info, &sig)
        .map_err(|_| FulcioError::ProofOfPossession)?;
    Ok(spki)
}

/// The OIDC extensions Fulcio writes for these claims: the issuer (both encodings)
/// for every token, and for GitHub Actions the legacy (.2–.6, raw strings) and v2
/// (.9–.22, DER UTF8String) workflow extensions.
pub fn fulcio_extensions(claims: &TokenClaims) -> Result<Vec<Extension>, FulcioError> {
    let raw = |oid: ObjectIdentifier, v: &str| -> Result<Extension, FulcioError> {
        Ok(Extension {
            extn_id: oid,
            critical: false,
            extn_value: OctetString::new(v.as_bytes()).map_err(crate::ca::CaError::from)?,
        })
    };
    let utf8 = |oid: ObjectIdentifier, v: &str| -> Result<Extension, FulcioError> {
        let der = Utf8StringRef::new(v)
            .and_then(|s| s.to_der())
            .and_then(OctetString::new)
            .map_err(crate::ca::CaError::from)?;
        Ok(Extension {
            extn_id: oid,
            critical: false,
            extn_value: der,
        })
    };
    // Fulcio's `Extensions.Render` leaves out a claim's extension when its
    // value is empty.
    let mut exts = vec![raw(oid::ISSUER_V1, &claims.iss)?];
    let github = claims.is_github_actions();
    if github {
        for (oid, v) in [
            (oid::GITHUB_WORKFLOW_TRIGGER, &claims.event_name),
            (oid::GITHUB_WORKFLOW_SHA, &claims.sha),
            (oid::GITHUB_WORKFLOW_NAME, &claims.workflow),
            (oid::GITHUB_WORKFLOW_REPOSITORY, &claims.repository),
            (oid::GITHUB_WORKFLOW_REF, &claims.git_ref),
        ] {
            if !v.is_empty() {
                exts.push(raw(oid, v)?);
            }
        }
    }
    exts.push(utf8(oid::ISSUER_V2, &claims.iss)?);
    if github {
        let gh = |path: &str| format!("{GITHUB_SERVER}/{path}");
        let invocation = gh(&format!(
            "{}/actions/runs/{}/attempts/{}",
            claims.repository, claims.run_id, claims.run_attempt
        ));
        for (oid, v) in [
            (oid::BUILD_SIGNER_URI, gh(&claims.job_workflow_ref)),
            (oid::BUILD_SIGNER_DIGEST, claims.job_workflow_sha.clone()),
            (oid::RUNNER_ENVIRONMENT, claims.runner_environment.clone()),
            (oid::SOURCE_REPOSITORY_URI, gh(&claims.repository)),
            (oid::SOURCE_REPOSITORY_DIGEST, claims.sha.clone()),
            (oid::SOURCE_REPOSITORY_REF, claims.git_ref.clone()),
            (
                oid::SOURCE_REPOSITORY_IDENTIFIER,
                claims.repository_id.clone(),
            ),
            (
                oid::SOURCE_REPOSITORY_OWNER_URI,
                gh(&claims.repository_owner),
            ),
            (
                oid::SOURCE_REPOSITORY_OWNER_IDENTIFIER,
                claims.repository_owner_id.clone(),
            ),
            (oid::BUILD_CONFIG_URI, gh(&claims.workflow_ref)),
            (oid::BUILD_CONFIG_DIGEST, claims.workflow_sha.clone()),
            (oid::BUILD_TRIGGER, claims.event_name.clone()),
            (oid::RUN_INVOCATION_URI, invocation),
            (
                oid::SOURCE_REPOSITORY_VISIBILITY,
                claims.repository_visibility.clone(),
            ),
            (
                oid::DEPLOYMENT_ENVIRONMENT,
                claims.environment.clone().unwrap_or_default(),
            ),
        ] {
            if !v.is_empty() {
                exts.push(utf8(oid, &v)?);
            }
        }
    }
    // Every leaf since Fulcio 1.8.6 names the token's subject.
    if !claims.sub.is_empty() {
        exts.push(utf8(oid::TOKEN_SUBJECT, &claims.sub)?);
    }
    Ok(exts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oidc::test_support::{call, shared};
    use crate::oidc::JwtAlgorithm;
    use crate::oidc::GITHUB_ISSUER;
    use axum::body::Body;
    use axum::http::Request;
    use p256::ecdsa::signature::Signer as _;
    use p256::ecdsa::SigningKey;
    use p256::pkcs8::EncodePublicKey as _;
    use std::time::Duration;
    use x509_cert::Certificate;

    fn post(body: Value, bearer: Option<&str>) -> Request<Body> {
        let mut b = Request::post("/api/v2/signingCert").header("content-type", "application/json");
        if let Some(t) = bearer {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        b.body(Body::from(body.to_string())).unwrap()
    }

    fn public_key_request(token: &str, key: &SigningKey, challenge: &str) -> Value {
        let pem = key
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let pop: DerSignature = key.sign(challenge.as_bytes());
        json!({
            "credentials": { "oidcIdentityToken": token },
            "publicKeyRequest": {
                "publicKey": { "algorithm": "ECDSA", "content": pem },
                "proofOfPossession": STANDARD.encode(pop.as_bytes()),
            }
        })
    }

    fn leaf_of(body: &Value) -> Certificate {
        let chain = body["signedCertificateEmbeddedSct"]["chain"]["certificates"]
            .as_array()
            .expect("chain");
        assert_eq!(chain.len(), 3);
        let (_, der) = der::pem::decode_vec(chain[0].as_str().unwrap().as_bytes()).unwrap();
        Certificate::from_der(&der).unwrap()
    }

    fn ext_value(cert: &Certificate, oid: ObjectIdentifier) -> Vec<u8> {
        let exts = cert.tbs_certificate.extensions.as_deref().unwrap();
        let found: Vec<_> = exts.iter().filter(|e| e.extn_id == oid).collect();
        assert_eq!(found.len(), 1, "{oid}");
        assert!(!found[0].critical);
        found[0].extn_value.as_bytes().to_vec()
    }

    fn utf8(cert: &Certificate, oid: ObjectIdentifier) -> String {
        der::asn1::Utf8StringRef::from_der(&ext_value(cert, oid))
            .unwrap()
            .as_str()
            .to_owned()
    }

    fn raw(cert: &Certificate, oid: ObjectIdentifier) -> String {
        String::from_utf8(ext_value(cert, oid)).unwrap()
    }

    #[tokio::test]
    async fn public_key_request_yields_a_github_workflow_certificate() {
        let shared = shared(JwtAlgorithm::Rs256);
        let claims = shared.actions_claims.lock().clone();
        let token = shared.oidc.mint(&claims, Duration::from_secs(300));
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let (status, body) = call(
            router(shared.clone()),
            post(public_key_request(&token, &key, &claims.sub), None),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let leaf = leaf_of(&body);
        assert_eq!(
            leaf.tbs_certificate
                .subject_public_key_info
                .to_der()
                .unwrap(),
            key.verifying_key().to_public_key_der().unwrap().as_bytes()
        );
        let chain = body["signedCertificateEmbeddedSct"]["chain"]["certificates"].clone();
        let expected: Vec<String> = shared.ca.chain_der().iter().map(|c| pem(c)).collect();
        assert_eq!(chain[1], expected[0]);
        assert_eq!(chain[2], expected[1]);

        let san = x509_cert::ext::pkix::SubjectAltName::from_der(&{
            let exts = leaf.tbs_certificate.extensions.as_deref().unwrap();
            exts.iter()
                .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)
                .unwrap()
                .extn_value
                .as_bytes()
                .to_vec()
        })
        .unwrap();
        let identity =
            "https://github.com/octo-org/octo-repo/.github/workflows/release.yml@refs/tags/v1.0.0";
        assert!(matches!(&san.0[..],
            [x509_cert::ext::pkix::name::GeneralName::UniformResourceIdentifier(u)] if u.as_str() == identity));

        assert_eq!(raw(&leaf, oid::ISSUER_V1), GITHUB_ISSUER);
        assert_eq!(raw(&leaf, oid::GITHUB_WORKFLOW_TRIGGER), "push");
        assert_eq!(raw(&leaf, oid::GITHUB_WORKFLOW_SHA), "a3f1c5e9");
        assert_eq!(raw(&leaf, oid::GITHUB_WORKFLOW_NAME), "Release");
        assert_eq!(
            raw(&leaf, oid::GITHUB_WORKFLOW_REPOSITORY),
            "octo-org/octo-repo"
        );
        assert_eq!(raw(&leaf, oid::GITHUB_WORKFLOW_REF), "refs/tags/v1.0.0");
        assert_eq!(utf8(&leaf, oid::ISSUER_V2), GITHUB_ISSUER);
        assert_eq!(utf8(&leaf, oid::BUILD_SIGNER_URI), identity);
        assert_eq!(utf8(&leaf, oid::BUILD_SIGNER_DIGEST), "a3f1c5e9");
        assert_eq!(utf8(&leaf, oid::RUNNER_ENVIRONMENT), "github-hosted");
        assert_eq!(
            utf8(&leaf, oid::SOURCE_REPOSITORY_URI),
            "https://github.com/octo-org/octo-repo"
        );
        assert_eq!(utf8(&leaf, oid::SOURCE_REPOSITORY_DIGEST), "a3f1c5e9");
        assert_eq!(utf8(&leaf, oid::SOURCE_REPOSITORY_REF), "refs/tags/v1.0.0");
        assert_eq!(
            utf8(&leaf, oid::SOURCE_REPOSITORY_IDENTIFIER),
            claims.repository_id
        );
        assert_eq!(
            utf8(&leaf, oid::SOURCE_REPOSITORY_OWNER_URI),
            "https://github.com/octo-org"
        );
        assert_eq!(
            utf8(&leaf, oid::SOURCE_REPOSITORY_OWNER_IDENTIFIER),
            claims.repository_owner_id
        );
        assert_eq!(utf8(&leaf, oid::BUILD_CONFIG_URI), identity);
        assert_eq!(utf8(&leaf, oid::BUILD_CONFIG_DIGEST), "a3f1c5e9");
        assert_eq!(utf8(&leaf, oid::BUILD_TRIGGER), "push");
        assert_eq!(
            utf8(&leaf, oid::RUN_INVOCATION_URI),
            "https://github.com/octo-org/octo-repo/actions/runs/9876543210/attempts/1"
        );
        assert_eq!(utf8(&leaf, oid::SOURCE_REPOSITORY_VISIBILITY), "public");
        assert_eq!(utf8(&leaf, oid::TOKEN_SUBJECT), claims.sub);
        // No `environment` claim: no deployment environment extension.
        let exts = leaf.tbs_certificate.extensions.as_deref().unwrap();
        assert!(!exts
            .iter()
            .any(|e| e.extn_id == oid::DEPLOYMENT_ENVIRONMENT));

        let v = &leaf.tbs_certificate.validity;
        assert_eq!(
            v.not_after.to_unix_duration() - v.not_before.to_unix_duration(),
            Duration::from_secs(600)
        );
    }

    /// As Fulcio renders them: a deployment environment when the token
    /// names one, no extension for an empty claim, and the GitHub template
    /// for an enterprise's issuer under GitHub's.
    #[test]
    fn extensions_follow_the_claims_fulcio_renders() {
        let shared = shared(JwtAlgorithm::Rs256);
        let mut claims = shared.actions_claims.lock().clone();
        claims.environment = Some("production".into());
        claims.repository_visibility = String::new();
        claims.iss = format!("{GITHUB_ISSUER}/octo-enterprise");
        let exts = fulcio_extensions(&claims).unwrap();
        let value = |oid: ObjectIdentifier| {
            exts.iter()
                .find(|e| e.extn_id == oid)
                .map(|e| e.extn_value.as_bytes().to_vec())
        };
        let env = value(oid::DEPLOYMENT_ENVIRONMENT).expect("1.23");
        assert!(env.ends_with(b"production"));
        assert_eq!(value(oid::SOURCE_REPOSITORY_VISIBILITY), None);
        assert!(value(oid::BUILD_SIGNER_URI).is_some());
        assert!(claims.identity().starts_with("https://github.com/"));
    }

    #[tokio::test]
    async fn csr_request_with_bearer_header_is_accepted() {
        let shared = shared(JwtAlgorithm::Es256);
        *shared.cert_validity.lock() = Duration::from_secs(120);
        let mut claims = shared.actions_claims.lock().clone();
        claims.iss = "https://accounts.example.com".into();
        claims.email = Some("dev@example.com".into());
        let token = shared.oidc.mint(&claims, Duration::from_secs(300));
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let info = x509_cert::request::CertReqInfo {
            version: x509_cert::request::Version::V1,
            subject: "CN=ignored".parse().unwrap(),
            public_key: spki::SubjectPublicKeyInfoOwned::from_der(
                key.verifying_key().to_public_key_der().unwrap().as_bytes(),
            )
            .unwrap(),
            attributes: Default::default(),
        };
        let sig: DerSignature = key.sign(&info.to_der().unwrap());
        let csr = CertReq {
            info,
            algorithm: spki::AlgorithmIdentifierOwned {
                oid: ECDSA_WITH_SHA_256,
                parameters: None,
            },
            signature: der::asn1::BitString::from_bytes(sig.as_bytes()).unwrap(),
        };
        let csr_pem = der::pem::encode_string(
            "CERTIFICATE REQUEST",
            LineEnding::LF,
            &csr.to_der().unwrap(),
        )
        .unwrap();
        // sigstore-python's exact shape: base64 of the PEM, token only in the header.
        let body = json!({ "certificateSigningRequest": STANDARD.encode(&csr_pem) });
        let (status, resp) = call(router(shared.clone()), post(body, Some(&token))).await;
        assert_eq!(status, StatusCode::OK, "{resp}");
        let leaf = leaf_of(&resp);
        assert_eq!(raw(&leaf, oid::ISSUER_V1), "https://accounts.example.com");
        assert_eq!(utf8(&leaf, oid::ISSUER_V2), "https://accounts.example.com");
        let exts = leaf.tbs_certificate.extensions.as_deref().unwrap();
        assert!(!exts.iter().any(|e| e.extn_id == oid::BUILD_SIGNER_URI));
        let v = &leaf.tbs_certificate.validity;
        assert_eq!(
            v.not_after.to_unix_duration() - v.not_before.to_unix_duration(),
            Duration::from_secs(120)
        );

        // A CSR whose self-signature does not match its key is refused.
        let mut forged = csr.clone();
        let other: DerSignature = key.sign(b"something else");
        forged.signature = der::asn1::BitString::from_bytes(other.as_bytes()).unwrap();
        let forged_pem = der::pem::encode_string(
            "CERTIFICATE REQUEST",
            LineEnding::LF,
            &forged.to_der().unwrap(),
        )
        .unwrap();
        let body = json!({ "certificateSigningRequest": STANDARD.encode(&forged_pem) });
        let (status, resp) = call(router(shared.clone()), post(body, Some(&token))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{resp}");
        assert_eq!(resp["code"], 3);
        // As Fulcio parses it: base64 of PEM, not of DER (nor PEM as is).
        for not_so in [STANDARD.encode(csr.to_der().unwrap()), csr_pem.clone()] {
            let body = json!({ "certificateSigningRequest": not_so });
            let (status, resp) = call(router(shared.clone()), post(body, Some(&token))).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{resp}");
        }
    }

    /// What Fulcio refuses, the sandbox refuses: a proof of possession that
    /// is not ASN.1 DER, a public key as base64 (the field is a string
    /// taken as PEM or DER), a header token not after `Bearer ` exactly.
    #[tokio::test]
    async fn requests_encoded_otherwise_than_fulcio_takes_are_refused() {
        use p256::ecdsa::Signature;
        let shared = shared(JwtAlgorithm::Rs256);
        let claims = shared.actions_claims.lock().clone();
        let token = shared.oidc.mint(&claims, Duration::from_secs(300));
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let good = public_key_request(&token, &key, &claims.sub);
        let (status, _) = call(router(shared.clone()), post(good.clone(), None)).await;
        assert_eq!(status, StatusCode::OK);

        let mut fixed = good.clone();
        let sig: Signature = key.sign(claims.sub.as_bytes());
        fixed["publicKeyRequest"]["proofOfPossession"] = STANDARD.encode(sig.to_bytes()).into();
        let mut base64_key = good.clone();
        base64_key["publicKeyRequest"]["publicKey"]["content"] = STANDARD
            .encode(key.verifying_key().to_public_key_der().unwrap().as_bytes())
            .into();
        for body in [fixed, base64_key] {
            let (status, resp) = call(router(shared.clone()), post(body, None)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{resp}");
        }

        let mut in_header = good;
        in_header["credentials"] = json!({});
        let lower = Request::post("/api/v2/signingCert")
            .header("content-type", "application/json")
            .header("authorization", format!("bearer {token}"))
            .body(Body::from(in_header.to_string()))
            .unwrap();
        let (status, resp) = call(router(shared.clone()), lower).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{resp}");
        let (status, resp) = call(router(shared.clone()), post(in_header, Some(&token))).await;
        assert_eq!(status, StatusCode::OK, "{resp}");
    }

    #[tokio::test]
    async fn bad_proof_of_possession_is_400() {
        let shared = shared(JwtAlgorithm::Es256);
        let claims = shared.actions_claims.lock().clone();
        let token = shared.oidc.mint(&claims, Duration::from_secs(300));
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let body = public_key_request(&token, &key, "repo:someone/else:ref:refs/heads/main");
        let (status, resp) = call(router(shared.clone()), post(body, None)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(resp["code"], 3);
        assert!(resp["message"].as_str().unwrap().contains("signature"));
    }

    #[tokio::test]
    async fn bad_or_missing_tokens_are_400_with_one_message() {
        let shared = shared(JwtAlgorithm::Rs256);
        let claims = shared.actions_claims.lock().clone();
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let foreign = crate::oidc::OidcIssuer::generate(JwtAlgorithm::Rs256)
            .mint(&claims, Duration::from_secs(300));
        let expired = shared.oidc.mint_at(
            &claims,
            SystemTime::now() - Duration::from_secs(3600),
            Duration::from_secs(300),
        );
        let mut wrong_aud = claims.clone();
        wrong_aud.aud = "not-sigstore".into();
        let wrong_aud = shared.oidc.mint(&wrong_aud, Duration::from_secs(300));
        for token in [foreign, expired, wrong_aud, String::new()] {
            let body = public_key_request(&token, &key, &claims.sub);
            let (status, resp) = call(router(shared.clone()), post(body, None)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{resp}");
            assert_eq!(resp["code"], 3);
            assert_eq!(
                resp["message"],
                "There was an error processing the identity token"
            );
            assert!(resp.get("signedCertificateEmbeddedSct").is_none());
        }
    }

    #[tokio::test]
    async fn trust_bundle_and_configuration_are_served() {
        let shared = shared(JwtAlgorithm::Rs256);
        let get = |p: &str| Request::get(p).body(Body::empty()).unwrap();
        let (s, b) = call(router(shared.clone()), get("/api/v2/trustBundle")).await;
        assert_eq!(s, StatusCode::OK);
        let expected: Vec<String> = shared.ca.chain_der().iter().map(|c| pem(c)).collect();
        assert_eq!(b["chains"][0]["certificates"], json!(expected));
        let (s, c) = call(router(shared.clone()), get("/api/v2/configuration")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(c["issuers"][0]["issuerUrl"], GITHUB_ISSUER);
    }

    /// The same path validation sigstore-verify performs (rustls-webpki, code-signing EKU).
    #[tokio::test]
    async fn leaf_chain_passes_webpki_code_signing_validation() {
        use rustls_pki_types::{CertificateDer, UnixTime};
        let shared = shared(JwtAlgorithm::Rs256);
        let claims = shared.actions_claims.lock().clone();
        let token = shared.oidc.mint(&claims, Duration::from_secs(300));
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let (status, body) = call(
            router(shared.clone()),
            post(public_key_request(&token, &key, &claims.sub), None),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let leaf = leaf_of(&body).to_der().unwrap();
        let chain = shared.ca.chain_der();
        let root = CertificateDer::from(chain[1].as_slice());
        let anchor = webpki::anchor_from_trusted_cert(&root).unwrap();
        let intermediates = [CertificateDer::from(chain[0].as_slice())];
        let leaf_der = CertificateDer::from(leaf.as_slice());
        let ee = webpki::EndEntityCert::try_from(&leaf_der).unwrap();
        let at = |offset: i64| {
            let now = SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            UnixTime::since_unix_epoch(Duration::from_secs((now + offset) as u64))
        };
        let verify = |time| {
            ee.verify_for_usage(
                sigstore_crypto::webpki::WEBPKI_VERIFICATION_ALGS,
                std::slice::from_ref(&anchor),
                &intermediates,
                time,
                webpki::KeyUsage::required(const_oid::db::rfc5912::ID_KP_CODE_SIGNING.as_bytes()),
                None,
                None,
            )
            .map(|_| ())
        };
        verify(at(1)).expect("valid chain now");
        assert!(
            verify(at(601)).is_err(),
            "leaf must expire after its validity"
        );
    }

    /// Interoperability with the `sigstore-fulcio` client the product uses.
    #[tokio::test]
    async fn sigstore_fulcio_client_gets_a_certificate() {
        let shared = shared(JwtAlgorithm::Rs256);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = tokio::spawn(std::future::IntoFuture::into_future(axum::serve(
            listener,
            router(shared.clone()),
        )));

        let claims = shared.actions_claims.lock().clone();
        let jwt = shared.oidc.mint(&claims, Duration::from_secs(300));
        let token = sigstore_oidc::IdentityToken::from_jwt(&jwt).unwrap();
        let key = sigstore_crypto::KeyPair::generate_ecdsa_p256().unwrap();
        let client = sigstore_fulcio::FulcioClient::new(&url).unwrap();
        let cert = client
            .create_signing_certificate(&token, &key)
            .await
            .unwrap();
        let chain = cert.certificate_chain();
        assert_eq!(chain.len(), 3);
        let leaf = Certificate::from_der(cert.leaf_certificate().as_bytes()).unwrap();
        assert_eq!(
            leaf.tbs_certificate
                .subject_public_key_info
                .to_der()
                .unwrap(),
            key.public_key_der().unwrap().as_bytes()
        );
        assert_eq!(utf8(&leaf, oid::BUILD_SIGNER_URI), claims.identity());

        // Not `get_trust_bundle`: sigstore-fulcio 0.15.1 expects
        // `chains[].chain.certificates`, whereas Fulcio's proto (and sigstore-python)
        // use `chains[].certificates`, which is what this sandbox serves.
        let config = client.get_configuration().await.unwrap();
        assert_eq!(config.issuers[0].audience, SIGSTORE_AUDIENCE);
        server.abort();
    }
}
