//! Rekor v1 (`/api/v1/...`, rekor.sigstore.dev) and Rekor v2 (`/api/v2/...`,
//! rekor-tiles) over one RFC 6962 tree implementation ([`merkle`]).
//!
//! Owns the log state (leaves, entries, integrated times, SETs; whether a v1
//! log stores bodies canonically or as sent), checkpoint signing
//! (C2SP signed notes) and both HTTP APIs ([`v1`], [`v2`]). It must not touch the
//! trust files (trust.rs reads [`Log::key`], [`Log::key_details`] and
//! [`Log::log_id`]) nor the fault layer.
//!
//! Checkpoint facts both verifiers rely on (read from sigstore-python 4.5.1
//! `_internal/rekor/checkpoint.py` and sigstore-verify 0.15.1 `verify_impl/tlog.rs`):
//! the note must contain exactly one blank line and end with a newline; the
//! signature's 4-byte key hint must equal the first 4 bytes of the log ID the
//! trusted root lists (`logId.keyId`), which for both logs here is SHA-256 of the
//! log key's SPKI DER; neither client checks the origin or the key name. v1 proofs
//! must carry a checkpoint whose root equals the proof's root; v2 verifiers take
//! the tree size and root from the checkpoint itself. sigstore-go (cosign 3)
//! does check a v2 checkpoint's names (`pkg/verify/tlog.go`: a note verifier
//! named `url.Hostname()` of the log's `baseUrl`, which the checkpoint's origin
//! and signature line must both be): so every name here is the base URL's
//! host without its port, as a real log's hostname is.

pub mod dsse;
pub mod merkle;
pub mod v1;
pub mod v2;

use std::collections::HashMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use p256::ecdsa::{DerSignature, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use parking_lot::Mutex;

use crate::keys::LogKey;
use merkle::{Hash, Tree};

/// The Rekor v1 router over `shared.rekor_v1`.
pub fn router_v1(shared: std::sync::Arc<crate::Shared>) -> axum::Router {
    v1::router(LogRef::V1(shared))
}

/// The Rekor v2 router over `shared.rekor_v2`.
pub fn router_v2(shared: std::sync::Arc<crate::Shared>) -> axum::Router {
    v2::router(LogRef::V2(shared))
}

/// The log a router serves: one of the sandbox's two, or a standalone one (tests,
/// or a log served outside a [`crate::Sandbox`]).
#[derive(Clone)]
pub enum LogRef {
    V1(std::sync::Arc<crate::Shared>),
    V2(std::sync::Arc<crate::Shared>),
    Standalone(std::sync::Arc<Log>),
}

impl LogRef {
    pub fn log(&self) -> &Log {
        match self {
            LogRef::V1(s) => &s.rekor_v1,
            LogRef::V2(s) => &s.rekor_v2,
            LogRef::Standalone(l) => l,
        }
    }
}

/// Which API a [`Log`] serves; it fixes the checkpoint origin and the entry format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogVersion {
    V1,
    V2,
}

/// Why a proposed entry was refused (both APIs answer 400 with it).
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("malformed entry: {0}")]
    Malformed(String),
    #[error("unsupported entry: {0}")]
    Unsupported(String),
    #[error("signature verification failed: {0}")]
    BadSignature(String),
}

/// One integrated entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The canonicalized body: the Merkle leaf.
    pub body: Vec<u8>,
    /// Seconds since the epoch (v1); 0 for v2, which has no integrated time.
    pub integrated_time: i64,
    /// The signed entry timestamp (v1 only).
    pub set: Option<Vec<u8>>,
    /// When it was logged, by this machine's monotonic clock.
    pub logged: std::time::Instant,
}

/// An inclusion proof together with the signed checkpoint of the same tree.
#[derive(Debug, Clone)]
pub struct Proof {
    pub log_index: u64,
    pub tree_size: u64,
    pub root_hash: Hash,
    pub hashes: Vec<Hash>,
    pub checkpoint: String,
}

/// The result of [`Log::append`].
#[derive(Debug, Clone)]
pub struct Appended {
    pub index: u64,
    /// The leaf was already in the log; `entry` is the earlier one.
    pub duplicate: bool,
    pub entry: Entry,
    pub proof: Proof,
}

#[derive(Default)]
struct State {
    tree: Tree,
    entries: Vec<Entry>,
    by_leaf: HashMap<Hash, u64>,
}

/// A transparency log: one key, one tree. Appends are serialised by one mutex so
/// every proof handed out is consistent with the checkpoint signed with it.
pub struct Log {
    version: LogVersion,
    key: LogKey,
    tree_id: i64,
    origin: String,
    key_name: String,
    /// v1: log the client's body bytes instead of the canonical body.
    as_sent: bool,
    /// Seconds its clock runs ahead of this machine's ([`Log::set_clock_ahead`]).
    ahead_secs: std::sync::atomic::AtomicU64,
    /// Milliseconds an entry stays queued ([`Log::set_integration_delay`]).
    queued_ms: std::sync::atomic::AtomicU64,
    state: Mutex<State>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("version", &self.version)
            .field("origin", &self.origin)
            .field("size", &self.tree_size())
            .finish_non_exhaustive()
    }
}

impl Log {
    /// A new empty log served at `base_url`.
    ///
    /// Origins follow the real deployments: v1 writes `<host> - <treeID>` and signs
    /// as `<host>` (rekor.sigstore.dev); v2 writes and signs as `<host>`
    /// (rekor-tiles, e.g. `log2025-1.rekor.sigstore.dev`).
    pub fn new(version: LogVersion, base_url: &str) -> Self {
        use rand::Rng;
        let authority = base_url
            .trim_end_matches('/')
            .split_once("://")
            .map_or(base_url, |(_, rest)| rest);
        let authority = authority.split('/').next().unwrap_or(authority);
        // Go's `url.Hostname()`: no port, an IPv6 address without brackets.
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6).to_string(),
            None => authority
                .rsplit_once(':')
                .map_or(authority, |(host, _)| host)
                .to_string(),
        };
        // Trillian tree IDs are positive int64s.
        let tree_id = rand::rngs::OsRng.gen_range(1..i64::MAX);
        let origin = match version {
            LogVersion::V1 => format!("{host} - {tree_id}"),
            LogVersion::V2 => host.clone(),
        };
        Self {
            version,
            key: LogKey::generate(),
            tree_id,
            origin,
            key_name: host,
            as_sent: false,
            ahead_secs: std::sync::atomic::AtomicU64::new(0),
            queued_ms: std::sync::atomic::AtomicU64::new(0),
            state: Mutex::new(State::default()),
        }
    }

    /// Let its clock run `ahead` of this machine's (a client's clock that
    /// lags the log's): every v1 entry from now on is integrated that much
    /// later than it is logged.
    pub fn set_clock_ahead(&self, ahead: std::time::Duration) {
        self.ahead_secs
            .store(ahead.as_secs(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Keep each new entry queued for `delay` after it is logged, as
    /// Trillian does until a leaf is integrated: a second request for it is
    /// already answered 409 (Trillian's `QueueLeaf` says ALREADY_EXISTS of a
    /// queued leaf), but `GET .../entries/{uuid}` answers 404 until then.
    /// It models only what a retried request meets: the creating request is
    /// still answered at once, where Rekor answers it once the leaf is
    /// included (so a test reading that answer tests nothing Rekor does).
    pub fn set_integration_delay(&self, delay: std::time::Duration) {
        self.queued_ms.store(
            u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Whether `entry` is still queued, not yet found by its UUID.
    pub fn queued(&self, entry: &Entry) -> bool {
        let ms = self.queued_ms.load(std::sync::atomic::Ordering::Relaxed);
        entry.logged.elapsed() < std::time::Duration::from_millis(ms)
    }

    /// Now by its clock, in Unix seconds (v1's integrated time).
    pub fn now(&self) -> i64 {
        let ahead = self.ahead_secs.load(std::sync::atomic::Ordering::Relaxed);
        jiff::Timestamp::now().as_second() + i64::try_from(ahead).unwrap_or(0)
    }

    /// With `yes`, a v1 log stores each entry's body exactly as the client
    /// sent it (after the checks a canonical body gets), as a log that does
    /// not re-encode submissions would; rekor.sigstore.dev canonicalizes.
    pub fn store_as_sent(mut self, yes: bool) -> Self {
        self.as_sent = yes;
        self
    }

    /// Whether entries are stored as sent (see [`Log::store_as_sent`]).
    pub fn stores_as_sent(&self) -> bool {
        self.as_sent
    }

    pub fn version(&self) -> LogVersion {
        self.version
    }

    pub fn key(&self) -> &LogKey {
        &self.key
    }

    /// `publicKey.keyDetails` in the trusted root. Both logs use ECDSA P-256: no
    /// client here needs Ed25519 for v2 (sigstore-python and sigstore-verify accept
    /// P-256 checkpoints on v2).
    pub fn key_details(&self) -> &'static str {
        "PKIX_ECDSA_P256_SHA_256"
    }

    /// `logId.keyId` in the trusted root and in every entry: SHA-256 of the SPKI DER.
    pub fn log_id(&self) -> [u8; 32] {
        self.key.key_id()
    }

    /// The Trillian tree ID (v1 `treeID`, the first 16 hex digits of v1 UUIDs).
    pub fn tree_id(&self) -> i64 {
        self.tree_id
    }

    /// The checkpoint origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn tree_size(&self) -> u64 {
        self.state.lock().tree.size()
    }

    /// The current size, root and signed checkpoint.
    pub fn checkpoint(&self) -> (u64, Hash, String) {
        let state = self.state.lock();
        let size = state.tree.size();
        let root = state.tree.root(size);
        (size, root, self.sign_checkpoint(size, &root))
    }

    /// A C2SP signed note: `<origin>\n<size>\n<b64 root>\n\n— <name> <b64(hint||sig)>\n`.
    fn sign_checkpoint(&self, size: u64, root: &Hash) -> String {
        let body = format!("{}\n{}\n{}\n", self.origin, size, B64.encode(root));
        let mut sig = self.log_id()[..4].to_vec();
        sig.extend(self.key.sign(body.as_bytes()));
        format!("{body}\n\u{2014} {} {}\n", self.key_name, B64.encode(sig))
    }

    fn proof_locked(&self, state: &State, index: u64) -> Option<Proof> {
        let size = state.tree.size();
        let hashes = state.tree.inclusion_proof(index, size)?;
        let root = state.tree.root(size);
        Some(Proof {
            log_index: index,
            tree_size: size,
            root_hash: root,
            hashes,
            checkpoint: self.sign_checkpoint(size, &root),
        })
    }

    /// Append `body` (the canonicalized entry) unless the same leaf is already
    /// logged; either way return the entry with a proof at the new tree size.
    /// `make_set` signs the promise over the body and the index the entry gets
    /// (v1); it runs under the append lock, so the index is final.
    pub fn append(
        &self,
        body: Vec<u8>,
        integrated_time: i64,
        make_set: impl FnOnce(&Log, &[u8], u64) -> Option<Vec<u8>>,
    ) -> Appended {
        let leaf = merkle::leaf_hash(&body);
        let mut state = self.state.lock();
        if let Some(&index) = state.by_leaf.get(&leaf) {
            let entry = state.entries[index as usize].clone();
            let proof = self.proof_locked(&state, index).expect("logged index");
            return Appended {
                index,
                duplicate: true,
                entry,
                proof,
            };
        }
        let index = state.tree.push(leaf);
        let set = make_set(self, &body, index);
        let entry = Entry {
            body,
            integrated_time,
            set,
            logged: std::time::Instant::now(),
        };
        state.entries.push(entry.clone());
        state.by_leaf.insert(leaf, index);
        let proof = self.proof_locked(&state, index).expect("just appended");
        Appended {
            index,
            duplicate: false,
            entry,
            proof,
        }
    }

    /// The entry at `index` with a proof at the current tree size.
    pub fn entry(&self, index: u64) -> Option<(Entry, Proof)> {
        let state = self.state.lock();
        let entry = state.entries.get(usize::try_from(index).ok()?)?.clone();
        Some((entry, self.proof_locked(&state, index)?))
    }

    /// The index of the entry whose leaf hash is `leaf`.
    pub fn find(&self, leaf: &Hash) -> Option<u64> {
        self.state.lock().by_leaf.get(leaf).copied()
    }
}

/// Verify a DER ECDSA P-256 signature over a SHA-256 `digest` (hashedrekord signs
/// the artifact digest, not the artifact) with the key in `spki_der`. The key
/// and the signature's encoding are read with p256 (its errors name what is
/// wrong); the signature is checked with aws-lc, several times faster, as the
/// sandbox shares the bench's cores with the tools it measures.
pub(crate) fn verify_prehashed(
    spki_der: &[u8],
    digest: &[u8],
    signature_der: &[u8],
) -> Result<(), EntryError> {
    use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
    let key = VerifyingKey::from_public_key_der(spki_der)
        .map_err(|e| EntryError::Unsupported(format!("public key is not ECDSA P-256: {e}")))?;
    DerSignature::try_from(signature_der)
        .map_err(|e| EntryError::BadSignature(format!("signature is not DER ECDSA: {e}")))?;
    let mismatch = || EntryError::BadSignature("signature does not match the digest".into());
    let digest = aws_lc_rs::digest::Digest::import_less_safe(digest, &aws_lc_rs::digest::SHA256)
        .map_err(|_| mismatch())?;
    let point = key.to_encoded_point(false);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point.as_bytes())
        .verify_digest(&digest, signature_der)
        .map_err(|_| mismatch())
}

/// The SPKI DER of a DER certificate.
pub(crate) fn certificate_spki(cert_der: &[u8]) -> Result<Vec<u8>, EntryError> {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(cert_der)
        .map_err(|e| EntryError::Malformed(format!("invalid certificate: {e}")))?;
    cert.tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| EntryError::Malformed(format!("invalid certificate key: {e}")))
}

/// RFC 8785 canonical JSON, as Rekor canonicalizes bodies and SET payloads.
pub(crate) fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    serde_json_canonicalizer::to_vec(value).expect("JSON values canonicalize")
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub(crate) fn unb64(field: &str, s: &str) -> Result<Vec<u8>, EntryError> {
    B64.decode(s)
        .map_err(|e| EntryError::Malformed(format!("{field} is not base64: {e}")))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use sigstore_crypto::CheckpointVerifyExt as _;

    #[test]
    fn checkpoints_parse_and_verify_for_both_versions() {
        for version in [LogVersion::V1, LogVersion::V2] {
            let log = Log::new(version, "http://127.0.0.1:4242");
            for i in 0..3u8 {
                log.append(vec![i], 0, |_, _, _| None);
            }
            let (size, root, text) = log.checkpoint();
            assert_eq!(size, 3);
            let cp = sigstore_types::Checkpoint::from_text(&text).unwrap();
            assert_eq!(cp.tree_size(), 3);
            assert_eq!(cp.root_hash().as_bytes(), &root);
            assert_eq!(cp.origin(), log.origin());
            let spki = sigstore_types::DerPublicKey::new(log.key().spki_der().to_vec());
            cp.verify_signature(&spki).unwrap();
            assert_eq!(
                sigstore_crypto::compute_key_hint(&spki).as_bytes(),
                &log.log_id()[..4]
            );
            // Exactly one blank line, trailing newline (sigstore-python's SignedNote).
            assert_eq!(text.matches("\n\n").count(), 1);
            assert!(text.ends_with('\n'));
            // A different key must not verify it.
            let other = LogKey::generate();
            let other = sigstore_types::DerPublicKey::new(other.spki_der().to_vec());
            assert!(cp.verify_signature(&other).is_err());
        }
        // Named by the base URL's host, without its port (sigstore-go's
        // `url.Hostname()`), in the origin and the signature line.
        let v1 = Log::new(LogVersion::V1, "http://127.0.0.1:4242/");
        assert_eq!(v1.origin(), format!("127.0.0.1 - {}", v1.tree_id()));
        let v2 = Log::new(LogVersion::V2, "http://127.0.0.1:4243");
        assert_eq!(v2.origin(), "127.0.0.1");
        let (_, _, text) = v2.checkpoint();
        assert!(text.contains("\n\u{2014} 127.0.0.1 "), "{text}");
        assert_eq!(
            Log::new(LogVersion::V2, "http://[::1]:4243/").origin(),
            "::1"
        );
    }

    #[test]
    fn duplicates_keep_their_index() {
        let log = Log::new(LogVersion::V2, "http://127.0.0.1:1");
        let a = log.append(b"a".to_vec(), 0, |_, _, _| None);
        let b = log.append(b"b".to_vec(), 0, |_, _, _| None);
        let again = log.append(b"a".to_vec(), 0, |_, _, _| None);
        assert_eq!((a.index, b.index, again.index), (0, 1, 0));
        assert!(again.duplicate && !b.duplicate);
        assert_eq!(again.proof.tree_size, 2);
        assert_eq!(log.find(&merkle::leaf_hash(b"b")), Some(1));
    }
}

#[cfg(test)]
mod http_tests;
