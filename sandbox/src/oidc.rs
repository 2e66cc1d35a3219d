//! CONTRACT STUB (to be replaced): OIDC issuer and GitHub Actions token endpoint.
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde::{Deserialize, Serialize};

use crate::Shared;

pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtAlgorithm {
    Es256,
    Rs256,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenClaims {
    pub iss: String,
}

impl TokenClaims {
    /// The claim set GitHub Actions puts in a token for a workflow run.
    pub fn github(_repository: &str, _git_ref: &str, _sha: &str) -> Self {
        unimplemented!("contract stub")
    }
    /// The SAN Fulcio writes for these claims.
    pub fn identity(&self) -> String {
        unimplemented!("contract stub")
    }
}

pub struct OidcIssuer;

impl OidcIssuer {
    pub fn generate(_alg: JwtAlgorithm) -> Self {
        OidcIssuer
    }
    pub fn mint(&self, _claims: &TokenClaims, _lifetime: Duration) -> String {
        unimplemented!("contract stub")
    }
}

pub fn router(_shared: Arc<Shared>) -> Router {
    Router::new()
}
