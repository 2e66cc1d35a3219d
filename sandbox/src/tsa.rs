//! RFC 3161 timestamp authority, as sigstore/timestamp-authority serves it.
//!
//! Owns the TSA's key, its two-certificate chain (P-256 root, and a leaf with the
//! critical id-kp-timeStamping EKU) and the `/api/v1/timestamp` endpoints: a DER
//! `TimeStampReq` in, a DER `TimeStampResp` out, whose token is a CMS SignedData over
//! a TSTInfo with contentType, messageDigest, signingTime and signingCertificateV2
//! signed attributes. Clients verify tokens against [`TimestampAuthority::chain_der`]
//! (sigstore-rust pins the CMS signer to the chain's leaf; sigstore-python also checks
//! the leaf's EKU is critical and matches the embedded certificate when one is sent).
//!
//! It does not touch fault injection (`faults`), trust files (`trust`) or other
//! services' keys.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use cms::builder::{create_signing_time_attribute, SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use const_oid::db::rfc5280::ID_KP_TIME_STAMPING;
use const_oid::db::rfc5912::{ID_SHA_256, ID_SHA_384, ID_SHA_512};
use const_oid::ObjectIdentifier;
use der::asn1::{GeneralizedTime, Int, OctetString, SetOfVec};
use der::{Any, Decode, Encode, EncodePem, Sequence};
use p256::ecdsa::{signature, DerSignature};
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::attr::Attribute;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;
use x509_tsp::{TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use crate::keys::LogKey;
use crate::Shared;

/// The TSA policy sigstore/timestamp-authority answers with (Sigstore's OID arc).
pub const POLICY_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");

/// id-ct-TSTInfo (RFC 3161 §2.4.2), the eContentType of every token.
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// id-aa-signingCertificateV2 (RFC 5035), binding the token to the signer certificate.
const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

const VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Why a timestamp request was refused or a token could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    #[error("malformed TimeStampReq: {0}")]
    Malformed(der::Error),
    #[error("unsupported hash algorithm {0}")]
    UnsupportedHash(ObjectIdentifier),
    #[error("message imprint is {actual} bytes, {expected} expected for its hash algorithm")]
    DigestLength { expected: usize, actual: usize },
    #[error("unsupported TSA policy {0}")]
    UnsupportedPolicy(ObjectIdentifier),
    #[error("request extensions are not supported")]
    Extensions,
    #[error("building the timestamp token failed: {0}")]
    Build(String),
}

impl TsaError {
    fn is_client_error(&self) -> bool {
        !matches!(self, TsaError::Build(_))
    }
}

impl IntoResponse for TsaError {
    fn into_response(self) -> Response {
        let status = if self.is_client_error() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        (status, self.to_string()).into_response()
    }
}

/// ESSCertIDv2 (RFC 5035 §4). `hashAlgorithm` is DEFAULT sha256, so DER omits it.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// The sandbox TSA: a key, its certificate chain, and token issuance.
pub struct TimestampAuthority {
    key: LogKey,
    leaf: Certificate,
    leaf_der: Vec<u8>,
    root_der: Vec<u8>,
    /// Seconds its clock runs ahead of this machine's (a real TSA's clock
    /// is its own: NTP-synced, or not).
    ahead_secs: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for TimestampAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimestampAuthority")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl TimestampAuthority {
    /// A fresh root CA and TSA leaf, both valid from `valid_from` for ten years.
    pub fn generate(valid_from: SystemTime) -> Self {
        Self::generate_with_ekus(valid_from, &[ID_KP_TIME_STAMPING])
    }

    /// [`Self::generate`] with a leaf whose extended key usages are `ekus`
    /// (RFC 3161 §2.3 allows exactly `id-kp-timeStamping`: anything else
    /// makes an authority verifiers refuse).
    pub fn generate_with_ekus(
        valid_from: SystemTime,
        ekus: &[const_oid::ObjectIdentifier],
    ) -> Self {
        Self::generate_with(valid_from, ekus, false)
    }

    /// [`Self::generate_with_ekus`], with a key usage that also allows key
    /// encipherment when `encipher` (verifiers that hold a TSA to
    /// OpenSSL's timestamp-signing purpose refuse it).
    pub fn generate_with(
        valid_from: SystemTime,
        ekus: &[const_oid::ObjectIdentifier],
        encipher: bool,
    ) -> Self {
        let root_key = LogKey::generate();
        let key = LogKey::generate();
        let validity = validity(valid_from);
        let root_signer = EcdsaP256Sha256(&root_key);

        let root_name =
            Name::from_str("CN=sandbox-tsa-root,O=releasekit-sandbox").expect("static name parses");
        let root = CertificateBuilder::new(
            Profile::Root,
            random_serial(),
            validity,
            root_name.clone(),
            spki(&root_key),
            &root_signer,
        )
        .expect("root profile is valid")
        .build::<DerSignature>()
        .expect("root certificate signs");

        let leaf_name =
            Name::from_str("CN=sandbox-tsa,O=releasekit-sandbox").expect("static name parses");
        let mut leaf = CertificateBuilder::new(
            // Leaf gives BasicConstraints CA:false, SKI, AKI and a critical KeyUsage of
            // digitalSignature + nonRepudiation, which RFC 3161 TSAs commonly carry.
            Profile::Leaf {
                issuer: root_name,
                enable_key_agreement: false,
                enable_key_encipherment: encipher,
            },
            random_serial(),
            validity,
            leaf_name,
            spki(&key),
            &root_signer,
        )
        .expect("leaf profile is valid");
        // RFC 3161 §2.3: the EKU must be exactly id-kp-timeStamping and critical
        // (x509-cert marks an EKU without anyExtendedKeyUsage critical).
        leaf.add_extension(&ExtendedKeyUsage(ekus.to_vec()))
            .expect("EKU encodes");
        let leaf = leaf
            .build::<DerSignature>()
            .expect("leaf certificate signs");

        Self {
            key,
            leaf_der: leaf.to_der().expect("certificate encodes"),
            root_der: root.to_der().expect("certificate encodes"),
            leaf,
            ahead_secs: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Let its clock run `ahead` of this machine's: every `genTime` from
    /// now on is that much later than the time it is given at.
    pub fn set_clock_ahead(&self, ahead: Duration) {
        self.ahead_secs
            .store(ahead.as_secs(), std::sync::atomic::Ordering::Relaxed);
    }

    /// `[leaf, root]` DER, leaf first (as trusted roots list TSA chains).
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        vec![self.leaf_der.clone(), self.root_der.clone()]
    }

    /// The chain as concatenated PEM, leaf first (`/api/v1/timestamp/certchain`).
    pub fn chain_pem(&self) -> String {
        self.chain_der()
            .iter()
            .map(|der| {
                Certificate::from_der(der)
                    .and_then(|c| c.to_pem(der::pem::LineEnding::LF))
                    .expect("own certificates re-encode")
            })
            .collect()
    }

    /// Answer a DER `TimeStampReq` with a DER `TimeStampResp` (status granted).
    pub fn timestamp(&self, request_der: &[u8]) -> Result<Vec<u8>, TsaError> {
        let ahead = self.ahead_secs.load(std::sync::atomic::Ordering::Relaxed);
        self.timestamp_at(request_der, SystemTime::now() + Duration::from_secs(ahead))
    }

    fn timestamp_at(&self, request_der: &[u8], now: SystemTime) -> Result<Vec<u8>, TsaError> {
        let req = TimeStampReq::from_der(request_der).map_err(TsaError::Malformed)?;
        check_request(&req)?;

        let build = |e: &dyn std::fmt::Display| TsaError::Build(e.to_string());
        let tst_info = TstInfo {
            version: TspVersion::V1,
            policy: POLICY_OID,
            message_imprint: req.message_imprint.clone(),
            serial_number: Int::new(random_serial().as_bytes()).map_err(|e| build(&e))?,
            gen_time: GeneralizedTime::from_system_time(truncate_to_secs(now))
                .map_err(|e| build(&e))?,
            // As Sigstore's timestamp-authority sets it in every token.
            accuracy: Some(x509_tsp::Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce: req.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let tst_der = tst_info.to_der().map_err(|e| build(&e))?;
        let econtent = EncapsulatedContentInfo {
            econtent_type: ID_CT_TST_INFO,
            econtent: Some(Any::new(der::Tag::OctetString, tst_der).map_err(|e| build(&e))?),
        };

        let sha256 = AlgorithmIdentifierOwned {
            oid: ID_SHA_256,
            parameters: None,
        };
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: self.leaf.tbs_certificate.issuer.clone(),
            serial_number: self.leaf.tbs_certificate.serial_number.clone(),
        });
        let key = EcdsaP256Sha256(&self.key);
        let mut signer = SignerInfoBuilder::new(&key, sid, sha256.clone(), &econtent, None)
            .map_err(|e| build(&e))?;
        // The builder adds contentType and messageDigest itself.
        signer
            .add_signed_attribute(create_signing_time_attribute().map_err(|e| build(&e))?)
            .map_err(|e| build(&e))?;
        signer
            .add_signed_attribute(self.signing_certificate_attribute()?)
            .map_err(|e| build(&e))?;

        let mut signed_data = SignedDataBuilder::new(&econtent);
        signed_data
            .add_digest_algorithm(sha256)
            .map_err(|e| build(&e))?;
        if req.cert_req {
            signed_data
                .add_certificate(CertificateChoices::Certificate(self.leaf.clone()))
                .map_err(|e| build(&e))?;
        }
        let token = signed_data
            .add_signer_info::<_, DerSignature>(signer)
            .map_err(|e| build(&e))?
            .build()
            .map_err(|e| build(&e))?;

        TimeStampResp {
            status: cmpv2::status::PkiStatusInfo {
                status: cmpv2::status::PkiStatus::Accepted,
                status_string: None,
                fail_info: None,
            },
            time_stamp_token: Some(token),
        }
        .to_der()
        .map_err(|e| build(&e))
    }

    fn signing_certificate_attribute(&self) -> Result<Attribute, TsaError> {
        let build = |e: der::Error| TsaError::Build(e.to_string());
        let value = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None,
                cert_hash: OctetString::new(Sha256::digest(&self.leaf_der).to_vec())
                    .map_err(build)?,
                issuer_serial: Some(IssuerSerial {
                    issuer: vec![GeneralName::DirectoryName(
                        self.leaf.tbs_certificate.issuer.clone(),
                    )],
                    serial_number: self.leaf.tbs_certificate.serial_number.clone(),
                }),
            }],
        };
        let mut values = SetOfVec::new();
        values
            .insert(Any::encode_from(&value).map_err(build)?)
            .map_err(build)?;
        Ok(Attribute {
            oid: ID_AA_SIGNING_CERTIFICATE_V2,
            values,
        })
    }
}

fn check_request(req: &TimeStampReq) -> Result<(), TsaError> {
    let alg = req.message_imprint.hash_algorithm.oid;
    let expected = match alg {
        ID_SHA_256 => 32,
        ID_SHA_384 => 48,
        ID_SHA_512 => 64,
        other => return Err(TsaError::UnsupportedHash(other)),
    };
    let actual = req.message_imprint.hashed_message.as_bytes().len();
    if actual != expected {
        return Err(TsaError::DigestLength { expected, actual });
    }
    match req.req_policy {
        Some(p) if p != POLICY_OID => return Err(TsaError::UnsupportedPolicy(p)),
        _ => {}
    }
    if req.extensions.is_some() {
        return Err(TsaError::Extensions);
    }
    Ok(())
}

/// What a handler needs from its state; lets tests serve a lone authority.
pub(crate) trait HasTsa: Send + Sync + 'static {
    fn tsa(&self) -> &TimestampAuthority;
}

impl HasTsa for Shared {
    fn tsa(&self) -> &TimestampAuthority {
        &self.tsa
    }
}

impl HasTsa for TimestampAuthority {
    fn tsa(&self) -> &TimestampAuthority {
        self
    }
}

/// `POST /api/v1/timestamp` and `GET /api/v1/timestamp/certchain`.
pub fn router(shared: Arc<Shared>) -> Router {
    routes(shared)
}

pub(crate) fn routes<S: HasTsa>(state: Arc<S>) -> Router {
    Router::new()
        .route("/api/v1/timestamp", post(timestamp::<S>))
        .route("/api/v1/timestamp/certchain", get(certchain::<S>))
        .with_state(state)
}

async fn timestamp<S: HasTsa>(
    State(state): State<Arc<S>>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    // As timestamp-authority's handler: a request that is not `application/*`
    // is 415, and of the `application/*` types only the DER query is served
    // here (the real one also takes its JSON form, which no client here sends).
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    match media.as_deref() {
        Some("application/timestamp-query") => {}
        Some(m) if m.starts_with("application/") => {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                "Content-Type must be application/json or application/timestamp-query\n",
            )
                .into_response()
        }
        _ => {
            return (
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Content-Type header has unsupported value\n",
            )
                .into_response()
        }
    }
    match state.tsa().timestamp(&body) {
        Ok(resp) => (
            [(header::CONTENT_TYPE, "application/timestamp-reply")],
            resp,
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn certchain<S: HasTsa>(State(state): State<Arc<S>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        state.tsa().chain_pem(),
    )
        .into_response()
}

fn validity(from: SystemTime) -> Validity {
    let from = truncate_to_secs(from);
    Validity {
        not_before: Time::try_from(from).expect("valid_from is representable"),
        not_after: Time::try_from(from + VALIDITY).expect("ten years on is representable"),
    }
}

/// P-256 ECDSA-SHA256 signing for the x509-cert and cms builders.
///
/// p256's own `SigningKey` only names its algorithm when sha2's `oid` feature is on;
/// enabling it would rebuild most of the dependency graph, so the identifier
/// (ecdsa-with-SHA256, absent parameters as RFC 5758 requires) is declared here.
struct EcdsaP256Sha256<'k>(&'k LogKey);

impl signature::Keypair for EcdsaP256Sha256<'_> {
    type VerifyingKey = p256::ecdsa::VerifyingKey;
    fn verifying_key(&self) -> Self::VerifyingKey {
        *self.0.signing_key().verifying_key()
    }
}

impl spki::SignatureAlgorithmIdentifier for EcdsaP256Sha256<'_> {
    type Params = der::asn1::Null;
    const SIGNATURE_ALGORITHM_IDENTIFIER: spki::AlgorithmIdentifier<Self::Params> =
        spki::AlgorithmIdentifier {
            oid: const_oid::db::rfc5912::ECDSA_WITH_SHA_256,
            parameters: None,
        };
}

impl signature::Signer<DerSignature> for EcdsaP256Sha256<'_> {
    fn try_sign(&self, msg: &[u8]) -> Result<DerSignature, signature::Error> {
        DerSignature::from_bytes(&self.0.sign(msg))
    }
}

fn spki(key: &LogKey) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_der(key.spki_der()).expect("own SPKI decodes")
}

/// A positive 16-byte serial (RFC 5280 allows up to 20 octets).
fn random_serial() -> SerialNumber {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[0] = (b[0] & 0x7f) | 0x01;
    SerialNumber::new(&b).expect("16 positive bytes are a valid serial")
}

fn truncate_to_secs(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstore_tsa::{verify_timestamp_for_authority, TimestampClient, TsaAuthority};
    use sigstore_types::{DerCertificate, SignatureBytes, TimestampToken};
    use x509_tsp::MessageImprint;

    fn authority(tsa: &TimestampAuthority) -> TsaAuthority {
        let chain = tsa.chain_der();
        TsaAuthority::new(
            DerCertificate::from(chain[0].clone()),
            vec![],
            DerCertificate::from(chain[1].clone()),
            None,
        )
    }

    async fn serve(tsa: Arc<TimestampAuthority>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, routes(tsa)).await.unwrap() });
        format!("http://{addr}/api/v1/timestamp")
    }

    fn request(
        digest: &[u8],
        alg: ObjectIdentifier,
        nonce: Option<u64>,
        cert_req: bool,
    ) -> Vec<u8> {
        TimeStampReq {
            version: TspVersion::V1,
            message_imprint: MessageImprint {
                hash_algorithm: spki::AlgorithmIdentifier {
                    oid: alg,
                    parameters: None,
                },
                hashed_message: OctetString::new(digest).unwrap(),
            },
            req_policy: None,
            nonce: nonce.map(|n| Int::from(der::asn1::Uint::new(&n.to_be_bytes()).unwrap())),
            cert_req,
            extensions: None,
        }
        .to_der()
        .unwrap()
    }

    fn parse(resp: &[u8]) -> (TstInfo, cms::signed_data::SignedData) {
        let resp = TimeStampResp::from_der(resp).unwrap();
        assert_eq!(resp.status.status, cmpv2::status::PkiStatus::Accepted);
        let token = resp.time_stamp_token.unwrap();
        let sd = cms::signed_data::SignedData::from_der(&token.content.to_der().unwrap()).unwrap();
        let tst =
            TstInfo::from_der(sd.encap_content_info.econtent.as_ref().unwrap().value()).unwrap();
        (tst, sd)
    }

    #[tokio::test]
    async fn sigstore_tsa_client_token_verifies_against_the_chain() {
        let valid_from = SystemTime::now() - Duration::from_secs(3600);
        let tsa = Arc::new(TimestampAuthority::generate(valid_from));
        let url = serve(tsa.clone()).await;
        let signature = SignatureBytes::from_bytes(b"a signature over an artifact");

        let token = TimestampClient::new(url)
            .unwrap()
            .timestamp_signature(&signature)
            .await
            .unwrap();
        let time = verify_timestamp_for_authority(&token, &signature, &authority(&tsa)).unwrap();
        let now = jiff::Timestamp::now();
        assert!(
            (now.as_second() - time.as_second()).abs() < 60,
            "{time} vs {now}"
        );

        // The token is bound to the signature it timestamps...
        let other = SignatureBytes::from_bytes(b"another signature");
        assert!(matches!(
            verify_timestamp_for_authority(&token, &other, &authority(&tsa)),
            Err(sigstore_tsa::Error::HashMismatch { .. })
        ));
        // ...and to this authority's chain.
        let stranger = TimestampAuthority::generate(valid_from);
        assert!(verify_timestamp_for_authority(&token, &signature, &authority(&stranger)).is_err());
    }

    #[test]
    fn tampered_tst_info_fails_verification() {
        let tsa = TimestampAuthority::generate(SystemTime::now() - Duration::from_secs(60));
        let signature = b"sig";
        let digest = Sha256::digest(signature);
        let resp = tsa
            .timestamp(&request(&digest, ID_SHA_256, Some(7), true))
            .unwrap();
        let sig = SignatureBytes::from_bytes(signature);
        verify_timestamp_for_authority(&TimestampToken::new(resp.clone()), &sig, &authority(&tsa))
            .unwrap();

        // Flip a bit of the imprint inside the signed TSTInfo: the imprint no longer
        // matches the signature.
        let pos = resp
            .windows(digest.len())
            .position(|w| w == &digest[..])
            .unwrap();
        let mut tampered = resp.clone();
        tampered[pos] ^= 1;
        assert!(verify_timestamp_for_authority(
            &TimestampToken::new(tampered),
            &sig,
            &authority(&tsa)
        )
        .is_err());

        // Corrupt the CMS signature itself (the last bytes of the response): the
        // imprint still matches, so only the signature check can reject it.
        let mut bad_sig = resp.clone();
        let n = bad_sig.len();
        bad_sig[n - 2] ^= 1;
        assert!(verify_timestamp_for_authority(
            &TimestampToken::new(bad_sig),
            &sig,
            &authority(&tsa)
        )
        .is_err());
    }

    #[test]
    fn token_echoes_request_and_carries_rfc3161_attributes() {
        let tsa = TimestampAuthority::generate(SystemTime::now() - Duration::from_secs(60));
        let digest = [0x42u8; 48];
        let (tst, sd) = parse(
            &tsa.timestamp(&request(&digest, ID_SHA_384, Some(0x0102_0304), true))
                .unwrap(),
        );
        assert_eq!(tst.policy, POLICY_OID);
        assert_eq!(tst.message_imprint.hash_algorithm.oid, ID_SHA_384);
        assert_eq!(tst.message_imprint.hashed_message.as_bytes(), digest);
        assert_eq!(tst.nonce.unwrap().as_bytes(), [1, 2, 3, 4]);
        // As Sigstore's timestamp-authority writes it.
        assert_eq!(tst.accuracy.and_then(|a| a.seconds), Some(1));

        let certs = sd.certificates.as_ref().expect("certReq embeds the leaf");
        let embedded: Vec<_> = certs.0.iter().collect();
        assert_eq!(embedded.len(), 1);
        assert!(
            matches!(embedded[0], CertificateChoices::Certificate(c) if c.to_der().unwrap() == tsa.chain_der()[0])
        );

        let si = sd.signer_infos.0.get(0).unwrap();
        let attrs = si.signed_attrs.as_ref().unwrap();
        let oids: Vec<_> = attrs.iter().map(|a| a.oid).collect();
        for oid in [
            const_oid::db::rfc5911::ID_CONTENT_TYPE,
            const_oid::db::rfc5911::ID_MESSAGE_DIGEST,
            const_oid::db::rfc5911::ID_SIGNING_TIME,
            ID_AA_SIGNING_CERTIFICATE_V2,
        ] {
            assert!(oids.contains(&oid), "missing signed attribute {oid}");
        }
        let scv2 = attrs
            .iter()
            .find(|a| a.oid == ID_AA_SIGNING_CERTIFICATE_V2)
            .unwrap();
        let scv2: SigningCertificateV2 = scv2.values.get(0).unwrap().decode_as().unwrap();
        assert_eq!(
            scv2.certs[0].cert_hash.as_bytes(),
            &Sha256::digest(&tsa.chain_der()[0])[..]
        );

        // Without certReq no certificates are embedded, and no nonce is invented.
        let (tst, sd) = parse(
            &tsa.timestamp(&request(&[0; 32], ID_SHA_256, None, false))
                .unwrap(),
        );
        assert!(sd.certificates.is_none());
        assert!(tst.nonce.is_none());
    }

    #[test]
    fn leaf_has_critical_timestamping_eku_and_chains_to_root() {
        let tsa = TimestampAuthority::generate(SystemTime::now());
        let chain = tsa.chain_der();
        let leaf = Certificate::from_der(&chain[0]).unwrap();
        let root = Certificate::from_der(&chain[1]).unwrap();
        assert_eq!(leaf.tbs_certificate.issuer, root.tbs_certificate.subject);
        let eku = leaf
            .tbs_certificate
            .extensions
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE)
            .unwrap();
        assert!(eku.critical);
        let eku = ExtendedKeyUsage::from_der(eku.extn_value.as_bytes()).unwrap();
        assert_eq!(eku.0, vec![ID_KP_TIME_STAMPING]);
        assert!(
            tsa.chain_pem()
                .matches("-----BEGIN CERTIFICATE-----")
                .count()
                == 2
        );
    }

    #[test]
    fn bad_requests_are_refused() {
        let tsa = TimestampAuthority::generate(SystemTime::now());
        assert!(matches!(
            tsa.timestamp(b"not der"),
            Err(TsaError::Malformed(_))
        ));
        assert!(matches!(
            tsa.timestamp(&request(
                &[0; 20],
                const_oid::db::rfc5912::ID_SHA_1,
                None,
                true
            )),
            Err(TsaError::UnsupportedHash(_))
        ));
        assert!(matches!(
            tsa.timestamp(&request(&[0; 31], ID_SHA_256, None, true)),
            Err(TsaError::DigestLength {
                expected: 32,
                actual: 31
            })
        ));
    }

    #[tokio::test]
    async fn http_status_codes_and_certchain() {
        let tsa = Arc::new(TimestampAuthority::generate(SystemTime::now()));
        let url = serve(tsa.clone()).await;
        let client = reqwest::Client::new();
        let query = "application/timestamp-query";
        let bad = client
            .post(&url)
            .header("content-type", query)
            .body("garbage")
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        // The type decides first, as timestamp-authority's handler does.
        let der = request(&[1; 32], ID_SHA_256, Some(1), true);
        for (content_type, status) in [
            (None, 415),
            (Some("text/plain"), 415),
            (Some("application/octet-stream"), 400),
        ] {
            let mut req = client.post(&url).body(der.clone());
            if let Some(t) = content_type {
                req = req.header("content-type", t);
            }
            assert_eq!(
                req.send().await.unwrap().status(),
                status,
                "{content_type:?}"
            );
        }
        let good = client
            .post(&url)
            .header("content-type", "application/timestamp-query")
            .body(request(&[1; 32], ID_SHA_256, Some(1), true))
            .send()
            .await
            .unwrap();
        assert_eq!(good.status(), 200);
        assert_eq!(
            good.headers()["content-type"],
            "application/timestamp-reply"
        );
        parse(&good.bytes().await.unwrap());
        let pem = client.get(format!("{url}/certchain")).send().await.unwrap();
        assert_eq!(pem.status(), 200);
        assert_eq!(pem.text().await.unwrap(), tsa.chain_pem());
    }
}
