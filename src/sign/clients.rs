//! The signing path's requests to Fulcio, Rekor (v1 and v2) and the RFC 3161
//! TSA, made with the run's HTTP client for Sigstore services (which follows
//! no redirect: `net::sigstore_client`).
//!
//! Owns one exchange per call: building the request (the sigstore crates'
//! request types, or ours where theirs are private or write a CRLF PEM: every
//! PEM sent here has LF line endings, as cosign and sigstore-python send it),
//! sending it, reading the answer under a size cap, decoding it (with the
//! crates' response types) and every check the sigstore-rust 0.15.1 clients
//! make on it, plus a [`ServiceError`] that keeps apart what the retry rule
//! must tell apart: a transport failure, an HTTP status with its
//! `Retry-After`, a redirect (an error naming the `Location`, never retried),
//! a body that does not decode, and an answer that decoded but fails the
//! checks (a lie, never retried). The sigstore clients drop response headers
//! and report the last two alike, which is why these calls are ours.
//!
//! It does not retry (callers wrap calls in [`crate::net::retry`]), know which
//! instance a URL belongs to (`trust`), or judge what the evidence proves (the
//! session checks the certificate's identity, the artifact step the logged
//! body and proof, and self-verification everything).

use std::collections::HashMap;
use std::time::Duration;

use const_oid::db::rfc5911::ID_SIGNED_DATA;
use const_oid::db::rfc5912::ID_SHA_256;
use der::{Decode as _, Encode as _};
use serde::{Deserialize, Serialize};
use sigstore_crypto::KeyPair;
use sigstore_fulcio::SigningCertificate;
use sigstore_oidc::IdentityToken;
use sigstore_rekor::body::RekorEntryBody;
use sigstore_rekor::{HashedRekordV2, LogEntry, RekorV2KeyDetails};
use sigstore_types::{
    DerCertificate, EntryUuid, KindVersion, PemContent, Sha256Hash, SignatureBytes, TimestampToken,
    TransparencyLogEntry,
};

use crate::net::{self, Retry, Retryable};
use crate::text;

/// The largest answer read from any of these services. A certificate chain,
/// a log entry with its proof, or a timestamp token is a few KiB; a server
/// sending more is broken or hostile, and must not make the signer buffer it.
pub const MAX_ANSWER_BYTES: usize = 4 << 20;

/// How much of an error answer's body is kept for the message.
const ERROR_BODY_BYTES: usize = 4 << 10;

/// The service an exchange was with, as messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Fulcio,
    Rekor,
    Tsa,
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Service::Fulcio => "Fulcio",
            Service::Rekor => "Rekor",
            Service::Tsa => "TSA",
        })
    }
}

/// Why an exchange with a service produced nothing usable. Callers wrap it in
/// an error naming the URL and the fix; the variant decides whether to retry.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Our side could not build the request: never retried.
    #[error("cannot prepare the request to {service} ({what}): {detail}")]
    Request {
        service: Service,
        what: &'static str,
        detail: String,
    },
    /// No answer, or one cut short (connection refused or reset, timeout).
    #[error("HTTP error talking to {service} ({what}): {detail}")]
    Transport {
        service: Service,
        what: &'static str,
        detail: String,
    },
    /// An error status; 429 and 5xx are retried, after `retry_after` when given.
    #[error("{service} returned HTTP {status}: failed to {what}{}", body_suffix(.body))]
    Status {
        service: Service,
        what: &'static str,
        status: u16,
        /// The start of the answer's body (for a Rekor v1 409: the existing entry).
        body: String,
        retry_after: Option<Duration>,
    },
    /// A 3xx: the client for these services follows no redirect (Fulcio's
    /// request holds the identity token), and a service that moved is
    /// configured anew, not chased. Never retried. `location` is the
    /// `Location` header as one printable line (capped), or `(none)`.
    #[error("{service} answered `{what}` with HTTP {status}, a redirect to `{location}`; not followed: requests to Sigstore services go to the configured URL only")]
    Redirect {
        service: Service,
        what: &'static str,
        status: u16,
        location: String,
    },
    /// Never retried: a second answer from a server that sends this much
    /// would only be read to the same cap again.
    #[error("{service} answered `{what}` with more than {limit} bytes; refusing to read it")]
    TooLarge {
        service: Service,
        what: &'static str,
        limit: usize,
    },
    /// A success status whose body does not decode (cut short, or mangled by a
    /// proxy or a restarting server): retried like a 502.
    #[error("{service} answered `{what}` with a body that does not decode: {detail}")]
    Undecodable {
        service: Service,
        what: &'static str,
        detail: String,
    },
    /// The TSA decoded the request and declined it (RFC 3161 status other
    /// than granted): retried, as it is no claim about our data.
    #[error("{service} did not grant `{what}`: {detail}")]
    Refused {
        service: Service,
        what: &'static str,
        detail: String,
    },
    /// The answer decoded but is not what was asked for (a log entry for
    /// another body, a timestamp over another imprint or nonce): a lie,
    /// never retried, because a second answer would hide it.
    #[error("{service} answered `{what}` for another request: {detail}")]
    Mismatch {
        service: Service,
        what: &'static str,
        detail: String,
    },
    /// The answer decoded but fails the checks on its form (no certificate,
    /// a certificate that does not parse, a v2 entry with a v1 promise...):
    /// never retried, like [`ServiceError::Mismatch`].
    #[error("invalid {service} answer to `{what}`: {detail}")]
    Invalid {
        service: Service,
        what: &'static str,
        detail: String,
    },
}

fn body_suffix(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

// Every request here is safe to repeat: a new certificate; a re-sent Rekor v1
// entry is answered 409 and the existing entry is used, v2 deduplicates; a
// new timestamp.
impl Retryable for ServiceError {
    fn retry(&self) -> Retry {
        match self {
            ServiceError::Transport { .. }
            | ServiceError::Undecodable { .. }
            | ServiceError::Refused { .. } => Retry::After(None),
            ServiceError::Status {
                status,
                retry_after,
                ..
            } if net::is_transient(*status) => Retry::After(*retry_after),
            ServiceError::Status { .. }
            | ServiceError::Redirect { .. }
            | ServiceError::Request { .. }
            | ServiceError::TooLarge { .. }
            | ServiceError::Mismatch { .. }
            | ServiceError::Invalid { .. } => Retry::No,
        }
    }
}

/// One exchange: the service and what was asked, for every error it makes.
#[derive(Clone, Copy)]
struct Exchange {
    service: Service,
    what: &'static str,
}

impl Exchange {
    fn transport(self, e: &reqwest::Error) -> ServiceError {
        // A request that cannot even be built (a bad URL) fails the same way every time.
        let detail = error_chain(e);
        if e.is_builder() {
            ServiceError::Request {
                service: self.service,
                what: self.what,
                detail,
            }
        } else {
            ServiceError::Transport {
                service: self.service,
                what: self.what,
                detail,
            }
        }
    }
    fn undecodable(self, detail: impl std::fmt::Display) -> ServiceError {
        ServiceError::Undecodable {
            service: self.service,
            what: self.what,
            detail: detail.to_string(),
        }
    }
    fn invalid(self, detail: impl std::fmt::Display) -> ServiceError {
        ServiceError::Invalid {
            service: self.service,
            what: self.what,
            detail: detail.to_string(),
        }
    }
    fn mismatch(self, detail: impl std::fmt::Display) -> ServiceError {
        ServiceError::Mismatch {
            service: self.service,
            what: self.what,
            detail: detail.to_string(),
        }
    }
    fn request(self, detail: impl std::fmt::Display) -> ServiceError {
        ServiceError::Request {
            service: self.service,
            what: self.what,
            detail: detail.to_string(),
        }
    }

    /// Send `request`; the body of a success status, read under the cap.
    async fn send(self, request: reqwest::RequestBuilder) -> Result<Vec<u8>, ServiceError> {
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(ServiceError::Redirect {
                service: self.service,
                what: self.what,
                status: status.as_u16(),
                location: location(response.headers()),
            });
        }
        if !status.is_success() {
            let retry_after = net::retry_after(response.headers());
            let body = error_body(response).await;
            return Err(ServiceError::Status {
                service: self.service,
                what: self.what,
                status: status.as_u16(),
                body,
                retry_after,
            });
        }
        self.read_capped(response).await
    }

    async fn read_capped(self, mut response: reqwest::Response) -> Result<Vec<u8>, ServiceError> {
        let too_large = ServiceError::TooLarge {
            service: self.service,
            what: self.what,
            limit: MAX_ANSWER_BYTES,
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
        {
            return Err(too_large);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&e))? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn json<T: serde::de::DeserializeOwned>(self, body: &[u8]) -> Result<T, ServiceError> {
        serde_json::from_slice(body).map_err(|e| self.undecodable(e))
    }
}

/// The start of an error answer's body, for the message (and a 409's entry
/// UUID); a body that cannot be read is left out, the status says enough.
async fn error_body(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(ERROR_BODY_BYTES);
    String::from_utf8_lossy(&body).trim().to_owned()
}

/// How much of a `Location` header is kept for the message.
const LOCATION_CHARS: usize = 512;

/// A redirect's `Location`, for a message: as one printable line
/// ([`text::line`]), at most [`LOCATION_CHARS`] characters of it.
fn location(headers: &reqwest::header::HeaderMap) -> String {
    let Some(value) = headers.get(reqwest::header::LOCATION) else {
        return "(none)".to_owned();
    };
    let raw = String::from_utf8_lossy(value.as_bytes());
    let mut shown: String = raw.chars().take(LOCATION_CHARS).collect();
    if shown.len() < raw.len() {
        shown.push_str("...");
    }
    text::line(shown)
}

/// reqwest's own message hides the cause ("error sending request for url");
/// the chain says connection refused, reset or timed out.
fn error_chain(e: &reqwest::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// `url` without trailing slashes, as the sigstore clients join paths.
fn base(url: &str) -> String {
    url.trim_end_matches('/').to_owned()
}

// ---------------------------------------------------------------------------
// Fulcio
// ---------------------------------------------------------------------------

/// Fulcio's `POST /api/v2/signingCert`.
#[derive(Debug, Clone)]
pub struct Fulcio {
    http: reqwest::Client,
    endpoint: String,
}

/// Fulcio's request (the sigstore-fulcio client keeps its types private).
/// Deliberately not `Debug`: it holds the raw token.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CertificateRequest<'a> {
    credentials: Credentials<'a>,
    public_key_request: PublicKeyRequest,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Credentials<'a> {
    oidc_identity_token: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyRequest {
    public_key: PublicKeyData,
    proof_of_possession: SignatureBytes,
}

#[derive(Serialize)]
struct PublicKeyData {
    /// Empty: the PEM identifies the algorithm.
    algorithm: String,
    content: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CertificateAnswer {
    #[serde(default)]
    signed_certificate_embedded_sct: Option<ChainAnswer>,
    #[serde(default)]
    signed_certificate_detached_sct: Option<DetachedSctAnswer>,
}

#[derive(Deserialize)]
struct ChainAnswer {
    chain: PemChain,
}

#[derive(Deserialize)]
struct PemChain {
    certificates: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DetachedSctAnswer {
    chain: PemChain,
    signed_certificate_timestamp: String,
}

impl Fulcio {
    /// `url` is Fulcio's base URL (the signing config's CA URL).
    pub fn new(http: reqwest::Client, url: &str) -> Fulcio {
        Fulcio {
            http,
            endpoint: format!("{}/api/v2/signingCert", base(url)),
        }
    }

    /// A certificate for `key`, proving possession by signing the token's identity.
    pub async fn signing_certificate(
        &self,
        token: &IdentityToken,
        key: &KeyPair,
    ) -> Result<SigningCertificate, ServiceError> {
        let x = Exchange {
            service: Service::Fulcio,
            what: "create signing certificate",
        };
        let public_key = key
            .public_key_der()
            .map_err(|e| x.request(format_args!("cannot export the public key: {e}")))?;
        let public_key = pem_lf("PUBLIC KEY", public_key.as_bytes())
            .map_err(|e| x.request(format_args!("cannot encode the public key as PEM: {e}")))?;
        let proof_of_possession = key
            .sign(token.identity().as_bytes())
            .map_err(|e| x.request(format_args!("cannot sign the proof of possession: {e}")))?;
        let request = CertificateRequest {
            credentials: Credentials {
                oidc_identity_token: token.expose_secret(),
            },
            public_key_request: PublicKeyRequest {
                public_key: PublicKeyData {
                    algorithm: String::new(),
                    content: public_key,
                },
                proof_of_possession,
            },
        };
        let body = x
            .send(self.http.post(&self.endpoint).json(&request))
            .await?;
        parse_certificate_answer(x, &body)
    }
}

/// sigstore-fulcio's checks: exactly one of the embedded and detached SCT
/// forms, a non-empty chain, every certificate a CERTIFICATE PEM block.
fn parse_certificate_answer(x: Exchange, body: &[u8]) -> Result<SigningCertificate, ServiceError> {
    let answer: CertificateAnswer = x.json(body)?;
    let chain = |pems: PemChain| -> Result<Vec<DerCertificate>, ServiceError> {
        if pems.certificates.is_empty() {
            return Err(x.invalid("the certificate chain is empty"));
        }
        pems.certificates
            .iter()
            .map(|pem| {
                DerCertificate::from_pem(pem)
                    .map_err(|e| x.invalid(format_args!("invalid certificate PEM: {e}")))
            })
            .collect()
    };
    match (
        answer.signed_certificate_embedded_sct,
        answer.signed_certificate_detached_sct,
    ) {
        (Some(embedded), None) => Ok(SigningCertificate::EmbeddedSct {
            chain: chain(embedded.chain)?,
        }),
        (None, Some(detached)) => Ok(SigningCertificate::DetachedSct {
            chain: chain(detached.chain)?,
            signed_certificate_timestamp: detached.signed_certificate_timestamp,
        }),
        (None, None) => Err(x.invalid("it contains no certificate")),
        (Some(_), Some(_)) => Err(x.invalid("it contains both an embedded and a detached SCT")),
    }
}

// ---------------------------------------------------------------------------
// Rekor
// ---------------------------------------------------------------------------

/// A Rekor v1 log: `POST /api/v1/log/entries`, and the entry fetch a 409 leads to.
#[derive(Debug, Clone)]
pub struct RekorV1 {
    http: reqwest::Client,
    base: String,
}

impl RekorV1 {
    pub fn new(http: reqwest::Client, url: &str) -> RekorV1 {
        RekorV1 {
            http,
            base: base(url),
        }
    }

    /// Log a hashedrekord 0.0.1 entry. A 409 (already logged) is a
    /// [`ServiceError::Status`] whose body names the existing entry.
    pub async fn create_entry(
        &self,
        digest: &Sha256Hash,
        signature: &SignatureBytes,
        certificate: &DerCertificate,
    ) -> Result<LogEntry, ServiceError> {
        let x = Exchange {
            service: Service::Rekor,
            what: "create entry",
        };
        let request = hashedrekord_request(digest, signature, certificate)
            .map_err(|e| x.request(format_args!("cannot encode the certificate as PEM: {e}")))?;
        let url = format!("{}/api/v1/log/entries", self.base);
        let body = x.send(self.http.post(url).json(&request)).await?;
        single_entry(x, &body)
    }

    /// Log a dsse 0.0.1 entry: `envelope` is the DSSE envelope's JSON, sent
    /// as is (Rekor stores the SHA-256 of exactly this string). A 409 is as
    /// for [`Self::create_entry`].
    pub async fn create_dsse_entry(
        &self,
        envelope: &str,
        certificate: &DerCertificate,
    ) -> Result<LogEntry, ServiceError> {
        let x = Exchange {
            service: Service::Rekor,
            what: "create dsse entry",
        };
        let pem = pem_lf("CERTIFICATE", certificate.as_bytes())
            .map_err(|e| x.request(format_args!("cannot encode the certificate as PEM: {e}")))?;
        let request = serde_json::json!({
            "apiVersion": "0.0.1",
            "kind": "dsse",
            "spec": { "proposedContent": {
                "envelope": envelope,
                "verifiers": [base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    pem,
                )],
            }},
        });
        let url = format!("{}/api/v1/log/entries", self.base);
        let body = x.send(self.http.post(url).json(&request)).await?;
        single_entry(x, &body)
    }

    /// The entry `uuid`.
    pub async fn entry(&self, uuid: &EntryUuid) -> Result<LogEntry, ServiceError> {
        let x = Exchange {
            service: Service::Rekor,
            what: "get the existing entry",
        };
        let url = format!("{}/api/v1/log/entries/{uuid}", self.base);
        let body = x.send(self.http.get(url)).await?;
        single_entry(x, &body)
    }
}

/// Rekor v1's hashedrekord 0.0.1 request: sigstore-rekor's `HashedRekord`
/// (whose fields it keeps private), except that the certificate's PEM has LF
/// line endings, as cosign and sigstore-python send it. sigstore-rekor
/// writes CRLF; rekor.sigstore.dev re-encodes the PEM, but a log that stores
/// the body as sent would keep it, and strict verifiers (sigstore-python)
/// compare the logged PEM with the one they derive from the bundle.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HashedRekordRequest {
    api_version: &'static str,
    kind: &'static str,
    spec: HashedRekordSpec,
}

#[derive(Serialize)]
struct HashedRekordSpec {
    data: HashedRekordData,
    signature: HashedRekordSignature,
}

#[derive(Serialize)]
struct HashedRekordData {
    hash: HashedRekordHash,
}

#[derive(Serialize)]
struct HashedRekordHash {
    algorithm: &'static str,
    /// Hex.
    value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HashedRekordSignature {
    content: SignatureBytes,
    public_key: HashedRekordKey,
}

#[derive(Serialize)]
struct HashedRekordKey {
    /// The certificate's PEM, base64 (as the JSON carries it).
    content: PemContent,
}

fn hashedrekord_request(
    digest: &Sha256Hash,
    signature: &SignatureBytes,
    certificate: &DerCertificate,
) -> Result<HashedRekordRequest, der::pem::Error> {
    let pem = pem_lf("CERTIFICATE", certificate.as_bytes())?;
    Ok(HashedRekordRequest {
        api_version: "0.0.1",
        kind: "hashedrekord",
        spec: HashedRekordSpec {
            data: HashedRekordData {
                hash: HashedRekordHash {
                    algorithm: "sha256",
                    value: digest.to_hex(),
                },
            },
            signature: HashedRekordSignature {
                content: signature.clone(),
                public_key: HashedRekordKey {
                    content: PemContent::new(pem.into_bytes()),
                },
            },
        },
    })
}

/// `der` as PEM with 64-column LF lines, as cosign and sigstore-python write
/// it (the sigstore crates' `to_pem` writes CRLF).
fn pem_lf(label: &'static str, der: &[u8]) -> Result<String, der::pem::Error> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der)
}

/// Rekor v1 answers `{uuid: entry}`: exactly one (sigstore-rekor takes the
/// first of any number; an answer with several is not one we asked for).
fn single_entry(x: Exchange, body: &[u8]) -> Result<LogEntry, ServiceError> {
    let entries: HashMap<String, LogEntry> = x.json(body)?;
    if entries.len() > 1 {
        return Err(x.invalid(format_args!("{} entries instead of one", entries.len())));
    }
    let (uuid, mut entry) = entries
        .into_iter()
        .next()
        .ok_or_else(|| x.invalid("an empty log entry response"))?;
    entry.uuid = EntryUuid::new(uuid);
    Ok(entry)
}

/// A Rekor v2 log: `POST /api/v2/log/entries`.
#[derive(Debug, Clone)]
pub struct RekorV2 {
    http: reqwest::Client,
    endpoint: String,
}

impl RekorV2 {
    pub fn new(http: reqwest::Client, url: &str) -> RekorV2 {
        RekorV2 {
            http,
            endpoint: format!("{}/api/v2/log/entries", base(url)),
        }
    }

    /// Log a hashedrekord 0.0.2 entry for a keyless (certificate) signature.
    pub async fn create_entry(
        &self,
        digest: &Sha256Hash,
        signature: &SignatureBytes,
        certificate: &DerCertificate,
    ) -> Result<TransparencyLogEntry, ServiceError> {
        let x = Exchange {
            service: Service::Rekor,
            what: "create entry",
        };
        let key_details = RekorV2KeyDetails::PkixEcdsaP256Sha256;
        let request =
            HashedRekordV2::new_with_certificate(digest, signature, certificate, key_details);
        let body = x
            .send(self.http.post(&self.endpoint).json(&request))
            .await?;
        let entry: TransparencyLogEntry = x.json(&body)?;
        check_v2_entry(x, &entry, digest, signature, certificate, key_details)?;
        Ok(entry)
    }
}

/// sigstore-rekor's checks on a v2 answer: a hashedrekord 0.0.2 entry whose
/// logged body is exactly the request (digest, signature, certificate, key
/// details), with no integrated time and no inclusion promise (v1 notions a
/// v2 log cannot sign), and an inclusion proof with a checkpoint.
fn check_v2_entry(
    x: Exchange,
    entry: &TransparencyLogEntry,
    digest: &Sha256Hash,
    signature: &SignatureBytes,
    certificate: &DerCertificate,
    key_details: RekorV2KeyDetails,
) -> Result<(), ServiceError> {
    if entry.kind_version != KindVersion::HashedRekordV002 {
        return Err(x.invalid(format_args!(
            "expected hashedrekord/0.0.2, received {}/{}",
            entry.kind_version.kind(),
            entry.kind_version.version()
        )));
    }
    let body = RekorEntryBody::parse(&entry.canonicalized_body, entry.kind_version)
        .map_err(|e| x.invalid(format_args!("the logged body does not parse: {e}")))?;
    let RekorEntryBody::HashedRekordV002(body) = body else {
        return Err(x.invalid("the logged body is not hashedrekord/0.0.2"));
    };
    let logged = body.spec.hashed_rekord_v002;
    let verifier = &logged.signature.verifier;
    let same_certificate = verifier.public_key.is_none()
        && verifier
            .x509_certificate
            .as_ref()
            .is_some_and(|c| &c.raw_bytes == certificate);
    if logged.data.algorithm != sigstore_types::HashAlgorithm::Sha2256
        || logged.data.digest.as_bytes() != digest.as_bytes()
        || &logged.signature.content != signature
        || verifier.key_details != key_details
        || !same_certificate
    {
        return Err(x.mismatch("the logged body does not match the submitted entry"));
    }
    if entry.integrated_time.is_some() {
        return Err(x.invalid("a v2 entry with a nonzero integrated time"));
    }
    if entry.inclusion_promise.is_some() {
        return Err(x.invalid("a v2 entry with an inclusion promise"));
    }
    let proof = entry
        .inclusion_proof
        .as_ref()
        .ok_or_else(|| x.invalid("a v2 entry without an inclusion proof"))?;
    if proof.checkpoint.is_empty() {
        return Err(x.invalid("a v2 entry with an empty checkpoint"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// TSA
// ---------------------------------------------------------------------------

/// An RFC 3161 timestamp authority (its full timestamp endpoint).
#[derive(Debug, Clone)]
pub struct Tsa {
    http: reqwest::Client,
    url: String,
}

/// id-ct-TSTInfo (RFC 3161; const-oid's database does not have it).
const ID_CT_TST_INFO: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

impl Tsa {
    pub fn new(http: reqwest::Client, url: &str) -> Tsa {
        Tsa {
            http,
            url: url.to_owned(),
        }
    }

    /// A timestamp over SHA-256(`signature`), as Sigstore bundles carry it:
    /// the TSA's whole DER `TimeStampResp`.
    pub async fn timestamp_signature(
        &self,
        signature: &SignatureBytes,
    ) -> Result<TimestampToken, ServiceError> {
        let x = Exchange {
            service: Service::Tsa,
            what: "timestamp the signature",
        };
        let request = timestamp_request(
            sigstore_crypto::sha256(signature.as_bytes()).as_bytes(),
            random_nonce(),
        )
        .map_err(|e| x.request(e))?;
        let der = request.to_der().map_err(|e| x.request(e))?;
        let body = x
            .send(
                self.http
                    .post(&self.url)
                    .header(reqwest::header::CONTENT_TYPE, "application/timestamp-query")
                    .body(der),
            )
            .await?;
        check_timestamp(x, &request, &body)?;
        Ok(TimestampToken::new(body))
    }
}

/// The request sigstore-tsa sends: v1, SHA-256 imprint, a nonce, and the
/// TSA's certificate asked for (`certReq`), so the token verifies on its own.
fn timestamp_request(
    imprint: &[u8],
    nonce: der::asn1::Int,
) -> Result<x509_tsp::TimeStampReq, der::Error> {
    Ok(x509_tsp::TimeStampReq {
        version: x509_tsp::TspVersion::V1,
        message_imprint: x509_tsp::MessageImprint {
            hash_algorithm: x509_cert::spki::AlgorithmIdentifier {
                oid: ID_SHA_256,
                parameters: None,
            },
            hashed_message: der::asn1::OctetString::new(imprint)?,
        },
        req_policy: None,
        nonce: Some(nonce),
        cert_req: true,
        extensions: None,
    })
}

/// A positive 64-bit nonce in minimal DER form (`Uint` strips leading zeros
/// and adds the sign byte a high bit needs; TSAs reject other encodings).
fn random_nonce() -> der::asn1::Int {
    let n: u64 = rand::random();
    der::asn1::Int::from(der::asn1::Uint::new(&n.to_be_bytes()).expect("8 bytes make a Uint"))
}

/// sigstore-tsa's checks on an answer: a `TimeStampResp` granted (with or
/// without modifications) that carries a token, the token a CMS SignedData
/// encapsulating a TSTInfo, whose imprint (algorithm and digest) and nonce
/// are the request's. Its signature and certificate are self-verification's.
fn check_timestamp(
    x: Exchange,
    request: &x509_tsp::TimeStampReq,
    body: &[u8],
) -> Result<(), ServiceError> {
    use cmpv2::status::PkiStatus;

    let response = x509_tsp::TimeStampResp::from_der(body)
        .map_err(|e| x.undecodable(format_args!("not a DER TimeStampResp: {e}")))?;
    match response.status.status {
        PkiStatus::Accepted | PkiStatus::GrantedWithMods => {}
        other => {
            return Err(ServiceError::Refused {
                service: x.service,
                what: x.what,
                detail: format!("status {other:?}"),
            })
        }
    }
    let token = response
        .time_stamp_token
        .ok_or_else(|| x.invalid("the response carries no timeStampToken"))?;
    if token.content_type != ID_SIGNED_DATA {
        return Err(x.invalid("the token is not a CMS SignedData"));
    }
    let signed_data = token
        .content
        .decode_as::<cms::signed_data::SignedData>()
        .map_err(|e| x.invalid(format_args!("the token's SignedData does not decode: {e}")))?;
    let encapsulated = &signed_data.encap_content_info;
    if encapsulated.econtent_type != ID_CT_TST_INFO {
        return Err(x.invalid("the token does not encapsulate a TSTInfo"));
    }
    let econtent = encapsulated
        .econtent
        .as_ref()
        .ok_or_else(|| x.invalid("the token carries no TSTInfo"))?;
    let tst_info = x509_tsp::TstInfo::from_der(econtent.value())
        .map_err(|e| x.invalid(format_args!("the TSTInfo does not decode: {e}")))?;

    let asked = &request.message_imprint;
    let got = &tst_info.message_imprint;
    if got.hash_algorithm.oid != asked.hash_algorithm.oid {
        return Err(x.mismatch(format_args!(
            "hash algorithm {}, asked for {}",
            got.hash_algorithm.oid, asked.hash_algorithm.oid
        )));
    }
    if got.hashed_message != asked.hashed_message {
        return Err(x.mismatch(format_args!(
            "message imprint {}, asked for {}",
            hex::encode(got.hashed_message.as_bytes()),
            hex::encode(asked.hashed_message.as_bytes())
        )));
    }
    if let Some(nonce) = &request.nonce {
        if tst_info.nonce.as_ref() != Some(nonce) {
            return Err(x.mismatch(format_args!(
                "nonce {}, asked for {}",
                tst_info
                    .nonce
                    .as_ref()
                    .map_or_else(|| "(none)".to_owned(), |n| hex::encode(n.as_bytes())),
                hex::encode(nonce.as_bytes())
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULCIO: Exchange = Exchange {
        service: Service::Fulcio,
        what: "create signing certificate",
    };
    const REKOR: Exchange = Exchange {
        service: Service::Rekor,
        what: "create entry",
    };
    const TSA: Exchange = Exchange {
        service: Service::Tsa,
        what: "timestamp the signature",
    };

    fn status(status: u16, retry_after: Option<u64>) -> ServiceError {
        ServiceError::Status {
            service: Service::Rekor,
            what: "create entry",
            status,
            body: String::new(),
            retry_after: retry_after.map(Duration::from_secs),
        }
    }

    #[test]
    fn statuses_retry_after_the_server_says_and_lies_never() {
        assert_eq!(
            status(429, Some(3)).retry(),
            Retry::After(Some(Duration::from_secs(3)))
        );
        assert_eq!(
            status(503, Some(7)).retry(),
            Retry::After(Some(Duration::from_secs(7)))
        );
        assert_eq!(status(502, None).retry(), Retry::After(None));
        assert_eq!(status(409, Some(3)).retry(), Retry::No);
        assert_eq!(status(400, None).retry(), Retry::No);
        assert_eq!(REKOR.undecodable("eof").retry(), Retry::After(None));
        assert_eq!(REKOR.mismatch("another body").retry(), Retry::No);
        assert_eq!(REKOR.invalid("no proof").retry(), Retry::No);
        assert_eq!(REKOR.request("no key").retry(), Retry::No);
        let too_large = ServiceError::TooLarge {
            service: Service::Tsa,
            what: "timestamp the signature",
            limit: MAX_ANSWER_BYTES,
        };
        assert_eq!(too_large.retry(), Retry::No);
    }

    #[test]
    fn status_messages_keep_the_service_the_status_and_the_body() {
        let e = ServiceError::Status {
            service: Service::Rekor,
            what: "create entry",
            status: 400,
            body: r#"{"code":400}"#.into(),
            retry_after: None,
        };
        assert_eq!(
            e.to_string(),
            r#"Rekor returned HTTP 400: failed to create entry: {"code":400}"#
        );
        assert_eq!(
            status(503, None).to_string(),
            "Rekor returned HTTP 503: failed to create entry"
        );
    }

    #[test]
    fn fulcio_answers_are_checked_as_sigstore_fulcio_does() {
        let pem = sigstore_types::DerCertificate::new(vec![0x30, 0x03, 0x02, 0x01, 0x01]).to_pem();
        let parse =
            |v: serde_json::Value| parse_certificate_answer(FULCIO, v.to_string().as_bytes());
        let chain = serde_json::json!({ "chain": { "certificates": [pem] } });
        let embedded = parse(serde_json::json!({ "signedCertificateEmbeddedSct": chain })).unwrap();
        assert_eq!(embedded.certificate_chain().len(), 1);
        let detached = parse(serde_json::json!({
            "signedCertificateDetachedSct": { "chain": { "certificates": [pem] }, "signedCertificateTimestamp": "c2N0" }
        }))
        .unwrap();
        assert!(matches!(detached, SigningCertificate::DetachedSct { .. }));
        for lie in [
            serde_json::json!({}),
            serde_json::json!({ "signedCertificateEmbeddedSct": { "chain": { "certificates": [] } } }),
            serde_json::json!({ "signedCertificateEmbeddedSct": { "chain": { "certificates": ["not a pem"] } } }),
            serde_json::json!({
                "signedCertificateEmbeddedSct": chain,
                "signedCertificateDetachedSct": { "chain": { "certificates": [pem] }, "signedCertificateTimestamp": "c2N0" },
            }),
        ] {
            assert!(
                matches!(parse(lie.clone()), Err(ServiceError::Invalid { .. })),
                "{lie}"
            );
        }
        for cut in [&b"{\"signedCertificateEmbeddedSct\": {"[..], b"<html>", b""] {
            let e = parse_certificate_answer(FULCIO, cut).unwrap_err();
            assert!(matches!(e, ServiceError::Undecodable { .. }), "{e}");
        }
    }

    #[test]
    fn rekor_v1_answers_hold_exactly_one_entry() {
        let entry = serde_json::json!({
            "body": "e30=", "integratedTime": 1, "logIndex": 5,
            "logID": "00".repeat(32),
        });
        let one = serde_json::json!({ "ab": entry });
        assert_eq!(
            single_entry(REKOR, one.to_string().as_bytes())
                .unwrap()
                .uuid
                .as_str(),
            "ab"
        );
        let two = serde_json::json!({ "ab": entry, "cd": entry });
        for lie in [two, serde_json::json!({})] {
            let e = single_entry(REKOR, lie.to_string().as_bytes()).unwrap_err();
            assert!(matches!(e, ServiceError::Invalid { .. }), "{e}");
        }
        let e = single_entry(REKOR, b"{\"truncated\": <<not json").unwrap_err();
        assert!(matches!(e, ServiceError::Undecodable { .. }), "{e}");
    }

    /// A real TSA's answer to `request`, from the sandbox's RFC 3161 authority.
    fn answer(request: &x509_tsp::TimeStampReq) -> Vec<u8> {
        let tsa =
            releasekit_sandbox::tsa::TimestampAuthority::generate(std::time::SystemTime::now());
        tsa.timestamp(&request.to_der().unwrap()).unwrap()
    }

    #[test]
    fn timestamps_must_answer_our_imprint_and_nonce() {
        let imprint = [7u8; 32];
        let request = timestamp_request(&imprint, random_nonce()).unwrap();
        let body = answer(&request);
        check_timestamp(TSA, &request, &body).unwrap();

        let other_nonce = timestamp_request(&imprint, random_nonce()).unwrap();
        let e = check_timestamp(TSA, &other_nonce, &body).unwrap_err();
        assert!(
            matches!(&e, ServiceError::Mismatch { detail, .. } if detail.starts_with("nonce")),
            "{e}"
        );
        assert_eq!(e.retry(), Retry::No);

        let mut other_imprint = request.clone();
        other_imprint.message_imprint.hashed_message =
            der::asn1::OctetString::new([8u8; 32].as_slice()).unwrap();
        let e = check_timestamp(TSA, &other_imprint, &body).unwrap_err();
        assert!(
            matches!(&e, ServiceError::Mismatch { detail, .. } if detail.starts_with("message imprint")),
            "{e}"
        );

        let e = check_timestamp(TSA, &request, b"{\"truncated\": <<not json").unwrap_err();
        assert!(matches!(e, ServiceError::Undecodable { .. }), "{e}");
        let e = check_timestamp(TSA, &request, &body[..body.len() / 2]).unwrap_err();
        assert!(matches!(e, ServiceError::Undecodable { .. }), "{e}");
    }

    #[test]
    fn nonces_are_positive_minimal_der_integers() {
        for _ in 0..256 {
            let der = random_nonce().to_der().unwrap();
            let back = der::asn1::Int::from_der(&der).expect("canonical DER");
            assert_eq!(back.as_bytes()[0] & 0x80, 0, "positive");
        }
    }

    /// A one-connection HTTP server that writes `head` and then `chunks` of
    /// body (chunked encoding when `chunks` is not zero), whatever is asked.
    async fn serve(head: &'static str, chunks: usize) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            socket.write_all(head.as_bytes()).await.unwrap();
            let chunk = format!("10000\r\n{}\r\n", "x".repeat(0x10000));
            for _ in 0..chunks {
                if socket.write_all(chunk.as_bytes()).await.is_err() {
                    return; // the client stopped reading, as it should
                }
            }
            let _ = socket.write_all(b"0\r\n\r\n").await;
        });
        url
    }

    async fn exchange(url: &str) -> Result<Vec<u8>, ServiceError> {
        REKOR.send(reqwest::Client::new().post(url)).await
    }

    #[tokio::test]
    async fn error_statuses_carry_their_retry_after() {
        let url = serve(
            "HTTP/1.1 429 Too Many Requests\r\nretry-after: 3\r\ncontent-length: 9\r\n\r\n{\"a\":\"b\"}",
            0,
        )
        .await;
        let e = exchange(&url).await.unwrap_err();
        assert!(
            matches!(&e, ServiceError::Status { status: 429, retry_after: Some(d), body, .. }
                if *d == Duration::from_secs(3) && body == r#"{"a":"b"}"#),
            "{e:?}"
        );
        assert_eq!(e.retry(), Retry::After(Some(Duration::from_secs(3))));
    }

    #[tokio::test]
    async fn answers_larger_than_the_cap_are_not_read() {
        let declared = serve("HTTP/1.1 200 OK\r\ncontent-length: 1000000000\r\n\r\n", 0).await;
        let streamed = serve(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            MAX_ANSWER_BYTES / 0x10000 + 8,
        )
        .await;
        for url in [declared, streamed] {
            let e = exchange(&url).await.unwrap_err();
            assert!(matches!(e, ServiceError::TooLarge { .. }), "{e:?}");
            assert!(e.to_string().contains("refusing to read it"), "{e}");
            assert_eq!(e.retry(), Retry::No);
        }
    }

    /// A 307 (or any 3xx) is not followed by the Sigstore services' client: it
    /// is an error naming the status and the `Location`, shown as one
    /// printable line, and it is not retried.
    #[tokio::test]
    async fn redirects_are_not_followed_and_name_their_location() {
        let url = serve(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:9/x\t##[error]y\r\ncontent-length: 0\r\n\r\n",
            0,
        )
        .await;
        let client = net::sigstore_client().unwrap();
        let e = FULCIO.send(client.post(&url)).await.unwrap_err();
        assert!(
            matches!(&e, ServiceError::Redirect { status: 307, location, .. }
                if location == "http://127.0.0.1:9/x\\t##\\u{5b}error]y"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "Fulcio answered `create signing certificate` with HTTP 307, a redirect to \
             `http://127.0.0.1:9/x\\t##\\u{5b}error]y`; not followed: requests to Sigstore \
             services go to the configured URL only"
        );
        assert_eq!(e.retry(), Retry::No);
    }

    /// The hashedrekord 0.0.1 request is sigstore-rekor's, with the
    /// certificate's PEM in LF line endings (sigstore-rekor writes CRLF).
    #[test]
    fn rekor_v1_requests_carry_an_lf_pem() {
        let certificate = sigstore_types::DerCertificate::new(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
        let digest = Sha256Hash::new([7u8; 32]);
        let signature = SignatureBytes::new(vec![1, 2, 3]);
        let ours =
            serde_json::to_value(hashedrekord_request(&digest, &signature, &certificate).unwrap())
                .unwrap();
        let pem = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            ours["spec"]["signature"]["publicKey"]["content"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        let pem = String::from_utf8(pem).unwrap();
        assert!(!pem.contains('\r'), "{pem:?}");
        assert_eq!(
            sigstore_types::DerCertificate::from_pem(&pem).unwrap(),
            certificate
        );
        let mut theirs = serde_json::to_value(sigstore_rekor::HashedRekord::new(
            &digest,
            &signature,
            &certificate,
        ))
        .unwrap();
        theirs["spec"]["signature"]["publicKey"]["content"] =
            ours["spec"]["signature"]["publicKey"]["content"].clone();
        assert_eq!(ours, theirs, "the same request otherwise");
    }

    /// A connection closed before any answer. (Not a refused connection: a
    /// port freed for that can be taken by a concurrent test's server.)
    #[tokio::test]
    async fn a_dropped_connection_is_a_transport_failure() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
            }
        });
        let e = exchange(&url).await.unwrap_err();
        assert!(matches!(e, ServiceError::Transport { .. }), "{e:?}");
        assert_eq!(e.retry(), Retry::After(None));
    }
}
