//! GitHub releases: find a release by tag (drafts too) and upload bundles to it,
//! idempotently; resolve a tag to its commit. The only module that imports
//! octocrab.
//!
//! Owns the GitHub REST conversation: the API base (`GITHUB_API_URL`, so GHES
//! works), the upload URL (always the release's own `upload_url`), asset-name
//! encoding and GitHub's renaming of asset names, the comparison of an existing
//! asset with the local bundle, and retrying (5xx, 429, secondary rate limits,
//! `Retry-After`) through [`crate::net::retry`]. octocrab's own retry is off: it
//! re-sends a POST immediately, which duplicates assets.
//!
//! Every upload attempt starts by listing the release's assets, so a retry (or a
//! re-run after a partial failure) never creates a second copy: identical
//! content is left alone; different content is downloaded and offered to the
//! caller's equivalence test (a re-run on a fresh runner re-signs, and its new
//! bundle differs byte-wise from the valid one already there), kept when it
//! passes, and otherwise an error unless `overwrite`. It knows nothing about
//! signing or reports (what "equivalent" means is the caller's), and never logs
//! the token.
//!
//! Every answer is bounded and none panics us: a listing follows `Link:
//! rel="next"` for at most [`MAX_PAGES`] pages and never to a page already
//! read; a download is hashed while it streams and refused as soon as more
//! than the asset's listed size arrived (a bundle also when it is listed
//! past [`crate::bundle_io::MAX_BUNDLE_BYTES`]); download redirects are
//! followed here, each `Location` checked (octocrab's own following panics
//! on one that is not ASCII). A download is written only into a file the
//! caller hands over; where that file ends up is the caller's business.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use http_body_util::StreamBody;
use octocrab::models::repos::{Asset, Release as GhRelease};
use octocrab::{FromResponse as _, OctoBody, Octocrab, Page};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest as _, Sha256};

use crate::net::{self, Retry, RetryPolicy, Retryable};
use crate::oidc::Secret;

/// The public API of github.com; GHES serves it under `https://HOST/api/v3`.
pub const GITHUB_COM_API: &str = "https://api.github.com";
/// github.com accepts uploads on another host than its API.
const GITHUB_COM_UPLOADS: &str = "https://uploads.github.com";

/// How many annotated tags a tag may go through before its commit. git allows
/// any depth, but a release tag is one annotated tag (rarely a tag of a tag),
/// and a server's answers must not keep us asking.
pub const MAX_TAG_DEPTH: usize = 4;

/// How many pages of a listing are read: 100,000 releases or assets at 100
/// a page, far more than GitHub keeps (1,000 assets a release). A server
/// whose `Link: rel="next"` goes on past it must not keep us asking.
pub const MAX_PAGES: usize = 1000;

/// How many redirects an asset download follows (github.com uses one, to
/// its storage host).
const MAX_REDIRECTS: usize = 3;

/// RFC 3986 unreserved characters stay; everything else is percent-encoded
/// (octocrab puts names into the query unencoded, so `a b` or `a&b` break).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// A path segment (a tag such as `v1.0/rc` must stay one segment).
const PATH_SEGMENT: &AsciiSet = QUERY_VALUE;

/// `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl std::str::FromStr for Repo {
    type Err = ReleaseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match s.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) => Ok(Repo {
                owner: owner.to_owned(),
                name: name.to_owned(),
            }),
            _ => Err(ReleaseError::BadRepo(s.to_owned())),
        }
    }
}

impl std::fmt::Display for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// A failure talking to GitHub. Each names the release or asset and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("the GitHub API URL `{0}` is not an http(s) URL: set GITHUB_API_URL to e.g. https://api.github.com or https://HOST/api/v3")]
    BadApiUrl(String),
    #[error(
        "the repository `{0}` is not owner/name: pass --repo owner/name (or set GITHUB_REPOSITORY)"
    )]
    BadRepo(String),
    #[error("cannot set up the GitHub client: {0}")]
    Client(String),
    #[error("{repo} has no release for tag `{tag}`{}", no_release_fix(tag, *anonymous))]
    NoRelease {
        repo: Repo,
        tag: String,
        /// Asked without a token: drafts and private repositories are hidden.
        anonymous: bool,
    },
    #[error("GitHub refused the token for {repo} ({status}: {message}): the job needs `permissions: contents: write`, or pass a token that can write releases")]
    Forbidden {
        repo: Repo,
        status: u16,
        message: String,
    },
    #[error("asset `{name}` already exists on release {tag} with different content, and it is not an equivalent bundle ({reason}): pass --overwrite (action input `overwrite: true`) to replace it, or delete the asset")]
    AssetDiffers {
        name: String,
        tag: String,
        reason: String,
    },
    #[error("release {tag} is published and immutable, so {what} is refused (GitHub: {message}): upload before publishing instead: use `release-mode: draft` (--release-mode draft) with `publish: true`, which uploads to a draft and publishes it only after every upload verified, or sign before the release is published")]
    Immutable {
        tag: String,
        what: String,
        message: String,
    },
    #[error("release {tag} is already published, and release-mode `draft` never touches a published release: sign before publishing, or use release-mode `existing` (or `auto`) to add to it")]
    AlreadyPublished { tag: String },
    #[error("{repo} has no tag `{tag}` (GitHub creates a release's tag when the release is published): check the tag")]
    NoTag { repo: Repo, tag: String },
    #[error("tag `{tag}` of {repo} points at a {kind:?} ({sha}), not a commit: point the tag at the release's commit")]
    TagNotACommit {
        repo: Repo,
        tag: String,
        kind: String,
        sha: String,
    },
    #[error("tag `{tag}` of {repo} is a chain of more than {MAX_TAG_DEPTH} annotated tags: point the tag at the release's commit (or at one annotated tag of it)")]
    TagTooDeep { repo: Repo, tag: String },
    #[error("tag `{tag}` of {repo} loops: tag object {sha} points back into its own chain, which git cannot make; check the repository (or the GitHub API URL)")]
    TagLoop {
        repo: Repo,
        tag: String,
        sha: String,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} on release {tag} failed{}: {cause}", attempts_note(*.attempts))]
    Api {
        what: String,
        tag: String,
        attempts: u32,
        cause: ApiFailure,
    },
}

/// What to do when no release has the tag: an anonymous look sees neither
/// drafts nor private repositories, so a token may be all that is missing.
fn no_release_fix(tag: &str, anonymous: bool) -> String {
    if anonymous {
        " visible without a token (drafts and private repositories need GITHUB_TOKEN): check the tag (and the repository), or pass a token".to_owned()
    } else {
        format!(" (drafts included): check the tag (and the repository), or create the release first (e.g. `gh release create {tag}`)")
    }
}

impl ReleaseError {
    /// The target is wrong, not the run: fixed by configuration (exit 2).
    /// The one list, for sign's upload and `verify --release` alike.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            ReleaseError::NoRelease { .. }
                | ReleaseError::BadRepo(_)
                | ReleaseError::BadApiUrl(_)
                | ReleaseError::Forbidden { .. }
                | ReleaseError::AlreadyPublished { .. }
        )
    }
}

fn attempts_note(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

/// One failed request, classified for retrying.
#[derive(Debug, thiserror::Error)]
pub enum ApiFailure {
    #[error("GitHub answered {status}: {message}")]
    Status {
        status: u16,
        message: String,
        /// 5xx, 429, or a 403 that is a (secondary) rate limit.
        transient: bool,
        retry_after: Option<Duration>,
    },
    #[error("{0}")]
    Transport(String),
    /// The asset exists with other content that the caller does not accept
    /// as equivalent, and `overwrite` is off: final.
    #[error("asset differs: {0}")]
    Differs(String),
    #[error("unexpected response: {0}")]
    Decode(String),
    /// Writing a downloaded file failed: not GitHub's doing, not retried.
    #[error("cannot write the download: {0}")]
    Local(String),
    /// A download went past the size the release lists for the asset.
    #[error("the server sent more than the {listed} bytes the release lists for it, so it was refused (nothing of it is kept): try again; if it persists, check the release (or the proxy in front of GITHUB_API_URL)")]
    MoreThanListed { listed: u64 },
    /// A bundle asset listed larger than any bundle.
    #[error("it is {size} bytes, larger than {} bytes, so it is not a Sigstore bundle: replace it with the `.sigstore.json` file the signer wrote", crate::bundle_io::MAX_BUNDLE_BYTES)]
    NotABundle { size: u64 },
    /// A listing's `Link: rel="next"` named a page already read.
    #[error("the listing's `Link: rel=\"next\"` leads back to a page already read ({url}), so it would never end: GitHub does not do that; check GITHUB_API_URL (or the proxy in front of it)")]
    PageLoop { url: String },
    /// A listing went on past [`MAX_PAGES`] pages.
    #[error("the listing goes on past {MAX_PAGES} pages, more than GitHub ever lists: check GITHUB_API_URL (or the proxy in front of it)")]
    TooManyPages,
    /// A download redirected somewhere that is no URL to follow.
    #[error("it redirects to {location:?}, which is not an absolute http(s) URL: check GITHUB_API_URL (or the proxy in front of it)")]
    BadRedirect { location: String },
    /// A download over https redirected to plain http.
    #[error("it redirects to {location:?}, plain http from an https API, so it was not followed: check GITHUB_API_URL (or the proxy in front of it)")]
    InsecureRedirect { location: String },
    /// A download redirected more than [`MAX_REDIRECTS`] times.
    #[error("it redirects more than {MAX_REDIRECTS} times: check GITHUB_API_URL (or the proxy in front of it)")]
    TooManyRedirects,
}

impl Retryable for ApiFailure {
    fn retry(&self) -> Retry {
        match self {
            ApiFailure::Status {
                transient: true,
                retry_after,
                ..
            } => Retry::After(*retry_after),
            ApiFailure::Transport(_) => Retry::After(None),
            _ => Retry::No,
        }
    }
}

/// A release found by tag.
#[derive(Debug, Clone)]
pub struct Release {
    pub id: u64,
    pub tag: String,
    pub draft: bool,
    /// Published with immutability on: no asset may be added or deleted.
    pub immutable: bool,
    pub html_url: String,
    /// The release's own upload URL template (`...{?name,label}`).
    upload_url: String,
}

/// What happened to one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssetAction {
    Uploaded,
    /// An asset with identical content was already there.
    Unchanged,
    /// An asset with different content was replaced (`overwrite`).
    Replaced,
    /// An asset with different content that the caller accepted as
    /// equivalent (a valid bundle for the same artifact and signer) was kept.
    Equivalent,
}

impl AssetAction {
    /// What happened, in words for a log line.
    pub fn describe(self) -> &'static str {
        match self {
            AssetAction::Uploaded => "uploaded",
            AssetAction::Unchanged => "unchanged: an identical asset is already on the release",
            AssetAction::Replaced => "replaced",
            AssetAction::Equivalent => "kept: an equivalent bundle is already on the release",
        }
    }
}

/// The caller's test of an existing asset with different content: `Ok` keeps
/// it, `Err` says why it does not stand in for the local file.
pub type Equivalence<'a> = &'a (dyn Fn(&[u8]) -> Result<(), String> + Send + Sync);

/// Accepts nothing: only identical content is left alone.
pub fn identical_only(_: &[u8]) -> Result<(), String> {
    Err("its content differs".into())
}

/// An asset as it is on the release after an upload.
#[derive(Debug, Clone)]
pub struct UploadedAsset {
    /// The name GitHub stored (it renames some characters to `.`).
    pub name: String,
    pub action: AssetAction,
    pub download_url: String,
    /// The asset's API URL (downloads with the token, drafts included).
    pub api_url: String,
    /// Its size as GitHub lists it.
    pub size: u64,
}

/// A client for one repository's releases.
pub struct Releases {
    octo: Octocrab,
    api: String,
    repo: Repo,
    retry: RetryPolicy,
    /// No token: GitHub hides drafts and private repositories.
    anonymous: bool,
}

impl std::fmt::Debug for Releases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Releases")
            .field("api", &self.api)
            .field("repo", &self.repo)
            .finish_non_exhaustive()
    }
}

impl Releases {
    /// `api_url` is `GITHUB_API_URL` (github.com's or `https://HOST/api/v3`).
    pub fn new(
        api_url: &str,
        repo: Repo,
        token: &Secret,
        retry: RetryPolicy,
    ) -> Result<Self, ReleaseError> {
        Self::with_token(api_url, repo, Some(token), retry)
    }

    /// [`Self::new`], anonymous without a token (public repositories only;
    /// GitHub then also hides drafts).
    pub fn with_token(
        api_url: &str,
        repo: Repo,
        token: Option<&Secret>,
        retry: RetryPolicy,
    ) -> Result<Self, ReleaseError> {
        let api = api_url.trim_end_matches('/').to_owned();
        let uri: http::Uri = api
            .parse()
            .map_err(|_| ReleaseError::BadApiUrl(api_url.to_owned()))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(ReleaseError::BadApiUrl(api_url.to_owned()));
        };
        if scheme != "https" && scheme != "http" {
            return Err(ReleaseError::BadApiUrl(api_url.to_owned()));
        }
        // octocrab prefixes the base path to every request path, absolute
        // upload URLs included (`/api/v3/api/uploads/...` on GHES): give it the
        // origin only and build every URL in full here.
        let origin = format!("{scheme}://{authority}");
        // The token goes to the API host and the host of release upload URLs only.
        let uploads = if origin == GITHUB_COM_API {
            GITHUB_COM_UPLOADS.to_owned()
        } else {
            origin.clone()
        };
        let client_err = |e: octocrab::Error| ReleaseError::Client(e.to_string());
        let builder = Octocrab::builder()
            .base_uri(origin.as_str())
            .map_err(client_err)?
            .upload_uri(uploads.as_str())
            .map_err(client_err)?;
        let builder = match token {
            Some(t) => builder.personal_token(t.expose().to_owned()),
            None => builder,
        };
        let octo = builder
            .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(60)))
            .build()
            .map_err(client_err)?;
        Ok(Self {
            octo,
            api,
            repo,
            retry,
            anonymous: token.is_none(),
        })
    }

    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    fn repo_url(&self) -> String {
        format!("{}/repos/{}/{}", self.api, self.repo.owner, self.repo.name)
    }

    /// The release for `tag`, drafts included (GitHub resolves only
    /// published releases by tag; drafts are found by listing, the oldest
    /// first).
    pub async fn find(&self, tag: &str) -> Result<Release, ReleaseError> {
        let by_tag = format!(
            "{}/releases/tags/{}",
            self.repo_url(),
            utf8_percent_encode(tag, PATH_SEGMENT)
        );
        let api_err = |attempts, cause| ReleaseError::Api {
            what: "finding the release".into(),
            tag: tag.to_owned(),
            attempts,
            cause,
        };
        match self.retrying(|| self.get_json::<GhRelease>(&by_tag)).await {
            Ok(r) => return Ok(release(r)),
            Err((_, ApiFailure::Status { status: 404, .. })) => {}
            Err((n, e)) => return Err(self.classify(e, |e| api_err(n, e))),
        }
        // Several drafts may share a tag (matrix jobs): the oldest, as
        // `release-mode: draft` settles on.
        if let Some(oldest) = self.all_for_tag(tag).await?.into_iter().next() {
            return Ok(oldest);
        }
        Err(ReleaseError::NoRelease {
            repo: self.repo.clone(),
            tag: tag.to_owned(),
            anonymous: self.anonymous,
        })
    }

    /// The commit `tag` points at (`git/ref/tags/<tag>`), annotated tags
    /// peeled (`git/tags/<sha>`, at most [`MAX_TAG_DEPTH`] of them), as a
    /// lowercase hex SHA.
    pub async fn tag_commit(&self, tag: &str) -> Result<String, ReleaseError> {
        let no_tag = || ReleaseError::NoTag {
            repo: self.repo.clone(),
            tag: tag.to_owned(),
        };
        // A ref's path keeps its `/` (`tags/v1/rc`); a `.`, `..` or empty
        // segment is no git ref name, and would move the URL elsewhere.
        if tag
            .split('/')
            .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        {
            return Err(no_tag());
        }
        let path: Vec<String> = tag
            .split('/')
            .map(|seg| utf8_percent_encode(seg, PATH_SEGMENT).to_string())
            .collect();
        let api_err = |attempts, cause| ReleaseError::Api {
            what: format!("resolving the commit of tag `{tag}`"),
            tag: tag.to_owned(),
            attempts,
            cause,
        };
        let url = format!("{}/git/ref/tags/{}", self.repo_url(), path.join("/"));
        let mut object = match self.retrying(|| self.get_json::<GitRef>(&url)).await {
            Ok(r) => r.object,
            Err((_, ApiFailure::Status { status: 404, .. })) => return Err(no_tag()),
            Err((n, e)) => return Err(self.classify(e, |e| api_err(n, e))),
        };
        let mut peeled: Vec<String> = Vec::new();
        loop {
            // Both come from the server: a SHA is hex of a git hash's length.
            let sha = object.sha.to_ascii_lowercase();
            if !(matches!(sha.len(), 40 | 64) && sha.bytes().all(|b| b.is_ascii_hexdigit())) {
                return Err(api_err(
                    1,
                    ApiFailure::Decode(format!(
                        "{:?} is not a git object id",
                        object.sha.chars().take(80).collect::<String>()
                    )),
                ));
            }
            match object.kind.as_str() {
                "commit" => return Ok(sha),
                "tag" if peeled.contains(&sha) => {
                    return Err(ReleaseError::TagLoop {
                        repo: self.repo.clone(),
                        tag: tag.to_owned(),
                        sha,
                    })
                }
                "tag" if peeled.len() == MAX_TAG_DEPTH => {
                    return Err(ReleaseError::TagTooDeep {
                        repo: self.repo.clone(),
                        tag: tag.to_owned(),
                    })
                }
                "tag" => {
                    let url = format!("{}/git/tags/{sha}", self.repo_url());
                    object = self
                        .retrying(|| self.get_json::<GitTag>(&url))
                        .await
                        .map_err(|(n, e)| self.classify(e, |e| api_err(n, e)))?
                        .object;
                    peeled.push(sha);
                }
                other => {
                    return Err(ReleaseError::TagNotACommit {
                        repo: self.repo.clone(),
                        tag: tag.to_owned(),
                        kind: other.chars().take(20).collect(),
                        sha,
                    })
                }
            }
        }
    }

    /// Upload `bundle` to `release` as `name`, idempotently (see the module doc).
    /// An existing asset with other content is kept when `equivalent` accepts it.
    pub async fn upload(
        &self,
        release: &Release,
        name: &str,
        bundle: &Path,
        overwrite: bool,
        equivalent: Equivalence<'_>,
    ) -> Result<UploadedAsset, ReleaseError> {
        self.upload_as(
            release,
            name,
            bundle,
            "application/json",
            overwrite,
            equivalent,
        )
        .await
    }

    /// [`Self::upload`] for any file, with its content type.
    pub async fn upload_as(
        &self,
        release: &Release,
        name: &str,
        bundle: &Path,
        content_type: &'static str,
        overwrite: bool,
        equivalent: Equivalence<'_>,
    ) -> Result<UploadedAsset, ReleaseError> {
        let (digest, size) = file_sha256(bundle).await?;
        let stored_name = github_asset_name(name);
        let result = self
            .retrying(|| async {
                // 1. What is there now: a previous attempt may have succeeded
                //    even though its response was lost.
                let existing = self.find_asset(release, name, &stored_name).await?;
                let action = match existing {
                    Some(asset) if self.same_content(&asset, &digest).await? => {
                        return Ok(UploadedAsset {
                            name: asset.name,
                            action: AssetAction::Unchanged,
                            download_url: asset.browser_download_url.to_string(),
                            api_url: asset.url.to_string(),
                            size: asset.size.max(0) as u64,
                        });
                    }
                    // 2. Different bytes may still be the same statement (a
                    //    re-signed artifact): the caller decides. Kept even
                    //    with `overwrite`: replacing a valid bundle buys
                    //    nothing and churns what consumers already fetched.
                    Some(asset) => match self.equivalent(&asset, equivalent).await? {
                        Ok(()) => {
                            return Ok(UploadedAsset {
                                name: asset.name,
                                action: AssetAction::Equivalent,
                                download_url: asset.browser_download_url.to_string(),
                                api_url: asset.url.to_string(),
                                size: asset.size.max(0) as u64,
                            });
                        }
                        Err(reason) if !overwrite => return Err(ApiFailure::Differs(reason)),
                        // 3. Replace: delete first (GitHub refuses a duplicate name).
                        Err(_) => {
                            self.delete(asset.url.as_str()).await?;
                            AssetAction::Replaced
                        }
                    },
                    None => AssetAction::Uploaded,
                };
                // 4. Upload, streamed from the file.
                let asset = self
                    .post_asset(release, name, bundle, size, content_type)
                    .await?;
                Ok(UploadedAsset {
                    name: asset.name,
                    action,
                    download_url: asset.browser_download_url.to_string(),
                    api_url: asset.url.to_string(),
                    size: asset.size.max(0) as u64,
                })
            })
            .await;
        result.map_err(|(attempts, cause)| match cause {
            ApiFailure::Differs(reason) => ReleaseError::AssetDiffers {
                name: stored_name.clone(),
                tag: release.tag.clone(),
                reason,
            },
            cause => self.classify_on(
                release,
                &format!("uploading asset `{name}`"),
                attempts,
                cause,
            ),
        })
    }

    /// [`Self::classify`], also telling an immutable release's 422 apart.
    fn classify_on(
        &self,
        release: &Release,
        what: &str,
        attempts: u32,
        cause: ApiFailure,
    ) -> ReleaseError {
        match cause {
            ApiFailure::Status {
                status: 422,
                message,
                ..
            } if message.to_ascii_lowercase().contains("immutable") => ReleaseError::Immutable {
                tag: release.tag.clone(),
                what: what.to_owned(),
                message,
            },
            cause => self.classify(cause, |cause| ReleaseError::Api {
                what: what.to_owned(),
                tag: release.tag.clone(),
                attempts,
                cause,
            }),
        }
    }

    /// Every release for `tag`, drafts included (several drafts may share a
    /// tag), in id order.
    pub async fn all_for_tag(&self, tag: &str) -> Result<Vec<Release>, ReleaseError> {
        let api_err = |attempts, cause| ReleaseError::Api {
            what: "listing releases".into(),
            tag: tag.to_owned(),
            attempts,
            cause,
        };
        let mut found = Vec::new();
        let mut pages = Pages::new(format!("{}/releases?per_page=100", self.repo_url()));
        while let Some(u) = pages.next().map_err(|e| api_err(1, e))? {
            let page: Page<GhRelease> = self
                .retrying(|| self.get_json::<Page<GhRelease>>(&u))
                .await
                .map_err(|(n, e)| self.classify(e, |e| api_err(n, e)))?;
            found.extend(
                page.items
                    .into_iter()
                    .filter(|r| r.tag_name == tag)
                    .map(release),
            );
            pages.then(page.next);
        }
        found.sort_by_key(|r| r.id);
        Ok(found)
    }

    /// Create a draft release for `tag` at `target_commitish`. Not retried:
    /// a lost answer would make a second draft (the caller reconciles drafts).
    pub async fn create_draft(
        &self,
        tag: &str,
        target_commitish: Option<&str>,
    ) -> Result<Release, ReleaseError> {
        let mut body = serde_json::json!({ "tag_name": tag, "name": tag, "draft": true });
        if let Some(t) = target_commitish {
            body["target_commitish"] = t.into();
        }
        let url = format!("{}/releases", self.repo_url());
        let response = self.octo._post(url, Some(&body)).await.map_err(transport);
        let result = match response {
            Ok(r) => match checked(r).await {
                Ok(r) => GhRelease::from_response(r)
                    .await
                    .map_err(|e| ApiFailure::Decode(e.to_string())),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        result.map(release).map_err(|cause| {
            self.classify(cause, |cause| ReleaseError::Api {
                what: "creating the draft release".into(),
                tag: tag.to_owned(),
                attempts: 1,
                cause,
            })
        })
    }

    /// Delete a release (a duplicate draft this run created).
    pub async fn delete_release(&self, release: &Release) -> Result<(), ReleaseError> {
        let url = format!("{}/releases/{}", self.repo_url(), release.id);
        self.retrying(|| self.delete(&url))
            .await
            .map_err(|(attempts, cause)| {
                self.classify_on(release, "deleting a duplicate draft", attempts, cause)
            })
    }

    /// Publish a draft.
    pub async fn publish(&self, draft: &Release) -> Result<Release, ReleaseError> {
        let url = format!("{}/releases/{}", self.repo_url(), draft.id);
        let body = serde_json::json!({ "draft": false });
        self.retrying(|| async {
            let r = self
                .octo
                ._patch(url.as_str(), Some(&body))
                .await
                .map_err(transport)?;
            let r = checked(r).await?;
            GhRelease::from_response(r)
                .await
                .map_err(|e| ApiFailure::Decode(e.to_string()))
        })
        .await
        .map(release)
        .map_err(|(attempts, cause)| self.classify_on(draft, "publishing", attempts, cause))
    }

    /// Delete an asset (one that did not verify after upload).
    pub async fn delete_asset(
        &self,
        release: &Release,
        asset: &UploadedAsset,
    ) -> Result<(), ReleaseError> {
        self.retrying(|| self.delete(&asset.api_url))
            .await
            .map_err(|(attempts, cause)| {
                self.classify_on(
                    release,
                    &format!("deleting asset `{}`", asset.name),
                    attempts,
                    cause,
                )
            })
    }

    /// Every asset of `release`, in GitHub's order.
    pub async fn assets(&self, release: &Release) -> Result<Vec<UploadedAsset>, ReleaseError> {
        let mut found = Vec::new();
        let mut pages = self.asset_pages(release);
        while let Some(u) = pages
            .next()
            .map_err(|cause| self.classify_on(release, "listing assets", 1, cause))?
        {
            let page: Page<Asset> = self
                .retrying(|| self.get_json::<Page<Asset>>(&u))
                .await
                .map_err(|(attempts, cause)| {
                    self.classify_on(release, "listing assets", attempts, cause)
                })?;
            found.extend(page.items.into_iter().map(|a| UploadedAsset {
                name: a.name,
                action: AssetAction::Unchanged,
                download_url: a.browser_download_url.to_string(),
                api_url: a.url.to_string(),
                size: a.size.max(0) as u64,
            }));
            pages.then(page.next);
        }
        Ok(found)
    }

    /// The SHA-256 and size of an asset's content, streamed: nothing is kept
    /// in memory, and nothing is written unless `keep` is given: then the
    /// content is also written to that file (emptied at each attempt) and
    /// flushed to disk. Where the file goes next is the caller's business.
    /// More bytes than the release lists for the asset are refused as they
    /// arrive.
    pub async fn download_sha256_to(
        &self,
        asset: &UploadedAsset,
        tag: &str,
        keep: Option<&std::fs::File>,
    ) -> Result<(String, u64), ReleaseError> {
        self.retrying(|| self.stream_sha256(&asset.api_url, asset.size, keep))
            .await
            .map_err(|(attempts, cause)| self.download_failed(asset, tag, attempts, cause))
    }

    /// The SHA-256 and size of an asset's content, streamed: nothing is kept
    /// in memory or written to disk.
    pub async fn download_sha256(
        &self,
        asset: &UploadedAsset,
        tag: &str,
    ) -> Result<(String, u64), ReleaseError> {
        self.download_sha256_to(asset, tag, None).await
    }

    async fn stream_sha256(
        &self,
        asset_url: &str,
        listed: u64,
        keep: Option<&std::fs::File>,
    ) -> Result<(String, u64), ApiFailure> {
        use tokio::io::{AsyncSeekExt as _, AsyncWriteExt as _};
        let local = |e: std::io::Error| ApiFailure::Local(e.to_string());
        let mut body = CappedBody::new(self.get_asset_response(asset_url).await?, listed);
        let mut file = match keep {
            Some(f) => {
                // A retry starts over: what an earlier attempt wrote goes.
                let mut f = tokio::fs::File::from_std(f.try_clone().map_err(local)?);
                f.set_len(0).await.map_err(local)?;
                f.seek(std::io::SeekFrom::Start(0)).await.map_err(local)?;
                Some(f)
            }
            None => None,
        };
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(data) = body.chunk().await? {
            size += data.len() as u64;
            hasher.update(&data);
            if let Some(f) = &mut file {
                f.write_all(&data).await.map_err(local)?;
            }
        }
        if let Some(mut f) = file {
            f.flush().await.map_err(local)?;
            f.sync_all().await.map_err(local)?;
        }
        Ok((hex::encode(hasher.finalize()), size))
    }

    /// A bundle asset's content in memory: refused when the release lists
    /// it larger than any bundle ([`crate::bundle_io::MAX_BUNDLE_BYTES`]),
    /// before any download, and when more than its listed size arrives.
    pub async fn download_bundle(
        &self,
        asset: &UploadedAsset,
        tag: &str,
    ) -> Result<Bytes, ReleaseError> {
        self.retrying(|| self.fetch_bundle(&asset.api_url, asset.size))
            .await
            .map_err(|(attempts, cause)| self.download_failed(asset, tag, attempts, cause))
    }

    /// A 401/403 that is not a rate limit is a permission problem with one fix.
    fn classify(
        &self,
        cause: ApiFailure,
        other: impl FnOnce(ApiFailure) -> ReleaseError,
    ) -> ReleaseError {
        match cause {
            ApiFailure::Status {
                status: status @ (401 | 403),
                message,
                transient: false,
                ..
            } => ReleaseError::Forbidden {
                repo: self.repo.clone(),
                status,
                message,
            },
            cause => other(cause),
        }
    }

    /// [`net::retry`], also counting attempts for the final message.
    async fn retrying<T, F, Fut>(&self, mut op: F) -> Result<T, (u32, ApiFailure)>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ApiFailure>>,
    {
        let attempts = std::sync::atomic::AtomicU32::new(0);
        net::retry(&self.retry, "GitHub API", || {
            attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            op()
        })
        .await
        .map_err(|e| (attempts.into_inner(), e))
    }

    async fn find_asset(
        &self,
        release: &Release,
        name: &str,
        stored_name: &str,
    ) -> Result<Option<Asset>, ApiFailure> {
        let mut pages = self.asset_pages(release);
        while let Some(u) = pages.next()? {
            let page: Page<Asset> = self.get_json(&u).await?;
            if let Some(a) = page
                .items
                .into_iter()
                .find(|a| a.name == name || a.name == stored_name)
            {
                return Ok(Some(a));
            }
            pages.then(page.next);
        }
        Ok(None)
    }

    /// The pages of `release`'s asset listing, 100 assets a page.
    fn asset_pages(&self, release: &Release) -> Pages {
        Pages::new(format!(
            "{}/releases/{}/assets?per_page=100",
            self.repo_url(),
            release.id
        ))
    }

    /// A download that failed after `attempts` tries, classified once for every
    /// way of downloading an asset.
    fn download_failed(
        &self,
        asset: &UploadedAsset,
        tag: &str,
        attempts: u32,
        cause: ApiFailure,
    ) -> ReleaseError {
        self.classify(cause, |cause| ReleaseError::Api {
            what: format!("downloading asset `{}`", asset.name),
            tag: tag.to_owned(),
            attempts,
            cause,
        })
    }

    /// Compare by the `digest` GitHub reports; download when it has none (older GHES).
    async fn same_content(&self, asset: &Asset, sha256: &str) -> Result<bool, ApiFailure> {
        if let Some(d) = asset
            .digest
            .as_deref()
            .and_then(|d| d.strip_prefix("sha256:"))
        {
            return Ok(d.eq_ignore_ascii_case(sha256));
        }
        let (digest, _) = self
            .stream_sha256(asset.url.as_str(), asset.size.max(0) as u64, None)
            .await?;
        Ok(digest == sha256)
    }

    /// Offer an existing asset's content to `equivalent`; one larger than any
    /// bundle is not downloaded (it cannot be one).
    async fn equivalent(
        &self,
        asset: &Asset,
        equivalent: Equivalence<'_>,
    ) -> Result<Result<(), String>, ApiFailure> {
        let body = match self
            .fetch_bundle(asset.url.as_str(), asset.size.max(0) as u64)
            .await
        {
            Ok(body) => body,
            Err(ApiFailure::NotABundle { size }) => {
                return Ok(Err(format!(
                    "its content differs ({size} bytes, too large to be a bundle)"
                )))
            }
            Err(e) => return Err(e),
        };
        Ok(equivalent(&body))
    }

    /// A bundle's content, at most its `listed` size, which must be a
    /// bundle's (checked before asking).
    async fn fetch_bundle(&self, asset_url: &str, listed: u64) -> Result<Bytes, ApiFailure> {
        if listed > crate::bundle_io::MAX_BUNDLE_BYTES {
            return Err(ApiFailure::NotABundle { size: listed });
        }
        let mut body = CappedBody::new(self.get_asset_response(asset_url).await?, listed);
        let mut content = bytes::BytesMut::new();
        while let Some(data) = body.chunk().await? {
            content.extend_from_slice(&data);
        }
        Ok(content.freeze())
    }

    /// The answer to an asset download, redirects followed here (github.com
    /// sends asset downloads to storage on another host): each `Location`
    /// must be an http(s) URL (a path is taken on the same host), never
    /// plain http from an https API, at most [`MAX_REDIRECTS`] of them.
    /// octocrab's own following panics on a `Location` that is not ASCII.
    async fn get_asset_response(&self, asset_url: &str) -> Result<Response, ApiFailure> {
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/octet-stream"),
        );
        let mut url: http::Uri = asset_url
            .parse()
            .map_err(|_| ApiFailure::Decode(format!("{asset_url:?} is not a URL")))?;
        let mut response = self
            .octo
            ._get_with_headers(url.clone(), Some(headers))
            .await
            .map_err(transport)?;
        for _ in 0..MAX_REDIRECTS {
            let Some(location) = redirect(&response) else {
                return checked(response).await;
            };
            url = redirect_target(&url, location, self.api.starts_with("https:"))?;
            response = self.octo._get(url.clone()).await.map_err(transport)?;
        }
        match redirect(&response) {
            None => checked(response).await,
            Some(_) => Err(ApiFailure::TooManyRedirects),
        }
    }

    async fn delete(&self, url: &str) -> Result<(), ApiFailure> {
        let response = self
            .octo
            ._delete(url, None::<&()>)
            .await
            .map_err(transport)?;
        match checked(response).await {
            Ok(_) => Ok(()),
            // Deleted by an earlier attempt whose answer was lost.
            Err(ApiFailure::Status { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn post_asset(
        &self,
        release: &Release,
        name: &str,
        bundle: &Path,
        size: u64,
        content_type: &'static str,
    ) -> Result<Asset, ApiFailure> {
        let base = release
            .upload_url
            .split('{')
            .next()
            .unwrap_or(&release.upload_url);
        let url = format!("{base}?name={}", utf8_percent_encode(name, QUERY_VALUE));
        let file = tokio::fs::File::open(bundle)
            .await
            .map_err(|e| ApiFailure::Transport(format!("cannot open {}: {e}", bundle.display())))?;
        let frames = tokio_util::io::ReaderStream::new(file)
            .map(|chunk: std::io::Result<Bytes>| chunk.map(http_body::Frame::data));
        let request = http::Request::builder()
            .method(http::Method::POST)
            .uri(url)
            .header(http::header::CONTENT_TYPE, content_type)
            .header(http::header::CONTENT_LENGTH, size)
            .body(OctoBody::new(StreamBody::new(frames)))
            .map_err(|e| ApiFailure::Transport(e.to_string()))?;
        let response = self.octo.execute(request).await.map_err(transport)?;
        let response = checked(response).await?;
        Asset::from_response(response)
            .await
            .map_err(|e| ApiFailure::Decode(e.to_string()))
    }

    async fn get_json<T: octocrab::FromResponse>(&self, url: &str) -> Result<T, ApiFailure> {
        let response = self.octo._get(url).await.map_err(transport)?;
        let response = checked(response).await?;
        T::from_response(response)
            .await
            .map_err(|e| ApiFailure::Decode(e.to_string()))
    }
}

/// The URLs of a listing's pages: the first, then each page's `Link:
/// rel="next"`, until a page has none. A URL already read, or a page past
/// [`MAX_PAGES`], is refused: a listing that never ends is the server's lie.
struct Pages {
    next: Option<String>,
    read: std::collections::HashSet<String>,
}

impl Pages {
    fn new(first: String) -> Self {
        Self {
            next: Some(first),
            read: std::collections::HashSet::new(),
        }
    }

    /// The next page to read, or `None` after the last.
    fn next(&mut self) -> Result<Option<String>, ApiFailure> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        if self.read.len() == MAX_PAGES {
            return Err(ApiFailure::TooManyPages);
        }
        if !self.read.insert(url.clone()) {
            return Err(ApiFailure::PageLoop { url });
        }
        Ok(Some(url))
    }

    /// What the page just read names as the next one.
    fn then(&mut self, next: Option<http::Uri>) {
        self.next = next.map(|u| u.to_string());
    }
}

/// `GET /repos/{owner}/{repo}/git/ref/tags/{tag}`, the fields used.
#[derive(serde::Deserialize)]
struct GitRef {
    object: GitObject,
}

/// `GET /repos/{owner}/{repo}/git/tags/{sha}` (an annotated tag), the fields used.
#[derive(serde::Deserialize)]
struct GitTag {
    object: GitObject,
}

/// What a ref or an annotated tag points at.
#[derive(serde::Deserialize)]
struct GitObject {
    #[serde(rename = "type")]
    kind: String,
    sha: String,
}

type Response = http::Response<http_body_util::combinators::BoxBody<Bytes, octocrab::Error>>;

/// The `Location` of a redirect (3xx) answer.
fn redirect(response: &Response) -> Option<&http::HeaderValue> {
    if response.status().is_redirection() {
        response.headers().get(http::header::LOCATION)
    } else {
        None
    }
}

/// Where a redirect from `from` leads: `location` as an absolute http(s)
/// URL, or a path on `from`'s host; never plain http when `https_only`.
fn redirect_target(
    from: &http::Uri,
    location: &http::HeaderValue,
    https_only: bool,
) -> Result<http::Uri, ApiFailure> {
    let shown = || {
        String::from_utf8_lossy(location.as_bytes())
            .chars()
            .take(200)
            .collect::<String>()
    };
    let bad = || ApiFailure::BadRedirect { location: shown() };
    let text = location.to_str().map_err(|_| bad())?;
    let uri: http::Uri = text.parse().map_err(|_| bad())?;
    let uri = match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => uri,
        (None, None) if text.starts_with('/') && !text.starts_with("//") => {
            let mut parts = from.clone().into_parts();
            parts.path_and_query = uri.path_and_query().cloned();
            http::Uri::from_parts(parts).map_err(|_| bad())?
        }
        _ => return Err(bad()),
    };
    if https_only && uri.scheme_str() != Some("https") {
        return Err(ApiFailure::InsecureRedirect { location: shown() });
    }
    Ok(uri)
}

/// An asset's body, refused ([`ApiFailure::MoreThanListed`]) as soon as
/// more than its listed size has arrived.
struct CappedBody {
    body: http_body_util::combinators::BoxBody<Bytes, octocrab::Error>,
    listed: u64,
    left: u64,
}

impl CappedBody {
    fn new(response: Response, listed: u64) -> Self {
        Self {
            body: response.into_body(),
            listed,
            left: listed,
        }
    }

    /// The next chunk of data, `None` at the end.
    async fn chunk(&mut self) -> Result<Option<Bytes>, ApiFailure> {
        while let Some(frame) = http_body_util::BodyExt::frame(&mut self.body).await {
            let Ok(data) = frame.map_err(transport)?.into_data() else {
                continue;
            };
            self.left =
                self.left
                    .checked_sub(data.len() as u64)
                    .ok_or(ApiFailure::MoreThanListed {
                        listed: self.listed,
                    })?;
            return Ok(Some(data));
        }
        Ok(None)
    }
}

/// The response if it succeeded, else its status classified for retrying.
async fn checked(response: Response) -> Result<Response, ApiFailure> {
    match octocrab::map_github_error(response).await {
        Ok(r) => Ok(r),
        Err(octocrab::Error::GitHub { source, .. }) => {
            let status = source.status_code.as_u16();
            let headers = source.headers.unwrap_or_default();
            // Seconds or an HTTP-date, by the one rule every service shares.
            let retry_after = net::retry_after(&headers);
            // GitHub signals primary rate limits with 403/429 and
            // `x-ratelimit-remaining: 0`, secondary ones with 403 and `Retry-After`
            // (or "secondary rate limit" in the message).
            let rate_limited = headers
                .get("x-ratelimit-remaining")
                .is_some_and(|v| v.as_bytes() == b"0")
                || retry_after.is_some()
                || source.message.to_ascii_lowercase().contains("rate limit");
            let transient = net::is_transient(status) || (status == 403 && rate_limited);
            Err(ApiFailure::Status {
                status,
                message: source.message,
                transient,
                retry_after,
            })
        }
        Err(e) => Err(transport(e)),
    }
}

/// SHA-256 and size of a local file, streamed on a blocking thread.
async fn file_sha256(path: &Path) -> Result<(String, u64), ReleaseError> {
    let owned = path.to_owned();
    let result = tokio::task::spawn_blocking(move || {
        let mut file = std::fs::File::open(&owned)?;
        let mut hasher = Sha256::new();
        let size = std::io::copy(&mut file, &mut hasher)?;
        Ok::<_, std::io::Error>((hex::encode(hasher.finalize()), size))
    })
    .await
    .map_err(std::io::Error::other)
    .and_then(|r| r);
    result.map_err(|source| ReleaseError::Read {
        path: path.to_owned(),
        source,
    })
}

fn transport(e: octocrab::Error) -> ApiFailure {
    ApiFailure::Transport(e.to_string())
}

fn release(r: GhRelease) -> Release {
    Release {
        id: r.id.0,
        tag: r.tag_name,
        // GitHub reports `immutable: true` once an immutable release is published.
        immutable: r.immutable.unwrap_or(false) && !r.draft,
        draft: r.draft,
        html_url: r.html_url.to_string(),
        upload_url: r.upload_url,
    }
}

/// The name GitHub gives an uploaded asset: characters outside a conservative
/// set become `.` (GitHub: "renames asset filenames that have special
/// characters"), so `my file.tgz` is listed as `my.file.tgz`.
pub fn github_asset_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '@' | '~') {
                c
            } else {
                '.'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_parsing() {
        let r: Repo = "octo-org/octo.repo_1".parse().unwrap();
        assert_eq!(
            (r.owner.as_str(), r.name.as_str()),
            ("octo-org", "octo.repo_1")
        );
        for bad in ["", "owner", "/name", "owner/", "a/b/c", "a b/c"] {
            assert!(bad.parse::<Repo>().is_err(), "{bad}");
        }
    }

    /// One failure, one variant: the fix it names depends on whether the
    /// look was anonymous (`verify --release` without a token) or not.
    #[test]
    fn no_release_names_the_fix_for_how_it_looked() {
        let e = |anonymous| ReleaseError::NoRelease {
            repo: "o/r".parse().unwrap(),
            tag: "v1".into(),
            anonymous,
        };
        assert_eq!(
            e(true).to_string(),
            "o/r has no release for tag `v1` visible without a token (drafts and private repositories need GITHUB_TOKEN): check the tag (and the repository), or pass a token"
        );
        assert_eq!(
            e(false).to_string(),
            "o/r has no release for tag `v1` (drafts included): check the tag (and the repository), or create the release first (e.g. `gh release create v1`)"
        );
    }

    #[test]
    fn asset_names_like_github() {
        assert_eq!(
            github_asset_name("a b é.tgz.sigstore.json"),
            "a.b...tgz.sigstore.json"
        );
        assert_eq!(github_asset_name("x_1-2+3@4~5.bin"), "x_1-2+3@4~5.bin");
    }

    #[test]
    fn query_encoding_keeps_names_whole() {
        assert_eq!(
            utf8_percent_encode("a+b&c=d é.json", QUERY_VALUE).to_string(),
            "a%2Bb%26c%3Dd%20%C3%A9.json"
        );
    }

    #[test]
    fn pages_end_or_are_refused() {
        let mut pages = Pages::new("https://h/a?page=1".into());
        assert_eq!(pages.next().unwrap().as_deref(), Some("https://h/a?page=1"));
        pages.then(Some("https://h/a?page=2".parse().unwrap()));
        assert_eq!(pages.next().unwrap().as_deref(), Some("https://h/a?page=2"));
        pages.then(Some("https://h/a?page=1".parse().unwrap()));
        assert!(
            matches!(pages.next(), Err(ApiFailure::PageLoop { url }) if url == "https://h/a?page=1")
        );
        let mut last = Pages::new("https://h/a".into());
        assert!(last.next().unwrap().is_some());
        last.then(None);
        assert_eq!(last.next().unwrap(), None);

        let mut endless = Pages::new("https://h/a?page=1".into());
        for page in 2..=MAX_PAGES + 1 {
            assert!(endless.next().unwrap().is_some());
            endless.then(Some(format!("https://h/a?page={page}").parse().unwrap()));
        }
        assert!(matches!(endless.next(), Err(ApiFailure::TooManyPages)));
    }

    #[test]
    fn redirects_go_only_to_http_urls() {
        let from: http::Uri = "https://api.example/repos/o/r/releases/assets/1"
            .parse()
            .unwrap();
        let to = |location: &[u8], https_only| {
            redirect_target(
                &from,
                &http::HeaderValue::from_bytes(location).unwrap(),
                https_only,
            )
        };
        assert_eq!(
            to(b"https://objects.example/x?sig=1", true).unwrap(),
            "https://objects.example/x?sig=1"
        );
        assert_eq!(
            to(b"/storage/x", true).unwrap(),
            "https://api.example/storage/x"
        );
        assert_eq!(
            to(b"http://objects.example/x", false).unwrap(),
            "http://objects.example/x"
        );
        assert!(matches!(
            to(b"http://objects.example/x", true),
            Err(ApiFailure::InsecureRedirect { .. })
        ));
        for bad in [
            "https://objects.example/\u{e9}".as_bytes(),
            b"\xff\xfe",
            b"ftp://objects.example/x",
            b"//objects.example/x",
            b"x",
            b"",
        ] {
            assert!(
                matches!(to(bad, false), Err(ApiFailure::BadRedirect { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn api_url_must_be_http() {
        let t = Secret::new("t");
        let repo: Repo = "o/r".parse().unwrap();
        for bad in ["api.github.com", "ftp://x", "not a url"] {
            assert!(
                matches!(
                    Releases::new(bad, repo.clone(), &t, RetryPolicy::default()),
                    Err(ReleaseError::BadApiUrl(_))
                ),
                "{bad}"
            );
        }
    }
}
