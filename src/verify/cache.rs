//! A verifier that checks each distinct signing certificate's chain and SCT
//! once per run, shared by `verify` and sign's self-verification.
//!
//! A release is signed with one certificate, yet every bundle carries it, and
//! sigstore-verify re-checks its chain (once per verified timestamp) and its
//! SCT for each: three of the nine signature verifications of a bundle with
//! a Rekor v1 entry and an RFC 3161 timestamp.
//! [`CachingVerifier::verify`] does that work only the first time a leaf
//! certificate (compared by its DER bytes) verifies in full. For later
//! bundles with the same certificate it asks sigstore-verify for everything
//! except the chain (`skip_certificate_chain`, which also skips the SCT and
//! the certificate's validity at each verified time) and redoes here the
//! skipped checks that depend on the bundle, against what the first full
//! verification established:
//!
//! - every verified timestamp (RFC 3161 and Rekor v1 integrated time) lies in
//!   the leaf's validity window, as `validate_certificate_time` and webpki's
//!   leaf check require;
//! - at every verified timestamp, one of the trusted root's Fulcio
//!   certificates that signs this leaf (found once, by webpki, anchor by
//!   anchor) belongs to a certificate authority whose `validFor` covers that
//!   time, as sigstore-verify's anchor filter requires.
//!
//! What does not depend on the bundle is not redone: the leaf's signature by
//! that anchor, its code-signing EKU, and its SCT (whose key and signed data
//! come from the certificate, the issuing key and the trusted root alone).
//!
//! Only accepts take the short path: any rejection, by sigstore-verify or by
//! the checks here, is answered by the full verification, so a bundle is
//! refused with exactly the error it would get without the cache, and a cache
//! hit can never turn a reject into an accept. Certificates shipped with
//! intermediates (v0.1/v0.2 chains) and policies that do not verify the chain
//! and SCT always take the full path. The cache holds at most
//! [`MAX_CERTIFICATES`] certificates; later ones are verified in full.
//!
//! Owns the cache and the checks it replaces; must not change a verdict,
//! print, or know about files.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use const_oid::db::rfc5912::ID_KP_CODE_SIGNING;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use sigstore_trust_root::TrustedRoot;
use sigstore_types::bundle::VerificationMaterialContent;
use sigstore_types::{Bundle, Sha256Hash, TimeRange};
use sigstore_verify::{
    CertificatePolicy, Error as SigError, VerificationPolicy, VerificationResult, Verifier,
};

/// Distinct certificates remembered per run. A release has one; a directory
/// of bundles from many runs has one each, and past this many they are
/// simply verified in full.
pub(crate) const MAX_CERTIFICATES: usize = 1024;

/// A trusted Fulcio certificate as webpki takes it, with its authority's window.
type Anchor = (TrustAnchor<'static>, Option<TimeRange>);

/// What a full verification established about one leaf certificate.
#[derive(Debug)]
struct Checked {
    not_before: jiff::Timestamp,
    not_after: jiff::Timestamp,
    /// The `validFor` of every trusted authority whose certificate signs the leaf.
    authority_windows: Vec<Option<TimeRange>>,
}

impl Checked {
    /// Whether the chain sigstore-verify would build for this leaf is valid at
    /// `time`: the leaf's window (inclusive, as sigstore-verify compares; a
    /// time before 1970 is one webpki cannot represent) and a signing
    /// authority trusted then.
    fn covers(&self, time: jiff::Timestamp) -> bool {
        time.as_second() >= 0
            && time >= self.not_before
            && time <= self.not_after
            && self
                .authority_windows
                .iter()
                .any(|w| w.is_none_or(|range| range.contains(time)))
    }
}

/// One run's verifier, with the per-certificate cache described above.
pub struct CachingVerifier {
    verifier: Verifier,
    anchors: Vec<Anchor>,
    checked: RwLock<HashMap<Vec<u8>, Arc<Checked>>>,
}

impl CachingVerifier {
    /// Build the verifier for `root`, with the same Fulcio anchors
    /// sigstore-verify builds from it.
    pub fn new(root: &TrustedRoot) -> Result<Self, SigError> {
        let verifier = Verifier::new(root)?;
        let mut anchors = Vec::new();
        for ca in &root.certificate_authorities {
            for cert in &ca.cert_chain.certificates {
                let der = CertificateDer::from(cert.raw_bytes.as_bytes());
                let anchor = webpki::anchor_from_trusted_cert(&der)
                    .map_err(|e| SigError::TrustedCertificate(Box::new(e)))?;
                anchors.push((anchor.to_owned(), ca.valid_for));
            }
        }
        Ok(CachingVerifier {
            verifier,
            anchors,
            checked: RwLock::new(HashMap::new()),
        })
    }

    /// The verifier without the cache.
    pub fn uncached(&self) -> &Verifier {
        &self.verifier
    }

    /// How many certificates have been checked in full and remembered.
    pub fn cached_certificates(&self) -> usize {
        self.read().len()
    }

    /// Verify `bundle` for the artifact with SHA-256 `digest` under `policy`:
    /// the same verdict, and on failure the same error, as
    /// [`Verifier::verify`]. On a cache hit the result's
    /// `certificate_verified()` and `sct_verified()` are false (sigstore-verify
    /// did not check them this time); an `Ok` still means they hold.
    pub fn verify(
        &self,
        digest: Sha256Hash,
        bundle: &Bundle,
        policy: &VerificationPolicy,
    ) -> Result<VerificationResult, SigError> {
        let full_chain = matches!(
            policy.certificate(),
            CertificatePolicy::Verify {
                verify_sct: true,
                ..
            }
        );
        let Some(leaf) = lone_leaf(bundle).filter(|_| full_chain) else {
            return self.verifier.verify(digest, bundle, policy);
        };
        let known = self.read().get(leaf).cloned();
        match known {
            Some(checked) => {
                let short =
                    self.verifier
                        .verify(digest, bundle, &policy.clone().skip_certificate_chain());
                match short {
                    Ok(r) if r.verified_timestamps().iter().all(|t| checked.covers(*t)) => Ok(r),
                    // Refused here or there: the full path decides and words it.
                    _ => self.verifier.verify(digest, bundle, policy),
                }
            }
            None => {
                let result = self.verifier.verify(digest, bundle, policy)?;
                if result.certificate_verified() && result.sct_verified() {
                    self.remember(leaf, &result);
                }
                Ok(result)
            }
        }
    }

    /// After a full verification of `leaf` passed: find the trusted
    /// certificates that sign it and keep them with its window.
    fn remember(&self, leaf: &[u8], result: &VerificationResult) {
        let (Some(info), Some(&at)) = (result.certificate(), result.verified_timestamps().first())
        else {
            return;
        };
        if self.read().len() >= MAX_CERTIFICATES {
            return;
        }
        let Some(authority_windows) = self.signing_authorities(leaf, at) else {
            return;
        };
        let mut checked = self.checked.write().unwrap_or_else(|e| e.into_inner());
        // Checked again under the lock: other threads may have filled it meanwhile.
        if checked.len() >= MAX_CERTIFICATES {
            return;
        }
        checked.insert(
            leaf.to_vec(),
            Arc::new(Checked {
                not_before: info.not_before,
                not_after: info.not_after,
                authority_windows,
            }),
        );
    }

    /// The windows of the trusted certificates that alone complete a
    /// code-signing chain for `leaf` at `at` (a time the full check accepted,
    /// so the leaf is valid then; webpki does not check anchors' own dates).
    /// `None` (do not cache) when none does, or when they differ in key
    /// encoding, which the SCT's issuer key hash would tell apart.
    fn signing_authorities(
        &self,
        leaf: &[u8],
        at: jiff::Timestamp,
    ) -> Option<Vec<Option<TimeRange>>> {
        let der = CertificateDer::from(leaf);
        let cert = webpki::EndEntityCert::try_from(&der).ok()?;
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            u64::try_from(at.as_second()).ok()?,
        ));
        let mut spki: Option<&[u8]> = None;
        let mut windows = Vec::new();
        for (anchor, window) in &self.anchors {
            let signs = cert
                .verify_for_usage(
                    sigstore_crypto::WEBPKI_VERIFICATION_ALGS,
                    std::slice::from_ref(anchor),
                    &[],
                    time,
                    webpki::KeyUsage::required(ID_KP_CODE_SIGNING.as_bytes()),
                    None,
                    None,
                )
                .is_ok();
            if !signs {
                continue;
            }
            let key = anchor.subject_public_key_info.as_ref();
            if spki.is_some_and(|k| k != key) {
                return None;
            }
            spki = Some(key);
            windows.push(*window);
        }
        (!windows.is_empty()).then_some(windows)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Vec<u8>, Arc<Checked>>> {
        self.checked.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// The signing certificate's DER when the bundle ships no intermediates (the
/// chain is then leaf -> trusted certificate, which [`Checked`] describes).
fn lone_leaf(bundle: &Bundle) -> Option<&[u8]> {
    match &bundle.verification_material.content {
        VerificationMaterialContent::Certificate(c) => Some(c.raw_bytes.as_bytes()),
        VerificationMaterialContent::X509CertificateChain { certificates } => {
            match certificates.as_slice() {
                [only] => Some(only.raw_bytes.as_bytes()),
                _ => None,
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(s).unwrap()
    }

    fn range(start: i64, end: Option<i64>) -> Option<TimeRange> {
        Some(TimeRange {
            start: ts(start),
            end: end.map(ts),
        })
    }

    fn checked(windows: Vec<Option<TimeRange>>) -> Checked {
        Checked {
            not_before: ts(1000),
            not_after: ts(1600),
            authority_windows: windows,
        }
    }

    #[test]
    fn the_leaf_window_is_inclusive_and_enforced() {
        let c = checked(vec![None]);
        assert!(c.covers(ts(1000)) && c.covers(ts(1600)) && c.covers(ts(1300)));
        assert!(!c.covers(ts(999)));
        assert!(!c.covers(ts(1601)));
        assert!(!c.covers(ts(1600) + jiff::SignedDuration::from_millis(1)));
    }

    #[test]
    fn some_signing_authority_must_be_trusted_at_the_time() {
        let c = checked(vec![range(0, Some(1200)), range(1400, None)]);
        assert!(c.covers(ts(1100)));
        assert!(!c.covers(ts(1300)), "between the two authorities' windows");
        assert!(c.covers(ts(1500)));
        assert!(!checked(Vec::new()).covers(ts(1300)));
    }

    #[test]
    fn times_before_1970_are_not_covered() {
        let c = Checked {
            not_before: ts(-100),
            not_after: ts(100),
            authority_windows: vec![None],
        };
        assert!(!c.covers(ts(-1)));
        assert!(c.covers(ts(0)));
    }
}
