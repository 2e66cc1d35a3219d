//! The sandbox certificate authority behind Fulcio, and its Certificate Transparency log.
//!
//! Owns the P-256 root and intermediate, the CT log key, and leaf issuance following
//! Fulcio: an RFC 6962 precertificate (with the poison extension) is "submitted" to the
//! CT log, whose SCT over the precertificate entry is then embedded in the final leaf.
//! It knows nothing about HTTP, OIDC or which extensions a leaf carries (`fulcio.rs`
//! decides those); it must not touch fault injection or trust files.
//!
//! Certificates are assembled as `TbsCertificate` values rather than through
//! `x509_cert::builder`, because the precertificate and the final certificate must
//! share every byte except the poison/SCT extension, and the builder re-derives
//! extensions and serials on each build.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use const_oid::db::rfc5280::{ID_CE_KEY_USAGE, ID_CE_SUBJECT_ALT_NAME};
use const_oid::db::rfc5912::{
    ECDSA_WITH_SHA_256, ID_CE_AUTHORITY_KEY_IDENTIFIER, ID_CE_BASIC_CONSTRAINTS,
    ID_CE_EXT_KEY_USAGE, ID_CE_SUBJECT_KEY_IDENTIFIER, ID_KP_CODE_SIGNING,
};
use const_oid::db::rfc6962::{CT_PRECERT_POISON, CT_PRECERT_SCTS};
use der::asn1::{BitString, GeneralizedTime, Ia5String, Null, OctetString, UtcTime};
use der::{Decode, Encode};
use p256::ecdsa::{signature::Signer as _, DerSignature, SigningKey};
use p256::pkcs8::EncodePublicKey as _;
use sha2::{Digest as _, Sha256};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::sct::{
    DigitallySigned, HashAlgorithm, LogId, SerializedSct, SignatureAlgorithm,
    SignatureAndHashAlgorithm, SignedCertificateTimestamp, SignedCertificateTimestampList,
    Version as SctVersion,
};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate, Version};

use crate::keys::LogKey;

/// Validity of the root and intermediate.
const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Why a leaf could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("subject public key is not a DER SubjectPublicKeyInfo: {0}")]
    PublicKey(der::Error),
    #[error("subject alternative name is not IA5 text: {0}")]
    San(der::Error),
    #[error("certificate encoding failed: {0}")]
    Encoding(#[from] der::Error),
    #[error("SCT encoding failed: {0}")]
    Sct(String),
    #[error("time is outside what X.509 can express")]
    Time,
}

/// The subject alternative name of a leaf (Fulcio leaves have an empty subject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum San {
    Uri(String),
    Email(String),
}

impl San {
    /// URI for anything with a scheme (workflow identities), email otherwise.
    pub fn from_identity(identity: &str) -> Self {
        if identity.contains("://") || !identity.contains('@') {
            San::Uri(identity.to_string())
        } else {
            San::Email(identity.to_string())
        }
    }
}

/// What a leaf certifies.
#[derive(Debug, Clone)]
pub struct LeafRequest<'a> {
    /// DER SubjectPublicKeyInfo of the signer's key.
    pub public_key_der: &'a [u8],
    pub san: San,
    /// Further extensions (Fulcio's OIDC extensions), appended after the standard ones.
    pub extensions: Vec<Extension>,
    pub not_before: SystemTime,
    pub validity: Duration,
    /// Embed one SCT (Sigstore's Fulcio); `false` for an instance without a
    /// CT log (GitHub's Fulcio issues leaves with none).
    pub embed_sct: bool,
}

/// Root, intermediate and CT log of the sandbox Fulcio.
pub struct CertificateAuthority {
    root_der: Vec<u8>,
    intermediate: Certificate,
    intermediate_der: Vec<u8>,
    intermediate_key: SigningKey,
    ct: LogKey,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("ct", &self.ct)
            .finish_non_exhaustive()
    }
}

impl CertificateAuthority {
    /// Root + intermediate valid from `valid_from` for ten years, and a CT log key.
    pub fn generate(valid_from: SystemTime) -> Self {
        Self::try_generate(valid_from).expect("CA certificates encode")
    }

    fn try_generate(valid_from: SystemTime) -> Result<Self, CaError> {
        let root_key = SigningKey::random(&mut rand::rngs::OsRng);
        let intermediate_key = SigningKey::random(&mut rand::rngs::OsRng);
        let root_spki = spki_of(&root_key)?;
        let intermediate_spki = spki_of(&intermediate_key)?;
        let root_name: Name = "CN=sandbox-fulcio,O=releasekit-sandbox".parse()?;
        let intermediate_name: Name =
            "CN=sandbox-fulcio-intermediate,O=releasekit-sandbox".parse()?;
        let validity = validity(valid_from, CA_VALIDITY)?;
        let ca_usage = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);

        let root_ski = key_identifier(&root_spki);
        let root = sign(
            TbsCertificate {
                version: Version::V3,
                serial_number: random_serial()?,
                signature: ecdsa_sha256(),
                issuer: root_name.clone(),
                validity,
                subject: root_name.clone(),
                subject_public_key_info: root_spki,
                issuer_unique_id: None,
                subject_unique_id: None,
                extensions: Some(vec![
                    ext(
                        ID_CE_BASIC_CONSTRAINTS,
                        true,
                        &BasicConstraints {
                            ca: true,
                            path_len_constraint: Some(1),
                        },
                    )?,
                    ext(ID_CE_KEY_USAGE, true, &ca_usage)?,
                    ext(
                        ID_CE_SUBJECT_KEY_IDENTIFIER,
                        false,
                        &SubjectKeyIdentifier(root_ski.clone()),
                    )?,
                ]),
            },
            &root_key,
        )?;

        let intermediate = sign(
            TbsCertificate {
                version: Version::V3,
                serial_number: random_serial()?,
                signature: ecdsa_sha256(),
                issuer: root_name,
                validity,
                subject: intermediate_name,
                subject_public_key_info: intermediate_spki.clone(),
                issuer_unique_id: None,
                subject_unique_id: None,
                extensions: Some(vec![
                    ext(
                        ID_CE_BASIC_CONSTRAINTS,
                        true,
                        &BasicConstraints {
                            ca: true,
                            path_len_constraint: Some(0),
                        },
                    )?,
                    ext(ID_CE_KEY_USAGE, true, &ca_usage)?,
                    // Fulcio's intermediate restricts itself to code signing too.
                    ext(
                        ID_CE_EXT_KEY_USAGE,
                        false,
                        &ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING]),
                    )?,
                    ext(
                        ID_CE_SUBJECT_KEY_IDENTIFIER,
                        false,
                        &SubjectKeyIdentifier(key_identifier(&intermediate_spki)),
                    )?,
                    ext(
                        ID_CE_AUTHORITY_KEY_IDENTIFIER,
                        false,
                        &AuthorityKeyIdentifier {
                            key_identifier: Some(root_ski),
                            authority_cert_issuer: None,
                            authority_cert_serial_number: None,
                        },
                    )?,
                ]),
            },
            &root_key,
        )?;

        Ok(Self {
            root_der: root.to_der()?,
            intermediate_der: intermediate.to_der()?,
            intermediate,
            intermediate_key,
            ct: LogKey::generate(),
        })
    }

    /// `[intermediate, root]` DER, leaf-most first (as trusted roots list them).
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        vec![self.intermediate_der.clone(), self.root_der.clone()]
    }

    /// The intermediate's DER SubjectPublicKeyInfo (what the SCT's issuer_key_hash covers).
    pub fn issuer_spki_der(&self) -> Vec<u8> {
        self.intermediate
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .expect("decoded SPKI re-encodes")
    }

    /// The CT log key whose SCTs are embedded in leaves.
    pub fn ct_log_key(&self) -> &LogKey {
        &self.ct
    }

    /// Issue a leaf the way Fulcio does; returns its DER.
    pub fn issue_leaf(&self, req: &LeafRequest<'_>) -> Result<Vec<u8>, CaError> {
        let spki =
            SubjectPublicKeyInfoOwned::from_der(req.public_key_der).map_err(CaError::PublicKey)?;
        let san = match &req.san {
            San::Uri(u) => {
                GeneralName::UniformResourceIdentifier(Ia5String::new(u).map_err(CaError::San)?)
            }
            San::Email(e) => GeneralName::Rfc822Name(Ia5String::new(e).map_err(CaError::San)?),
        };
        let intermediate_tbs = &self.intermediate.tbs_certificate;
        let mut extensions = vec![
            ext(
                ID_CE_KEY_USAGE,
                true,
                &KeyUsage(KeyUsages::DigitalSignature.into()),
            )?,
            ext(
                ID_CE_EXT_KEY_USAGE,
                false,
                &ExtendedKeyUsage(vec![ID_KP_CODE_SIGNING]),
            )?,
            ext(
                ID_CE_SUBJECT_KEY_IDENTIFIER,
                false,
                &SubjectKeyIdentifier(key_identifier(&spki)),
            )?,
            ext(
                ID_CE_AUTHORITY_KEY_IDENTIFIER,
                false,
                &AuthorityKeyIdentifier {
                    key_identifier: Some(key_identifier(&intermediate_tbs.subject_public_key_info)),
                    authority_cert_issuer: None,
                    authority_cert_serial_number: None,
                },
            )?,
            // Critical because the subject is empty (RFC 5280 §4.2.1.6).
            ext(ID_CE_SUBJECT_ALT_NAME, true, &SubjectAltName(vec![san]))?,
        ];
        extensions.extend(req.extensions.iter().cloned());

        // The precertificate: the final TBS with the poison extension in the place the
        // SCT list will take.
        let mut tbs = TbsCertificate {
            version: Version::V3,
            serial_number: random_serial()?,
            signature: ecdsa_sha256(),
            issuer: intermediate_tbs.subject.clone(),
            validity: validity(req.not_before, req.validity)?,
            subject: Name::default(),
            subject_public_key_info: spki,
            issuer_unique_id: None,
            subject_unique_id: None,
            extensions: Some(extensions.clone()),
        };
        let mut precert_exts = extensions.clone();
        precert_exts.push(Extension {
            extn_id: CT_PRECERT_POISON,
            critical: true,
            extn_value: OctetString::new(Null.to_der()?)?,
        });
        if !req.embed_sct {
            return Ok(sign(tbs, &self.intermediate_key)?.to_der()?);
        }
        tbs.extensions = Some(precert_exts);
        let precert = sign(tbs.clone(), &self.intermediate_key)?;

        let sct = self.ct_sign_precert(&precert)?;
        let list = SignedCertificateTimestampList::new(&[
            SerializedSct::new(sct).map_err(|e| CaError::Sct(e.to_string()))?
        ])
        .map_err(|e| CaError::Sct(format!("{e:?}")))?;
        extensions.push(Extension {
            extn_id: CT_PRECERT_SCTS,
            critical: false,
            extn_value: OctetString::new(list.to_der()?)?,
        });
        tbs.extensions = Some(extensions);
        Ok(sign(tbs, &self.intermediate_key)?.to_der()?)
    }

    /// What the CT log does on `add-pre-chain`: strip the poison, and sign the
    /// RFC 6962 §3.2 `digitally-signed` structure over the precert entry.
    fn ct_sign_precert(
        &self,
        precert: &Certificate,
    ) -> Result<SignedCertificateTimestamp, CaError> {
        let mut tbs = precert.tbs_certificate.clone();
        tbs.extensions = tbs.extensions.map(|exts| {
            exts.into_iter()
                .filter(|e| e.extn_id != CT_PRECERT_POISON)
                .collect()
        });
        let tbs_der = tbs.to_der()?;
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| CaError::Time)?
            .as_millis() as u64;
        let issuer_key_hash: [u8; 32] = Sha256::digest(self.issuer_spki_der()).into();
        let signed = precert_signed_data(timestamp, &issuer_key_hash, &tbs_der)?;
        Ok(SignedCertificateTimestamp {
            version: SctVersion::V1,
            log_id: LogId {
                key_id: self.ct.key_id(),
            },
            timestamp,
            extensions: Vec::<u8>::new().into(),
            signature: DigitallySigned {
                algorithm: SignatureAndHashAlgorithm {
                    hash: HashAlgorithm::Sha256,
                    signature: SignatureAlgorithm::Ecdsa,
                },
                signature: self.ct.sign(&signed).into(),
            },
        })
    }
}

/// RFC 6962 §3.2 `digitally-signed` input for a precert entry with no SCT extensions:
/// version(1) | signature_type(1) | timestamp(8) | entry_type(2) | issuer_key_hash(32)
/// | tbs length(3) | tbs | extensions length(2).
pub fn precert_signed_data(
    timestamp_ms: u64,
    issuer_key_hash: &[u8; 32],
    tbs_der: &[u8],
) -> Result<Vec<u8>, CaError> {
    let len = u32::try_from(tbs_der.len())
        .ok()
        .filter(|l| *l < 1 << 24)
        .ok_or_else(|| CaError::Sct("TBS longer than 2^24 bytes".into()))?;
    let mut out = Vec::with_capacity(tbs_der.len() + 50);
    out.push(0); // v1
    out.push(0); // certificate_timestamp
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
    out.extend_from_slice(issuer_key_hash);
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(tbs_der);
    out.extend_from_slice(&0u16.to_be_bytes());
    Ok(out)
}

fn ecdsa_sha256() -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ECDSA_WITH_SHA_256,
        parameters: None,
    }
}

fn sign(tbs: TbsCertificate, key: &SigningKey) -> Result<Certificate, CaError> {
    let sig: DerSignature = key.sign(&tbs.to_der()?);
    Ok(Certificate {
        tbs_certificate: tbs,
        signature_algorithm: ecdsa_sha256(),
        signature: BitString::from_bytes(sig.as_bytes())?,
    })
}

fn ext<T: Encode>(
    oid: const_oid::ObjectIdentifier,
    critical: bool,
    value: &T,
) -> Result<Extension, CaError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn spki_of(key: &SigningKey) -> Result<SubjectPublicKeyInfoOwned, CaError> {
    let der = key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| CaError::Sct(e.to_string()))?;
    Ok(SubjectPublicKeyInfoOwned::from_der(der.as_bytes())?)
}

/// RFC 5280 §4.2.1.2 method 1 (SHA-1 of the subjectPublicKey bits), as Go's x509 and
/// therefore Fulcio compute it.
fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> OctetString {
    use sha1::Digest as _;
    let digest = sha1::Sha1::digest(spki.subject_public_key.raw_bytes());
    OctetString::new(digest.to_vec()).expect("20 bytes fit an OCTET STRING")
}

/// A positive serial of 16 random bytes without a leading zero byte.
fn random_serial() -> Result<SerialNumber, CaError> {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b[0] = (b[0] & 0x7f) | 0x40;
    Ok(SerialNumber::new(&b)?)
}

fn validity(not_before: SystemTime, lifetime: Duration) -> Result<Validity, CaError> {
    let not_after = not_before.checked_add(lifetime).ok_or(CaError::Time)?;
    Ok(Validity {
        not_before: x509_time(not_before)?,
        not_after: x509_time(not_after)?,
    })
}

/// UTCTime through 2049 and GeneralizedTime after, as RFC 5280 §4.1.2.5 requires
/// (strict verifiers such as `cryptography` reject anything else).
fn x509_time(t: SystemTime) -> Result<Time, CaError> {
    const Y2050: u64 = 2_524_608_000;
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| CaError::Time)?
        .as_secs();
    let t = UNIX_EPOCH + Duration::from_secs(secs);
    if secs < Y2050 {
        Ok(Time::UtcTime(
            UtcTime::from_system_time(t).map_err(|_| CaError::Time)?,
        ))
    } else {
        Ok(Time::GeneralTime(
            GeneralizedTime::from_system_time(t).map_err(|_| CaError::Time)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier as _;
    use p256::ecdsa::VerifyingKey;
    use p256::pkcs8::DecodePublicKey as _;

    fn verify_signed_by(cert: &Certificate, issuer: &Certificate) {
        assert_eq!(cert.tbs_certificate.issuer, issuer.tbs_certificate.subject);
        let spki = issuer
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap();
        let key = VerifyingKey::from_public_key_der(&spki).unwrap();
        let sig = DerSignature::try_from(cert.signature.raw_bytes()).unwrap();
        key.verify(&cert.tbs_certificate.to_der().unwrap(), &sig)
            .expect("certificate signature verifies under the issuer key");
    }

    fn find(cert: &Certificate, oid: const_oid::ObjectIdentifier) -> Vec<&Extension> {
        let exts = cert.tbs_certificate.extensions.as_deref().unwrap_or(&[]);
        exts.iter().filter(|e| e.extn_id == oid).collect()
    }

    fn issue(ca: &CertificateAuthority, san: San) -> (Certificate, SigningKey) {
        let key = SigningKey::random(&mut rand::rngs::OsRng);
        let spki = key.verifying_key().to_public_key_der().unwrap();
        let der = ca
            .issue_leaf(&LeafRequest {
                public_key_der: spki.as_bytes(),
                san,
                extensions: vec![Extension {
                    extn_id: const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1"),
                    critical: false,
                    extn_value: OctetString::new(b"https://issuer.example".to_vec()).unwrap(),
                }],
                not_before: SystemTime::now(),
                validity: Duration::from_secs(600),
                embed_sct: true,
            })
            .unwrap();
        (Certificate::from_der(&der).unwrap(), key)
    }

    #[test]
    fn chain_is_intermediate_then_self_signed_root() {
        let ca = CertificateAuthority::generate(SystemTime::now());
        let chain = ca.chain_der();
        assert_eq!(chain.len(), 2);
        let intermediate = Certificate::from_der(&chain[0]).unwrap();
        let root = Certificate::from_der(&chain[1]).unwrap();
        verify_signed_by(&root, &root);
        verify_signed_by(&intermediate, &root);
        for (cert, pathlen) in [(&root, 1), (&intermediate, 0)] {
            let bc = find(cert, ID_CE_BASIC_CONSTRAINTS);
            assert!(bc[0].critical);
            let bc = BasicConstraints::from_der(bc[0].extn_value.as_bytes()).unwrap();
            assert!(bc.ca);
            assert_eq!(bc.path_len_constraint, Some(pathlen));
            let ku =
                KeyUsage::from_der(find(cert, ID_CE_KEY_USAGE)[0].extn_value.as_bytes()).unwrap();
            assert!(ku.key_cert_sign());
            assert!(matches!(
                cert.tbs_certificate.validity.not_before,
                Time::UtcTime(_)
            ));
        }
    }

    #[test]
    fn leaf_is_a_fulcio_style_code_signing_certificate() {
        let ca = CertificateAuthority::generate(SystemTime::now());
        let (leaf, key) = issue(
            &ca,
            San::Uri("https://github.com/o/r/.github/workflows/w.yml@refs/tags/v1".into()),
        );
        let intermediate = Certificate::from_der(&ca.chain_der()[0]).unwrap();
        verify_signed_by(&leaf, &intermediate);
        let tbs = &leaf.tbs_certificate;
        assert!(tbs.subject.0.is_empty());
        assert_eq!(
            tbs.subject_public_key_info.to_der().unwrap(),
            key.verifying_key().to_public_key_der().unwrap().as_bytes()
        );
        let ku = find(&leaf, ID_CE_KEY_USAGE);
        assert!(ku[0].critical);
        let ku = KeyUsage::from_der(ku[0].extn_value.as_bytes()).unwrap();
        assert!(ku.digital_signature() && !ku.key_cert_sign());
        let eku =
            ExtendedKeyUsage::from_der(find(&leaf, ID_CE_EXT_KEY_USAGE)[0].extn_value.as_bytes())
                .unwrap();
        assert_eq!(eku.0, vec![ID_KP_CODE_SIGNING]);
        let san = find(&leaf, ID_CE_SUBJECT_ALT_NAME);
        assert!(san[0].critical);
        let san = SubjectAltName::from_der(san[0].extn_value.as_bytes()).unwrap();
        assert!(
            matches!(&san.0[..], [GeneralName::UniformResourceIdentifier(u)]
            if u.as_str() == "https://github.com/o/r/.github/workflows/w.yml@refs/tags/v1")
        );
        let aki = AuthorityKeyIdentifier::from_der(
            find(&leaf, ID_CE_AUTHORITY_KEY_IDENTIFIER)[0]
                .extn_value
                .as_bytes(),
        )
        .unwrap();
        let issuer_ski = SubjectKeyIdentifier::from_der(
            find(&intermediate, ID_CE_SUBJECT_KEY_IDENTIFIER)[0]
                .extn_value
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(aki.key_identifier, Some(issuer_ski.0));
        assert_eq!(find(&leaf, ID_CE_SUBJECT_KEY_IDENTIFIER).len(), 1);
        assert_eq!(find(&leaf, CT_PRECERT_POISON).len(), 0);
        let v = &tbs.validity;
        assert_eq!(
            v.not_after.to_unix_duration() - v.not_before.to_unix_duration(),
            Duration::from_secs(600)
        );
    }

    #[test]
    fn email_sans_are_rfc822_names() {
        let ca = CertificateAuthority::generate(SystemTime::now());
        let (leaf, _) = issue(&ca, San::from_identity("dev@example.com"));
        let san =
            SubjectAltName::from_der(find(&leaf, ID_CE_SUBJECT_ALT_NAME)[0].extn_value.as_bytes())
                .unwrap();
        assert!(
            matches!(&san.0[..], [GeneralName::Rfc822Name(e)] if e.as_str() == "dev@example.com")
        );
    }

    /// Rebuild RFC 6962's signed structure the way verifiers do (remove the SCT list
    /// extension from the final TBS) and check the CT log's signature over it.
    #[test]
    fn leaf_embeds_exactly_one_sct_over_the_precert_entry() {
        let ca = CertificateAuthority::generate(SystemTime::now());
        let (leaf, _) = issue(&ca, San::Uri("https://example.com/id".into()));
        let ext = find(&leaf, CT_PRECERT_SCTS);
        assert_eq!(ext.len(), 1);
        assert!(!ext[0].critical);
        let list = SignedCertificateTimestampList::from_der(ext[0].extn_value.as_bytes()).unwrap();
        let scts = list.parse_timestamps().unwrap();
        assert_eq!(scts.len(), 1);
        let sct = scts[0].parse_timestamp().unwrap();
        assert_eq!(sct.log_id.key_id, ca.ct_log_key().key_id());
        assert_eq!(sct.signature.algorithm.hash, HashAlgorithm::Sha256);
        assert_eq!(sct.signature.algorithm.signature, SignatureAlgorithm::Ecdsa);
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(sct.timestamp <= now_ms && now_ms - sct.timestamp < 60_000);

        let mut tbs = leaf.tbs_certificate.clone();
        tbs.extensions = tbs.extensions.map(|e| {
            e.into_iter()
                .filter(|e| e.extn_id != CT_PRECERT_SCTS)
                .collect()
        });
        let tbs_der = tbs.to_der().unwrap();
        let intermediate = Certificate::from_der(&ca.chain_der()[0]).unwrap();
        let issuer_spki = intermediate
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .unwrap();
        let mut signed = vec![0u8, 0u8];
        signed.extend_from_slice(&sct.timestamp.to_be_bytes());
        signed.extend_from_slice(&[0, 1]);
        signed.extend_from_slice(&Sha256::digest(&issuer_spki));
        let n = tbs_der.len();
        signed.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
        signed.extend_from_slice(&tbs_der);
        signed.extend_from_slice(&[0, 0]);

        let ct = VerifyingKey::from_public_key_der(ca.ct_log_key().spki_der()).unwrap();
        let sig = DerSignature::try_from(sct.signature.signature.as_slice()).unwrap();
        ct.verify(&signed, &sig)
            .expect("SCT verifies over the precert entry");

        // A different issuer key hash must not verify.
        let mut wrong = signed.clone();
        wrong[20] ^= 1;
        assert!(ct.verify(&wrong, &sig).is_err());
    }

    #[test]
    fn x509_times_follow_rfc5280() {
        assert!(matches!(
            x509_time(UNIX_EPOCH + Duration::from_secs(2_524_607_999)).unwrap(),
            Time::UtcTime(_)
        ));
        assert!(matches!(
            x509_time(UNIX_EPOCH + Duration::from_secs(2_524_608_000)).unwrap(),
            Time::GeneralTime(_)
        ));
    }
}
