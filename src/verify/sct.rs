//! The signing certificate's embedded SCT (RFC 6962), checked on its own:
//! when Fulcio issues a certificate, before anything is logged with it.
//!
//! Why a re-implementation: sigstore-verify 0.15.1 checks the SCT only
//! inside a whole bundle's verification (its `verify_sct` is in a private
//! module), and a bundle needs a log entry or a timestamp, that is,
//! something already sent to a service. sigstore-python and cosign check a
//! new certificate's SCT before they sign with it; without this check, a
//! Fulcio whose SCTs the trusted root's CT logs do not vouch for (a private
//! instance's CT log missing from its trusted root, a certificate with no
//! SCT) cost one public log entry of the signer's identity before the first
//! bundle's self-verification refused it. The steps and their order are
//! sigstore-verify's (`verify_impl/sct.rs`): exactly one SCT in the
//! certificate's SCT list extension, its signature scheme, the CT log key
//! named by its log ID and valid at its timestamp, over the precertificate
//! (the TBS without that extension) and the issuer's key hash.
//! `tests/cert_cache.rs` holds this verdict to the crate's for a genuine
//! SCT and for one whose log key the trusted root does not hold (another
//! key, or one not valid at the SCT's time); `tests/failures.rs` signs with
//! a certificate that carries none.
//!
//! Owns that check and its error; must not decide whether an instance
//! requires an SCT (that is [`crate::trust::Requirements`]) nor which
//! authority issued the certificate ([`super::cache`] finds it).

use const_oid::db::rfc6962::CT_PRECERT_SCTS;
use sigstore_crypto::{Keyring, SigningScheme};
use sigstore_types::{Sha256Hash, SignatureBytes};
use tls_codec::{SerializeBytes as _, TlsByteVecU16, TlsByteVecU24, TlsSerializeBytes, TlsSize};
use x509_cert::der::{Decode as _, Encode as _};
use x509_cert::ext::pkix::sct::Version;
use x509_cert::ext::pkix::SignedCertificateTimestampList;
use x509_cert::Certificate;

/// The trusted root's CT log keys, one keyring per signature scheme, as
/// sigstore-verify builds them.
pub(crate) type CtKeys = Vec<(SigningScheme, Keyring)>;

/// The schemes an SCT may be signed with (RFC 5246's
/// `SignatureAndHashAlgorithm`, as sigstore-verify maps them).
const SCHEMES: [(u16, SigningScheme); 5] = [
    (0x0403, SigningScheme::EcdsaP256Sha256),
    (0x0503, SigningScheme::EcdsaP384Sha384),
    (0x0401, SigningScheme::RsaPkcs1Sha256),
    (0x0501, SigningScheme::RsaPkcs1Sha384),
    (0x0601, SigningScheme::RsaPkcs1Sha512),
];

/// Why a certificate's SCT is not one the trusted root vouches for.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SctError {
    #[error("the certificate does not parse: {0}")]
    Certificate(String),
    #[error("no certificate authority of the trusted root issued the certificate")]
    NoIssuer,
    #[error("the certificate carries no SCT")]
    Missing,
    #[error("the certificate's SCT list does not parse")]
    Malformed,
    #[error("the certificate carries {0} SCTs, not one")]
    NotOne(usize),
    #[error("the SCT is signed with an unsupported algorithm (0x{0:04x})")]
    Algorithm(u16),
    #[error("the SCT's timestamp is out of range")]
    Time,
    #[error("the SCT's signature does not verify with a CT log key of the trusted root valid at {at} (log ID {log_id})")]
    NotTrusted { log_id: String, at: jiff::Timestamp },
}

/// RFC 6962 section 3.2's `digitally-signed` struct for a precertificate:
/// the bytes a CT log signs for an embedded SCT.
#[derive(TlsSerializeBytes, TlsSize)]
struct SignedData {
    version: Version,
    /// `certificate_timestamp`.
    signature_type: u8,
    timestamp: u64,
    /// `precert_entry`.
    entry_type: u16,
    issuer_key_hash: [u8; 32],
    tbs_certificate: TlsByteVecU24,
    extensions: TlsByteVecU16,
}

/// `root`'s CT log keys, a keyring for each scheme an SCT may use.
pub(crate) fn keys(
    root: &sigstore_trust_root::TrustedRoot,
) -> Result<CtKeys, sigstore_verify::Error> {
    SCHEMES
        .iter()
        .map(|&(_, scheme)| Ok((scheme, root.ctfe_keys(scheme)?)))
        .collect()
}

/// Whether `leaf`'s one embedded SCT is signed, over the precertificate and
/// `issuer_spki` (the issuing authority's full SubjectPublicKeyInfo DER),
/// by a CT log key of `keys` valid at the SCT's time.
pub(crate) fn check(leaf: &[u8], issuer_spki: &[u8], keys: &CtKeys) -> Result<(), SctError> {
    let cert = Certificate::from_der(leaf).map_err(|e| SctError::Certificate(e.to_string()))?;
    let list: SignedCertificateTimestampList = match cert.tbs_certificate.get() {
        Ok(Some((_, list))) => list,
        Ok(None) => return Err(SctError::Missing),
        Err(_) => return Err(SctError::Malformed),
    };
    let serialized = list.parse_timestamps().map_err(|_| SctError::Malformed)?;
    let sct = match serialized.as_slice() {
        [one] => one.parse_timestamp().map_err(|_| SctError::Malformed)?,
        others => return Err(SctError::NotOne(others.len())),
    };
    let algorithm = sct
        .signature
        .algorithm
        .tls_serialize()
        .ok()
        .and_then(|b| <[u8; 2]>::try_from(b.as_slice()).ok())
        .map(u16::from_be_bytes)
        .unwrap_or_default();
    let scheme = SCHEMES
        .iter()
        .find(|(id, _)| *id == algorithm)
        .map(|(_, scheme)| *scheme)
        .ok_or(SctError::Algorithm(algorithm))?;
    let at = i64::try_from(sct.timestamp)
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .ok_or(SctError::Time)?;

    let mut precert = cert.tbs_certificate.clone();
    precert.extensions = precert.extensions.map(|extensions| {
        extensions
            .into_iter()
            .filter(|e| e.extn_id != CT_PRECERT_SCTS)
            .collect()
    });
    let tbs = precert
        .to_der()
        .map_err(|e| SctError::Certificate(e.to_string()))?;
    let signed = SignedData {
        version: Version::V1,
        signature_type: 0,
        timestamp: sct.timestamp,
        entry_type: 1,
        issuer_key_hash: *sigstore_crypto::sha256(issuer_spki).as_bytes(),
        tbs_certificate: tbs.as_slice().into(),
        extensions: sct.extensions.clone(),
    }
    .tls_serialize()
    .map_err(|_| SctError::Malformed)?;

    let log_id = Sha256Hash::new(sct.log_id.key_id);
    let not_trusted = || SctError::NotTrusted {
        log_id: log_id.to_hex(),
        at,
    };
    let keyring = keys
        .iter()
        .find(|(s, _)| *s == scheme)
        .map(|(_, keyring)| keyring)
        .ok_or_else(not_trusted)?;
    let signature = SignatureBytes::new(sct.signature.signature.as_slice().to_vec());
    keyring
        .verify_with_key_id_at(&log_id, at, &signed, &signature)
        .map_err(|_| not_trusted())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_that_does_not_parse_is_said() {
        assert!(matches!(
            check(b"not DER", b"", &Vec::new()),
            Err(SctError::Certificate(_))
        ));
    }

    /// The signed bytes are RFC 6962's layout, field by field.
    #[test]
    fn the_signed_data_is_rfc_6962s_layout() {
        let bytes = SignedData {
            version: Version::V1,
            signature_type: 0,
            timestamp: 0x0102_0304_0506_0708,
            entry_type: 1,
            issuer_key_hash: [0xaa; 32],
            tbs_certificate: [0x30, 0x00].as_slice().into(),
            extensions: [].as_slice().into(),
        }
        .tls_serialize()
        .unwrap();
        let mut want = vec![0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1];
        want.extend([0xaa; 32]);
        want.extend([0, 0, 2, 0x30, 0x00, 0, 0]);
        assert_eq!(bytes, want);
    }
}
