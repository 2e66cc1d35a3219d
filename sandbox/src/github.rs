//! CONTRACT STUB (to be replaced): GitHub REST releases API, in memory.
use std::sync::Arc;

use axum::Router;

use crate::Shared;

pub struct GitHub;

#[derive(Debug, Clone, Default)]
pub struct ReleaseSpec {
    pub draft: bool,
    pub immutable: bool,
}

impl ReleaseSpec {
    pub fn published() -> Self {
        Self::default()
    }
}

impl GitHub {
    pub fn new(_api_base: &str, _token: &str) -> Self {
        GitHub
    }
    pub fn create_release(&self, _repo: &str, _tag: &str, _spec: ReleaseSpec) -> u64 {
        unimplemented!("contract stub")
    }
}

pub fn router(_shared: Arc<Shared>) -> Router {
    Router::new()
}
