//! CONTRACT STUB (to be replaced): Fulcio v2.
use std::sync::Arc;

use axum::Router;

use crate::Shared;

pub fn router(_shared: Arc<Shared>) -> Router {
    Router::new()
}
