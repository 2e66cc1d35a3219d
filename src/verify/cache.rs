//! A verifier that checks each distinct signing certificate's chain and SCT
//! once per run, shared by `verify` and sign's self-verification.
//!
//! A release is signed with one certificate, yet every bundle carries it, and
//! sigstore-verify re-checks its chain (once per verified timestamp) and its
//! SCT for each: three of the nine signature verifications of a bundle with
//! a Rekor v1 entry and an RFC 3161 timestamp.
//! [`CachingVerifier::verify`] does that work only the first time a leaf
//! certificate (compared by its DER bytes) verifies in full. For later
//! bundles with the same certificate, the short path, it checks everything
//! but the chain (sigstore-verify's `skip_certificate_chain`, which also
//! skips the SCT and the certificate's validity at each verified time; or, for
//! message signatures, the checks below) and redoes here the skipped checks
//! that depend on the bundle, against what the first full verification
//! established:
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
//! Both paths first refuse a bundle carrying more evidence than any
//! verifier reads (more than 32 log entries or timestamps, as sigstore-go;
//! a checkpoint of more than 100 signatures, as Go's `note`): each piece
//! costs signature checks, and a 4 MiB bundle could repeat one thousands of
//! times. They also refuse a certificate or timestamp token over 16 KiB,
//! which the DER decoder would take quadratic time to read.
//!
//! Only accepts take the short path: any rejection, by sigstore-verify or by
//! the checks here, is answered by the full verification, so a bundle is
//! refused with exactly the error it would get without the cache, and a cache
//! hit can never turn a reject into an accept. Certificates shipped with
//! intermediates (v0.1/v0.2 chains) and policies that do not verify the chain
//! and SCT always take the full path. The cache holds at most
//! [`MAX_CERTIFICATES`] certificates; later ones are verified in full.
//!
//! The short path also verifies each Rekor v1 entry's log evidence here
//! instead of in sigstore-verify: its whole-bundle API checks every signed
//! entry timestamp (SET) twice, once to authenticate the integrated time as a
//! signing time and again with the inclusion proof, and an ECDSA verification
//! is most of a bundle's cost (a profile of `verify` on 1,000 bundles: 6 of
//! them per bundle, 55 % of the CPU). So when every entry is a Rekor v1 entry
//! with a SET, an integrated time and an inclusion proof, sigstore-verify is
//! asked to skip the log checks (`skip_tlog_unsafe`), which still verifies
//! each SET (or `verify::message` does, below), and `log_evidence` redoes the
//! rest of its step for each entry, as sigstore-verify 0.15.1's
//! `verify_tlog_entries` does: the Merkle inclusion proof of the logged body up
//! to the proof's root, a checkpoint for that same root signed by a trusted
//! Rekor key, and the integrated time neither in the future nor outside the
//! certificate's validity. The
//! bundle's structure is validated with inclusion proofs required, as the
//! full verification does. Any refusal again falls back to the full path.
//!
//! For a message signature logged as a Rekor v1 `hashedrekord` entry (the
//! bundles `sign` writes, and sigstore-python's and cosign's), the short path
//! does not call sigstore-verify at all: `verify::message` makes its
//! remaining per-bundle checks (identity and issuer, message digest,
//! signature, SETs, the entries' consistency with the bundle) with the
//! certificate's fields and key as the full verification established them.
//! Any other bundle, and any refusal there, goes to sigstore-verify as above.
//!
//! On that same path the RFC 3161 timestamps are taken out of the bundle
//! sigstore-verify sees and checked by [`super::timestamp`], which verifies
//! each authority's certificate chain once per run rather than once per
//! token (the SET-authenticated integrated time still gives sigstore-verify a
//! signing time). Every timestamp it accepts is one more time the
//! certificate must cover, as in the full verification.
//!
//! Owns the cache and the checks it replaces; must not change a verdict,
//! print, or know about files.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use super::sct::SctError;
use const_oid::db::rfc5912::ID_KP_CODE_SIGNING;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use sigstore_bundle::{validate_bundle_with_options, ValidationOptions};
use sigstore_crypto::{CertificateInfo, Checkpoint, Keyring, SigningScheme, VerificationKey};
use sigstore_trust_root::TrustedRoot;
use sigstore_types::bundle::VerificationMaterialContent;
use sigstore_types::{
    Bundle, KindVersion, Sha256Hash, SignatureContent, TimeRange, TransparencyLogEntry,
};
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
struct Checked {
    window: Window,
    /// The leaf as sigstore-verify parsed it.
    info: Arc<CertificateInfo>,
    /// Its key for ECDSA P-256 with SHA-256 ([`super::message`]), if it is one.
    key: Option<VerificationKey>,
    /// Its PEM as Rekor v1 logs it ([`super::message::logged_pem`]).
    pem: String,
    /// That PEM in standard base64, as a logged body holds it.
    pem_base64: String,
}

/// When a leaf certificate's chain is valid.
#[derive(Debug)]
struct Window {
    not_before: jiff::Timestamp,
    not_after: jiff::Timestamp,
    /// The `validFor` of every trusted authority whose certificate signs the leaf.
    authority_windows: Vec<Option<TimeRange>>,
}

impl Window {
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
    /// What the trusted root can vouch for (no log entry or SCT is required
    /// by an instance that lists no logs or CT logs: GitHub's).
    requirements: crate::trust::Requirements,
    anchors: Vec<Anchor>,
    /// The trusted root's Rekor keys, for checkpoints on the short path.
    rekor_keys: Keyring,
    /// The trusted root's CT log keys, for a new certificate's SCT.
    ct_keys: super::sct::CtKeys,
    /// The trusted root's timestamp authorities, for the short path.
    timestamps: super::timestamp::Authorities,
    /// The trusted root's logs, which a Rekor v2 checkpoint must be named
    /// for ([`super::checkpoint`]).
    logs: Vec<super::checkpoint::TrustedLog>,
    checked: RwLock<HashMap<Vec<u8>, Arc<Checked>>>,
    /// Bundles accepted on the short path, for tests to tell the paths apart.
    short_accepts: AtomicUsize,
    /// Those of them [`super::message`] checked without sigstore-verify.
    message_accepts: AtomicUsize,
}

/// A passed verification: the signing certificate, and the authenticated
/// Rekor v1 integrated time and signing times (on the short path, this
/// module established them itself).
#[derive(Debug)]
pub struct Verdict {
    certificate: Option<Arc<CertificateInfo>>,
    integrated_time: Option<jiff::Timestamp>,
    timestamps: Vec<jiff::Timestamp>,
}

impl Verdict {
    /// The signing certificate, as sigstore-verify parsed it.
    pub fn certificate(&self) -> Option<&CertificateInfo> {
        self.certificate.as_deref()
    }
    /// The earliest authenticated Rekor v1 integrated time, if any.
    pub fn integrated_time(&self) -> Option<jiff::Timestamp> {
        self.integrated_time
    }
    /// Every authenticated signing time the certificate was checked at.
    pub fn verified_timestamps(&self) -> &[jiff::Timestamp] {
        &self.timestamps
    }
}

impl From<VerificationResult> for Verdict {
    fn from(result: VerificationResult) -> Self {
        Verdict {
            integrated_time: result.integrated_time(),
            timestamps: result.verified_timestamps().to_vec(),
            certificate: result.certificate().cloned().map(Arc::new),
        }
    }
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
            requirements: crate::trust::Requirements::of(root),
            anchors,
            rekor_keys: root.rekor_keys()?,
            ct_keys: super::sct::keys(root)?,
            timestamps: super::timestamp::Authorities::new(root),
            logs: super::checkpoint::TrustedLog::of_root(root),
            checked: RwLock::new(HashMap::new()),
            short_accepts: AtomicUsize::new(0),
            message_accepts: AtomicUsize::new(0),
        })
    }

    /// Whether one of the trusted root's Fulcio certificates, of an authority
    /// trusted at `at`, signs `leaf` for code signing at `at` (webpki, as
    /// the cache's own chain check). A check before use: sign asks it of a
    /// new certificate, so one no trusted authority issued is refused before
    /// anything is logged with it. It accepts nothing: each bundle is still
    /// verified in full.
    pub fn issued_by_a_trusted_authority(&self, leaf: &[u8], at: jiff::Timestamp) -> bool {
        self.signing_authorities(leaf, at)
            .is_some_and(|(_, windows)| windows.iter().any(|w| w.is_none_or(|r| r.contains(at))))
    }

    /// Whether `leaf`, issued by a trusted authority at `at`
    /// ([`Self::issued_by_a_trusted_authority`]), carries an SCT one of the
    /// trusted root's CT logs signed ([`super::sct`]), where the instance
    /// lists CT logs and so requires one. A check before use, as that one.
    pub fn sct_trusted(&self, leaf: &[u8], at: jiff::Timestamp) -> Result<(), SctError> {
        if !self.requirements.sct {
            return Ok(());
        }
        let (spki, _) = self
            .signing_authorities(leaf, at)
            .ok_or(SctError::NoIssuer)?;
        // webpki keeps an anchor's SubjectPublicKeyInfo without its outer
        // SEQUENCE; the key hash an SCT signs is of the whole.
        let issuer = der::asn1::AnyRef::new(der::Tag::Sequence, &spki)
            .and_then(|any| der::Encode::to_der(&any))
            .map_err(|e| SctError::Certificate(e.to_string()))?;
        super::sct::check(leaf, &issuer, &self.ct_keys)
    }

    /// Whether the trusted root lists the authority that signed the RFC
    /// 3161 `token` (`None`: it does not parse): told apart from a token
    /// that does not verify, it says every token of that TSA would fail.
    pub(crate) fn lists_timestamp_signer(&self, token: &[u8]) -> Option<bool> {
        self.timestamps.lists_signer_of(token)
    }

    /// The verifier without the cache (and without the trusted root's
    /// [`Requirements`](crate::trust::Requirements)): the reference verdict.
    pub fn uncached(&self) -> &Verifier {
        &self.verifier
    }

    /// sigstore-verify's full result for `bundle`, without the cache but
    /// under the trusted root's requirements, as [`Self::verify`] is: for
    /// a caller that needs more of the result than the verdict.
    pub fn verify_in_full<'a>(
        &self,
        artifact: impl Into<sigstore_types::Artifact<'a>>,
        bundle: &Bundle,
        policy: &VerificationPolicy,
    ) -> Result<VerificationResult, SigError> {
        within_limits(bundle)?;
        self.checkpoints_named(bundle)?;
        self.checkpoint_lines_verify(bundle)?;
        let result =
            self.verifier
                .verify(artifact, bundle, &self.requirements.apply(policy.clone()))?;
        self.logs_listed(bundle)?;
        Ok(result)
    }

    /// Each Rekor v2 entry of `bundle` has a checkpoint named for a log
    /// the trusted root lists under its log ID, with a key valid now (a v2
    /// entry has no integrated time), as sigstore-go requires
    /// ([`super::checkpoint`]). An entry no such log is listed for is left
    /// to sigstore-verify, and then to [`Self::logs_listed`].
    fn checkpoints_named(&self, bundle: &Bundle) -> Result<(), SigError> {
        let now = jiff::Timestamp::now();
        for entry in &bundle.verification_material.tlog_entries {
            let listed: Vec<_> = self
                .logs
                .iter()
                .filter(|log| {
                    log.id == entry.log_id.key_id
                        && crate::trust::log_key_valid(log.valid_for.as_ref(), None, now)
                })
                .collect();
            if listed.is_empty() {
                continue;
            }
            super::checkpoint::named(entry, &listed, &self.logs).map_err(|n| {
                SigError::TransparencyLog(sigstore_verify::TransparencyLogError::Checkpoint(
                    format!(
                        "the Rekor v2 checkpoint is signed as origin `{}` (signature lines: {}), not as `{}`, the host of the log's URL in the trusted root, which cosign 3 and sigstore-go require",
                        n.origin, n.names, n.host
                    ),
                ))
            })?;
        }
        Ok(())
    }

    /// Every signature line of each entry's checkpoint that a verifier
    /// would check verifies, as cosign and sigstore-go require: for a
    /// Rekor v1 entry every line, each carrying the log's key hint (rekor's
    /// `SignedNote.Verify`, which cosign calls); for a v2 entry every line
    /// hinted at a trusted log key, no name and hint twice (Go's
    /// `note.Open`: a known key whose signature fails fails the note).
    /// sigstore-verify accepts a checkpoint on any one line, and lines are
    /// signed by nothing, so anyone may add one. A checkpoint of one line,
    /// the usual, costs nothing here: the verification proper checks it.
    fn checkpoint_lines_verify(&self, bundle: &Bundle) -> Result<(), SigError> {
        let refused = |why: String| {
            Err(SigError::TransparencyLog(
                sigstore_verify::TransparencyLogError::Checkpoint(why),
            ))
        };
        let now = jiff::Timestamp::now();
        for entry in &bundle.verification_material.tlog_entries {
            // An entry of a log not listed is refused as such
            // ([`Self::logs_listed`]), not for its checkpoint's lines.
            if !self.logs.iter().any(|log| log.id == entry.log_id.key_id) {
                continue;
            }
            let Some(checkpoint) = entry
                .inclusion_proof
                .as_ref()
                .and_then(|p| p.checkpoint.checkpoint())
            else {
                continue;
            };
            let known = |s: &&sigstore_types::checkpoint::CheckpointSignature| {
                self.rekor_keys
                    .keys_by_hint(&s.key_id, now)
                    .next()
                    .is_some()
            };
            let lines: Vec<_> = if super::checkpoint::is_v2(entry) {
                checkpoint.signatures().iter().filter(known).collect()
            } else {
                let hint = entry.log_id.key_id.as_bytes().get(..4);
                if checkpoint
                    .signatures()
                    .iter()
                    .any(|s| Some(s.key_id.as_slice()) != hint)
                {
                    return refused(
                        "a signature line of the Rekor v1 checkpoint is not the log's (another key hint), which cosign refuses".into(),
                    );
                }
                checkpoint.signatures().iter().collect()
            };
            if lines.len() < 2 {
                continue;
            }
            for (i, line) in lines.iter().enumerate() {
                if lines[..i]
                    .iter()
                    .any(|l| l.name == line.name && l.key_id == line.key_id)
                {
                    return refused("the checkpoint carries one signature line twice".into());
                }
                if !self
                    .rekor_keys
                    .keys_by_hint(&line.key_id, now)
                    .any(|k| k.verify(checkpoint.signed_data(), &line.signature).is_ok())
                {
                    return refused(format!(
                        "the checkpoint's signature line of `{}` does not verify with the log's key, which cosign and sigstore-go refuse",
                        crate::text::capped(&crate::text::line(&line.name), 100)
                    ));
                }
            }
        }
        Ok(())
    }

    /// Each log entry of an accepted `bundle` is from a log the trusted
    /// root lists under its log ID, as sigstore-go holds them (it skips any
    /// other, and then lacks a log entry). sigstore-verify reads an entry's
    /// log ID only to check its SET, so a Rekor v2 entry, or a v1 entry
    /// without a SET, under an ID no trusted log has was accepted, its
    /// checkpoint found by its key hint alone. Asked only once a bundle is
    /// accepted, so a refusal keeps sigstore-verify's own words.
    fn logs_listed(&self, bundle: &Bundle) -> Result<(), SigError> {
        for entry in &bundle.verification_material.tlog_entries {
            if !self.logs.iter().any(|log| log.id == entry.log_id.key_id) {
                return Err(SigError::TransparencyLog(
                    sigstore_verify::TransparencyLogError::UnknownLog {
                        log_id: crate::text::capped(&entry.log_id.key_id.to_string(), 100),
                    },
                ));
            }
        }
        Ok(())
    }

    /// How many certificates have been checked in full and remembered.
    pub fn cached_certificates(&self) -> usize {
        self.read().len()
    }

    /// How many bundles the short path has accepted.
    pub fn short_path_accepts(&self) -> usize {
        self.short_accepts.load(Ordering::Relaxed)
    }

    /// How many of those the short path checked without sigstore-verify.
    pub fn message_path_accepts(&self) -> usize {
        self.message_accepts.load(Ordering::Relaxed)
    }

    /// Verify `bundle` for the artifact with SHA-256 `digest` under `policy`:
    /// the same verdict, and on failure the same error, as
    /// [`Verifier::verify`].
    pub fn verify(
        &self,
        digest: Sha256Hash,
        bundle: &Bundle,
        policy: &VerificationPolicy,
    ) -> Result<Verdict, SigError> {
        within_limits(bundle)?;
        self.checkpoints_named(bundle)?;
        self.checkpoint_lines_verify(bundle)?;
        let verdict = self.decide(digest, bundle, policy)?;
        self.logs_listed(bundle)?;
        Ok(verdict)
    }

    /// [`Self::verify`]'s verdict, by the short path or sigstore-verify.
    fn decide(
        &self,
        digest: Sha256Hash,
        bundle: &Bundle,
        policy: &VerificationPolicy,
    ) -> Result<Verdict, SigError> {
        let policy = &self.requirements.apply(policy.clone());
        let full_chain = matches!(
            policy.certificate(),
            CertificatePolicy::Verify {
                verify_sct: true,
                ..
            }
        );
        let Some(leaf) = lone_leaf(bundle).filter(|_| full_chain) else {
            return self
                .verifier
                .verify(digest, bundle, policy)
                .map(Verdict::from);
        };
        let known = self.read().get(leaf).cloned();
        match known {
            Some(checked) => match self.short(digest, bundle, leaf, policy, &checked) {
                Some((verdict, by_message)) => {
                    self.short_accepts.fetch_add(1, Ordering::Relaxed);
                    if by_message {
                        self.message_accepts.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(verdict)
                }
                // Refused on the short path: the full path decides and words it.
                None => self
                    .verifier
                    .verify(digest, bundle, policy)
                    .map(Verdict::from),
            },
            None => {
                let result = self.verifier.verify(digest, bundle, policy)?;
                if result.certificate_verified() && result.sct_verified() {
                    self.remember(leaf, &result);
                }
                Ok(Verdict::from(result))
            }
        }
    }

    /// The short path for a bundle whose leaf passed in full before, and
    /// whether [`super::message`] checked it; `None` when anything is
    /// refused (or the log checks cannot be split off).
    fn short(
        &self,
        digest: Sha256Hash,
        bundle: &Bundle,
        leaf: &[u8],
        policy: &VerificationPolicy,
        checked: &Checked,
    ) -> Option<(Verdict, bool)> {
        let no_chain = policy.clone().skip_certificate_chain();
        let entries = &bundle.verification_material.tlog_entries;
        if !policy.verifies_tlog() || !entries.iter().all(splits_off) {
            let r = self.verifier.verify(digest, bundle, &no_chain).ok()?;
            return r
                .verified_timestamps()
                .iter()
                .all(|t| checked.window.covers(*t))
                .then(|| (Verdict::from(r), false));
        }
        // What `verify_tlog` changes besides the log step: inclusion proofs required.
        let required = ValidationOptions::new()
            .with_require_inclusion_proof(true)
            .with_require_timestamp(false);
        validate_bundle_with_options(bundle, &required).ok()?;
        let tokens = &bundle
            .verification_material
            .timestamp_verification_data
            .rfc3161_timestamps;
        // sigstore-verify's order: the RFC 3161 times, then the integrated times.
        let mut timestamps = Vec::with_capacity(tokens.len() + entries.len());
        if !tokens.is_empty() {
            let signature = match &bundle.content {
                SignatureContent::MessageSignature(m) => &m.signature,
                SignatureContent::DsseEnvelope(e) => &e.signature.sig,
                _ => return None,
            };
            for token in tokens {
                let time = self
                    .timestamps
                    .verify(token.signed_timestamp.as_bytes(), signature)?;
                timestamps.push(time);
            }
        }
        let signer = checked.key.as_ref().map(|key| super::message::Signer {
            info: &checked.info,
            key,
            der: leaf,
            pem: &checked.pem,
            pem_base64: &checked.pem_base64,
        });
        let logged = signer.and_then(|signer| {
            super::message::check(&digest, bundle, policy, &signer, &self.rekor_keys)
        });
        let by_message = logged.is_some();
        let certificate = match logged {
            Some(times) => {
                timestamps.extend(times);
                Some(Arc::clone(&checked.info))
            }
            None => {
                let r = if tokens.is_empty() {
                    self.verifier
                        .verify(digest, bundle, &no_chain.skip_tlog_unsafe())
                        .ok()?
                } else {
                    let mut untimestamped = bundle.clone();
                    untimestamped
                        .verification_material
                        .timestamp_verification_data
                        .rfc3161_timestamps
                        .clear();
                    self.verifier
                        .verify(digest, &untimestamped, &no_chain.skip_tlog_unsafe())
                        .ok()?
                };
                timestamps.extend_from_slice(r.verified_timestamps());
                r.certificate().cloned().map(Arc::new)
            }
        };
        if !timestamps.iter().all(|t| checked.window.covers(*t)) {
            return None;
        }
        let mut integrated_time: Option<jiff::Timestamp> = None;
        for entry in entries {
            let time = log_evidence(entry, &self.rekor_keys, &checked.window)?;
            integrated_time = Some(integrated_time.map_or(time, |t| t.min(time)));
        }
        Some((
            Verdict {
                certificate,
                integrated_time,
                timestamps,
            },
            by_message,
        ))
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
        let Some((_, authority_windows)) = self.signing_authorities(leaf, at) else {
            return;
        };
        let mut checked = self.checked.write().unwrap_or_else(|e| e.into_inner());
        // Checked again under the lock: other threads may have filled it meanwhile.
        if checked.len() >= MAX_CERTIFICATES {
            return;
        }
        // None unless the key is P-256: the scheme names the curve, and a key
        // of another algorithm or curve does not parse for it.
        let key = VerificationKey::from_spki_with_scheme(
            &info.public_key,
            SigningScheme::EcdsaP256Sha256,
        )
        .ok();
        let pem = super::message::logged_pem(leaf);
        let pem_base64 = super::message::logged_pem_base64(&pem);
        checked.insert(
            leaf.to_vec(),
            Arc::new(Checked {
                window: Window {
                    not_before: info.not_before,
                    not_after: info.not_after,
                    authority_windows,
                },
                info: Arc::new(info.clone()),
                key,
                pem,
                pem_base64,
            }),
        );
    }

    /// The key (webpki's SubjectPublicKeyInfo contents) and the windows of
    /// the trusted certificates that alone complete a code-signing chain for
    /// `leaf` at `at` (a time the full check accepted, so the leaf is valid
    /// then; webpki does not check anchors' own dates). `None` (do not
    /// cache) when none does, or when they differ in key encoding, which the
    /// SCT's issuer key hash would tell apart.
    fn signing_authorities(
        &self,
        leaf: &[u8],
        at: jiff::Timestamp,
    ) -> Option<(Vec<u8>, Vec<Option<TimeRange>>)> {
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
        Some((spki?.to_vec(), windows))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Vec<u8>, Arc<Checked>>> {
        self.checked.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether sigstore-verify, told to skip the log step, still verifies this
/// entry's SET and integrated time (a Rekor v1 entry with both), and whether
/// [`log_evidence`] can do the rest (it has an inclusion proof).
fn splits_off(entry: &TransparencyLogEntry) -> bool {
    matches!(
        entry.kind_version,
        KindVersion::HashedRekordV001 | KindVersion::DsseV001 | KindVersion::IntotoV002
    ) && entry.inclusion_promise.is_some()
        && entry.integrated_time.is_some()
        && entry.inclusion_proof.is_some()
}

/// The log step sigstore-verify skipped for one entry that [`splits_off`],
/// whose SET it verified: the body's inclusion proof up to the proof's root,
/// a checkpoint for that root signed by a trusted Rekor key (any key whose
/// 4-byte hint matches, as hints may collide), and the integrated time within
/// the certificate's validity. The integrated time, or `None` if refused.
fn log_evidence(
    entry: &TransparencyLogEntry,
    rekor_keys: &Keyring,
    window: &Window,
) -> Option<jiff::Timestamp> {
    let proof = entry.inclusion_proof.as_ref()?;
    let time = entry.integrated_time?;
    let leaf = sigstore_merkle::hash_leaf(entry.canonicalized_body.as_bytes());
    sigstore_merkle::verify_inclusion_proof(
        &leaf,
        proof.log_index.get(),
        proof.tree_size,
        &proof.hashes,
        &proof.root_hash,
    )
    .ok()?;
    let checkpoint = Checkpoint::from_text(proof.checkpoint.envelope()).ok()?;
    if checkpoint.root_hash().as_bytes() != proof.root_hash.as_bytes() {
        return None;
    }
    let now = jiff::Timestamp::now();
    let signed = checkpoint.signatures().iter().any(|sig| {
        rekor_keys
            .keys_by_hint(&sig.key_id, now)
            .any(|key| key.verify(checkpoint.signed_data(), &sig.signature).is_ok())
    });
    (signed && time <= now && time >= window.not_before && time <= window.not_after).then_some(time)
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

/// The most transparency log entries, and RFC 3161 timestamps, a bundle
/// may carry, as sigstore-go allows (`MaxAllowedTlogEntries`,
/// `MaxAllowedTimestamps`): a bundle needs one of each, and each is checked
/// with several signature verifications, so a 4 MiB bundle repeating one
/// entry would cost seconds.
pub(crate) const MAX_EVIDENCE: usize = 32;

/// The most signature lines a checkpoint may carry, as Go's `sumdb/note`
/// allows: each is tried against the trusted keys it names.
pub(crate) const MAX_CHECKPOINT_SIGNATURES: usize = 100;

/// The largest certificate, and RFC 3161 timestamp token, a bundle may
/// carry. Fulcio's leaves and the timestamps of public-good's and GitHub's
/// authorities are 1 to 3 KiB. The DER decoder sorts each `SET OF` as it
/// reads it, in time quadratic in its elements, before any signature is
/// checked: a 3 MiB certificate of one name with 250 000 attributes would
/// take minutes; at this size, milliseconds.
pub(crate) const MAX_DER_BYTES: usize = 16 * 1024;

/// Refuse, before any parsing or cryptography beyond the bundle's JSON, a
/// bundle carrying more evidence than any verifier reads (see
/// [`MAX_EVIDENCE`]), or larger pieces of it than any service makes (see
/// [`MAX_DER_BYTES`]).
fn within_limits(bundle: &Bundle) -> Result<(), SigError> {
    let material = &bundle.verification_material;
    let certificates: Vec<&[u8]> = match &material.content {
        VerificationMaterialContent::Certificate(c) => vec![c.raw_bytes.as_bytes()],
        VerificationMaterialContent::X509CertificateChain { certificates } => certificates
            .iter()
            .map(|c| c.raw_bytes.as_bytes())
            .collect(),
        _ => Vec::new(),
    };
    if let Some(size) = certificates
        .iter()
        .map(|c| c.len())
        .find(|&n| n > MAX_DER_BYTES)
    {
        return Err(SigError::InvalidBundle(format!(
            "it carries a certificate of {size} bytes; at most {MAX_DER_BYTES} are read"
        )));
    }
    if let Some(size) = material
        .timestamp_verification_data
        .rfc3161_timestamps
        .iter()
        .map(|t| t.signed_timestamp.as_bytes().len())
        .find(|&n| n > MAX_DER_BYTES)
    {
        return Err(SigError::InvalidBundle(format!(
            "it carries an RFC 3161 timestamp of {size} bytes; at most {MAX_DER_BYTES} are read"
        )));
    }
    let entries = material.tlog_entries.len();
    let timestamps = material
        .timestamp_verification_data
        .rfc3161_timestamps
        .len();
    if entries > MAX_EVIDENCE {
        return Err(SigError::InvalidBundle(format!(
            "it carries {entries} transparency log entries; at most {MAX_EVIDENCE} are read"
        )));
    }
    if timestamps > MAX_EVIDENCE {
        return Err(SigError::InvalidBundle(format!(
            "it carries {timestamps} RFC 3161 timestamps; at most {MAX_EVIDENCE} are read"
        )));
    }
    // Each piece of evidence once, as sigstore-go requires ("duplicate
    // tlog entries found", "duplicate timestamps found") and
    // sigstore-python too: a copy adds nothing but a count.
    for (i, a) in material.tlog_entries.iter().enumerate() {
        if material.tlog_entries[..i].iter().any(|b| {
            b.log_index == a.log_index && b.log_id.key_id.as_bytes() == a.log_id.key_id.as_bytes()
        }) {
            return Err(SigError::InvalidBundle(format!(
                "it carries the log entry {} of one log twice",
                u64::from(a.log_index)
            )));
        }
    }
    let tokens = &material.timestamp_verification_data.rfc3161_timestamps;
    for (i, a) in tokens.iter().enumerate() {
        if tokens[..i]
            .iter()
            .any(|b| b.signed_timestamp.as_bytes() == a.signed_timestamp.as_bytes())
        {
            return Err(SigError::InvalidBundle(
                "it carries one RFC 3161 timestamp twice".into(),
            ));
        }
        if !super::timestamp::is_response(a.signed_timestamp.as_bytes()) {
            return Err(SigError::InvalidBundle(
                "an RFC 3161 timestamp is not a TimeStampResp (a bare token, say), as protobuf-specs require and sigstore-python reads one".into(),
            ));
        }
    }
    for entry in &material.tlog_entries {
        logged_as_declared(entry)?;
        let Some(proof) = &entry.inclusion_proof else {
            continue;
        };
        if !proof.checkpoint.is_empty() {
            if let Some(why) = super::checkpoint::malformed(proof.checkpoint.envelope()) {
                return Err(SigError::InvalidBundle(format!(
                    "a log entry's checkpoint is not a signed note as sigstore-go and sigstore-python read one: {why}"
                )));
            }
        }
        // Counted as parsed (the parser trims each line: an indented
        // signature line is still one to verify).
        let signatures = proof
            .checkpoint
            .checkpoint()
            .map_or(0, |c| c.signatures().len());
        if signatures > MAX_CHECKPOINT_SIGNATURES {
            return Err(SigError::InvalidBundle(format!(
                "a checkpoint carries {signatures} signatures; at most {MAX_CHECKPOINT_SIGNATURES} are read"
            )));
        }
    }
    Ok(())
}

/// The logged body is of the kind and version the entry declares
/// (`kindVersion`), as sigstore-go requires and sigstore-python's models
/// do: sigstore-rekor reads the body as the declared kind without looking
/// at its own `kind` and `apiVersion`, so a Rekor v1 `rekord` entry,
/// whose spec has a `hashedrekord`'s shape, passed declared as one.
fn logged_as_declared(entry: &sigstore_types::TransparencyLogEntry) -> Result<(), SigError> {
    #[derive(serde::Deserialize)]
    struct Declared<'a> {
        #[serde(borrow)]
        kind: std::borrow::Cow<'a, str>,
        #[serde(borrow, rename = "apiVersion")]
        api_version: std::borrow::Cow<'a, str>,
    }
    let declared = entry.kind_version;
    match serde_json::from_slice::<Declared>(entry.canonicalized_body.as_bytes()) {
        Ok(body) if body.kind == declared.kind() && body.api_version == declared.version() => {
            Ok(())
        }
        Ok(body) => Err(SigError::InvalidBundle(format!(
            "a log entry is declared `{}` {} but its logged body is `{}` {}",
            declared.kind(),
            declared.version(),
            crate::text::capped(&crate::text::line(&body.kind), 40),
            crate::text::capped(&crate::text::line(&body.api_version), 20),
        ))),
        Err(_) => Err(SigError::InvalidBundle(
            "a log entry's logged body does not name its kind and apiVersion".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entry whose logged body is of another kind or version than it
    /// declares is refused before anything is verified, on both paths;
    /// the real bundles of tests/data are not. Regression: the body was
    /// read as the declared kind, whatever it said it was.
    #[test]
    fn an_entry_logged_as_another_kind_is_refused() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let read = |name: &str| {
            std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR")))
                .unwrap()
        };
        for name in [
            "cosign-v3-blob.txt.sigstore.json",
            "npm-provenance-intoto.sigstore.json",
            "signed-package-2.1.0-hb0f4dca_0.conda.sigstore.json",
            "staging-rekor-v2.txt.sigstore.json",
        ] {
            let bundle = Bundle::from_json(&read(name)).unwrap();
            assert!(within_limits(&bundle).is_ok(), "{name}");
        }
        let mut json: serde_json::Value =
            serde_json::from_str(&read("cosign-v3-blob.txt.sigstore.json")).unwrap();
        let entry = &mut json["verificationMaterial"]["tlogEntries"][0];
        let mut body: serde_json::Value = serde_json::from_slice(
            &b64.decode(entry["canonicalizedBody"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap();
        body["kind"] = "rekord".into();
        entry["canonicalizedBody"] = b64.encode(body.to_string()).into();
        let bundle = Bundle::from_json(&json.to_string()).unwrap();
        let e = within_limits(&bundle).unwrap_err().to_string();
        assert!(
            e.contains("a log entry is declared `hashedrekord` 0.0.1 but its logged body is `rekord` 0.0.1"),
            "{e}"
        );
    }

    /// A log entry or a timestamp given twice, and a timestamp that is a
    /// bare token (no TimeStampResp around it), are refused before anything
    /// is verified, as cosign and sigstore-python refuse them. Regression:
    /// each such copy of a real bundle verified.
    #[test]
    fn evidence_given_twice_or_unwrapped_is_refused() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!(
                "{}/tests/data/cosign-v3-blob.txt.sigstore.json",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap(),
        )
        .unwrap();
        let refused = |json: &serde_json::Value| {
            within_limits(&Bundle::from_json(&json.to_string()).unwrap())
                .unwrap_err()
                .to_string()
        };
        let material = &json["verificationMaterial"];
        let mut twice = json.clone();
        let entry = material["tlogEntries"][0].clone();
        twice["verificationMaterial"]["tlogEntries"] = serde_json::json!([entry, entry]);
        assert!(refused(&twice).contains("log entry"), "{}", refused(&twice));
        let mut twice = json.clone();
        let token = material["timestampVerificationData"]["rfc3161Timestamps"][0].clone();
        assert!(token.is_object(), "the bundle has a timestamp");
        twice["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"] =
            serde_json::json!([token, token]);
        assert!(refused(&twice).contains("twice"), "{}", refused(&twice));
        let der = b64
            .decode(token["signedTimestamp"].as_str().unwrap())
            .unwrap();
        use der::{Decode as _, Encode as _};
        let bare = x509_tsp::TimeStampResp::from_der(&der)
            .unwrap()
            .time_stamp_token
            .unwrap()
            .to_der()
            .unwrap();
        let mut unwrapped = json.clone();
        unwrapped["verificationMaterial"]["timestampVerificationData"]["rfc3161Timestamps"][0]
            ["signedTimestamp"] = b64.encode(bare).into();
        assert!(
            refused(&unwrapped).contains("not a TimeStampResp"),
            "{}",
            refused(&unwrapped)
        );
    }

    fn ts(s: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(s).unwrap()
    }

    fn range(start: i64, end: Option<i64>) -> Option<TimeRange> {
        Some(TimeRange {
            start: ts(start),
            end: end.map(ts),
        })
    }

    fn checked(windows: Vec<Option<TimeRange>>) -> Window {
        Window {
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
        let c = Window {
            not_before: ts(-100),
            not_after: ts(100),
            authority_windows: vec![None],
        };
        assert!(!c.covers(ts(-1)));
        assert!(c.covers(ts(0)));
    }
}
