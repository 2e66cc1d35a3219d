//! CONTRACT STUB (to be replaced): Rekor v1 and v2 over one RFC 6962 tree implementation.
use std::sync::Arc;

use axum::Router;

use crate::keys::LogKey;
use crate::Shared;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogVersion {
    V1,
    V2,
}

pub struct Log {
    key: LogKey,
}

impl Log {
    /// A new empty log served at `base_url`.
    pub fn new(_version: LogVersion, _base_url: &str) -> Self {
        Self {
            key: LogKey::generate(),
        }
    }
    pub fn key(&self) -> &LogKey {
        &self.key
    }
    /// `publicKey.keyDetails` in the trusted root.
    pub fn key_details(&self) -> &'static str {
        "PKIX_ECDSA_P256_SHA_256"
    }
    /// `logId.keyId` in the trusted root.
    pub fn log_id(&self) -> [u8; 32] {
        self.key.key_id()
    }
}

pub fn router_v1(_shared: Arc<Shared>) -> Router {
    Router::new()
}

pub fn router_v2(_shared: Arc<Shared>) -> Router {
    Router::new()
}
