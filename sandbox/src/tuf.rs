//! A TUF repository distributing the sandbox's own trust material, as
//! `tuf-repo-cdn.sigstore.dev` distributes public-good's.
//!
//! Owns the repository's keys, its four top-level roles (root, timestamp,
//! snapshot, targets; consistent snapshots, so `N.root.json`,
//! `N.snapshot.json`, `N.targets.json` and `targets/<sha256>.<name>`, with
//! `timestamp.json` unprefixed, as the TUF spec lays them out) and the
//! switches tests flip: rotate the root, expire the timestamp, take the
//! mirror down. Metadata is signed for real (ECDSA P-256 over the
//! securesystemslib canonical JSON of `signed`, the bytes TUF clients
//! verify). It does not build the targets: it serves the trust files
//! [`crate::trust`] wrote, byte for byte.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use p256::pkcs8::{EncodePublicKey, LineEnding};
use parking_lot::Mutex;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::keys::LogKey;
use crate::trust::rfc3339;
use crate::Shared;

/// The targets a Sigstore TUF repository lists (the names clients ask for).
pub const TRUSTED_ROOT_TARGET: &str = "trusted_root.json";
pub const SIGNING_CONFIG_TARGET: &str = "signing_config.v0.2.json";

/// How long fresh metadata stays valid.
const LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// One generation of keys: a root key and one online key that signs
/// timestamp, snapshot and targets (as Sigstore's repository does).
#[derive(Clone)]
struct Keys {
    root: LogKey,
    online: LogKey,
}

impl Keys {
    fn generate() -> Self {
        Self {
            root: LogKey::generate(),
            online: LogKey::generate(),
        }
    }
}

struct RepoState {
    /// Every key generation so far; the last one is current.
    generations: Vec<Keys>,
    /// Signed root metadata, by version (1-based).
    roots: Vec<Vec<u8>>,
    /// Version of timestamp, snapshot and targets: bumped at each re-signing
    /// so a client never sees a rollback.
    version: u64,
    timestamp_expired: bool,
    unreachable: bool,
    /// The targets listed (name, bytes).
    targets: Vec<(String, Vec<u8>)>,
    /// Served paths (relative to the repository URL) and their bytes.
    files: BTreeMap<String, Vec<u8>>,
}

/// The repository; see the module docs.
pub struct TufRepository {
    state: Mutex<RepoState>,
}

impl std::fmt::Debug for TufRepository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TufRepository").finish_non_exhaustive()
    }
}

/// A key as TUF metadata declares it, and its key id (SHA-256 of the
/// canonical key object, as securesystemslib computes it).
fn tuf_key(key: &LogKey) -> (String, Value) {
    let pem = key
        .signing_key()
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("P-256 public keys always encode");
    let value = json!({
        "keytype": "ecdsa",
        "scheme": "ecdsa-sha2-nistp256",
        "keyval": { "public": pem },
    });
    let id = hex::encode(Sha256::digest(canonical(&value)));
    (id, value)
}

fn canonical(v: &Value) -> Vec<u8> {
    sigstore_tuf::canonical_json::to_canonical_bytes(v).expect("metadata values are canonical")
}

/// `signed` wrapped in its envelope with one signature per key.
fn sign(signed: Value, keys: &[&LogKey]) -> Vec<u8> {
    let bytes = canonical(&signed);
    let signatures: Vec<Value> = keys
        .iter()
        .map(|k| json!({ "keyid": tuf_key(k).0, "sig": hex::encode(k.sign(&bytes)) }))
        .collect();
    serde_json::to_vec_pretty(&json!({ "signed": signed, "signatures": signatures }))
        .expect("JSON values serialize")
}

fn expires(expired: bool) -> String {
    let now = SystemTime::now();
    rfc3339(if expired {
        now - Duration::from_secs(3600)
    } else {
        now + LIFETIME
    })
}

fn root_signed(keys: &Keys, version: u64) -> Value {
    let (root_id, root_key) = tuf_key(&keys.root);
    let (online_id, online_key) = tuf_key(&keys.online);
    let role = |id: &str| json!({ "keyids": [id], "threshold": 1 });
    json!({
        "_type": "root",
        "spec_version": "1.0.31",
        "version": version,
        "expires": expires(false),
        "consistent_snapshot": true,
        "keys": { root_id.clone(): root_key, online_id.clone(): online_key },
        "roles": {
            "root": role(&root_id),
            "timestamp": role(&online_id),
            "snapshot": role(&online_id),
            "targets": role(&online_id),
        },
    })
}

impl Default for TufRepository {
    fn default() -> Self {
        Self::new()
    }
}

impl TufRepository {
    /// A repository at root version 1 listing nothing yet (see [`Self::publish`]).
    pub fn new() -> Self {
        let keys = Keys::generate();
        let root = sign(root_signed(&keys, 1), &[&keys.root]);
        let repo = Self {
            state: Mutex::new(RepoState {
                generations: vec![keys],
                roots: vec![root],
                version: 0,
                timestamp_expired: false,
                unreachable: false,
                targets: Vec::new(),
                files: BTreeMap::new(),
            }),
        };
        repo.resign();
        repo
    }

    /// List the sandbox's trusted root and signing config (Rekor v1), the
    /// files [`crate::trust::write_files`] wrote, at a new version.
    pub fn publish(&self, files: &crate::trust::Files) -> std::io::Result<()> {
        self.state.lock().targets = vec![
            (
                TRUSTED_ROOT_TARGET.into(),
                std::fs::read(&files.trusted_root)?,
            ),
            (
                SIGNING_CONFIG_TARGET.into(),
                std::fs::read(&files.signing_config_v1)?,
            ),
        ];
        self.resign();
        Ok(())
    }

    /// Stop listing the target `name`, at a new version: a repository that
    /// distributes only a trusted root, as GitHub's does.
    pub fn withdraw(&self, name: &str) {
        self.state.lock().targets.retain(|(n, _)| n != name);
        self.resign();
    }

    /// Serve `bytes` as the file `path` (`2.root.json`, `timestamp.json`)
    /// until the metadata is signed again: a mirror serving what it likes.
    pub fn serve_instead(&self, path: &str, bytes: Vec<u8>) {
        self.state.lock().files.insert(path.to_owned(), bytes);
    }

    /// `1.root.json`: what a client is bootstrapped with.
    pub fn initial_root(&self) -> Vec<u8> {
        self.state.lock().roots[0].clone()
    }

    /// Rotate every key: serve the next `N.root.json`, signed by the old and
    /// the new root keys, and re-sign the other roles with the new online key.
    pub fn rotate_root(&self) {
        {
            let mut s = self.state.lock();
            let old = s.generations.last().expect("one generation").clone();
            let new = Keys::generate();
            let version = s.roots.len() as u64 + 1;
            let root = sign(root_signed(&new, version), &[&old.root, &new.root]);
            s.generations.push(new);
            s.roots.push(root);
        }
        self.resign();
    }

    /// Serve timestamp metadata that expired an hour ago (or fresh again).
    pub fn set_timestamp_expired(&self, expired: bool) {
        self.state.lock().timestamp_expired = expired;
        self.resign();
    }

    /// Answer every request with 503 (the mirror is down), or serve again.
    pub fn set_unreachable(&self, down: bool) {
        self.state.lock().unreachable = down;
    }

    /// Current root version.
    pub fn root_version(&self) -> u64 {
        self.state.lock().roots.len() as u64
    }

    /// Re-sign timestamp, snapshot and targets with the current online key,
    /// at a new version.
    fn resign(&self) {
        let mut s = self.state.lock();
        s.version += 1;
        let v = s.version;
        let online = s.generations.last().expect("one generation").online.clone();
        let mut files = BTreeMap::new();
        for (i, root) in s.roots.iter().enumerate() {
            files.insert(format!("{}.root.json", i + 1), root.clone());
        }
        let mut listed = serde_json::Map::new();
        for (name, bytes) in &s.targets {
            let hash = hex::encode(Sha256::digest(bytes));
            files.insert(format!("targets/{hash}.{name}"), bytes.clone());
            listed.insert(
                name.clone(),
                json!({ "length": bytes.len(), "hashes": { "sha256": hash } }),
            );
        }
        let meta = |name: &str| json!({ name: { "version": v } });
        let targets = json!({
            "_type": "targets", "spec_version": "1.0.31", "version": v,
            "expires": expires(false), "targets": listed,
        });
        let snapshot = json!({
            "_type": "snapshot", "spec_version": "1.0.31", "version": v,
            "expires": expires(false), "meta": meta("targets.json"),
        });
        let timestamp = json!({
            "_type": "timestamp", "spec_version": "1.0.31", "version": v,
            "expires": expires(s.timestamp_expired), "meta": meta("snapshot.json"),
        });
        files.insert(format!("{v}.targets.json"), sign(targets, &[&online]));
        files.insert(format!("{v}.snapshot.json"), sign(snapshot, &[&online]));
        files.insert("timestamp.json".into(), sign(timestamp, &[&online]));
        s.files = files;
    }

    fn get(&self, path: &str) -> Result<Vec<u8>, StatusCode> {
        let s = self.state.lock();
        if s.unreachable {
            return Err(StatusCode::SERVICE_UNAVAILABLE);
        }
        s.files.get(path).cloned().ok_or(StatusCode::NOT_FOUND)
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{*path}", get(file))
        .with_state(shared)
}

async fn file(State(shared): State<Arc<Shared>>, Path(path): Path<String>) -> Response {
    match shared.tuf.get(&path) {
        Ok(bytes) => ([("content-type", "application/json")], bytes).into_response(),
        Err(status) => status.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstore_trust_root::{TrustedRoot, TufBootstrap, TufConfig};

    async fn fetch(
        sandbox: &crate::Sandbox,
        cache: &std::path::Path,
    ) -> anyhow::Result<TrustedRoot> {
        let root = std::fs::read(sandbox.tuf_root_path())?;
        let config = TufConfig::custom(sandbox.urls().tuf.clone(), TufBootstrap::trusted(root))
            .with_cache_dir(cache.to_owned());
        Ok(TrustedRoot::from_tuf(config).await?)
    }

    #[tokio::test]
    async fn a_tuf_client_reads_the_sandbox_trusted_root() {
        let sandbox = crate::Sandbox::start().await.unwrap();
        let cache = tempfile::tempdir().unwrap();
        let root = fetch(&sandbox, cache.path()).await.unwrap();
        let served =
            TrustedRoot::from_json(&std::fs::read_to_string(sandbox.trusted_root_path()).unwrap())
                .unwrap();
        assert_eq!(
            serde_json::to_value(&root).unwrap(),
            serde_json::to_value(&served).unwrap()
        );

        // A rotated root is followed from the cached version 1.
        sandbox.tuf().rotate_root();
        assert_eq!(sandbox.tuf().root_version(), 2);
        fetch(&sandbox, cache.path()).await.unwrap();
        let cached: Value =
            serde_json::from_slice(&std::fs::read(cache.path().join("root.json")).unwrap())
                .unwrap();
        assert_eq!(cached["signed"]["version"], 2);

        // Expired timestamp metadata is refused; so is a mirror that is down.
        sandbox.tuf().set_timestamp_expired(true);
        let fresh = tempfile::tempdir().unwrap();
        assert!(fetch(&sandbox, fresh.path()).await.is_err());
        sandbox.tuf().set_timestamp_expired(false);
        fetch(&sandbox, fresh.path()).await.unwrap();
        sandbox.tuf().set_unreachable(true);
        let fresh = tempfile::tempdir().unwrap();
        assert!(fetch(&sandbox, fresh.path()).await.is_err());
    }
}
