//! RFC 3161 timestamps checked as sigstore-tsa 0.15.1 checks them, with each
//! timestamp authority's certificate chain verified once per run instead of
//! once per token: the short path of [`super::cache`].
//!
//! Why re-implement: sigstore-tsa's one public entry point,
//! `verify_timestamp_for_authority`, re-parses the authority's certificates
//! and re-verifies its chain (webpki, one more ECDSA verification) for every
//! token, and a release's tokens all come from the same authority: one of the
//! five signature verifications of each bundle. The chain's verdict depends on
//! the token only through its signed time, so [`Authorities::verify`] checks
//! the chain once, at the first token's time, and after that only that the
//! time lies where the same chain is valid: within the leaf's and every
//! listed intermediate's validity (webpki checks those and not the anchor's;
//! everything else it checks does not depend on the time).
//!
//! Every other check is sigstore-tsa's, per token and in full:
//! - the token is a DER `TimeStampResp` granted (with or without
//!   modifications) carrying a token, or a bare `ContentInfo`; a CMS
//!   SignedData encapsulating a TSTInfo;
//! - the TSTInfo's message imprint is the SHA-256, -384 or -512 of the
//!   bundle's signature, and its time is not before 1970;
//! - the first SignerInfo names the authority's own leaf (issuer and serial
//!   number, or subject key identifier); its signed attributes carry one
//!   message-digest that is the hash of the TSTInfo under the SignerInfo's
//!   digest algorithm, and its signature over them (re-encoded as a SET OF)
//!   verifies with the leaf's P-256 or P-384 key;
//! - the leaf chains to the authority's root through the authority's
//!   intermediates, with the time-stamping EKU, at the signed time;
//! - the signed time lies in the authority's `validFor`, and the authority
//!   has started by now (sigstore-trust-root lists no other);
//! - authorities are tried in the trusted root's order; any one will do.
//!
//! The TSTInfo is decoded with x509-tsp, sigstore-tsa with its own types.
//! They agree except on `accuracy`'s milliseconds and microseconds, which
//! RFC 3161 tags implicitly, as x509-tsp reads them, and sigstore-tsa reads
//! as explicit: a token with either is left to the full verification.
//!
//! Only accepts matter: `None` sends the bundle to sigstore-verify's full
//! verification, which decides and words the refusal. `tests/cert_cache.rs`
//! compares the verdicts. Owns this check; must not print or cache anything
//! but the chains' windows.

use std::sync::OnceLock;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use const_oid::db::rfc5280::{ID_CE_SUBJECT_KEY_IDENTIFIER, ID_KP_TIME_STAMPING};
use const_oid::db::rfc5911::ID_SIGNED_DATA;
use const_oid::db::rfc5912::{ID_SHA_256, ID_SHA_384, ID_SHA_512};
use const_oid::db::rfc6268::ID_MESSAGE_DIGEST;
use const_oid::ObjectIdentifier;
use der::asn1::{OctetStringRef, SetOfVec};
use der::{Decode as _, Encode as _};
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use sigstore_crypto::KeyAlgorithm;
use sigstore_trust_root::TrustedRoot;
use sigstore_types::{DerPublicKey, HashAlgorithm, SignatureBytes, TimeRange};
use x509_cert::Certificate;

/// id-ct-TSTInfo (RFC 3161; const-oid's database does not have it): what a
/// timestamp token's SignedData must encapsulate, here and in sign's check
/// of a TSA's answer.
pub(crate) const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// The trusted root's timestamp authorities, parsed once.
pub(crate) struct Authorities {
    each: Vec<Authority>,
}

/// One authority: its leaf parsed, its chain, its window, and where the
/// chain is known to verify.
struct Authority {
    leaf: Certificate,
    leaf_der: CertificateDer<'static>,
    key: DerPublicKey,
    algorithm: KeyAlgorithm,
    intermediates: Vec<CertificateDer<'static>>,
    anchor: TrustAnchor<'static>,
    valid_for: Option<TimeRange>,
    /// Seconds since 1970 (inclusive) within which the leaf and every
    /// intermediate are valid; set once the chain verified at one such time.
    chain_window: OnceLock<(u64, u64)>,
    /// Where leaf and intermediates are all valid, if anywhere.
    validity: Option<(u64, u64)>,
}

impl Authorities {
    /// The authorities sigstore-trust-root lists for `root` (each one's
    /// certificates: leaf, intermediates, root). One whose certificates do not
    /// parse is left out: sigstore-tsa could not verify with it either.
    pub(crate) fn new(root: &TrustedRoot) -> Authorities {
        let each = root
            .timestamp_authorities
            .iter()
            .filter_map(|tsa| {
                let (leaf, intermediates, root) = match tsa.cert_chain.certificates.as_slice() {
                    [] => return None,
                    [root] => (root, &[][..], root),
                    [leaf, intermediates @ .., root] => (leaf, intermediates, root),
                };
                Authority::new(
                    leaf.raw_bytes.as_bytes(),
                    intermediates.iter().map(|c| c.raw_bytes.as_bytes()),
                    root.raw_bytes.as_bytes(),
                    tsa.valid_for,
                )
            })
            .collect();
        Authorities { each }
    }

    /// Whether one of these authorities' leaves is the signer `token`
    /// names (not whether it verifies); `None` if the token does not parse.
    pub(crate) fn lists_signer_of(&self, token: &[u8]) -> Option<bool> {
        let token = Token::parse(token)?;
        let signer = token.signed_data.signer_infos.0.get(0)?;
        Some(self.each.iter().any(|a| a.is_signer(&signer.sid)))
    }

    /// The signed time of `token` over `signature`, when some authority
    /// vouches for it as sigstore-tsa would; `None` otherwise.
    pub(crate) fn verify(
        &self,
        token: &[u8],
        signature: &SignatureBytes,
    ) -> Option<jiff::Timestamp> {
        let token = Token::parse(token)?;
        let time = token.checked_time(signature.as_bytes())?;
        let now = jiff::Timestamp::now();
        self.each
            .iter()
            .any(|a| a.usable(time, now) && a.signed(&token) && a.chain_valid_at(time))
            .then_some(time)
    }
}

impl Authority {
    fn new<'a>(
        leaf: &[u8],
        intermediates: impl Iterator<Item = &'a [u8]>,
        root: &[u8],
        valid_for: Option<TimeRange>,
    ) -> Option<Authority> {
        let intermediates: Vec<CertificateDer<'static>> = intermediates
            .map(|der| CertificateDer::from(der.to_vec()))
            .collect();
        let parsed = Certificate::from_der(leaf).ok()?;
        let mut validity = Some(window_of(&parsed)?);
        for der in &intermediates {
            let (start, end) = window_of(&Certificate::from_der(der).ok()?)?;
            validity = validity.and_then(|(s, e)| {
                (s.max(start) <= e.min(end)).then(|| (s.max(start), e.min(end)))
            });
        }
        let key = DerPublicKey::new(
            parsed
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .ok()?,
        );
        let algorithm = KeyAlgorithm::from_spki(&key).ok()?;
        let anchor = webpki::anchor_from_trusted_cert(&CertificateDer::from(root))
            .ok()?
            .to_owned();
        Some(Authority {
            leaf: parsed,
            leaf_der: CertificateDer::from(leaf.to_vec()),
            key,
            algorithm,
            intermediates,
            anchor,
            valid_for,
            chain_window: OnceLock::new(),
            validity,
        })
    }

    /// Listed by sigstore-trust-root now, and its window holds `time`.
    fn usable(&self, time: jiff::Timestamp, now: jiff::Timestamp) -> bool {
        self.valid_for
            .is_none_or(|w| w.has_started_by(now) && w.contains(time))
    }

    /// The token's signer is this authority's leaf, and the leaf's key signed
    /// the token's attributes, which hold the TSTInfo's digest.
    fn signed(&self, token: &Token) -> bool {
        let Some(signer) = token.signed_data.signer_infos.0.get(0) else {
            return false;
        };
        if !self.is_signer(&signer.sid) {
            return false;
        }
        let Some(attributes) = &signer.signed_attrs else {
            return false;
        };
        let digest_algorithm = &signer.digest_alg.oid;
        let Some(tst_digest) = hash(digest_algorithm, token.tst_info_der()) else {
            return false;
        };
        if message_digest(attributes).as_deref() != Some(tst_digest.as_slice()) {
            return false;
        }
        let Ok(set) = SetOfVec::try_from(attributes.iter().cloned().collect::<Vec<_>>()) else {
            return false;
        };
        let Ok(signed_bytes) = set.to_der() else {
            return false;
        };
        if !matches!(
            self.algorithm,
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384
        ) {
            return false;
        }
        let Some(hash_algorithm) = hash_algorithm(digest_algorithm) else {
            return false;
        };
        let Ok(scheme) = self.algorithm.resolve_signing_scheme(hash_algorithm) else {
            return false;
        };
        sigstore_crypto::verify_signature(
            &self.key,
            &signed_bytes,
            &SignatureBytes::from_bytes(signer.signature.as_bytes()),
            scheme,
        )
        .is_ok()
    }

    /// Whether the SignerInfo's identifier names this authority's leaf.
    fn is_signer(&self, sid: &SignerIdentifier) -> bool {
        let tbs = &self.leaf.tbs_certificate;
        match sid {
            SignerIdentifier::IssuerAndSerialNumber(id) => {
                tbs.issuer == id.issuer && tbs.serial_number == id.serial_number
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                tbs.extensions.iter().flatten().any(|ext| {
                    ext.extn_id == ID_CE_SUBJECT_KEY_IDENTIFIER
                        && x509_cert::ext::pkix::SubjectKeyIdentifier::from_der(
                            ext.extn_value.as_bytes(),
                        )
                        .is_ok_and(|own| &own == ski)
                })
            }
        }
    }

    /// The leaf chains to the root with the time-stamping EKU at `time`:
    /// verified with webpki the first time, then known for the window where
    /// every certificate webpki dates is valid.
    fn chain_valid_at(&self, time: jiff::Timestamp) -> bool {
        let Ok(secs) = u64::try_from(time.as_second()) else {
            return false;
        };
        if let Some(&(start, end)) = self.chain_window.get() {
            if (start..=end).contains(&secs) {
                return true;
            }
        }
        if !self.webpki_accepts(secs) {
            return false;
        }
        if let Some(window) = self.validity {
            let _ = self.chain_window.set(window);
        }
        true
    }

    fn webpki_accepts(&self, secs: u64) -> bool {
        let Ok(leaf) = webpki::EndEntityCert::try_from(&self.leaf_der) else {
            return false;
        };
        leaf.verify_for_usage(
            sigstore_crypto::WEBPKI_VERIFICATION_ALGS,
            std::slice::from_ref(&self.anchor),
            &self.intermediates,
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs)),
            webpki::KeyUsage::required(ID_KP_TIME_STAMPING.as_bytes()),
            None,
            None,
        )
        .is_ok()
    }
}

/// The time an RFC 3161 token says it was made (`genTime`), if it parses:
/// what a verifier will check against the certificate's validity. Not a
/// verification: sign asks it of a token it then verifies in full.
pub(crate) fn gen_time(token: &[u8]) -> Option<jiff::Timestamp> {
    let token = Token::parse(token)?;
    jiff::Timestamp::try_from(token.tst_info.gen_time.to_system_time()).ok()
}

/// Whether `bytes` is a `TimeStampResp`, as a bundle's `signedTimestamp`
/// must be (protobuf-specs): sigstore-python refuses anything else
/// ("Invalid Timestamp Response"), sigstore-go finds no timestamp in it.
/// sigstore-tsa, and [`Token::parse`] after it, also read a bare
/// `ContentInfo`, which no authority answers and no peer accepts. Its
/// status is the verification's to judge, as for any response.
pub(crate) fn is_response(bytes: &[u8]) -> bool {
    x509_tsp::TimeStampResp::from_der(bytes).is_ok()
}

/// A token's SignedData and the TSTInfo it encapsulates.
struct Token {
    signed_data: SignedData,
    tst_info: x509_tsp::TstInfo,
}

impl Token {
    /// Parse `bytes` as sigstore-tsa does: a granted `TimeStampResp`, else a
    /// bare `ContentInfo`.
    fn parse(bytes: &[u8]) -> Option<Token> {
        use cmpv2::status::PkiStatus;
        let content_info = match x509_tsp::TimeStampResp::from_der(bytes) {
            Ok(response) => {
                if !matches!(
                    response.status.status,
                    PkiStatus::Accepted | PkiStatus::GrantedWithMods
                ) {
                    return None;
                }
                response.time_stamp_token?
            }
            Err(_) => ContentInfo::from_der(bytes).ok()?,
        };
        if content_info.content_type != ID_SIGNED_DATA {
            return None;
        }
        let signed_data = content_info.content.decode_as::<SignedData>().ok()?;
        if signed_data.encap_content_info.econtent_type != ID_CT_TST_INFO {
            return None;
        }
        let econtent = signed_data.encap_content_info.econtent.as_ref()?;
        let tst_info = x509_tsp::TstInfo::from_der(econtent.value()).ok()?;
        if tst_info
            .accuracy
            .as_ref()
            .is_some_and(|a| a.millis.is_some() || a.micros.is_some())
        {
            return None;
        }
        Some(Token {
            signed_data,
            tst_info,
        })
    }

    /// The TSTInfo's DER, as the message-digest attribute hashes it (present:
    /// [`Token::parse`] decoded it).
    fn tst_info_der(&self) -> &[u8] {
        self.signed_data
            .encap_content_info
            .econtent
            .as_ref()
            .map_or(&[][..], |e| e.value())
    }

    /// The signed time, when the imprint is the hash of `signature` and the
    /// time is representable as webpki needs it.
    fn checked_time(&self, signature: &[u8]) -> Option<jiff::Timestamp> {
        let imprint = &self.tst_info.message_imprint;
        if hash(&imprint.hash_algorithm.oid, signature)?.as_slice()
            != imprint.hashed_message.as_bytes()
        {
            return None;
        }
        let time = jiff::Timestamp::try_from(self.tst_info.gen_time.to_system_time()).ok()?;
        (time >= jiff::Timestamp::UNIX_EPOCH).then_some(time)
    }
}

/// The one message-digest value among `attributes`, as sigstore-tsa finds it
/// (the first attribute of that type, which must hold exactly one value).
fn message_digest(attributes: &x509_cert::attr::Attributes) -> Option<Vec<u8>> {
    let attribute = attributes.iter().find(|a| a.oid == ID_MESSAGE_DIGEST)?;
    if attribute.values.len() != 1 {
        return None;
    }
    let der = attribute.values.get(0)?.to_der().ok()?;
    Some(OctetStringRef::from_der(&der).ok()?.as_bytes().to_vec())
}

fn hash(algorithm: &ObjectIdentifier, data: &[u8]) -> Option<Vec<u8>> {
    Some(match hash_algorithm(algorithm)? {
        HashAlgorithm::Sha2256 => sigstore_crypto::sha256(data).as_bytes().to_vec(),
        HashAlgorithm::Sha2384 => sigstore_crypto::sha384(data).as_bytes().to_vec(),
        HashAlgorithm::Sha2512 => sigstore_crypto::sha512(data).as_bytes().to_vec(),
        _ => return None,
    })
}

fn hash_algorithm(oid: &ObjectIdentifier) -> Option<HashAlgorithm> {
    match *oid {
        ID_SHA_256 => Some(HashAlgorithm::Sha2256),
        ID_SHA_384 => Some(HashAlgorithm::Sha2384),
        ID_SHA_512 => Some(HashAlgorithm::Sha2512),
        _ => None,
    }
}

/// A certificate's validity in whole seconds since 1970, as webpki reads it.
fn window_of(cert: &Certificate) -> Option<(u64, u64)> {
    let validity = &cert.tbs_certificate.validity;
    Some((
        validity.not_before.to_unix_duration().as_secs(),
        validity.not_after.to_unix_duration().as_secs(),
    ))
}
