//! The repository attestations API (GitHub REST "Create an attestation",
//! `POST /repos/{owner}/{repo}/attestations` with `{"bundle": <Sigstore
//! bundle>}`, answered `201 {"id": N}`): where GitHub's attestation store
//! keeps a bundle for `gh attestation verify` and the repository's
//! attestations page.
//!
//! Owns whether an API URL has that API (github.com and its stand-ins do;
//! GitHub Enterprise Server, `https://HOST/api/v3`, does not), the request,
//! the permission refusal told apart from other failures (the token lacks
//! `attestations: write`), and the URL of a stored attestation. It never
//! reads or judges the bundle: the caller hands over bytes it verified.
//! Storing the same bundle again is harmless (a second attestation of the
//! same statement, as a re-run of GitHub's attest action makes; GitHub
//! documents no de-duplication), so the request is retried like a read.

use serde::Deserialize;

use super::client::Releases;
use super::error::{ApiFailure, ReleaseError};
use crate::vocab::Repo;

/// Whether the API at `api_url` has the attestations API: every API but
/// GitHub Enterprise Server's.
pub fn has_attestations_api(api_url: &str) -> bool {
    !is_enterprise_server(api_url)
}

/// Whether `api_url` is a GitHub Enterprise Server's API, served under
/// `/api/v3` (github.com's and GHE.com's are at a host's root).
pub fn is_enterprise_server(api_url: &str) -> bool {
    let path = api_url
        .split_once("://")
        .map_or(api_url, |(_, rest)| rest)
        .split_once('/')
        .map_or("", |(_, path)| path);
    path.trim_end_matches('/') == "api/v3"
}

/// Where people see a stored attestation: `SERVER/OWNER/NAME/attestations/ID`,
/// as GitHub's attest action links it. `server_url` is `GITHUB_SERVER_URL`
/// when set; otherwise the server the API is of (`GitHubServer::of_api`),
/// or the API's origin.
pub fn attestation_url(server_url: Option<&str>, api_url: &str, repo: &Repo, id: u64) -> String {
    let server = match server_url {
        Some(s) => s.trim_end_matches('/').to_owned(),
        None => match crate::vocab::GitHubServer::of_api(api_url) {
            Some(server) => server.url().to_owned(),
            // Not an API URL GitHub spells: its origin.
            None => {
                let (scheme, rest) = api_url.split_once("://").unwrap_or(("https", api_url));
                format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest))
            }
        },
    };
    format!("{server}/{}/{}/attestations/{id}", repo.owner, repo.name)
}

/// GitHub's answer to "Create an attestation".
#[derive(Deserialize)]
struct Created {
    id: u64,
}

impl Releases {
    /// Store `bundle` (a Sigstore bundle's JSON, verified by the caller) in
    /// the repository's attestations; its id. `what` names the bundle in
    /// errors (the asset it is on the release as), `tag` the release.
    pub async fn create_attestation(
        &self,
        bundle: &[u8],
        what: &str,
        tag: &str,
    ) -> Result<u64, ReleaseError> {
        let url = format!("{}/attestations", self.repo_url());
        let failed = |attempts, cause| ReleaseError::Api {
            what: format!("storing `{what}` as an attestation"),
            tag: tag.to_owned(),
            attempts,
            cause,
        };
        let bundle: serde_json::Value = serde_json::from_slice(bundle)
            .map_err(|e| failed(1, ApiFailure::Local(format!("the bundle is not JSON: {e}"))))?;
        let body = serde_json::json!({ "bundle": bundle });
        let created = self
            .retrying(|| self.post_json::<Created>(&url, &body))
            .await;
        match created {
            Ok(c) => Ok(c.id),
            // Not a rate limit: the token lacks `attestations: write`.
            Err((
                _,
                ApiFailure::Status {
                    status: status @ (401 | 403),
                    message,
                    transient: false,
                    ..
                },
            )) => Err(ReleaseError::AttestationForbidden {
                repo: self.repo.clone(),
                status,
                message,
            }),
            Err((
                _,
                ApiFailure::Status {
                    status: status @ (400 | 404 | 422),
                    message,
                    transient: false,
                    ..
                },
            )) => Err(ReleaseError::AttestationRefused {
                repo: self.repo.clone(),
                status,
                message,
            }),
            Err((attempts, cause)) => Err(failed(attempts, cause)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_enterprise_server_lacks_the_api() {
        for yes in [
            "https://api.github.com",
            "https://api.github.com/",
            "https://api.octo.ghe.com",
            "http://127.0.0.1:8080",
        ] {
            assert!(has_attestations_api(yes), "{yes}");
        }
        for no in [
            "https://ghe.example.com/api/v3",
            "https://ghe.example.com/api/v3/",
            "http://127.0.0.1:8080/api/v3",
        ] {
            assert!(!has_attestations_api(no), "{no}");
        }
    }

    #[test]
    fn attestation_urls_are_on_the_server() {
        let repo: Repo = "o/r".parse().unwrap();
        assert_eq!(
            attestation_url(None, "https://api.github.com", &repo, 7),
            "https://github.com/o/r/attestations/7"
        );
        assert_eq!(
            attestation_url(Some("https://github.com/"), "http://127.0.0.1:1", &repo, 7),
            "https://github.com/o/r/attestations/7"
        );
        assert_eq!(
            attestation_url(None, "https://api.octo.ghe.com", &repo, 7),
            "https://octo.ghe.com/o/r/attestations/7"
        );
        assert_eq!(
            attestation_url(None, "http://127.0.0.1:1", &repo, 7),
            "http://127.0.0.1:1/o/r/attestations/7"
        );
    }
}
