//! CONTRACT STUB (to be replaced): RFC 3161 timestamp authority.
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;

use crate::Shared;

pub struct TimestampAuthority;

impl TimestampAuthority {
    pub fn generate(_valid_from: SystemTime) -> Self {
        TimestampAuthority
    }
    /// `[leaf, (intermediate,) root]` DER, leaf first.
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        unimplemented!("contract stub")
    }
}

pub fn router(_shared: Arc<Shared>) -> Router {
    Router::new()
}
