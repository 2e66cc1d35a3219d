//! GitHub REST releases API, in memory, as api.github.com serves it.
//!
//! Owns release and asset state (thread-safe, behind one mutex), its JSON shapes
//! (every field octocrab 0.54's `Release`/`Asset` models require), authentication
//! with the sandbox's `GITHUB_TOKEN`, draft visibility, `Link` pagination, immutable
//! releases (locked once published), GitHub's error bodies and rate-limit headers,
//! and the git data a release's tag stands for: branches, lightweight and
//! annotated tags (`git/ref/tags/..`, `git/tags/{sha}`), a tag created from
//! `target_commitish` when a release is published for a tag that does not exist.
//! A repository is found whatever the case of its owner and name in a path,
//! and named in answers as it was created.
//! Uploads go to the same host as the API (the release's `upload_url`), so clients
//! that only send credentials to the API host still authenticate. The same
//! releases API is also served under `/api/v3`, as GitHub Enterprise Server
//! serves it: its answers' URLs under `/api/v3`, its `upload_url`s (and
//! the only uploads it takes) under `/api/uploads`, no asset `digest` (as
//! older servers list none), and no attestations API (GHES has none).
//! Asset downloads are answered with a 302 to a signed URL of a storage
//! service on another port ([`storage_router`]), which takes no
//! `Authorization` header. An anonymous caller has GitHub's 60 API requests
//! an hour (a release's public download URLs do not count).
//!
//! Also owns the repository attestations API: "Create an attestation"
//! (`POST /repos/{owner}/{repo}/attestations`, `{"bundle": ..}` that must be
//! a Sigstore bundle with a DSSE envelope of an in-toto statement; each
//! request stores one, under a new id, the same bundle again included, as
//! GitHub documents no de-duplication) and "List
//! attestations" by subject digest (`GET .../attestations/{alg}:{hex}`,
//! `{"attestations": [{"bundle", "repository_id", "bundle_url"}]}`, 404 when
//! none), each attestation indexed by every subject digest of its
//! statement; and a token without `attestations: write`
//! ([`GitHub::deny_attestations`]: 403 with GitHub's message).
//!
//! Also owns the lies this API can tell, set by tests: an upload stored
//! corrupted ([`GitHub::corrupt_next_upload`]), assets listed under names
//! GitHub never gives (duplicates, paths: [`GitHub::insert_asset_unchecked`]),
//! a download with more bytes than the asset's listed size
//! ([`GitHub::oversized_next_download`]), with other bytes
//! ([`GitHub::substitute_next_download`]), or answered with a redirect of the
//! test's choosing ([`GitHub::redirect_next_download`]), and listings whose
//! `Link: rel="next"` never ends ([`GitHub::lie_on_lists`]).
//!
//! It does not touch fault injection (`faults`), trust material or other services.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequestParts, OriginalUri, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jiff::Timestamp;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::Shared;

const DOCS: &str = "https://docs.github.com/rest";
/// A token's hourly API budget, as GitHub shows it (a personal token's).
/// Not enforced unless set ([`GitHub::set_token_rate_limit`]): one sandbox
/// serves many runs of a test or benchmark.
const RATE_LIMIT: u64 = 5000;
/// An anonymous caller's hourly API budget (per IP address): enforced.
const ANONYMOUS_RATE_LIMIT: u64 = 60;
const DEFAULT_PER_PAGE: usize = 30;
/// GitHub's limit on one release asset.
const MAX_ASSET_BYTES: usize = 2 * 1024 * 1024 * 1024;
const MAX_PER_PAGE: usize = 100;

/// An API failure, rendered with GitHub's status code and JSON body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("Not Found")]
    NotFound,
    #[error("Bad credentials")]
    BadCredentials,
    #[error("Requires authentication")]
    RequiresAuthentication,
    #[error("Validation Failed: {resource}.{field} {code}")]
    Validation {
        resource: &'static str,
        code: &'static str,
        field: &'static str,
    },
    /// A 422 whose error is a `custom` one with its own message, as GitHub
    /// answers an empty asset (`size must be greater than or equal to 1`).
    #[error("Validation Failed: {resource}.{field} {message}")]
    Custom {
        resource: &'static str,
        field: &'static str,
        message: &'static str,
    },
    /// A 422 with only a message, as GitHub answers mutations of immutable releases.
    #[error("{0}")]
    Unprocessable(&'static str),
    /// A 403 with only a message: the token lacks a permission.
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("Problems parsing JSON")]
    BadJson,
    /// An upload that broke off partway ([`GitHub::break_next_upload`]).
    #[error("Server Error")]
    BadGateway,
    /// A renamed or transferred repository's old name: GitHub redirects
    /// to the repository by id, 301 for a read, 307 for anything else.
    #[error("Moved Permanently")]
    Moved { location: String, read: bool },
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            ApiError::NotFound => (StatusCode::NOT_FOUND, message_body(&self)),
            ApiError::BadCredentials | ApiError::RequiresAuthentication => {
                (StatusCode::UNAUTHORIZED, message_body(&self))
            }
            ApiError::Validation {
                resource,
                code,
                field,
            } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "message": "Validation Failed",
                    "errors": [{ "resource": resource, "code": code, "field": field }],
                    "documentation_url": DOCS,
                    "status": "422",
                }),
            ),
            ApiError::Custom {
                resource,
                field,
                message,
            } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "message": "Validation Failed",
                    "errors": [{ "resource": resource, "code": "custom", "field": field, "message": message }],
                    "documentation_url": DOCS,
                    "status": "422",
                }),
            ),
            ApiError::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, message_body(&self)),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, message_body(&self)),
            ApiError::BadJson => (StatusCode::BAD_REQUEST, message_body(&self)),
            ApiError::BadGateway => (StatusCode::BAD_GATEWAY, message_body(&self)),
            ApiError::Moved { location, read } => {
                let (status, message) = if *read {
                    (StatusCode::MOVED_PERMANENTLY, "Moved Permanently")
                } else {
                    (StatusCode::TEMPORARY_REDIRECT, "Temporary Redirect")
                };
                let body =
                    json!({ "message": message, "url": location, "documentation_url": DOCS });
                let location =
                    HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/"));
                return (status, [(header::LOCATION, location)], Json(body)).into_response();
            }
        };
        (status, Json(body)).into_response()
    }
}

fn message_body(e: &ApiError) -> Value {
    json!({ "message": e.to_string(), "documentation_url": DOCS })
}

const IMMUTABLE_UPLOAD: &str = "Cannot upload assets to an immutable release.";
const IMMUTABLE_DELETE: &str = "Cannot delete asset from an immutable release.";
const IMMUTABLE_EDIT: &str = "Cannot modify an immutable release.";
/// What GitHub answers an Actions token without a permission the request needs.
const NOT_ACCESSIBLE: &str = "Resource not accessible by integration";
/// The DSSE payload type of an in-toto statement.
const IN_TOTO: &str = "application/vnd.in-toto+json";

/// How a release starts life when created through [`GitHub::create_release`].
#[derive(Debug, Clone, Default)]
pub struct ReleaseSpec {
    pub draft: bool,
    /// Locks the release (no asset uploads or deletions) once it is published.
    pub immutable: bool,
    pub prerelease: bool,
    pub name: Option<String>,
    pub body: Option<String>,
    pub target_commitish: Option<String>,
}

impl ReleaseSpec {
    /// A published, mutable release.
    pub fn published() -> Self {
        Self::default()
    }
    /// A draft, mutable release.
    pub fn draft() -> Self {
        Self {
            draft: true,
            ..Self::default()
        }
    }
    /// The same release, immutable once published.
    pub fn immutable(mut self) -> Self {
        self.immutable = true;
        self
    }
}

/// A release as tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseSnapshot {
    pub id: u64,
    pub tag: String,
    pub draft: bool,
    pub prerelease: bool,
    pub immutable: bool,
    pub name: Option<String>,
    pub body: Option<String>,
    pub assets: Vec<AssetSnapshot>,
}

/// An uploaded asset as tests see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetSnapshot {
    pub id: u64,
    pub name: String,
    pub label: Option<String>,
    pub content_type: String,
    pub content: Bytes,
}

#[derive(Debug, Clone)]
struct Asset {
    id: u64,
    name: String,
    label: Option<String>,
    content_type: String,
    content: Bytes,
    /// `sha256:<hex>` of `content`, computed when the content is stored
    /// (GitHub's `digest` field), not on every listing.
    digest: String,
    /// An upload not complete, by its state: `starter` (it broke off) or
    /// `open` (still going on); no bytes and no digest are listed, its name
    /// is taken, its download is not found.
    incomplete: Option<&'static str>,
    /// The `digest` its listing gives instead of its content's, as a lying
    /// server would (`Some(None)`: none, as GitHub Enterprise Server).
    listed_digest: Option<Option<String>>,
    download_count: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
}

#[derive(Debug, Clone)]
struct Release {
    id: u64,
    repo: String,
    tag: String,
    target_commitish: String,
    name: Option<String>,
    body: Option<String>,
    draft: bool,
    prerelease: bool,
    immutable: bool,
    created_at: Timestamp,
    published_at: Option<Timestamp>,
    assets: Vec<Asset>,
}

impl Release {
    /// Immutable releases lock when published (GitHub's immutable-releases rule).
    fn locked(&self) -> bool {
        self.immutable && !self.draft
    }
}

#[derive(Default)]
struct Store {
    next_id: u64,
    /// repo -> whether releases created through the API are immutable.
    repos: HashMap<String, bool>,
    /// Private repositories: hidden (404) from callers without the token.
    private: HashSet<String>,
    releases: BTreeMap<u64, Release>,
    /// repo -> its latest release (GitHub's "Latest" badge, `releases/latest`).
    latest: HashMap<String, u64>,
    /// A repository's old name (lower case) -> its name now.
    renamed: HashMap<String, String>,
    /// (repo, tag) an immutable release used, then deleted: reserved for
    /// good ("you cannot reuse the same tag name").
    reserved_tags: HashSet<(String, String)>,
    /// Asset names whose next upload is stored corrupted (see
    /// [`GitHub::corrupt_next_upload`]).
    corrupt: Vec<String>,
    /// Names whose next upload breaks off, leaving an incomplete asset.
    broken: Vec<String>,
    /// An asset another writer replaces, and after how many more listings
    /// of assets (see [`GitHub::replace_asset_at_listing`]).
    replaced_at_listing: Option<(String, usize)>,
    /// An asset another writer renames (from, to) just before it is next
    /// asked for by id (see [`GitHub::rename_asset_at_next_get`]).
    renamed_at_get: Option<(String, String)>,
    /// Lies told by the next raw download of an asset, by name, in order.
    downloads: Vec<(String, DownloadLie)>,
    /// The lie every listing's `Link` header tells, while set.
    list_lie: Option<ListLie>,
    /// repo -> its branches, tags and tag objects.
    git: HashMap<String, Git>,
    /// Stored attestations, in creation order.
    attestations: Vec<Attestation>,
    /// The token lacks `attestations: write` (see [`GitHub::deny_attestations`]).
    attestations_denied: bool,
}

/// One stored attestation.
#[derive(Debug, Clone)]
struct Attestation {
    id: u64,
    repo: String,
    bundle: Value,
    /// Every subject digest of its statement, as `alg:hex`.
    digests: Vec<String>,
    predicate_type: String,
}

/// What the next raw download of an asset answers instead of its content
/// (see [`GitHub::oversized_next_download`], [`GitHub::redirect_next_download`],
/// [`GitHub::substitute_next_download`]).
#[derive(Debug, Clone, PartialEq, Eq)]
enum DownloadLie {
    /// The content, then this many more bytes, streamed without a
    /// `Content-Length` (the listing keeps the real size).
    Oversized(u64),
    /// `302 Found` with exactly these bytes as `Location`.
    Redirect(Vec<u8>),
    /// These bytes instead of the content (the listing keeps the real size).
    Substitute(Bytes),
}

/// A lie every listing (releases, assets) tells in its `Link` header while
/// set with [`GitHub::lie_on_lists`]; the items stay true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListLie {
    /// `rel="next"` is the very URL requested.
    SelfLink,
    /// Page 1 leads to page 2, and page 2 back to page 1.
    Cycle,
    /// Every page has a next one (empty past the items), without end.
    Endless,
    /// The links are true, but every item carries a `padding` field of
    /// this many bytes (a field GitHub never sends, which clients ignore):
    /// pages as large as a server cares to make them.
    Padded(usize),
}

/// The default branch every repository starts with.
const DEFAULT_BRANCH: &str = "main";

/// What a git ref (or an annotated tag) points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitObject {
    pub kind: GitObjectKind,
    pub sha: String,
}

impl GitObject {
    pub fn commit(sha: impl Into<String>) -> Self {
        Self {
            kind: GitObjectKind::Commit,
            sha: sha.into(),
        }
    }
    pub fn tag(sha: impl Into<String>) -> Self {
        Self {
            kind: GitObjectKind::Tag,
            sha: sha.into(),
        }
    }
}

/// The git object types a tag can point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitObjectKind {
    Commit,
    Tag,
    Tree,
    Blob,
}

impl GitObjectKind {
    fn as_str(self) -> &'static str {
        match self {
            GitObjectKind::Commit => "commit",
            GitObjectKind::Tag => "tag",
            GitObjectKind::Tree => "tree",
            GitObjectKind::Blob => "blob",
        }
    }
    /// The API collection objects of this type are served under.
    fn collection(self) -> &'static str {
        match self {
            GitObjectKind::Commit => "commits",
            GitObjectKind::Tag => "tags",
            GitObjectKind::Tree => "trees",
            GitObjectKind::Blob => "blobs",
        }
    }
}

/// An annotated tag object.
#[derive(Debug, Clone)]
struct TagObject {
    tag: String,
    object: GitObject,
    message: String,
    tagged_at: Timestamp,
}

/// One repository's git data, as far as releases need it.
#[derive(Debug, Default)]
struct Git {
    /// branch -> commit SHA.
    heads: BTreeMap<String, String>,
    /// tag -> what `refs/tags/<tag>` points at.
    tags: BTreeMap<String, GitObject>,
    /// Annotated tag objects by SHA.
    tag_objects: HashMap<String, TagObject>,
}

impl Store {
    /// The repository a route's `{owner}/{repo}` names: GitHub matches
    /// both parts without regard to case (`/repos/acme/tool` is
    /// `Acme/Tool`'s) and answers with the name as it was created. A name
    /// no repository has is kept as asked (and is not found).
    fn repo_named(&self, owner: &str, repo: &str) -> String {
        let asked = format!("{owner}/{repo}");
        self.repos
            .keys()
            .find(|name| name.eq_ignore_ascii_case(&asked))
            .cloned()
            .unwrap_or(asked)
    }

    /// Make `repo` exist (with its default branch) if it does not.
    fn ensure_repo(&mut self, repo: &str) {
        self.repos.entry(repo.to_owned()).or_insert(false);
        self.git
            .entry(repo.to_owned())
            .or_default()
            .heads
            .entry(DEFAULT_BRANCH.to_owned())
            .or_insert_with(|| pseudo_sha(repo));
    }

    /// Release `id` of `repo` was just published (or asked to be the
    /// latest), with `make_latest` as given: GitHub makes it the latest
    /// unless told `false` (a prerelease never is). `legacy` leaves it to
    /// GitHub's "creation date and higher semantic version", modelled
    /// only as the newest published release: GitHub documents no exact
    /// order, so no test relies on it.
    fn published_now(&mut self, repo: &str, id: u64, make_latest: Option<&str>) {
        if self
            .release(repo, id)
            .is_none_or(|r| r.prerelease || r.draft)
        {
            return;
        }
        let latest = match make_latest.unwrap_or("true") {
            "false" => return,
            "legacy" => self
                .releases
                .values()
                .filter(|r| r.repo == repo && !r.draft && !r.prerelease)
                .max_by_key(|r| (r.created_at, r.id))
                .map_or(id, |r| r.id),
            _ => id,
        };
        self.latest.insert(repo.to_owned(), latest);
    }

    /// GitHub's refusal of a tag an immutable release used.
    fn tag_not_reserved(&self, repo: &str, tag: &str) -> Result<(), ApiError> {
        if self
            .reserved_tags
            .contains(&(repo.to_owned(), tag.to_owned()))
        {
            return Err(ApiError::Custom {
                resource: "Release",
                field: "tag_name",
                message: "tag_name was used by an immutable release",
            });
        }
        Ok(())
    }

    /// What GitHub does when a release for `tag` is published: the tag is
    /// used if it exists, else created (lightweight) at `target_commitish`
    /// (a branch or a commit SHA); anything else is a 422.
    fn ensure_tag(
        &mut self,
        repo: &str,
        tag: &str,
        target_commitish: &str,
    ) -> Result<(), ApiError> {
        let git = self.git.entry(repo.to_owned()).or_default();
        if git.tags.contains_key(tag) {
            return Ok(());
        }
        let commit = git
            .heads
            .get(target_commitish)
            .cloned()
            .or_else(|| {
                is_commit_sha(target_commitish).then(|| target_commitish.to_ascii_lowercase())
            })
            .ok_or(ApiError::Validation {
                resource: "Release",
                code: "invalid",
                field: "target_commitish",
            })?;
        git.tags.insert(tag.to_owned(), GitObject::commit(commit));
        Ok(())
    }

    fn alloc_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }
    fn release(&self, repo: &str, id: u64) -> Option<&Release> {
        self.releases.get(&id).filter(|r| r.repo == repo)
    }
    /// The release as a caller sees it: 404 for an unknown repository or id,
    /// and for a draft unless the caller is authenticated (as GitHub hides drafts).
    fn visible_release(&self, repo: &str, id: u64, authed: bool) -> Result<&Release, ApiError> {
        GitHub::known_repo(self, repo)?;
        self.release(repo, id)
            .filter(|r| authed || !r.draft)
            .ok_or(ApiError::NotFound)
    }
    fn release_mut(&mut self, repo: &str, id: u64) -> Option<&mut Release> {
        self.releases.get_mut(&id).filter(|r| r.repo == repo)
    }
    fn push_asset_to(
        &mut self,
        repo: &str,
        release: u64,
        name: &str,
        content: Bytes,
        incomplete: Option<&'static str>,
    ) -> bool {
        let id = self.alloc_id();
        let Some(release) = self.release_mut(repo, release) else {
            return false;
        };
        let now = now();
        release.assets.push(Asset {
            id,
            name: name.to_owned(),
            label: None,
            content_type: "application/octet-stream".into(),
            digest: digest_of(&content),
            content,
            incomplete,
            listed_digest: None,
            download_count: 0,
            created_at: now,
            updated_at: now,
        });
        true
    }
    fn by_tag(&self, repo: &str, tag: &str) -> Option<&Release> {
        self.releases
            .values()
            .find(|r| r.repo == repo && r.tag == tag)
    }
    fn published_by_tag_mut(&mut self, repo: &str, tag: &str) -> Option<&mut Release> {
        self.releases
            .values_mut()
            .find(|r| r.repo == repo && r.tag == tag && !r.draft)
    }
    fn by_tag_mut(&mut self, repo: &str, tag: &str) -> Option<&mut Release> {
        self.releases
            .values_mut()
            .find(|r| r.repo == repo && r.tag == tag)
    }
    /// The lie queued for the next download of asset `name`, if any.
    fn take_download_lie(&mut self, name: &str) -> Option<DownloadLie> {
        let i = self.downloads.iter().position(|(n, _)| n == name)?;
        Some(self.downloads.remove(i).1)
    }
    fn asset_mut(&mut self, repo: &str, id: u64) -> Option<(&mut Release, usize)> {
        let release = self
            .releases
            .values_mut()
            .find(|r| r.repo == repo && r.assets.iter().any(|a| a.id == id))?;
        let idx = release.assets.iter().position(|a| a.id == id)?;
        Some((release, idx))
    }
}

/// The in-memory GitHub: repositories, releases and their assets.
pub struct GitHub {
    api_base: String,
    token: String,
    state: Mutex<Store>,
    requests: AtomicU64,
    /// API requests without a token, counted against [`ANONYMOUS_RATE_LIMIT`].
    anonymous_requests: AtomicU64,
    /// The token's budget, when enforced.
    token_limit: AtomicU64,
    reset: i64,
    /// Where asset downloads are sent ([`GitHub::with_storage`]): on
    /// github.com, a 302 to a signed URL on another host, which refuses a
    /// request that also carries an `Authorization` header.
    storage: Option<String>,
    /// The signed URLs handed out: signature -> (asset, expiry in seconds).
    signed: Mutex<HashMap<String, (Asset, i64)>>,
}

impl std::fmt::Debug for GitHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: never print it.
        f.debug_struct("GitHub")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl GitHub {
    /// `api_base` is where the API is served (no trailing slash); `token` the one
    /// credential it accepts.
    pub fn new(api_base: &str, token: &str) -> Self {
        Self {
            api_base: api_base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            state: Mutex::new(Store::default()),
            requests: AtomicU64::new(0),
            anonymous_requests: AtomicU64::new(0),
            token_limit: AtomicU64::new(u64::MAX),
            reset: Timestamp::now().as_second() + 3600,
            storage: None,
            signed: Mutex::new(HashMap::new()),
        }
    }

    /// Enforce a token's hourly budget of `limit` API requests (an Actions
    /// `GITHUB_TOKEN` has 1,000 a repository), as an anonymous caller's 60
    /// always are.
    pub fn set_token_rate_limit(&self, limit: u64) {
        self.token_limit.store(limit, Ordering::Relaxed);
    }

    /// Downloads answered with a 302 to `storage_base` (served by
    /// [`storage_router`]), as github.com answers them.
    pub fn with_storage(mut self, storage_base: &str) -> Self {
        self.storage = Some(storage_base.trim_end_matches('/').to_owned());
        self
    }

    /// The answer to a download of `a`: the lie queued for it, else a 302
    /// to a signed storage URL good for five minutes, else (no storage) the
    /// bytes themselves.
    fn download_answer(&self, a: &Asset, lie: Option<DownloadLie>) -> Response {
        let Some(storage) = self.storage.as_ref().filter(|_| lie.is_none()) else {
            return raw_asset(a, lie);
        };
        let sig = crate::random_hex(16);
        let expires = Timestamp::now().as_second() + 300;
        self.signed.lock().insert(sig.clone(), (a.clone(), expires));
        let location = format!(
            "{storage}/release-assets/{}?X-Amz-Expires=300&X-Amz-Signature={sig}",
            a.id
        );
        let mut resp = StatusCode::FOUND.into_response();
        if let Ok(v) = HeaderValue::from_str(&location) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        resp
    }

    /// Make `repo` (`owner/name`) exist, with no releases yet. Unknown repositories
    /// answer 404, as on GitHub.
    pub fn add_repo(&self, repo: &str) {
        self.state.lock().ensure_repo(repo);
    }

    /// Rename (or transfer) `old` to `new`: `old`'s API paths answer a
    /// redirect to the repository by id, as GitHub's do.
    pub fn rename_repo(&self, old: &str, new: &str) {
        let mut st = self.state.lock();
        st.ensure_repo(new);
        st.renamed.insert(old.to_ascii_lowercase(), new.to_owned());
    }

    /// Make `repo` private (or public again), creating it: as on GitHub, a
    /// caller without the token then gets 404 for everything in it, and
    /// `GET /repos/{owner}/{repo}` says `"private": true`.
    pub fn set_repo_private(&self, repo: &str, private: bool) {
        let mut st = self.state.lock();
        st.ensure_repo(repo);
        if private {
            st.private.insert(repo.to_owned());
        } else {
            st.private.remove(repo);
        }
    }

    /// Whether releases later created through the API in `repo` are immutable (the
    /// repository's "release immutability" setting). Creates the repository.
    pub fn set_repo_immutable(&self, repo: &str, immutable: bool) {
        let mut st = self.state.lock();
        st.ensure_repo(repo);
        st.repos.insert(repo.to_owned(), immutable);
    }

    /// Create a release for `tag` in `repo` (creating the repository if needed).
    /// A published one gets its tag as on GitHub (see [`Self::publish`]).
    ///
    /// # Panics
    /// If `tag` already has a published release and `spec` is one too
    /// (drafts may share a tag, with each other and with a published one,
    /// as on GitHub), or a published release's tag does not exist and its
    /// `target_commitish` names no branch or commit: test set-up errors.
    pub fn create_release(&self, repo: &str, tag: &str, spec: ReleaseSpec) -> u64 {
        let mut st = self.state.lock();
        st.ensure_repo(repo);
        let published = st
            .releases
            .values()
            .any(|r| r.repo == repo && r.tag == tag && !r.draft);
        assert!(
            spec.draft || !published,
            "{repo} already has a published release for {tag}"
        );
        let target_commitish = spec
            .target_commitish
            .unwrap_or_else(|| DEFAULT_BRANCH.into());
        if !spec.draft {
            st.ensure_tag(repo, tag, &target_commitish)
                .unwrap_or_else(|e| panic!("{repo}: the tag {tag} cannot be created: {e}"));
        }
        let id = st.alloc_id();
        let now = now();
        st.releases.insert(
            id,
            Release {
                id,
                repo: repo.to_owned(),
                tag: tag.to_owned(),
                target_commitish,
                name: spec.name.or_else(|| Some(tag.to_owned())),
                body: spec.body,
                draft: spec.draft,
                prerelease: spec.prerelease,
                immutable: spec.immutable,
                created_at: now,
                published_at: (!spec.draft).then_some(now),
                assets: Vec::new(),
            },
        );
        if !spec.draft {
            st.published_now(repo, id, None);
        }
        id
    }

    /// The release for `tag` (drafts included).
    pub fn release(&self, repo: &str, tag: &str) -> Option<ReleaseSnapshot> {
        self.state.lock().by_tag(repo, tag).map(snapshot)
    }

    /// The repository's latest release, if any.
    pub fn latest(&self, repo: &str) -> Option<ReleaseSnapshot> {
        let st = self.state.lock();
        st.latest
            .get(repo)
            .and_then(|id| st.release(repo, *id))
            .map(snapshot)
    }

    /// The release with this id (drafts included).
    pub fn release_by_id(&self, repo: &str, id: u64) -> Option<ReleaseSnapshot> {
        self.state.lock().release(repo, id).map(snapshot)
    }

    /// The assets of the release for `tag`, in upload order (empty without a release).
    pub fn assets(&self, repo: &str, tag: &str) -> Vec<AssetSnapshot> {
        self.release(repo, tag)
            .map(|r| r.assets)
            .unwrap_or_default()
    }

    /// Overwrite an asset's bytes behind the API's back (simulating tampering).
    /// Returns whether the asset existed.
    pub fn replace_asset_content(
        &self,
        repo: &str,
        tag: &str,
        name: &str,
        content: impl Into<Bytes>,
    ) -> bool {
        let content = content.into();
        self.change_asset(repo, tag, name, |asset| {
            asset.digest = digest_of(&content);
            asset.content = content;
            asset.updated_at = now();
        })
    }

    /// `change` asset `name` of the release for `tag`, behind the API's
    /// back; whether there was such an asset.
    fn change_asset(
        &self,
        repo: &str,
        tag: &str,
        name: &str,
        change: impl FnOnce(&mut Asset),
    ) -> bool {
        let mut st = self.state.lock();
        let asset = st
            .by_tag_mut(repo, tag)
            .and_then(|r| r.assets.iter_mut().find(|a| a.name == name));
        asset.map(change).is_some()
    }

    /// Push an asset `name` with `content`, uploaded or not (`incomplete`:
    /// its state), onto the release for `tag`, no name checked; whether
    /// the release existed.
    fn push_asset(
        &self,
        repo: &str,
        tag: &str,
        name: &str,
        content: Bytes,
        incomplete: Option<&'static str>,
    ) -> bool {
        let mut st = self.state.lock();
        let Some(release) = st.by_tag(repo, tag).map(|r| r.id) else {
            return false;
        };
        st.push_asset_to(repo, release, name, content, incomplete)
    }

    /// Put asset `name` on the release with this id, as another job's
    /// upload to its own draft (among several drafts of one tag) would.
    /// Returns whether the release existed.
    pub fn push_asset_to_release(
        &self,
        repo: &str,
        id: u64,
        name: &str,
        content: impl Into<Bytes>,
    ) -> bool {
        self.state
            .lock()
            .push_asset_to(repo, id, name, content.into(), None)
    }

    /// Every release of `repo` with this tag (several drafts may share one), by id.
    pub fn releases_for_tag(&self, repo: &str, tag: &str) -> Vec<ReleaseSnapshot> {
        self.state
            .lock()
            .releases
            .values()
            .filter(|r| r.repo == repo && r.tag == tag)
            .map(snapshot)
            .collect()
    }

    /// Store the next upload named `name` with altered bytes, as a faulty
    /// store or proxy would (the upload itself answers 201 as usual): a
    /// bundle stays a bundle of the same length, with a signature that no
    /// longer verifies ([`corrupted`]).
    pub fn corrupt_next_upload(&self, name: &str) {
        self.state.lock().corrupt.push(name.to_owned());
    }

    /// Break off the next upload named `name` partway, as GitHub's upload
    /// host sometimes does: it answers 502, and the release keeps an asset
    /// of that name in state `starter`, with no bytes, whose name a new
    /// upload cannot take (422 `already_exists`) until it is deleted.
    pub fn break_next_upload(&self, name: &str) {
        self.state.lock().broken.push(name.to_owned());
    }

    /// Another writer's upload of `name` to the release for `tag` is still
    /// going on: listed in state `open`, with no bytes yet. Returns whether
    /// the release existed.
    pub fn begin_upload_elsewhere(&self, repo: &str, tag: &str, name: &str) -> bool {
        self.push_asset(repo, tag, name, Bytes::new(), Some("open"))
    }

    /// Another writer replaces asset `name` (deletes it and uploads the same
    /// bytes again: a new id) just before the `n`-th listing of a release's
    /// assets from now is answered (`n` from 1): a release that changes
    /// between two reads of a run.
    pub fn replace_asset_at_listing(&self, name: &str, n: usize) {
        self.state.lock().replaced_at_listing = Some((name.to_owned(), n.max(1)));
    }

    /// Another writer renames asset `name` to `to` (as an upload names it)
    /// just before the next `GET .../releases/assets/{id}` of it is
    /// answered: an asset that is no longer under the name a client
    /// listed it by when it asks for it again.
    pub fn rename_asset_at_next_get(&self, name: &str, to: &str) {
        self.state.lock().renamed_at_get = Some((name.to_owned(), normalize_asset_name(to)));
    }

    /// List asset `name` of the release for `tag` with `digest` (`None`:
    /// no digest) whatever its content, as a lying server would. Returns
    /// whether there was such an asset.
    pub fn list_digest_as(&self, repo: &str, tag: &str, name: &str, digest: Option<&str>) -> bool {
        self.change_asset(repo, tag, name, |asset| {
            asset.listed_digest = Some(digest.map(str::to_owned));
        })
    }

    /// List an asset named exactly `name` (no renaming, duplicates allowed)
    /// on the release for `tag`, as only a lying server could: GitHub
    /// renames `/`, `..`, leading dots and the like on upload. Returns
    /// whether the release existed.
    pub fn insert_asset_unchecked(
        &self,
        repo: &str,
        tag: &str,
        name: &str,
        content: impl Into<Bytes>,
    ) -> bool {
        self.push_asset(repo, tag, name, content.into(), None)
    }

    /// The next download of asset `name` (by the API or the browser URL)
    /// sends its content and then `extra_bytes` more, streamed without a
    /// `Content-Length`, while its listing keeps the real size: a server
    /// sending more than it declared.
    pub fn oversized_next_download(&self, name: &str, extra_bytes: u64) {
        self.state
            .lock()
            .downloads
            .push((name.to_owned(), DownloadLie::Oversized(extra_bytes)));
    }

    /// The next download of asset `name` answers with `content` instead of
    /// the asset's, while its listing keeps the real size: a server (or the
    /// storage a download redirects to) handing out another file under
    /// this name.
    pub fn substitute_next_download(&self, name: &str, content: impl Into<Bytes>) {
        self.state
            .lock()
            .downloads
            .push((name.to_owned(), DownloadLie::Substitute(content.into())));
    }

    /// The next download of asset `name` answers `302 Found` with exactly
    /// `location` (any bytes a header may hold, non-ASCII included) instead
    /// of the content, as github.com answers with a storage URL.
    pub fn redirect_next_download(&self, name: &str, location: impl Into<Vec<u8>>) {
        self.state
            .lock()
            .downloads
            .push((name.to_owned(), DownloadLie::Redirect(location.into())));
    }

    /// Every listing's `Link` header tells `lie` from now on (`None`: the
    /// truth again).
    pub fn lie_on_lists(&self, lie: Option<ListLie>) {
        self.state.lock().list_lie = lie;
    }

    /// Publish a draft (as `PATCH {draft:false}` would): its tag is created
    /// at `target_commitish` if it does not exist yet. Returns whether it existed.
    ///
    /// # Panics
    /// If the tag must be created and `target_commitish` names no branch or
    /// commit, or another release of the tag is published (GitHub refuses
    /// it): test set-up errors.
    pub fn publish(&self, repo: &str, id: u64) -> bool {
        let mut st = self.state.lock();
        let Some(r) = st.release(repo, id) else {
            return false;
        };
        let tag = r.tag.clone();
        assert!(
            !r.draft
                || !st
                    .releases
                    .values()
                    .any(|o| o.repo == repo && o.tag == tag && o.id != id && !o.draft),
            "{repo}: tag {tag} has a published release already"
        );
        let r = st.release(repo, id).expect("checked above");
        if r.draft {
            let (tag, target) = (r.tag.clone(), r.target_commitish.clone());
            st.ensure_tag(repo, &tag, &target)
                .unwrap_or_else(|e| panic!("{repo}: the tag {tag} cannot be created: {e}"));
            let r = st.release_mut(repo, id).expect("checked above");
            r.draft = false;
            r.published_at = Some(now());
            st.published_now(repo, id, None);
        }
        true
    }

    /// Point branch `branch` of `repo` at commit `sha` (creating the repository).
    pub fn set_branch(&self, repo: &str, branch: &str, sha: &str) {
        let mut st = self.state.lock();
        st.ensure_repo(repo);
        let git = st.git.get_mut(repo).expect("just ensured");
        git.heads.insert(branch.to_owned(), sha.to_owned());
    }

    /// Point the lightweight tag `tag` at commit `sha`, creating or moving
    /// it (as `git tag -f` and a forced push do).
    pub fn set_tag(&self, repo: &str, tag: &str, sha: &str) {
        self.set_tag_ref(repo, tag, GitObject::commit(sha));
    }

    /// Point `refs/tags/<tag>` at any object (a tree, a blob, a tag object).
    pub fn set_tag_ref(&self, repo: &str, tag: &str, object: GitObject) {
        let mut st = self.state.lock();
        st.ensure_repo(repo);
        let git = st.git.get_mut(repo).expect("just ensured");
        git.tags.insert(tag.to_owned(), object);
    }

    /// Create an annotated tag object named `tag` for `object` (a commit, or
    /// another tag object: a tag of a tag), point `refs/tags/<tag>` at it,
    /// and return its SHA (computed as git does).
    pub fn set_annotated_tag(&self, repo: &str, tag: &str, object: GitObject) -> String {
        let tagged_at = now();
        let message = format!("Release {tag}");
        let body = format!(
            "object {}\ntype {}\ntag {tag}\ntagger Sandbox <sandbox@example.com> {} +0000\n\n{message}\n",
            object.sha,
            object.kind.as_str(),
            tagged_at.as_second()
        );
        let mut hasher = sha1::Sha1::new();
        sha1::Digest::update(&mut hasher, format!("tag {}\0", body.len()).as_bytes());
        sha1::Digest::update(&mut hasher, body.as_bytes());
        let sha = hex::encode(sha1::Digest::finalize(hasher));
        self.insert_tag_object(repo, &sha, tag, object);
        self.set_tag_ref(repo, tag, GitObject::tag(sha.clone()));
        sha
    }

    /// Store a tag object under any `sha`, as a broken or lying server could
    /// (a real SHA cannot name an object that contains it, so only this
    /// makes a chain of tags loop). `refs/tags/<tag>` is not touched.
    pub fn insert_tag_object(&self, repo: &str, sha: &str, tag: &str, object: GitObject) {
        let mut st = self.state.lock();
        st.ensure_repo(repo);
        let git = st.git.get_mut(repo).expect("just ensured");
        git.tag_objects.insert(
            sha.to_owned(),
            TagObject {
                tag: tag.to_owned(),
                message: format!("Release {tag}"),
                object,
                tagged_at: now(),
            },
        );
    }

    /// Delete `refs/tags/<tag>`. Returns whether it existed.
    pub fn delete_tag(&self, repo: &str, tag: &str) -> bool {
        let mut st = self.state.lock();
        st.git
            .get_mut(repo)
            .is_some_and(|g| g.tags.remove(tag).is_some())
    }

    /// What `refs/tags/<tag>` points at, if it exists.
    pub fn tag_ref(&self, repo: &str, tag: &str) -> Option<GitObject> {
        self.state.lock().git.get(repo)?.tags.get(tag).cloned()
    }

    /// Whether the token lacks `attestations: write` from now on: creating
    /// an attestation answers 403 as GitHub does.
    pub fn deny_attestations(&self, denied: bool) {
        self.state.lock().attestations_denied = denied;
    }

    /// The bundles of `repo`'s attestations, in creation order, with their ids.
    pub fn attestations(&self, repo: &str) -> Vec<(u64, Value)> {
        self.state
            .lock()
            .attestations
            .iter()
            .filter(|a| a.repo == repo)
            .map(|a| (a.id, a.bundle.clone()))
            .collect()
    }

    /// Mark the release for `tag` immutable (locked once published) or not.
    /// Returns whether it existed.
    pub fn set_immutable(&self, repo: &str, tag: &str, immutable: bool) -> bool {
        let mut st = self.state.lock();
        match st.by_tag_mut(repo, tag) {
            Some(r) => {
                r.immutable = immutable;
                true
            }
            None => false,
        }
    }

    // ---- request handling -------------------------------------------------------

    /// `Ok(true)` with the right token, `Ok(false)` without any, 401 with a wrong one.
    fn authenticate(&self, headers: &HeaderMap) -> Result<bool, ApiError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Ok(false);
        };
        let value = value.to_str().map_err(|_| ApiError::BadCredentials)?;
        let (scheme, credential) = value.split_once(' ').ok_or(ApiError::BadCredentials)?;
        if !(scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token")) {
            return Err(ApiError::BadCredentials);
        }
        if constant_time_eq(credential.trim().as_bytes(), self.token.as_bytes()) {
            Ok(true)
        } else {
            Err(ApiError::BadCredentials)
        }
    }

    fn require_auth(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        if self.authenticate(headers)? {
            Ok(())
        } else {
            Err(ApiError::RequiresAuthentication)
        }
    }

    fn known_repo(st: &Store, repo: &str) -> Result<(), ApiError> {
        if st.repos.contains_key(repo) {
            Ok(())
        } else {
            Err(ApiError::NotFound)
        }
    }

    /// `repo`'s URL by number, as GitHub's `Link` headers name it.
    fn repository_url(&self, repo: &str) -> String {
        format!(
            "{}/repositories/{}",
            self.api_base,
            crate::oidc::pseudo_id(repo)
        )
    }

    fn release_json(&self, r: &Release) -> Value {
        let base = format!("{}/repos/{}", self.api_base, r.repo);
        json!({
            "url": format!("{base}/releases/{}", r.id),
            "assets_url": format!("{base}/releases/{}/assets", r.id),
            "upload_url": format!("{base}/releases/{}/assets{{?name,label}}", r.id),
            "html_url": format!("https://github.com/{}/releases/tag/{}", r.repo, url_tag(r)),
            "id": r.id,
            "author": self.bot_json(),
            "node_id": format!("RE_sandbox{}", r.id),
            "tag_name": r.tag,
            "target_commitish": r.target_commitish,
            "name": r.name,
            "draft": r.draft,
            "immutable": r.locked(),
            "prerelease": r.prerelease,
            "created_at": r.created_at.to_string(),
            "updated_at": r.published_at.unwrap_or(r.created_at).to_string(),
            "published_at": r.published_at.map(|t| t.to_string()),
            "assets": r.assets.iter().map(|a| self.asset_json(r, a)).collect::<Vec<_>>(),
            "tarball_url": format!("{base}/tarball/{}", r.tag),
            "zipball_url": format!("{base}/zipball/{}", r.tag),
            "body": r.body,
        })
    }

    fn asset_json(&self, r: &Release, a: &Asset) -> Value {
        json!({
            "url": format!("{}/repos/{}/releases/assets/{}", self.api_base, r.repo, a.id),
            "id": a.id,
            "node_id": format!("RA_sandbox{}", a.id),
            "name": a.name,
            "label": a.label.clone().unwrap_or_default(),
            "uploader": self.bot_json(),
            "content_type": a.content_type,
            "state": a.incomplete.unwrap_or("uploaded"),
            "size": a.content.len(),
            "digest": match (&a.listed_digest, a.incomplete.is_some()) {
                (Some(listed), _) => listed.clone().map_or(Value::Null, Value::from),
                (None, true) => Value::Null,
                (None, false) => a.digest.clone().into(),
            },
            "download_count": a.download_count,
            "created_at": a.created_at.to_string(),
            "updated_at": a.updated_at.to_string(),
            "browser_download_url": self.download_url(&r.repo, &url_tag(r), &a.name),
        })
    }

    /// The full URL a request asked for.
    fn requested(&self, uri: &axum::http::Uri) -> String {
        let path = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
        format!("{}{path}", self.api_base)
    }

    /// Served by this sandbox (github.com is unreachable from tests); for a
    /// published release only, as GitHub serves it (a draft's link names
    /// `untagged-...` and answers 404, with a token too: [`url_tag`]).
    fn download_url(&self, repo: &str, tag: &str, name: &str) -> String {
        format!("{}/{repo}/releases/download/{tag}/{name}", self.api_base)
    }

    fn bot_json(&self) -> Value {
        let user = format!("{}/users/github-actions%5Bbot%5D", self.api_base);
        json!({
            "login": "github-actions[bot]",
            "id": 41898282,
            "node_id": "MDM6Qm90NDE4OTgyODI=",
            "avatar_url": "https://avatars.githubusercontent.com/in/15368?v=4",
            "gravatar_id": "",
            "url": user,
            "html_url": "https://github.com/apps/github-actions",
            "followers_url": format!("{user}/followers"),
            "following_url": format!("{user}/following{{/other_user}}"),
            "gists_url": format!("{user}/gists{{/gist_id}}"),
            "starred_url": format!("{user}/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{user}/subscriptions"),
            "organizations_url": format!("{user}/orgs"),
            "repos_url": format!("{user}/repos"),
            "events_url": format!("{user}/events{{/privacy}}"),
            "received_events_url": format!("{user}/received_events"),
            "type": "Bot",
            "user_view_type": "public",
            "site_admin": false,
        })
    }
}

fn snapshot(r: &Release) -> ReleaseSnapshot {
    ReleaseSnapshot {
        id: r.id,
        tag: r.tag.clone(),
        draft: r.draft,
        prerelease: r.prerelease,
        immutable: r.immutable,
        name: r.name.clone(),
        body: r.body.clone(),
        assets: r
            .assets
            .iter()
            .map(|a| AssetSnapshot {
                id: a.id,
                name: a.name.clone(),
                label: a.label.clone(),
                content_type: a.content_type.clone(),
                content: a.content.clone(),
            })
            .collect(),
    }
}

fn now() -> Timestamp {
    // GitHub timestamps have whole seconds.
    Timestamp::from_second(Timestamp::now().as_second()).expect("now is in range")
}

/// A stable commit SHA for a repository's default branch.
fn pseudo_sha(repo: &str) -> String {
    hex::encode(&Sha256::digest(format!("commit of {repo}").as_bytes())[..20])
}

/// A full SHA-1 commit id, as `target_commitish` may name one.
fn is_commit_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The tag a release's links name: its own once published; a draft's,
/// `untagged-<hex>`, as GitHub gives drafts (those links 404 once it is
/// published, and before).
fn url_tag(r: &Release) -> String {
    if r.draft {
        format!("untagged-{:020x}", r.id.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    } else {
        r.tag.clone()
    }
}

/// `body` altered as a faulty store would, in the way hardest to notice: a
/// signature's base64 (a DER ECDSA signature's begins `ME`) with one
/// character changed, so the file is as long, still JSON, and still a
/// bundle, and only its verification fails. Bytes with no such signature
/// get a byte changed and one added.
fn corrupted(body: &[u8]) -> Vec<u8> {
    let mut bad = body.to_vec();
    let signature = ["\"MEQ", "\"MEU", "\"MEY"]
        .iter()
        .filter_map(|start| bad.windows(start.len()).position(|w| w == start.as_bytes()))
        .min();
    match signature {
        Some(at) if bad.len() > at + 20 => {
            let c = &mut bad[at + 20];
            *c = if *c == b'A' { b'B' } else { b'A' };
        }
        _ => {
            bad.extend_from_slice(b" ");
            bad[0] ^= 0x01;
        }
    }
    bad
}

/// The name GitHub lists for an uploaded asset. Its REST documentation
/// ("Upload a release asset"): "GitHub renames asset filenames that have
/// special characters, non-alphanumeric characters, and leading or trailing
/// periods. The List release assets endpoint lists the renamed filenames."
/// What users report of github.com (travis-ci/dpl#821,
/// softprops/action-gh-release#159): each run of other characters than
/// `A-Za-z0-9-_+` (`+` percent-encoded; `@` is replaced), periods in it
/// included, becomes one `.` (`App (1).zip`
/// is `App.1.zip`), trailing periods are dropped (`test~file!!!` is
/// `test.file`), and a file named `.config` is listed as `default.config`.
/// Before that, the name is composed (NFC) and transliterated as Rails'
/// `transliterate` does with its default table ([`RAILS_APPROXIMATIONS`]),
/// which is what github.com is seen doing (dpl#821: `a5_ð_æ_©_ŋ.txt` is
/// listed as `a5_d_ae_._ng.txt`); any other non-ASCII character is `?`.
fn normalize_asset_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    const KEPT_PUNCTUATION: &str = "-_+";
    let mut ascii = String::with_capacity(name.len());
    for c in name.nfc() {
        if c.is_ascii() {
            ascii.push(c);
            continue;
        }
        let approximation = RAILS_APPROXIMATIONS
            .split_whitespace()
            .find_map(|pair| pair.strip_prefix(c));
        ascii.push_str(approximation.unwrap_or("?"));
    }
    let mut out = String::with_capacity(ascii.len() + 8);
    if ascii.starts_with(|c: char| !c.is_ascii_alphanumeric() && !KEPT_PUNCTUATION.contains(c)) {
        out.push_str("default");
    }
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() || KEPT_PUNCTUATION.contains(c) {
            out.push(c);
        } else if !out.ends_with('.') {
            out.push('.');
        }
    }
    out.truncate(out.trim_end_matches('.').len());
    out
}

/// Rails' (the i18n gem's) default transliteration: each letter followed by
/// its ASCII approximation.
const RAILS_APPROXIMATIONS: &str = concat!(
    "ÀA ÁA ÂA ÃA ÄA ÅA ÆAE ÇC ÈE ÉE ÊE ËE ÌI ÍI ÎI ÏI ÐD ÑN ÒO ÓO ÔO ",
    "ÕO ÖO ×x ØO ÙU ÚU ÛU ÜU ÝY ÞTh ßss àa áa âa ãa äa åa æae çc èe ",
    "ée êe ëe ìi íi îi ïi ðd ñn òo óo ôo õo öo øo ùu úu ûu üu ýy þth ",
    "ÿy ĀA āa ĂA ăa ĄA ąa ĆC ćc ĈC ĉc ĊC ċc ČC čc ĎD ďd ĐD đd ĒE ēe ",
    "ĔE ĕe ĖE ėe ĘE ęe ĚE ěe ĜG ĝg ĞG ğg ĠG ġg ĢG ģg ĤH ĥh ĦH ħh ĨI ",
    "ĩi ĪI īi ĬI ĭi ĮI įi İI ıi ĲIJ ĳij ĴJ ĵj ĶK ķk ĸk ĹL ĺl ĻL ļl ĽL ",
    "ľl ĿL ŀl ŁL łl ŃN ńn ŅN ņn ŇN ňn ŉ'n ŊNG ŋng ŌO ōo ŎO ŏo ŐO őo ",
    "ŒOE œoe ŔR ŕr ŖR ŗr ŘR řr ŚS śs ŜS ŝs ŞS şs ŠS šs ŢT ţt ŤT ťt ŦT ",
    "ŧt ŨU ũu ŪU ūu ŬU ŭu ŮU ůu ŰU űu ŲU ųu ŴW ŵw ŶY ŷy ŸY ŹZ źz ŻZ ",
    "żz ŽZ žz ǪO ǫo ǬO ǭo ẞSS",
);

/// What a handler needs from its state; lets tests serve a lone `GitHub`.
pub(crate) trait HasGitHub: Send + Sync + 'static {
    fn github(&self) -> &GitHub;
}

impl HasGitHub for Shared {
    fn github(&self) -> &GitHub {
        &self.github
    }
}

impl HasGitHub for GitHub {
    fn github(&self) -> &GitHub {
        self
    }
}

/// The storage asset downloads are sent to (github.com's
/// `objects.githubusercontent.com`, an S3-style store): a signed URL's
/// bytes, to a request that carries no `Authorization` header (S3 refuses
/// two ways of authenticating one request), before the URL expires.
pub fn storage_router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/release-assets/{id}", get(from_storage))
        .with_state(shared)
}

async fn from_storage(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let s3_error = |status: StatusCode, code: &str, message: &str| {
        (
            status,
            [(header::CONTENT_TYPE, "application/xml")],
            format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"),
        )
            .into_response()
    };
    if headers.contains_key(header::AUTHORIZATION) {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified",
        );
    }
    let signed = query
        .get("X-Amz-Signature")
        .and_then(|sig| shared.github.signed.lock().get(sig).cloned());
    match signed {
        Some((asset, expires)) if Timestamp::now().as_second() <= expires => {
            raw_asset(&asset, None)
        }
        Some(_) => s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired"),
        None => s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ),
    }
}

/// The releases API at the root of the GitHub service's port, as api.github.com.
pub fn router(shared: Arc<Shared>) -> Router {
    routes(shared)
}

pub(crate) fn routes<S: HasGitHub>(state: Arc<S>) -> Router {
    let releases = release_routes::<S>(true);
    // GitHub Enterprise Server: the API under /api/v3, its URLs saying so,
    // and uploads only at /api/uploads (its `upload_url`s).
    let ghes = release_routes::<S>(false).layer(middleware::from_fn_with_state(
        state.clone(),
        ghes_urls::<S>,
    ));
    let ghes_uploads = Router::new()
        .route(
            "/repos/{owner}/{repo}/releases/{id}/assets",
            axum::routing::post(upload_asset::<S>)
                .layer(axum::extract::DefaultBodyLimit::max(MAX_ASSET_BYTES)),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ghes_urls::<S>,
        ));
    Router::new()
        .merge(releases)
        .route(
            "/repos/{owner}/{repo}/attestations",
            axum::routing::post(create_attestation::<S>),
        )
        .route(
            "/repos/{owner}/{repo}/attestations/{subject_digest}",
            get(list_attestations::<S>),
        )
        // GitHub Enterprise Server's form of the API, which has no attestations.
        .nest("/api/v3", ghes)
        .nest("/api/uploads", ghes_uploads)
        .fallback(|| async { ApiError::NotFound })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limit_headers::<S>,
        ))
        .with_state(state)
}

/// The releases and git-data routes, served at the root (api.github.com)
/// and under `/api/v3` (GitHub Enterprise Server, whose uploads go
/// elsewhere: `uploads` false).
fn release_routes<S: HasGitHub>(uploads: bool) -> Router<Arc<S>> {
    let assets = get(list_assets::<S>);
    let assets = if uploads {
        // GitHub accepts assets up to 2 GiB; axum's default is 2 MB.
        assets
            .post(upload_asset::<S>)
            .layer(axum::extract::DefaultBodyLimit::max(MAX_ASSET_BYTES))
    } else {
        assets
    };
    Router::new()
        .route("/repos/{owner}/{repo}", get(get_repo::<S>))
        .route(
            "/repos/{owner}/{repo}/releases",
            get(list_releases::<S>).post(create_release::<S>),
        )
        .route(
            "/repos/{owner}/{repo}/releases/tags/{tag}",
            get(release_by_tag::<S>),
        )
        .route(
            "/repos/{owner}/{repo}/releases/latest",
            get(latest_release::<S>),
        )
        .route(
            "/repos/{owner}/{repo}/releases/{id}",
            get(get_release::<S>)
                .patch(update_release::<S>)
                .delete(delete_release::<S>),
        )
        .route("/repos/{owner}/{repo}/releases/{id}/assets", assets)
        // Where GitHub's `Link` headers send a listing's further pages.
        .route(
            "/repositories/{repository_id}/releases",
            get(list_releases::<S>),
        )
        .route(
            "/repositories/{repository_id}/releases/{id}/assets",
            get(list_assets::<S>),
        )
        .route(
            "/repos/{owner}/{repo}/releases/assets/{id}",
            get(get_asset::<S>)
                .patch(update_asset::<S>)
                .delete(delete_asset::<S>),
        )
        .route(
            "/{owner}/{repo}/releases/download/{tag}/{name}",
            get(download::<S>),
        )
        .route("/repos/{owner}/{repo}/git/ref/{*ref}", get(git_ref::<S>))
        .route("/repos/{owner}/{repo}/git/tags/{sha}", get(git_tag::<S>))
}

/// GitHub Enterprise Server's URLs in an answer of the `/api/v3` API: each
/// API URL under `/api/v3`, each `upload_url` under `/api/uploads`, and no
/// asset `digest` (older servers list none: a client must download to
/// compare), also in the `Link` header's pages.
async fn ghes_urls<S: HasGitHub>(
    State(state): State<Arc<S>>,
    req: Request,
    next: Next,
) -> Response {
    let base = state.github().api_base.clone();
    let api = format!("{base}/repos/");
    let ghes = format!("{base}/api/v3/repos/");
    let uploads = format!("{base}/api/uploads/repos/");
    let resp = next.run(req).await;
    let (mut parts, body) = resp.into_parts();
    if let Some(link) = parts
        .headers
        .get(header::LINK)
        .and_then(|v| v.to_str().ok())
    {
        let link = link
            .replace(&format!("<{api}"), &format!("<{ghes}"))
            .replace(
                &format!("<{base}/repositories/"),
                &format!("<{base}/api/v3/repositories/"),
            );
        if let Ok(v) = HeaderValue::from_str(&link) {
            parts.headers.insert(header::LINK, v);
        }
    }
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !json {
        return Response::from_parts(parts, body);
    }
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    fn rewrite(v: &mut Value, api: &str, ghes: &str, uploads: &str) {
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    match (k.as_str(), &mut *v) {
                        ("upload_url", Value::String(s)) => *s = s.replacen(api, uploads, 1),
                        ("digest", Value::String(_)) => *v = Value::Null,
                        _ => rewrite(v, api, ghes, uploads),
                    }
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|v| rewrite(v, api, ghes, uploads)),
            Value::String(s) if s.starts_with(api) => *s = s.replacen(api, ghes, 1),
            _ => {}
        }
    }
    rewrite(&mut value, &api, &ghes, &uploads);
    let bytes = serde_json::to_vec(&value).unwrap_or_default();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

async fn rate_limit_headers<S: HasGitHub>(
    State(state): State<Arc<S>>,
    req: Request,
    next: Next,
) -> Response {
    let gh = state.github();
    // A release's public download URL is github.com's, not the API's: no
    // budget, no rate-limit headers.
    let path = req.uri().path();
    if path.contains("/releases/download/") && !path.starts_with("/repos/") {
        return next.run(req).await;
    }
    let anonymous = !req.headers().contains_key(header::AUTHORIZATION);
    let (limit, used) = if anonymous {
        let used = gh.anonymous_requests.fetch_add(1, Ordering::Relaxed) + 1;
        (ANONYMOUS_RATE_LIMIT, used)
    } else {
        let used = gh.requests.fetch_add(1, Ordering::Relaxed) + 1;
        (gh.token_limit.load(Ordering::Relaxed).min(RATE_LIMIT), used)
    };
    let enforced = anonymous || gh.token_limit.load(Ordering::Relaxed) != u64::MAX;
    let num = |n: u64| HeaderValue::from_str(&n.to_string()).expect("digits are a header value");
    let mut resp = if enforced && used > limit {
        // GitHub's answer to a spent primary rate limit.
        let message = if anonymous {
            "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit. Check out the documentation for more details.)"
        } else {
            "API rate limit exceeded for installation ID 1."
        };
        (
            StatusCode::FORBIDDEN,
            Json(json!({
                "message": message,
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
            })),
        )
            .into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert("x-ratelimit-limit", num(limit));
    h.insert("x-ratelimit-remaining", num(limit.saturating_sub(used)));
    h.insert("x-ratelimit-reset", num(gh.reset.max(0) as u64));
    h.insert("x-ratelimit-used", num(used));
    h.insert("x-ratelimit-resource", HeaderValue::from_static("core"));
    h.insert(
        "x-github-api-version-selected",
        HeaderValue::from_static("2022-11-28"),
    );
    resp
}

type ApiResult = Result<Response, ApiError>;

// What every handler starts with, as extractors: who is asking, which
// repository, which numbered release or asset. The caller is decided first,
// as on github.com: a token that is not GitHub's is a 401 whatever the path.

/// The caller of a read: anonymous, or with the token (a token that is
/// not GitHub's is 401 "Bad credentials", never treated as anonymous).
/// Anonymous callers see published releases of known repositories only.
struct Caller<S> {
    state: Arc<S>,
    authed: bool,
}

/// The caller of a write: it must carry the token (401 "Requires
/// authentication" without one).
struct Writer<S>(Arc<S>);

impl<S: HasGitHub> Caller<S> {
    fn github(&self) -> &GitHub {
        self.state.github()
    }
}

impl<S: HasGitHub> Writer<S> {
    fn github(&self) -> &GitHub {
        self.0.github()
    }
}

impl<S: HasGitHub> FromRequestParts<Arc<S>> for Caller<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<S>) -> Result<Self, ApiError> {
        let authed = state.github().authenticate(&parts.headers)?;
        // GitHub answers 404, not 403, for a private repository asked about
        // without a token: it does not say the repository exists.
        if !authed {
            let RepoName(repo) = RepoName::from_request_parts(parts, state).await?;
            if state.github().state.lock().private.contains(&repo) {
                return Err(ApiError::NotFound);
            }
        }
        Ok(Caller {
            state: state.clone(),
            authed,
        })
    }
}

impl<S: HasGitHub> FromRequestParts<Arc<S>> for Writer<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<S>) -> Result<Self, ApiError> {
        state.github().require_auth(&parts.headers)?;
        Ok(Writer(state.clone()))
    }
}

/// The route's `{owner}/{repo}`, as one `owner/name`; or the repository
/// whose number is the route's `{repository_id}` (GitHub serves
/// `/repositories/{id}/...` as `/repos/{owner}/{repo}/...`, and names its
/// listings' further pages in that form).
struct RepoName(String);

/// The route's `{id}`: a release's or an asset's number (404 when it is
/// not one, as GitHub answers).
struct Id(u64);

/// The route's parameters by name (every route here has `owner` and `repo`).
async fn params<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<HashMap<String, String>, ApiError> {
    Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map(|Path(p)| p)
        .map_err(|_| ApiError::NotFound)
}

impl<S: HasGitHub> FromRequestParts<Arc<S>> for RepoName {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<S>) -> Result<Self, ApiError> {
        let p = params(parts, state).await?;
        match (p.get("owner"), p.get("repo"), p.get("repository_id")) {
            (Some(owner), Some(repo), _) => {
                let gh = state.github();
                let st = gh.state.lock();
                let named = st.repo_named(owner, repo);
                if let Some(now) = st.renamed.get(&named.to_ascii_lowercase()) {
                    let path = parts.uri.path();
                    let old = format!("/repos/{owner}/{repo}");
                    let rest = path.find(&old).map_or("", |i| &path[i + old.len()..]);
                    let query = parts
                        .uri
                        .query()
                        .map(|q| format!("?{q}"))
                        .unwrap_or_default();
                    return Err(ApiError::Moved {
                        location: format!(
                            "{}/repositories/{}{rest}{query}",
                            gh.api_base,
                            crate::oidc::pseudo_id(now)
                        ),
                        read: parts.method == axum::http::Method::GET,
                    });
                }
                Ok(RepoName(named))
            }
            (_, _, Some(id)) => {
                let id = parse_id(id)?;
                let st = state.github().state.lock();
                st.repos
                    .keys()
                    .find(|name| crate::oidc::pseudo_id(name) == id)
                    .map(|name| RepoName(name.clone()))
                    .ok_or(ApiError::NotFound)
            }
            _ => Err(ApiError::NotFound),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let p = params(parts, state).await?;
        parse_id(p.get("id").ok_or(ApiError::NotFound)?).map(Id)
    }
}

/// The route's `{tag}`.
#[derive(Deserialize)]
struct TagParam {
    tag: String,
}

/// The route's `{tag}` and asset `{name}` (a browser download).
#[derive(Deserialize)]
struct AssetParam {
    tag: String,
    name: String,
}

/// The route's `{*ref}` (`tags/<tag>`, `heads/<branch>`).
#[derive(Deserialize)]
struct RefParam {
    #[serde(rename = "ref")]
    git_ref: String,
}

/// The route's `{sha}`.
#[derive(Deserialize)]
struct ShaParam {
    sha: String,
}

fn parse_id(s: &str) -> Result<u64, ApiError> {
    s.parse().map_err(|_| ApiError::NotFound)
}

/// GitHub's `digest` of an asset's content.
fn digest_of(content: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(content)))
}

/// One page of `items` and its `Link` header, as GitHub paginates (or as
/// `lie` has it; `requested` is the URL asked for).
/// The page size and the page a listing's query asks for, as GitHub reads
/// them (at most 100 a page; page 1 when none or 0 is asked for).
fn page_asked(query: &HashMap<String, String>) -> (usize, usize) {
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .map_or(DEFAULT_PER_PAGE, |n| n.min(MAX_PER_PAGE));
    let page = query
        .get("page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1);
    (per_page, page)
}

fn paginate<T>(
    items: Vec<T>,
    query: &HashMap<String, String>,
    url: &str,
    requested: &str,
    lie: Option<ListLie>,
) -> (Vec<T>, Option<String>) {
    let (per_page, page) = page_asked(query);
    let last = items.len().div_ceil(per_page).max(1);
    let link_to =
        |p: usize, rel: &str| format!("<{url}?per_page={per_page}&page={p}>; rel=\"{rel}\"");
    let mut links = Vec::new();
    if page > 1 {
        links.push(link_to(page.min(last + 1) - 1, "prev"));
    }
    if page < last {
        links.push(link_to(page + 1, "next"));
        links.push(link_to(last, "last"));
    }
    if page > 1 {
        links.push(link_to(1, "first"));
    }
    match lie {
        None => {}
        Some(ListLie::SelfLink) => links = vec![format!("<{requested}>; rel=\"next\"")],
        Some(ListLie::Cycle) => links = vec![link_to(if page == 2 { 1 } else { 2 }, "next")],
        Some(ListLie::Endless) => links = vec![link_to(page + 1, "next")],
        Some(ListLie::Padded(_)) => {}
    }
    let page_items = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    (page_items, (!links.is_empty()).then(|| links.join(", ")))
}

fn json_page(mut items: Vec<Value>, link: Option<String>, lie: Option<ListLie>) -> Response {
    if let Some(ListLie::Padded(n)) = lie {
        let padding = Value::String("x".repeat(n));
        for item in &mut items {
            if let Some(o) = item.as_object_mut() {
                o.insert("padding".into(), padding.clone());
            }
        }
    }
    let mut resp = Json(Value::Array(items)).into_response();
    if let Some(link) = link {
        resp.headers_mut().insert(
            header::LINK,
            HeaderValue::from_str(&link).expect("URLs are header-safe"),
        );
    }
    resp
}

/// How many of a repository's releases GitHub lists.
pub const RELEASES_LISTED: usize = 1000;

async fn list_releases<S: HasGitHub>(
    caller: Caller<S>,
    RepoName(repo): RepoName,
    Query(query): Query<HashMap<String, String>>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult {
    let gh = caller.github();
    let authed = caller.authed;
    let st = gh.state.lock();
    GitHub::known_repo(&st, &repo)?;
    // GitHub lists the newest 1,000 releases; a page past them is a 422
    // (its `Link: rel="last"` still names the page past the window).
    let (per_page, page) = page_asked(&query);
    if page.saturating_sub(1).saturating_mul(per_page) >= RELEASES_LISTED {
        return Err(ApiError::Unprocessable(
            "Only the first 1000 results are available.",
        ));
    }
    // Newest first, as GitHub lists them; only the page asked for is
    // rendered (a release's JSON holds all its assets).
    let items: Vec<_> = st
        .releases
        .values()
        .rev()
        .filter(|r| r.repo == repo && (authed || !r.draft))
        .collect();
    let (page, link) = paginate(
        items,
        &query,
        &format!("{}/releases", gh.repository_url(&repo)),
        &gh.requested(&uri),
        st.list_lie,
    );
    let page = page.into_iter().map(|r| gh.release_json(r)).collect();
    Ok(json_page(page, link, st.list_lie))
}

/// `GET /repos/{owner}/{repo}`: the fields a client reads to tell a
/// private repository (`private`, `visibility`) from a public one.
async fn get_repo<S: HasGitHub>(caller: Caller<S>, RepoName(repo): RepoName) -> ApiResult {
    let gh = caller.github();
    let st = gh.state.lock();
    GitHub::known_repo(&st, &repo)?;
    let private = st.private.contains(&repo);
    let (owner, name) = repo.split_once('/').unwrap_or((repo.as_str(), ""));
    Ok(Json(json!({
        "id": crate::oidc::pseudo_id(&repo),
        "name": name,
        "full_name": repo,
        "owner": { "login": owner },
        "private": private,
        "visibility": if private { "private" } else { "public" },
        "html_url": format!("https://github.com/{repo}"),
        "url": format!("{}/repos/{repo}", gh.api_base),
    }))
    .into_response())
}

async fn release_by_tag<S: HasGitHub>(
    caller: Caller<S>,
    RepoName(repo): RepoName,
    Path(TagParam { tag }): Path<TagParam>,
) -> ApiResult {
    let gh = caller.github();
    let st = gh.state.lock();
    GitHub::known_repo(&st, &repo)?;
    // GitHub never resolves drafts by tag, even for the repository's owner:
    // the published release of the tag, whatever drafts share it.
    let r = st
        .releases
        .values()
        .find(|r| r.repo == repo && r.tag == tag && !r.draft)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(gh.release_json(r)).into_response())
}

async fn get_release<S: HasGitHub>(
    caller: Caller<S>,
    RepoName(repo): RepoName,
    Id(id): Id,
) -> ApiResult {
    let gh = caller.github();
    let authed = caller.authed;
    let st = gh.state.lock();
    let r = st.visible_release(&repo, id, authed)?;
    Ok(Json(gh.release_json(r)).into_response())
}

#[derive(Debug, Deserialize)]
struct CreateRelease {
    tag_name: Option<String>,
    target_commitish: Option<String>,
    name: Option<String>,
    body: Option<String>,
    #[serde(default)]
    draft: bool,
    #[serde(default)]
    prerelease: bool,
    make_latest: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UpdateRelease {
    tag_name: Option<String>,
    target_commitish: Option<String>,
    name: Option<String>,
    body: Option<String>,
    draft: Option<bool>,
    prerelease: Option<bool>,
    make_latest: Option<String>,
}

/// GitHub's refusal to make a draft or a pre-release the latest release.
const NOT_LATEST: ApiError = ApiError::Custom {
    resource: "Release",
    field: "make_latest",
    message: "Latest release cannot be draft or prerelease.",
};

/// `make_latest` as GitHub takes it: `true`, `false` or `legacy`, a 422
/// otherwise.
fn make_latest(value: Option<&str>) -> Result<Option<&str>, ApiError> {
    match value {
        None | Some("true" | "false" | "legacy") => Ok(value),
        Some(_) => Err(ApiError::Validation {
            resource: "Release",
            code: "invalid",
            field: "make_latest",
        }),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::BadJson)
}

async fn create_release<S: HasGitHub>(
    writer: Writer<S>,
    RepoName(repo): RepoName,
    body: Bytes,
) -> ApiResult {
    let gh = writer.github();
    let req: CreateRelease = parse_json(&body)?;
    make_latest(req.make_latest.as_deref())?;
    if req.make_latest.as_deref() == Some("true") && (req.draft || req.prerelease) {
        return Err(NOT_LATEST);
    }
    let mut st = gh.state.lock();
    GitHub::known_repo(&st, &repo)?;
    let tag = req
        .tag_name
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Validation {
            resource: "Release",
            code: "missing_field",
            field: "tag_name",
        })?;
    st.tag_not_reserved(&repo, &tag)?;
    // Drafts do not own their tag: GitHub lets several drafts share one (matrix
    // jobs racing to create "the" draft do exactly that); a published release does.
    if st
        .releases
        .values()
        .any(|r| r.repo == repo && r.tag == tag && !r.draft)
    {
        return Err(ApiError::Validation {
            resource: "Release",
            code: "already_exists",
            field: "tag_name",
        });
    }
    let target_commitish = req
        .target_commitish
        .unwrap_or_else(|| DEFAULT_BRANCH.into());
    if !req.draft {
        st.ensure_tag(&repo, &tag, &target_commitish)?;
    }
    let immutable = st.repos.get(&repo).copied().unwrap_or(false);
    let id = st.alloc_id();
    let now = now();
    let release = Release {
        id,
        repo: repo.clone(),
        name: req.name.or_else(|| Some(tag.clone())),
        tag,
        target_commitish,
        body: req.body,
        draft: req.draft,
        prerelease: req.prerelease,
        immutable,
        created_at: now,
        published_at: (!req.draft).then_some(now),
        assets: Vec::new(),
    };
    let json = gh.release_json(&release);
    st.releases.insert(id, release);
    if !req.draft {
        st.published_now(&repo, id, req.make_latest.as_deref());
    }
    let mut resp = (StatusCode::CREATED, Json(json)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("{}/repos/{repo}/releases/{id}", gh.api_base)) {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(resp)
}

async fn update_release<S: HasGitHub>(
    writer: Writer<S>,
    RepoName(repo): RepoName,
    Id(id): Id,
    body: Bytes,
) -> ApiResult {
    let gh = writer.github();
    let req: UpdateRelease = parse_json(&body)?;
    make_latest(req.make_latest.as_deref())?;
    let mut st = gh.state.lock();
    GitHub::known_repo(&st, &repo)?;
    let r = st.release(&repo, id).ok_or(ApiError::NotFound)?;
    if let Some(tag) = &req.tag_name {
        if r.locked() && *tag != r.tag {
            return Err(ApiError::Unprocessable(IMMUTABLE_EDIT));
        }
        if st.by_tag(&repo, tag).is_some_and(|other| other.id != id) {
            return Err(ApiError::Validation {
                resource: "Release",
                code: "already_exists",
                field: "tag_name",
            });
        }
    }
    if r.locked() && req.draft == Some(true) {
        return Err(ApiError::Unprocessable(IMMUTABLE_EDIT));
    }
    if req.make_latest.as_deref() == Some("true")
        && (req.draft.unwrap_or(r.draft) || req.prerelease.unwrap_or(r.prerelease))
    {
        return Err(NOT_LATEST);
    }
    // A tag has one published release: a draft of a tag published meanwhile
    // (another job's release) is refused when it is published.
    if r.draft && req.draft == Some(false) {
        let tag = req.tag_name.as_deref().unwrap_or(&r.tag);
        if st
            .releases
            .values()
            .any(|o| o.repo == repo && o.tag == tag && o.id != id && !o.draft)
        {
            return Err(ApiError::Validation {
                resource: "Release",
                code: "already_exists",
                field: "tag_name",
            });
        }
    }
    // Published (now, or already) under a tag that does not exist yet: GitHub
    // creates it from the target, before anything else changes.
    if !req.draft.unwrap_or(r.draft) {
        let tag = req.tag_name.clone().unwrap_or_else(|| r.tag.clone());
        st.tag_not_reserved(&repo, &tag)?;
        let r = st.release(&repo, id).expect("checked above");
        let target = req
            .target_commitish
            .clone()
            .unwrap_or_else(|| r.target_commitish.clone());
        st.ensure_tag(&repo, &tag, &target)?;
    }
    let r = st.release_mut(&repo, id).expect("checked above");
    if let Some(tag) = req.tag_name {
        r.tag = tag;
    }
    if let Some(t) = req.target_commitish {
        r.target_commitish = t;
    }
    if let Some(n) = req.name {
        r.name = Some(n);
    }
    if let Some(b) = req.body {
        r.body = Some(b);
    }
    if let Some(p) = req.prerelease {
        r.prerelease = p;
    }
    let mut newly_published = false;
    if let Some(draft) = req.draft {
        if r.draft && !draft {
            r.published_at = Some(now());
            newly_published = true;
        } else if draft {
            r.published_at = None;
        }
        r.draft = draft;
    }
    if newly_published || (!r.draft && req.make_latest.is_some()) {
        st.published_now(&repo, id, req.make_latest.as_deref());
    }
    let r = st.release(&repo, id).expect("checked above");
    Ok(Json(gh.release_json(r)).into_response())
}

/// `GET .../releases/latest`: the repository's latest release, 404 when it
/// has none.
async fn latest_release<S: HasGitHub>(caller: Caller<S>, RepoName(repo): RepoName) -> ApiResult {
    let gh = caller.github();
    let st = gh.state.lock();
    GitHub::known_repo(&st, &repo)?;
    let r = st
        .latest
        .get(&repo)
        .and_then(|id| st.release(&repo, *id))
        .ok_or(ApiError::NotFound)?;
    Ok(Json(gh.release_json(r)).into_response())
}

async fn delete_release<S: HasGitHub>(
    writer: Writer<S>,
    RepoName(repo): RepoName,
    Id(id): Id,
) -> ApiResult {
    let gh = writer.github();
    let mut st = gh.state.lock();
    GitHub::known_repo(&st, &repo)?;
    st.release(&repo, id).ok_or(ApiError::NotFound)?;
    if let Some(gone) = st.releases.remove(&id).filter(|r| r.locked()) {
        st.reserved_tags.insert((gone.repo, gone.tag));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_assets<S: HasGitHub>(
    caller: Caller<S>,
    RepoName(repo): RepoName,
    Id(id): Id,
    Query(query): Query<HashMap<String, String>>,
    OriginalUri(uri): OriginalUri,
) -> ApiResult {
    let gh = caller.github();
    let authed = caller.authed;
    let mut st = gh.state.lock();
    if let Some((name, n)) = st.replaced_at_listing.take() {
        if n > 1 {
            st.replaced_at_listing = Some((name, n - 1));
        } else {
            let new_id = st.alloc_id();
            if let Some(r) = st.release_mut(&repo, id) {
                if let Some(a) = r.assets.iter_mut().find(|a| a.name == name) {
                    a.id = new_id;
                    a.updated_at = now();
                }
            }
        }
    }
    let r = st.visible_release(&repo, id, authed)?;
    // The page first, then its JSON: each asset's digest is a hash of its
    // content, and a release can hold a thousand.
    let (page, link) = paginate(
        r.assets.iter().collect(),
        &query,
        &format!("{}/releases/{id}/assets", gh.repository_url(&repo)),
        &gh.requested(&uri),
        st.list_lie,
    );
    let page = page.into_iter().map(|a| gh.asset_json(r, a)).collect();
    Ok(json_page(page, link, st.list_lie))
}

/// The most assets GitHub keeps on one release.
pub const MAX_RELEASE_ASSETS: usize = 1000;

async fn upload_asset<S: HasGitHub>(
    writer: Writer<S>,
    RepoName(repo): RepoName,
    Id(id): Id,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let gh = writer.github();
    let mut st = gh.state.lock();
    GitHub::known_repo(&st, &repo)?;
    let new_id = st.next_id + 1;
    let r = st.release_mut(&repo, id).ok_or(ApiError::NotFound)?;
    // Query already percent-decodes `name` and `label`.
    let name = query
        .get("name")
        .filter(|n| !n.is_empty())
        .map(|n| normalize_asset_name(n))
        .ok_or(ApiError::Validation {
            resource: "ReleaseAsset",
            code: "missing_field",
            field: "name",
        })?;
    if r.locked() {
        return Err(ApiError::Unprocessable(IMMUTABLE_UPLOAD));
    }
    if r.assets.iter().any(|a| a.name == name) {
        return Err(ApiError::Validation {
            resource: "ReleaseAsset",
            code: "already_exists",
            field: "name",
        });
    }
    // GitHub keeps at most 1,000 assets a release.
    if r.assets.len() >= MAX_RELEASE_ASSETS {
        return Err(ApiError::Custom {
            resource: "ReleaseAsset",
            field: "name",
            message: "a release can have at most 1000 assets",
        });
    }
    // GitHub keeps no empty asset.
    if body.is_empty() {
        return Err(ApiError::Custom {
            resource: "ReleaseAsset",
            field: "size",
            message: "size must be greater than or equal to 1",
        });
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let now = now();
    let body = match st.corrupt.iter().position(|n| *n == name) {
        Some(i) => {
            st.corrupt.remove(i);
            Bytes::from(corrupted(&body))
        }
        None => body,
    };
    let broken = match st.broken.iter().position(|n| *n == name) {
        Some(i) => {
            st.broken.remove(i);
            true
        }
        None => false,
    };
    let r = st.release_mut(&repo, id).expect("checked above");
    let asset = Asset {
        id: new_id,
        name,
        label: query.get("label").cloned().filter(|l| !l.is_empty()),
        content_type,
        digest: digest_of(if broken { &[][..] } else { &body }),
        content: if broken { Bytes::new() } else { body },
        incomplete: broken.then_some("starter"),
        listed_digest: None,
        download_count: 0,
        created_at: now,
        updated_at: now,
    };
    r.assets.push(asset);
    if broken {
        st.next_id = new_id;
        return Err(ApiError::BadGateway);
    }
    let r = st.release(&repo, id).expect("just modified");
    let json = gh.asset_json(r, r.assets.last().expect("just pushed"));
    st.next_id = new_id;
    Ok((StatusCode::CREATED, Json(json)).into_response())
}

async fn get_asset<S: HasGitHub>(
    caller: Caller<S>,
    RepoName(repo): RepoName,
    Id(id): Id,
    headers: HeaderMap,
) -> ApiResult {
    let gh = caller.github();
    let authed = caller.authed;
    let raw = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/octet-stream"));
    let mut st = gh.state.lock();
    GitHub::known_repo(&st, &repo)?;
    if let Some((from, to)) = st.renamed_at_get.clone().filter(|_| !raw) {
        let renamed = match st.asset_mut(&repo, id) {
            Some((r, idx)) if r.assets[idx].name == from => {
                r.assets[idx].name = to;
                r.assets[idx].updated_at = now();
                true
            }
            _ => false,
        };
        if renamed {
            st.renamed_at_get = None;
        }
    }
    let (r, idx) = st
        .asset_mut(&repo, id)
        .filter(|(r, _)| authed || !r.draft)
        .ok_or(ApiError::NotFound)?;
    if raw {
        if r.assets[idx].incomplete.is_some() {
            return Err(ApiError::NotFound);
        }
        r.assets[idx].download_count += 1;
        let a = r.assets[idx].clone();
        let lie = st.take_download_lie(&a.name);
        return Ok(gh.download_answer(&a, lie));
    }
    Ok(Json(gh.asset_json(r, &r.assets[idx])).into_response())
}

/// An asset's content as a download answers it, or the lie queued for it.
fn raw_asset(a: &Asset, lie: Option<DownloadLie>) -> Response {
    let content_type = HeaderValue::from_str(&a.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let disposition = HeaderValue::from_str(&format!("attachment; filename={}", a.name))
        .unwrap_or(HeaderValue::from_static("attachment"));
    let headers = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    match lie {
        None => (headers, a.content.clone()).into_response(),
        Some(DownloadLie::Oversized(extra)) => (
            headers,
            axum::body::Body::from_stream(oversized(a.content.clone(), extra)),
        )
            .into_response(),
        Some(DownloadLie::Substitute(content)) => (headers, content).into_response(),
        Some(DownloadLie::Redirect(location)) => {
            let mut resp = StatusCode::FOUND.into_response();
            // Any bytes a header value may hold (obs-text included); one
            // that is no header value at all is sent empty.
            let value = HeaderValue::from_bytes(&location).unwrap_or(HeaderValue::from_static(""));
            resp.headers_mut().insert(header::LOCATION, value);
            resp
        }
    }
}

/// `content`, then `extra` more bytes, produced as they are sent (a lie of
/// gigabytes costs no memory).
fn oversized(
    content: Bytes,
    extra: u64,
) -> impl futures::Stream<Item = Result<Bytes, std::convert::Infallible>> + Send {
    const CHUNK: u64 = 64 * 1024;
    let filler = Bytes::from(vec![b'x'; CHUNK as usize]);
    let rest = futures::stream::unfold(extra, move |left| {
        let filler = filler.clone();
        async move {
            (left > 0).then(|| {
                let n = left.min(CHUNK);
                (Ok(filler.slice(..n as usize)), left - n)
            })
        }
    });
    futures::StreamExt::chain(futures::stream::once(async { Ok(content) }), rest)
}

#[derive(Debug, Deserialize)]
struct UpdateAsset {
    name: Option<String>,
    label: Option<String>,
}

/// `PATCH .../releases/assets/{id}` ("Update a release asset"): its name
/// (made as an upload's is) and label; a name another asset holds is 422
/// `already_exists`; an immutable release's assets stay as they are.
async fn update_asset<S: HasGitHub>(
    writer: Writer<S>,
    RepoName(repo): RepoName,
    Id(id): Id,
    body: Bytes,
) -> ApiResult {
    let gh = writer.github();
    let req: UpdateAsset = parse_json(&body)?;
    let mut st = gh.state.lock();
    GitHub::known_repo(&st, &repo)?;
    let (r, idx) = st.asset_mut(&repo, id).ok_or(ApiError::NotFound)?;
    if r.locked() {
        return Err(ApiError::Unprocessable(IMMUTABLE_EDIT));
    }
    if let Some(name) = req.name.filter(|n| !n.is_empty()) {
        let name = normalize_asset_name(&name);
        if r.assets
            .iter()
            .enumerate()
            .any(|(i, a)| i != idx && a.name == name)
        {
            return Err(ApiError::Validation {
                resource: "ReleaseAsset",
                code: "already_exists",
                field: "name",
            });
        }
        r.assets[idx].name = name;
    }
    if let Some(label) = req.label {
        r.assets[idx].label = Some(label).filter(|l| !l.is_empty());
    }
    r.assets[idx].updated_at = now();
    let (r, idx) = st.asset_mut(&repo, id).ok_or(ApiError::NotFound)?;
    let json = gh.asset_json(r, &r.assets[idx]);
    Ok(Json(json).into_response())
}

async fn delete_asset<S: HasGitHub>(
    writer: Writer<S>,
    RepoName(repo): RepoName,
    Id(id): Id,
) -> ApiResult {
    let gh = writer.github();
    let mut st = gh.state.lock();
    GitHub::known_repo(&st, &repo)?;
    let (r, idx) = st.asset_mut(&repo, id).ok_or(ApiError::NotFound)?;
    if r.locked() {
        return Err(ApiError::Unprocessable(IMMUTABLE_DELETE));
    }
    r.assets.remove(idx);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn download<S: HasGitHub>(
    caller: Caller<S>,
    RepoName(repo): RepoName,
    Path(AssetParam { tag, name }): Path<AssetParam>,
) -> ApiResult {
    let gh = caller.github();
    let mut st = gh.state.lock();
    // A published release's only: a draft's link 404s, with a token too.
    let r = st
        .published_by_tag_mut(&repo, &tag)
        .ok_or(ApiError::NotFound)?;
    let a = r
        .assets
        .iter_mut()
        .find(|a| a.name == name && a.incomplete.is_none())
        .ok_or(ApiError::NotFound)?;
    a.download_count += 1;
    let a = a.clone();
    let lie = st.take_download_lie(&a.name);
    Ok(gh.download_answer(&a, lie))
}

impl GitHub {
    fn object_json(&self, repo: &str, o: &GitObject) -> Value {
        json!({
            "type": o.kind.as_str(),
            "sha": o.sha,
            "url": format!("{}/repos/{repo}/git/{}/{}", self.api_base, o.kind.collection(), o.sha),
        })
    }
}

/// `GET /repos/{owner}/{repo}/git/ref/{ref}`: one exact ref (`tags/<tag>`,
/// `heads/<branch>`), or 404.
async fn git_ref<S: HasGitHub>(
    caller: Caller<S>,
    RepoName(repo): RepoName,
    Path(RefParam { git_ref }): Path<RefParam>,
) -> ApiResult {
    let gh = caller.github();
    let st = gh.state.lock();
    GitHub::known_repo(&st, &repo)?;
    let git = st.git.get(&repo).ok_or(ApiError::NotFound)?;
    let object = if let Some(tag) = git_ref.strip_prefix("tags/") {
        git.tags.get(tag).cloned()
    } else if let Some(branch) = git_ref.strip_prefix("heads/") {
        git.heads.get(branch).cloned().map(GitObject::commit)
    } else {
        None
    }
    .ok_or(ApiError::NotFound)?;
    Ok(Json(json!({
        "ref": format!("refs/{git_ref}"),
        "node_id": format!("REF_sandbox{}", hex::encode(&Sha256::digest(git_ref.as_bytes())[..8])),
        "url": format!("{}/repos/{repo}/git/refs/{git_ref}", gh.api_base),
        "object": gh.object_json(&repo, &object),
    }))
    .into_response())
}

/// `GET /repos/{owner}/{repo}/git/tags/{tag_sha}`: an annotated tag object.
async fn git_tag<S: HasGitHub>(
    caller: Caller<S>,
    RepoName(repo): RepoName,
    Path(ShaParam { sha }): Path<ShaParam>,
) -> ApiResult {
    let gh = caller.github();
    let st = gh.state.lock();
    GitHub::known_repo(&st, &repo)?;
    let t = st
        .git
        .get(&repo)
        .and_then(|g| g.tag_objects.get(&sha))
        .ok_or(ApiError::NotFound)?;
    Ok(Json(json!({
        "node_id": format!("TA_sandbox{}", sha.chars().take(12).collect::<String>()),
        "tag": t.tag,
        "sha": sha,
        "url": format!("{}/repos/{repo}/git/tags/{sha}", gh.api_base),
        "message": t.message,
        "tagger": {
            "name": "Sandbox",
            "email": "sandbox@example.com",
            "date": t.tagged_at.to_string(),
        },
        "object": gh.object_json(&repo, &t.object),
        "verification": {
            "verified": false,
            "reason": "unsigned",
            "signature": null,
            "payload": null,
            "verified_at": null,
        },
    }))
    .into_response())
}

// ---- attestations -----------------------------------------------------------

#[derive(Debug, Deserialize)]
struct CreateAttestation {
    bundle: Option<Value>,
}

/// The subject digests (`alg:hex`) and predicate type of a bundle GitHub
/// would store: a Sigstore bundle (media type, verification material) whose
/// content is a DSSE envelope with one signature or more over an in-toto
/// statement with subjects. `None` for anything else.
fn attestable(bundle: &Value) -> Option<(Vec<String>, String)> {
    use base64::Engine as _;
    let media_type = bundle.get("mediaType")?.as_str()?;
    if !media_type.starts_with("application/vnd.dev.sigstore.bundle") {
        return None;
    }
    bundle.get("verificationMaterial")?.as_object()?;
    let envelope = bundle.get("dsseEnvelope")?;
    if envelope.get("payloadType")?.as_str()? != IN_TOTO
        || envelope.get("signatures")?.as_array()?.is_empty()
    {
        return None;
    }
    let payload = base64::engine::general_purpose::STANDARD
        .decode(envelope.get("payload")?.as_str()?)
        .ok()?;
    let statement: Value = serde_json::from_slice(&payload).ok()?;
    statement.get("_type")?.as_str()?;
    let predicate_type = statement.get("predicateType")?.as_str()?.to_owned();
    let mut digests = Vec::new();
    for subject in statement.get("subject")?.as_array()? {
        for (alg, hex) in subject.get("digest")?.as_object()? {
            digests.push(format!("{alg}:{}", hex.as_str()?.to_ascii_lowercase()));
        }
    }
    (!digests.is_empty()).then_some((digests, predicate_type))
}

/// `POST /repos/{owner}/{repo}/attestations`: 201 `{"id": N}`; the same
/// bundle stored again answers its id.
async fn create_attestation<S: HasGitHub>(
    State(state): State<Arc<S>>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    let gh = state.github();
    gh.require_auth(&headers)?;
    let mut st = gh.state.lock();
    let repo = st.repo_named(&owner, &repo);
    GitHub::known_repo(&st, &repo)?;
    if st.attestations_denied {
        return Err(ApiError::Forbidden(NOT_ACCESSIBLE));
    }
    let req: CreateAttestation = parse_json(&body)?;
    let invalid = |code| ApiError::Validation {
        resource: "Attestation",
        code,
        field: "bundle",
    };
    let bundle = req.bundle.ok_or(invalid("missing_field"))?;
    let (digests, predicate_type) = attestable(&bundle).ok_or(invalid("invalid"))?;
    // Each request stores one: GitHub documents no de-duplication.
    let id = st.alloc_id();
    st.attestations.push(Attestation {
        id,
        repo,
        bundle,
        digests,
        predicate_type,
    });
    Ok((StatusCode::CREATED, Json(json!({ "id": id }))).into_response())
}

/// `GET /repos/{owner}/{repo}/attestations/{alg}:{hex}`: the attestations
/// with a subject of that digest, oldest first, `per_page` at a time (at
/// most 100) after the cursor `after`, optionally only of `predicate_type`;
/// 404 when there is none.
async fn list_attestations<S: HasGitHub>(
    State(state): State<Arc<S>>,
    Path((owner, repo, subject_digest)): Path<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult {
    let gh = state.github();
    gh.authenticate(&headers)?;
    let st = gh.state.lock();
    let repo = st.repo_named(&owner, &repo);
    GitHub::known_repo(&st, &repo)?;
    let digest = subject_digest.to_ascii_lowercase();
    let per_page = query
        .get("per_page")
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .map_or(DEFAULT_PER_PAGE, |n| n.min(MAX_PER_PAGE));
    let after = query.get("after").and_then(|v| v.parse::<u64>().ok());
    let matching: Vec<&Attestation> = st
        .attestations
        .iter()
        .filter(|a| a.repo == repo && a.digests.contains(&digest))
        .filter(|a| {
            query
                .get("predicate_type")
                .is_none_or(|p| *p == a.predicate_type)
        })
        .collect();
    if matching.is_empty() {
        return Err(ApiError::NotFound);
    }
    let rest: Vec<&Attestation> = matching
        .into_iter()
        .filter(|a| after.is_none_or(|after| a.id > after))
        .collect();
    let page: Vec<&Attestation> = rest.iter().take(per_page).copied().collect();
    let repository_id = crate::oidc::pseudo_id(&repo);
    let items: Vec<Value> = page
        .iter()
        .map(|a| {
            json!({
                "bundle": a.bundle,
                "repository_id": repository_id,
                "bundle_url": null,
            })
        })
        .collect();
    let mut resp = Json(json!({ "attestations": items })).into_response();
    if let (true, Some(last)) = (rest.len() > per_page, page.last()) {
        let link = format!(
            "<{}/repos/{repo}/attestations/{digest}?per_page={per_page}&after={}>; rel=\"next\"",
            gh.api_base, last.id
        );
        resp.headers_mut().insert(
            header::LINK,
            HeaderValue::from_str(&link).expect("URLs are header-safe"),
        );
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Client;

    const TOKEN: &str = "ghs_test_token";
    const REPO: &str = "octo-org/octo-repo";

    struct Server {
        gh: Arc<GitHub>,
        base: String,
        http: Client,
    }

    impl Server {
        async fn start() -> Self {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let gh = Arc::new(GitHub::new(&base, TOKEN));
            gh.add_repo(REPO);
            let app = routes(gh.clone());
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            Self {
                gh,
                base,
                http: Client::new(),
            }
        }
        fn url(&self, path: &str) -> String {
            format!("{}/repos/{REPO}{path}", self.base)
        }
        /// `path` under the repository's URL by number, as `Link` names it.
        fn by_id(&self, path: &str) -> String {
            format!(
                "{}/repositories/{}{path}",
                self.base,
                crate::oidc::pseudo_id(REPO)
            )
        }
        fn get(&self, path: &str) -> reqwest::RequestBuilder {
            self.http.get(self.url(path))
        }
        fn authed(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
            rb.bearer_auth(TOKEN)
        }
        async fn upload(&self, id: u64, name: &str, body: &'static [u8]) -> reqwest::Response {
            self.http
                .post(self.url(&format!(
                    "/releases/{id}/assets?name={}",
                    name.replace(' ', "%20")
                )))
                .header("content-type", "application/json")
                .bearer_auth(TOKEN)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    }

    async fn json(resp: reqwest::Response) -> Value {
        resp.json().await.unwrap()
    }

    /// A private repository is a 404 to a caller without the token, for the
    /// repository itself and everything in it; with the token it says so.
    #[tokio::test]
    async fn private_repositories_are_hidden_without_the_token() {
        let s = Server::start().await;
        s.gh.create_release(REPO, "v1.0.0", ReleaseSpec::published());
        let public = json(s.get("").send().await.unwrap()).await;
        assert_eq!(
            (public["private"].as_bool(), public["full_name"].as_str()),
            (Some(false), Some(REPO))
        );
        s.gh.set_repo_private(REPO, true);
        for path in ["", "/releases", "/releases/tags/v1.0.0"] {
            assert_eq!(s.get(path).send().await.unwrap().status(), 404, "{path}");
            assert_eq!(
                s.authed(s.get(path)).send().await.unwrap().status(),
                200,
                "{path}"
            );
        }
        let private = json(s.authed(s.get("")).send().await.unwrap()).await;
        assert_eq!(
            (private["private"].as_bool(), private["visibility"].as_str()),
            (Some(true), Some("private"))
        );
    }

    /// A release takes at most 1,000 assets: the next upload is refused,
    /// and nothing of it is kept.
    #[tokio::test]
    async fn a_release_takes_at_most_a_thousand_assets() {
        let s = Server::start().await;
        let id = s.gh.create_release(REPO, "v1.0.0", ReleaseSpec::draft());
        for n in 0..MAX_RELEASE_ASSETS {
            let resp = s.upload(id, &format!("a{n}"), b"x").await;
            assert_eq!(resp.status(), 201, "asset {n}");
        }
        let resp = s.upload(id, "one-more", b"x").await;
        assert_eq!(resp.status(), 422);
        assert!(json(resp).await["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 1000 assets"));
        assert_eq!(s.gh.assets(REPO, "v1.0.0").len(), MAX_RELEASE_ASSETS);
    }

    #[tokio::test]
    async fn published_release_by_tag_is_public_and_octocrab_shaped() {
        let s = Server::start().await;
        let id =
            s.gh.create_release(REPO, "v1.0.0", ReleaseSpec::published());
        let resp = s.get("/releases/tags/v1.0.0").send().await.unwrap();
        assert_eq!(resp.status(), 200);
        for h in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "x-ratelimit-used",
        ] {
            assert!(
                resp.headers()[h].to_str().unwrap().parse::<u64>().is_ok(),
                "{h}"
            );
        }
        assert_eq!(resp.headers()["x-ratelimit-resource"], "core");
        let body = json(resp).await;
        let release: octocrab::models::repos::Release =
            serde_json::from_value(body.clone()).unwrap();
        assert_eq!(release.id.0, id);
        assert_eq!(release.tag_name, "v1.0.0");
        assert!(!release.draft);
        assert_eq!(
            release.upload_url,
            format!(
                "{}/repos/{REPO}/releases/{id}/assets{{?name,label}}",
                s.base
            )
        );

        assert_eq!(
            s.get("/releases/tags/v9").send().await.unwrap().status(),
            404
        );
        let unknown = s
            .http
            .get(format!(
                "{}/repos/nobody/nothing/releases/tags/v1.0.0",
                s.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 404);
        assert_eq!(json(unknown).await["message"], "Not Found");
    }

    /// GitHub finds a repository whatever the case of its owner and name
    /// in the path, and answers with the name as it was created.
    #[tokio::test]
    async fn repositories_are_found_without_regard_to_case() {
        let s = Server::start().await;
        let id =
            s.gh.create_release(REPO, "v1.0.0", ReleaseSpec::published());
        let shouted = format!("{}/repos/{}", s.base, REPO.to_ascii_uppercase());
        let release = json(
            s.http
                .get(format!("{shouted}/releases/tags/v1.0.0"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(release["id"], id);
        assert_eq!(
            release["url"],
            format!("{}/repos/{REPO}/releases/{id}", s.base)
        );
        let repo = json(s.http.get(&shouted).send().await.unwrap()).await;
        assert_eq!(repo["full_name"], REPO);
        let upload = s
            .http
            .post(format!("{shouted}/releases/{id}/assets?name=a.txt"))
            .bearer_auth(TOKEN)
            .body("a")
            .send()
            .await
            .unwrap();
        assert_eq!(upload.status(), 201);
        let assets = json(
            s.get(&format!("/releases/{id}/assets"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(assets[0]["name"], "a.txt");
    }

    #[tokio::test]
    async fn credentials_are_checked() {
        let s = Server::start().await;
        s.gh.create_release(REPO, "v1", ReleaseSpec::published());
        let wrong = s
            .get("/releases/tags/v1")
            .header("authorization", "token nope")
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.status(), 401);
        assert_eq!(json(wrong).await["message"], "Bad credentials");
        let ok = s
            .get("/releases/tags/v1")
            .header("authorization", format!("token {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);

        // Writes need a token.
        let anon = s
            .http
            .post(s.url("/releases"))
            .json(&json!({"tag_name": "v2"}))
            .send()
            .await
            .unwrap();
        assert_eq!(anon.status(), 401);
        assert_eq!(json(anon).await["message"], "Requires authentication");
    }

    #[tokio::test]
    async fn drafts_are_hidden_without_a_token_and_never_found_by_tag() {
        let s = Server::start().await;
        let draft = s.gh.create_release(REPO, "v2", ReleaseSpec::draft());
        s.gh.create_release(REPO, "v1", ReleaseSpec::published());

        let path = format!("/releases/{draft}");
        assert_eq!(s.get(&path).send().await.unwrap().status(), 404);
        assert_eq!(s.authed(s.get(&path)).send().await.unwrap().status(), 200);
        let by_tag = s.authed(s.get("/releases/tags/v2")).send().await.unwrap();
        assert_eq!(by_tag.status(), 404);

        let public = json(s.get("/releases").send().await.unwrap()).await;
        assert_eq!(public.as_array().unwrap().len(), 1);
        let all = json(s.authed(s.get("/releases")).send().await.unwrap()).await;
        let tags: Vec<_> = all
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["tag_name"].clone())
            .collect();
        assert_eq!(tags, [json!("v1"), json!("v2")]);
        let list: Vec<octocrab::models::repos::Release> = serde_json::from_value(all).unwrap();
        assert!(list.iter().any(|r| r.draft));
    }

    #[tokio::test]
    async fn release_lists_paginate_with_link_headers() {
        let s = Server::start().await;
        for i in 0..5 {
            s.gh.create_release(REPO, &format!("v{i}"), ReleaseSpec::published());
        }
        let resp = s.get("/releases?per_page=2&page=2").send().await.unwrap();
        let link = resp.headers()["link"].to_str().unwrap().to_owned();
        let page = json(resp).await;
        let tags: Vec<_> = page
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["tag_name"].clone())
            .collect();
        assert_eq!(tags, [json!("v2"), json!("v1")]);
        // GitHub names further pages by the repository's number.
        let base = s.by_id("/releases");
        assert!(
            link.contains(&format!("<{base}?per_page=2&page=3>; rel=\"next\"")),
            "{link}"
        );
        assert!(
            link.contains(&format!("<{base}?per_page=2&page=3>; rel=\"last\"")),
            "{link}"
        );
        assert!(
            link.contains(&format!("<{base}?per_page=2&page=1>; rel=\"prev\"")),
            "{link}"
        );

        let last = s
            .http
            .get(format!("{base}?per_page=2&page=3"))
            .send()
            .await
            .unwrap();
        assert!(!last.headers()["link"]
            .to_str()
            .unwrap()
            .contains("rel=\"next\""));
        assert_eq!(json(last).await.as_array().unwrap().len(), 1);
        let single = s.get("/releases").send().await.unwrap();
        assert!(single.headers().get("link").is_none());
        // A number that is no repository's is not found.
        let unknown = s
            .http
            .get(format!("{}/repositories/1/releases", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(unknown.status(), 404);
    }

    #[tokio::test]
    async fn create_and_publish_through_the_api() {
        let s = Server::start().await;
        let created = s
            .authed(s.http.post(s.url("/releases")))
            .json(&json!({"tag_name": "v3", "name": "Three", "body": "notes", "draft": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let created = json(created).await;
        assert_eq!(created["draft"], true);
        assert!(created["published_at"].is_null());
        let id = created["id"].as_u64().unwrap();

        // Drafts do not own their tag (matrix jobs racing to create one draft
        // make several): a second draft for v3 is created.
        let second_draft = s
            .authed(s.http.post(s.url("/releases")))
            .json(&json!({"tag_name": "v3", "draft": true}))
            .send()
            .await
            .unwrap();
        assert_eq!(second_draft.status(), 201);
        let second_id = json(second_draft).await["id"].as_u64().unwrap();
        let deleted = s
            .authed(s.http.delete(s.url(&format!("/releases/{second_id}"))))
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.status(), 204);
        assert_eq!(s.gh.releases_for_tag(REPO, "v3").len(), 1);
        let missing = s
            .authed(s.http.post(s.url("/releases")))
            .json(&json!({"name": "no tag"}))
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 422);
        let garbage = s
            .authed(s.http.post(s.url("/releases")))
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(garbage.status(), 400);

        let published = s
            .authed(s.http.patch(s.url(&format!("/releases/{id}"))))
            .json(&json!({"draft": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(published.status(), 200);
        let published = json(published).await;
        assert_eq!(published["draft"], false);
        assert!(published["published_at"].is_string());
        assert_eq!(
            s.get("/releases/tags/v3").send().await.unwrap().status(),
            200
        );
        let snap = s.gh.release(REPO, "v3").unwrap();
        assert_eq!(
            (snap.name.as_deref(), snap.body.as_deref()),
            (Some("Three"), Some("notes"))
        );
        // A published release does own its tag.
        let dup = s
            .authed(s.http.post(s.url("/releases")))
            .json(&json!({"tag_name": "v3"}))
            .send()
            .await
            .unwrap();
        assert_eq!(dup.status(), 422);
        assert_eq!(json(dup).await["errors"][0]["code"], "already_exists");
    }

    /// An asset replaced by another writer at a given listing has a new id
    /// from then on; its old one is not found.
    #[tokio::test]
    async fn an_asset_replaced_at_a_listing_gets_a_new_id() {
        let s = Server::start().await;
        let id = s.gh.create_release(REPO, "v1", ReleaseSpec::published());
        assert_eq!(s.upload(id, "a.json", b"{}").await.status(), 201);
        s.gh.replace_asset_at_listing("a.json", 2);
        let list = |s: &Server| s.get(&format!("/releases/{id}/assets")).send();
        let first = json(list(&s).await.unwrap()).await;
        let second = json(list(&s).await.unwrap()).await;
        assert_ne!(first[0]["id"], second[0]["id"]);
        assert_eq!(second[0]["name"], "a.json");
        let old = s
            .http
            .get(first[0]["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(old.status(), 404);
        let third = json(list(&s).await.unwrap()).await;
        assert_eq!(second[0]["id"], third[0]["id"]);
    }

    /// An upload that breaks off answers 502 and leaves its name taken by
    /// an asset in state `starter`, with no bytes and no digest, which
    /// cannot be downloaded; once it is deleted, the name is free.
    #[tokio::test]
    async fn a_broken_upload_leaves_a_starter_asset() {
        let s = Server::start().await;
        let id = s.gh.create_release(REPO, "v1", ReleaseSpec::published());
        s.gh.break_next_upload("a.json");
        assert_eq!(s.upload(id, "a.json", b"{}").await.status(), 502);
        let listed = json(
            s.get(&format!("/releases/{id}/assets"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let asset = &listed[0];
        assert_eq!(
            (
                &asset["name"],
                &asset["state"],
                &asset["size"],
                &asset["digest"]
            ),
            (&json!("a.json"), &json!("starter"), &json!(0), &Value::Null)
        );
        let again = s.upload(id, "a.json", b"{}").await;
        assert_eq!(again.status(), 422);
        let url = asset["url"].as_str().unwrap();
        let raw = s
            .http
            .get(url)
            .header("accept", "application/octet-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(raw.status(), 404);
        let public = s.http.get(asset["browser_download_url"].as_str().unwrap());
        assert_eq!(public.send().await.unwrap().status(), 404);
        let deleted = s.authed(s.http.delete(url)).send().await.unwrap();
        assert_eq!(deleted.status(), 204);
        let up = s.upload(id, "a.json", b"{}").await;
        assert_eq!(up.status(), 201);
        assert_eq!(json(up).await["state"], "uploaded");
    }

    #[tokio::test]
    async fn assets_upload_list_download_and_delete() {
        let s = Server::start().await;
        let id = s.gh.create_release(REPO, "v1", ReleaseSpec::published());
        let up = s
            .upload(id, "my artifact.sigstore.json", b"{\"a\":1}")
            .await;
        assert_eq!(up.status(), 201);
        let asset: octocrab::models::repos::Asset = up.json().await.unwrap();
        assert_eq!(asset.name, "my.artifact.sigstore.json");
        assert_eq!(asset.content_type, "application/json");
        assert_eq!(asset.size, 7);
        assert_eq!(
            asset.digest.as_deref(),
            Some(format!("sha256:{}", hex::encode(Sha256::digest(b"{\"a\":1}"))).as_str())
        );

        let dup = s.upload(id, "my artifact.sigstore.json", b"x").await;
        assert_eq!(dup.status(), 422);
        assert_eq!(
            json(dup).await["errors"][0],
            json!({"resource": "ReleaseAsset", "code": "already_exists", "field": "name"})
        );
        let anon = s
            .http
            .post(s.url(&format!("/releases/{id}/assets?name=b")))
            .body("x")
            .send()
            .await
            .unwrap();
        assert_eq!(anon.status(), 401);
        assert_eq!(s.upload(id + 1000, "c", b"x").await.status(), 404);
        s.upload(id, "second.bin", b"2").await;

        let page = s
            .get(&format!("/releases/{id}/assets?per_page=1"))
            .send()
            .await
            .unwrap();
        assert!(page.headers()["link"]
            .to_str()
            .unwrap()
            .contains("rel=\"next\""));
        let page: Vec<octocrab::models::repos::Asset> = page.json().await.unwrap();
        assert_eq!(page[0].name, "my.artifact.sigstore.json");

        let aid = asset.id.0;
        let meta = json(
            s.get(&format!("/releases/assets/{aid}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(meta["name"], "my.artifact.sigstore.json");
        let raw = s
            .get(&format!("/releases/assets/{aid}"))
            .header("accept", "application/octet-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(raw.status(), 200);
        assert_eq!(raw.bytes().await.unwrap().as_ref(), b"{\"a\":1}");
        let browser = s
            .http
            .get(asset.browser_download_url.as_str())
            .send()
            .await
            .unwrap();
        assert_eq!(browser.bytes().await.unwrap().as_ref(), b"{\"a\":1}");

        assert!(s
            .gh
            .replace_asset_content(REPO, "v1", "second.bin", &b"tampered"[..]));
        let assets = s.gh.assets(REPO, "v1");
        assert_eq!(assets[1].content.as_ref(), b"tampered");

        let del = s.authed(s.http.delete(s.url(&format!("/releases/assets/{aid}"))));
        assert_eq!(del.send().await.unwrap().status(), 204);
        assert_eq!(s.gh.assets(REPO, "v1").len(), 1);
        let again = s.authed(s.http.delete(s.url(&format!("/releases/assets/{aid}"))));
        assert_eq!(again.send().await.unwrap().status(), 404);
    }

    #[tokio::test]
    async fn immutable_releases_lock_when_published() {
        let s = Server::start().await;
        let id =
            s.gh.create_release(REPO, "v1", ReleaseSpec::draft().immutable());
        assert_eq!(s.upload(id, "a.bin", b"a").await.status(), 201);
        let draft = json(
            s.authed(s.get(&format!("/releases/{id}")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(draft["immutable"], false);

        assert!(s.gh.publish(REPO, id));
        let release = json(s.get("/releases/tags/v1").send().await.unwrap()).await;
        assert_eq!(release["immutable"], true);
        let up = s.upload(id, "b.bin", b"b").await;
        assert_eq!(up.status(), 422);
        assert_eq!(json(up).await["message"], IMMUTABLE_UPLOAD);
        let aid = s.gh.assets(REPO, "v1")[0].id;
        let del = s
            .authed(s.http.delete(s.url(&format!("/releases/assets/{aid}"))))
            .send()
            .await
            .unwrap();
        assert_eq!(del.status(), 422);
        assert_eq!(json(del).await["message"], IMMUTABLE_DELETE);
        assert_eq!(s.gh.assets(REPO, "v1").len(), 1);

        // The repository setting makes API-created releases immutable too.
        s.gh.set_repo_immutable(REPO, true);
        let created = s
            .authed(s.http.post(s.url("/releases")))
            .json(&json!({"tag_name": "v2"}))
            .send()
            .await
            .unwrap();
        let id2 = json(created).await["id"].as_u64().unwrap();
        assert_eq!(s.upload(id2, "c.bin", b"c").await.status(), 422);
    }

    #[tokio::test]
    async fn octocrab_drives_the_api_end_to_end() {
        let s = Server::start().await;
        s.gh.create_release(REPO, "v1.0.0", ReleaseSpec::published());
        let octo = octocrab::Octocrab::builder()
            .base_uri(s.base.as_str())
            .unwrap()
            .personal_token(TOKEN.to_owned())
            .build()
            .unwrap();
        let repo = octo.repos("octo-org", "octo-repo");
        let releases = repo.releases();
        let release = releases.get_by_tag("v1.0.0").await.unwrap();
        let asset = releases
            .upload_asset(release.id.0, "artifact.tar.gz", Bytes::from_static(b"data"))
            .send()
            .await
            .unwrap();
        assert_eq!(asset.name, "artifact.tar.gz");
        let page = releases.list().per_page(10).send().await.unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].assets.len(), 1);
        assert_eq!(s.gh.assets(REPO, "v1.0.0")[0].content.as_ref(), b"data");
    }

    #[tokio::test]
    async fn tags_are_git_refs_created_when_a_release_is_published() {
        let s = Server::start().await;
        let main = "1111111111111111111111111111111111111111";
        s.gh.set_branch(REPO, "main", main);
        // A draft has no tag yet; publishing it creates one at its target.
        let created = s
            .authed(s.http.post(s.url("/releases")))
            .json(&json!({"tag_name": "v1", "draft": true}))
            .send()
            .await
            .unwrap();
        let id = json(created).await["id"].as_u64().unwrap();
        let missing = s.get("/git/ref/tags/v1").send().await.unwrap();
        assert_eq!(missing.status(), 404);
        assert_eq!(json(missing).await["message"], "Not Found");
        let published = s
            .authed(s.http.patch(s.url(&format!("/releases/{id}"))))
            .json(&json!({"draft": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(published.status(), 200);
        let r = json(s.get("/git/ref/tags/v1").send().await.unwrap()).await;
        assert_eq!(r["ref"], "refs/tags/v1");
        assert_eq!(r["object"]["type"], "commit");
        assert_eq!(r["object"]["sha"], main);
        assert_eq!(
            r["object"]["url"],
            s.url(&format!("/git/commits/{main}")).as_str()
        );
        let branch = json(s.get("/git/ref/heads/main").send().await.unwrap()).await;
        assert_eq!(branch["object"]["sha"], main);

        // An existing tag is used as is; a new one comes from a SHA target.
        let other = "2222222222222222222222222222222222222222";
        s.gh.set_tag(REPO, "v2", other);
        let v2 = s
            .authed(s.http.post(s.url("/releases")))
            .json(&json!({"tag_name": "v2", "target_commitish": "main"}))
            .send()
            .await
            .unwrap();
        assert_eq!(v2.status(), 201);
        assert_eq!(s.gh.tag_ref(REPO, "v2"), Some(GitObject::commit(other)));
        s.authed(s.http.post(s.url("/releases")))
            .json(&json!({"tag_name": "v3/rc", "target_commitish": other}))
            .send()
            .await
            .unwrap();
        let r = json(s.get("/git/ref/tags/v3/rc").send().await.unwrap()).await;
        assert_eq!(r["object"]["sha"], other);
        let bad = s
            .authed(s.http.post(s.url("/releases")))
            .json(&json!({"tag_name": "v4", "target_commitish": "no-such-branch"}))
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 422);
        assert_eq!(json(bad).await["errors"][0]["field"], "target_commitish");
        assert_eq!(s.gh.tag_ref(REPO, "v4"), None);

        // An annotated tag: the ref names a tag object, which names the commit.
        let tag_sha = s.gh.set_annotated_tag(REPO, "v5", GitObject::commit(main));
        assert_eq!(tag_sha.len(), 40);
        let r = json(s.get("/git/ref/tags/v5").send().await.unwrap()).await;
        assert_eq!(r["object"]["type"], "tag");
        assert_eq!(r["object"]["sha"], tag_sha.as_str());
        let t = json(s.get(&format!("/git/tags/{tag_sha}")).send().await.unwrap()).await;
        assert_eq!(t["tag"], "v5");
        assert_eq!(t["sha"], tag_sha.as_str());
        assert_eq!(
            t["object"],
            json!({"type": "commit", "sha": main, "url": s.url(&format!("/git/commits/{main}"))})
        );
        assert_eq!(s.get("/git/tags/0000").send().await.unwrap().status(), 404);
        assert!(s.gh.delete_tag(REPO, "v5"));
        assert_eq!(
            s.get("/git/ref/tags/v5").send().await.unwrap().status(),
            404
        );
    }

    #[tokio::test]
    async fn lies_on_downloads_and_listings() {
        let s = Server::start().await;
        let id = s.gh.create_release(REPO, "v1", ReleaseSpec::published());
        s.upload(id, "a.bin", b"abc").await;
        assert!(s
            .gh
            .insert_asset_unchecked(REPO, "v1", "../evil", &b"e"[..]));
        assert!(s
            .gh
            .insert_asset_unchecked(REPO, "v1", "a.bin", &b"again"[..]));
        let names: Vec<String> =
            s.gh.assets(REPO, "v1")
                .into_iter()
                .map(|a| a.name)
                .collect();
        assert_eq!(names, ["a.bin", "../evil", "a.bin"]);
        let aid = s.gh.assets(REPO, "v1")[0].id;
        let raw = |s: &Server| {
            s.get(&format!("/releases/assets/{aid}"))
                .header("accept", "application/octet-stream")
        };

        // More bytes than listed, once.
        s.gh.oversized_next_download("a.bin", 100_000);
        let resp = raw(&s).send().await.unwrap();
        assert!(resp.headers().get("content-length").is_none());
        let body = resp.bytes().await.unwrap();
        assert_eq!(body.len(), 3 + 100_000);
        assert!(body.starts_with(b"abc"));
        assert_eq!(
            raw(&s)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .as_ref(),
            b"abc"
        );

        // A redirect with a Location of the test's choosing, non-ASCII too.
        s.gh.redirect_next_download("a.bin", "http://h/é".as_bytes());
        let no_follow = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let resp = no_follow
            .get(s.url(&format!("/releases/assets/{aid}")))
            .header("accept", "application/octet-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 302);
        assert_eq!(
            resp.headers()["location"].as_bytes(),
            "http://h/é".as_bytes()
        );

        // Listings whose next page never ends: each lie, then the truth.
        let assets = s.url(&format!("/releases/{id}/assets"));
        let assets_by_id = s.by_id(&format!("/releases/{id}/assets"));
        for (lie, path, next, items) in [
            (
                Some(ListLie::SelfLink),
                format!("/releases/{id}/assets?per_page=100"),
                Some(format!("{assets}?per_page=100")),
                3,
            ),
            (
                Some(ListLie::Cycle),
                format!("/releases/{id}/assets?page=2"),
                Some(format!("{assets_by_id}?per_page=30&page=1")),
                0,
            ),
            (
                Some(ListLie::Endless),
                "/releases?page=7".into(),
                Some(format!("{}?per_page=30&page=8", s.by_id("/releases"))),
                0,
            ),
            (None, "/releases".into(), None, 1),
        ] {
            s.gh.lie_on_lists(lie);
            let resp = s.get(&path).send().await.unwrap();
            let link = resp
                .headers()
                .get("link")
                .map(|l| l.to_str().unwrap().to_owned());
            assert_eq!(
                link,
                next.map(|n| format!("<{n}>; rel=\"next\"")),
                "{lie:?}"
            );
            assert_eq!(json(resp).await.as_array().unwrap().len(), items, "{lie:?}");
        }
    }

    #[test]
    fn asset_names_are_normalized_like_github() {
        assert_eq!(normalize_asset_name("a b.tar.gz"), "a.b.tar.gz");
        assert_eq!(normalize_asset_name("x_1-2+3@4.bin"), "x_1-2+3.4.bin");
        assert_eq!(normalize_asset_name("v1~rc (1):x.tgz"), "v1.rc.1.x.tgz");
        assert_eq!(normalize_asset_name("test~file!!!"), "test.file");
        assert_eq!(normalize_asset_name("é.bin"), "e.bin");
        assert_eq!(normalize_asset_name("a5_ð_æ_©_ŋ.txt"), "a5_d_ae_._ng.txt");
        assert_eq!(normalize_asset_name("か.bin"), "default.bin");
        assert_eq!(normalize_asset_name(".config"), "default.config");
    }

    /// A Sigstore bundle with a DSSE envelope of a statement about `subjects`
    /// (`(name, sha256 hex)`), as "Create an attestation" takes it.
    fn dsse_bundle(subjects: &[(&str, &str)], signature: &str) -> Value {
        use base64::Engine as _;
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": subjects
                .iter()
                .map(|(name, hex)| json!({ "name": name, "digest": { "sha256": hex } }))
                .collect::<Vec<_>>(),
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {},
        });
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": { "certificate": { "rawBytes": "MIIB" }, "tlogEntries": [] },
            "dsseEnvelope": {
                "payload": base64::engine::general_purpose::STANDARD
                    .encode(serde_json::to_vec(&statement).unwrap()),
                "payloadType": IN_TOTO,
                "signatures": [{ "sig": signature }],
            },
        })
    }

    impl Server {
        async fn attest(&self, body: &Value) -> reqwest::Response {
            self.authed(self.http.post(self.url("/attestations")))
                .json(body)
                .send()
                .await
                .unwrap()
        }
    }

    /// A tag's published release is the one GitHub resolves by tag and
    /// serves downloads of, whatever older draft shares the tag; a draft's
    /// links name `untagged-...` and answer 404, with a token too.
    #[tokio::test]
    async fn a_tag_resolves_to_its_published_release_and_drafts_have_no_links() {
        let s = Server::start().await;
        let draft = s.gh.create_release(REPO, "v7", ReleaseSpec::draft());
        let published = s.gh.create_release(REPO, "v7", ReleaseSpec::published());
        assert_eq!(s.upload(published, "a.bin", b"a").await.status(), 201);
        let found = json(s.authed(s.get("/releases/tags/v7")).send().await.unwrap()).await;
        assert_eq!(found["id"].as_u64(), Some(published));
        let r = s.authed(s.get("/releases")).send().await.unwrap();
        let all = json(r).await;
        let d = all
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"].as_u64() == Some(draft))
            .cloned()
            .unwrap();
        assert!(
            d["html_url"]
                .as_str()
                .unwrap()
                .contains("/releases/tag/untagged-"),
            "{d}"
        );
        let listed = json(
            s.authed(s.get(&format!("/releases/{published}/assets")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let link = listed[0]["browser_download_url"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(link.ends_with("/releases/download/v7/a.bin"), "{link}");
        let got = s.http.get(&link).send().await.unwrap();
        assert_eq!(got.status(), 200);
        let untagged = link.replace("/download/v7/", "/download/untagged-0/");
        let got = s.authed(s.http.get(&untagged)).send().await.unwrap();
        assert_eq!(got.status(), 404);
    }

    /// The latest release as GitHub keeps it: a newly published one unless
    /// `make_latest` is `false`; a pre-release never, and asking for it is
    /// GitHub's 422; a bad value is a 422 too.
    #[tokio::test]
    async fn the_latest_release_follows_make_latest() {
        let s = Server::start().await;
        let create = |body: Value| {
            let s = &s;
            async move {
                s.authed(s.http.post(s.url("/releases")))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
            }
        };
        let latest = || async {
            json(s.get("/releases/latest").send().await.unwrap()).await["tag_name"].clone()
        };
        assert_eq!(create(json!({"tag_name": "v2"})).await.status(), 201);
        assert_eq!(latest().await, "v2");
        let v1 = create(json!({"tag_name": "v1", "make_latest": "false"})).await;
        assert_eq!(v1.status(), 201);
        assert_eq!(latest().await, "v2");
        let refused =
            create(json!({"tag_name": "v3-rc", "prerelease": true, "make_latest": "true"})).await;
        assert_eq!(refused.status(), 422);
        assert_eq!(
            json(refused).await["errors"][0]["message"],
            "Latest release cannot be draft or prerelease."
        );
        let bad = create(json!({"tag_name": "v4", "make_latest": "yes"})).await;
        assert_eq!(bad.status(), 422);
        let rc = create(json!({"tag_name": "v3-rc", "prerelease": true})).await;
        assert_eq!(rc.status(), 201);
        assert_eq!(latest().await, "v2");
    }

    /// Created at each request (GitHub documents no de-duplication: the same
    /// bundle again is another attestation), listed by every subject digest
    /// of its statement, as GitHub documents.
    #[tokio::test]
    async fn attestations_are_stored_and_listed_by_each_subject() {
        let s = Server::start().await;
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        let bundle = dsse_bundle(&[("a.tgz", &a), ("b.tgz", &b)], "c2ln");
        let first = s.attest(&json!({ "bundle": bundle })).await;
        assert_eq!(first.status(), 201);
        let id = json(first).await["id"].as_u64().unwrap();
        let again = s.attest(&json!({ "bundle": bundle })).await;
        assert_eq!(again.status(), 201);
        let again_id = json(again).await["id"].as_u64().unwrap();
        assert_ne!(again_id, id);
        let other = dsse_bundle(&[("a.tgz", &a)], "b3RoZXI=");
        let other_id = json(s.attest(&json!({ "bundle": other })).await).await["id"]
            .as_u64()
            .unwrap();
        assert_ne!(other_id, id);
        assert_eq!(s.gh.attestations(REPO).len(), 3);

        let list = json(
            s.get(&format!("/attestations/sha256:{b}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        let items = list["attestations"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["bundle"], bundle);
        assert_eq!(items[1]["bundle"], bundle);
        assert_eq!(
            items[0]["repository_id"].as_u64(),
            Some(crate::oidc::pseudo_id(REPO))
        );
        let list = json(
            s.get(&format!("/attestations/sha256:{a}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(list["attestations"].as_array().unwrap().len(), 3);
        // One a page: the second after the first's cursor.
        let page = s
            .get(&format!("/attestations/sha256:{a}?per_page=1"))
            .send()
            .await
            .unwrap();
        let link = page.headers()["link"].to_str().unwrap().to_owned();
        assert!(
            link.ends_with(&format!("after={id}>; rel=\"next\"")),
            "{link}"
        );
        let next = link.trim_start_matches('<').split('>').next().unwrap();
        let rest = json(s.http.get(next).send().await.unwrap()).await;
        assert_eq!(rest["attestations"][0]["bundle"], bundle);

        let none = s
            .get(&format!("/attestations/sha256:{}", "c".repeat(64)))
            .send()
            .await
            .unwrap();
        assert_eq!(none.status(), 404);
        let filtered = s
            .get(&format!(
                "/attestations/sha256:{a}?predicate_type=https://spdx.dev/Document"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(filtered.status(), 404);
    }

    /// Only a Sigstore bundle with a DSSE envelope of an in-toto statement is
    /// stored; a token without `attestations: write` gets GitHub's 403.
    #[tokio::test]
    async fn attestations_need_a_dsse_bundle_and_the_permission() {
        let s = Server::start().await;
        let good = dsse_bundle(&[("a.tgz", &"a".repeat(64))], "c2ln");
        let mut message_signature = good.clone();
        message_signature
            .as_object_mut()
            .unwrap()
            .remove("dsseEnvelope");
        message_signature["messageSignature"] = json!({ "signature": "c2ln" });
        let mut not_in_toto = good.clone();
        not_in_toto["dsseEnvelope"]["payloadType"] = json!("text/plain");
        let mut no_subject = good.clone();
        no_subject["dsseEnvelope"]["payload"] = json!("e30=");
        for bad in [
            json!({}),
            json!({ "bundle": message_signature }),
            json!({ "bundle": not_in_toto }),
            json!({ "bundle": no_subject }),
        ] {
            let r = s.attest(&bad).await;
            assert_eq!(r.status(), 422, "{bad}");
        }
        let anonymous = s
            .http
            .post(s.url("/attestations"))
            .json(&json!({ "bundle": good }))
            .send()
            .await
            .unwrap();
        assert_eq!(anonymous.status(), 401);

        s.gh.deny_attestations(true);
        let r = s.attest(&json!({ "bundle": good })).await;
        assert_eq!(r.status(), 403);
        assert_eq!(
            json(r).await["message"],
            "Resource not accessible by integration"
        );
        assert!(s.gh.attestations(REPO).is_empty());
        s.gh.deny_attestations(false);
        assert_eq!(s.attest(&json!({ "bundle": good })).await.status(), 201);
    }

    /// GitHub Enterprise Server's `/api/v3` form serves releases, and has no
    /// attestations API.
    #[tokio::test]
    async fn enterprise_form_serves_releases_without_attestations() {
        let s = Server::start().await;
        s.gh.create_release(REPO, "v1.0.0", ReleaseSpec::published());
        let release = s
            .http
            .get(format!(
                "{}/api/v3/repos/{REPO}/releases/tags/v1.0.0",
                s.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(release.status(), 200);
        let attest = s
            .http
            .post(format!("{}/api/v3/repos/{REPO}/attestations", s.base))
            .bearer_auth(TOKEN)
            .json(&json!({ "bundle": dsse_bundle(&[("a", &"a".repeat(64))], "c2ln") }))
            .send()
            .await
            .unwrap();
        assert_eq!(attest.status(), 404);
    }
}
