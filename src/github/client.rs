//! The client for one repository's releases: the API base, every request,
//! answers classified for retrying, bounded listings and checked download
//! redirects. The other files of [`crate::github`] add methods to
//! [`Releases`] and reach GitHub only through the helpers here.

use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt as _, TryStreamExt as _};
use octocrab::Octocrab;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};

use super::error::{ApiFailure, ReleaseError};
use crate::net::{self, RetryPolicy};
use crate::oidc::Secret;
use crate::text;
use crate::vocab::Repo;

/// The public API of github.com; GHES serves it under `https://HOST/api/v3`.
pub const GITHUB_COM_API: &str = "https://api.github.com";
/// github.com accepts uploads on another host than its API.
const GITHUB_COM_UPLOADS: &str = "https://uploads.github.com";

/// How many pages of a listing are read: 100,000 releases or assets at 100
/// a page, far more than GitHub keeps (1,000 assets a release). A server
/// whose `Link: rel="next"` goes on past it must not keep us asking.
pub(crate) const MAX_PAGES: usize = 1000;

/// How many redirects an asset download follows (github.com uses one, to
/// its storage host).
pub(super) const MAX_REDIRECTS: usize = 3;

/// RFC 3986 unreserved characters stay; everything else is percent-encoded
/// (octocrab puts names into the query unencoded, so `a b` or `a&b` break).
pub(super) const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// A path segment (a tag such as `v1.0/rc` must stay one segment).
pub(super) const PATH_SEGMENT: &AsciiSet = QUERY_VALUE;

/// A client for one repository's releases.
pub struct Releases {
    pub(super) octo: Octocrab,
    /// The same, for asset uploads: no bound on a read, which reqwest
    /// starts when the request does and does not reset while the body is
    /// sent (an upload of minutes would time out); a deadline sized to the
    /// asset stands for it ([`Self::transfer_deadline`]).
    pub(super) uploads: Octocrab,
    pub(super) api: String,
    pub(super) repo: Repo,
    retry: RetryPolicy,
    /// No token: GitHub hides drafts and private repositories.
    pub(super) anonymous: bool,
    /// Assets are downloaded from their public links even with a token
    /// ([`Self::with_public_downloads`]).
    pub(super) public_downloads: bool,
    /// Kept only to hide it from what a server's error echoes.
    token: Option<crate::oidc::Secret>,
    /// Used only to read (`verify --release`): a refused token's fix asks
    /// for reading, never for writing ([`Self::for_reading`]).
    reading: bool,
    /// The assets of the release uploaded to last, as listed once and then
    /// changed by this client's own uploads and deletions
    /// ([`super::assets`]'s first attempt at an upload decides from it).
    pub(super) listed: std::sync::Mutex<Option<super::assets::Listed>>,
    /// How long one exchange with the API may take, its answer read whole
    /// ([`API_DEADLINE`]).
    deadline: Duration,
    /// What any transfer may take, whatever its size
    /// ([`Self::transfer_deadline`]).
    transfer_floor: Duration,
}

/// How long one exchange with the API (not an asset's download or upload,
/// which are bounded by their size) may take, its answer read whole: the
/// HTTP client's read timeout starts again at every byte, so a server or a
/// proxy sending one a minute would hold the run until the job's limit.
pub(crate) const API_DEADLINE: Duration = Duration::from_secs(120);

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
    pub(crate) fn with_token(
        api_url: &str,
        repo: Repo,
        token: Option<&Secret>,
        retry: RetryPolicy,
    ) -> Result<Self, ReleaseError> {
        let uri: http::Uri = api_url
            .trim_end_matches('/')
            .parse()
            .map_err(|_| ReleaseError::BadApiUrl(crate::text::echoed(api_url)))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(ReleaseError::BadApiUrl(crate::text::echoed(api_url)));
        };
        if scheme != "https" && scheme != "http" {
            return Err(ReleaseError::BadApiUrl(crate::text::echoed(api_url)));
        }
        // The token can write releases: never in the clear, as for every
        // other secret (plain http is for this machine only).
        if token.is_some() && !net::secret_may_go_to(api_url) {
            return Err(ReleaseError::TokenInTheClear(crate::text::echoed(api_url)));
        }
        // octocrab prefixes the base path to every request path, absolute
        // upload URLs included (`/api/v3/api/uploads/...` on GHES): give it the
        // origin only and build every URL in full here.
        let origin = origin_of(scheme, authority);
        // Every URL is built on that one spelling: octocrab sends the token
        // to the authorities of its base and upload URLs, as spelled.
        let api = format!("{origin}{}", uri.path().trim_end_matches('/'));
        // The token goes to the API host and the host of release upload URLs only.
        let uploads = uploads_origin(&origin);
        let client_err = |e: octocrab::Error| ReleaseError::Client(e.to_string());
        // Requests go through the run's own HTTP client (its TLS, its
        // timeouts, no redirects, and the proxies the environment names:
        // octocrab's own hyper client knows no proxy, so behind one every
        // release call failed while the Sigstore services answered).
        let octocrab = |http: reqwest::Client| -> Result<Octocrab, ReleaseError> {
            let builder = Octocrab::builder()
                .base_uri(origin.as_str())
                .map_err(client_err)?
                .upload_uri(uploads.as_str())
                .map_err(client_err)?;
            let builder = match token {
                Some(t) => builder.personal_token(t.expose().to_owned()),
                None => builder,
            };
            builder
                .add_retry_config(octocrab::service::middleware::retry::RetryConfig::None)
                .build_with_reqwest(http)
                .map_err(client_err)
        };
        let http_err = |e: reqwest::Error| ReleaseError::Client(e.to_string());
        let octo = octocrab(crate::net::github_client().map_err(http_err)?)?;
        let upload_client = octocrab(crate::net::github_upload_client().map_err(http_err)?)?;
        Ok(Self {
            octo,
            uploads: upload_client,
            api,
            repo,
            retry,
            anonymous: token.is_none(),
            public_downloads: false,
            reading: false,
            token: token.cloned(),
            listed: std::sync::Mutex::new(None),
            deadline: API_DEADLINE,
            transfer_floor: TRANSFER_FLOOR,
        })
    }

    /// This client, downloading assets from their public links (the
    /// release's `browser_download_url`, which GitHub does not count
    /// against the API's rate limit) even with a token, when `public`: for
    /// a published release of a public repository, which anyone downloads
    /// so. A draft's links and a private repository's do not serve without
    /// a browser's session.
    pub(crate) fn for_reading(mut self) -> Self {
        self.reading = true;
        self
    }

    pub(crate) fn with_public_downloads(mut self, public: bool) -> Self {
        self.public_downloads = public;
        self
    }

    /// `what`, one exchange with the API, within the API's deadline
    /// ([`API_DEADLINE`]).
    pub(super) async fn within_deadline<T>(
        &self,
        what: impl std::future::Future<Output = Result<T, ApiFailure>>,
    ) -> Result<T, ApiFailure> {
        within(self.deadline, what).await
    }

    /// A client for the sandbox's repository, with its token (tests).
    #[cfg(test)]
    pub(super) fn on_sandbox(sandbox: &releasekit_sandbox::Sandbox, retry: RetryPolicy) -> Self {
        Self::new(
            &sandbox.urls().github_api,
            sandbox.config().repository.parse().unwrap(),
            &crate::oidc::Secret::new(sandbox.github_token()),
            retry,
        )
        .unwrap()
    }

    /// This client with another API deadline (a test's, of seconds), which
    /// is also what a transfer may take whatever its size.
    #[cfg(test)]
    pub(super) fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self.transfer_floor = deadline;
        self
    }

    /// Count `bytes` in the current `window` (its start, and what came in
    /// it): a window that ends with less than [`LEAST_PER_WINDOW`] is a
    /// stalled transfer (a transport error, retried). A window lasts what
    /// a transfer may take whatever its size (a minute).
    pub(super) fn stalled(
        &self,
        window: &mut (std::time::Instant, u64),
        bytes: u64,
        now: std::time::Instant,
    ) -> Result<(), ApiFailure> {
        window.1 += bytes;
        if now.saturating_duration_since(window.0) < self.transfer_floor {
            return Ok(());
        }
        if window.1 < LEAST_PER_WINDOW {
            return Err(ApiFailure::Transport(format!(
                "the download brought {} bytes in {} s, less than {LEAST_PER_WINDOW}: stalled",
                window.1,
                self.transfer_floor.as_secs()
            )));
        }
        *window = (now, 0);
        Ok(())
    }

    /// How long a transfer of `size` bytes (an upload, or a download) may
    /// take in all: a minute, and as long again as sending it at 256 KiB/s
    /// (a slow link, a proxy), so a hung connection ends and a slow one
    /// finishes (2 GiB: about two hours). The HTTP client's read timeout
    /// starts again at every byte: without this, a server sending one a
    /// minute would hold the run until the job's limit.
    pub(super) fn transfer_deadline(&self, size: u64) -> Duration {
        self.transfer_floor + Duration::from_secs(size / (256 << 10))
    }

    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    pub(super) fn repo_url(&self) -> String {
        format!("{}/repos/{}/{}", self.api, self.repo.owner, self.repo.name)
    }

    /// A 401/403 that is not a rate limit is a permission problem with one fix.
    pub(super) fn classify(
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
                reading: self.reading,
            },
            // What GitHub answers for a renamed repository's old name.
            ApiFailure::Status {
                status: status @ (301 | 307 | 308),
                ..
            } => ReleaseError::Moved {
                repo: self.repo.clone(),
                status,
            },
            cause => other(cause),
        }
    }

    /// [`net::retry`], also counting attempts for the final message.
    pub(super) async fn retrying<T, F, Fut>(&self, mut op: F) -> Result<T, (u32, ApiFailure)>
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

    /// `url` (one a server named: an asset's, an upload URL, a listing's
    /// next page) if it keeps an https API's scheme: the token goes with
    /// every request to the API's host, and never in the clear.
    pub(super) fn keeps_tls<'u>(&self, url: &'u str) -> Result<&'u str, ApiFailure> {
        let https = |u: &str| {
            u.get(..8)
                .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
        };
        if https(&self.api) && !https(url) {
            return Err(ApiFailure::InsecureUrl {
                url: text::capped(&text::url_queries_hidden(url), text::MESSAGE_CHARS),
            });
        }
        Ok(url)
    }

    /// The answer to an asset download, redirects followed here (github.com
    /// sends asset downloads to storage on another host): each `Location`
    /// must be an http(s) URL (a path is taken on the same host), never
    /// plain http from an https API, at most [`MAX_REDIRECTS`] of them.
    /// octocrab's own following panics on a `Location` that is not ASCII.
    pub(super) async fn get_asset_response(&self, asset_url: &str) -> Result<Response, ApiFailure> {
        let asset_url = self.keeps_tls(asset_url)?;
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::ACCEPT,
            http::HeaderValue::from_static("application/octet-stream"),
        );
        let mut url: http::Uri = asset_url.parse().map_err(|_| {
            let shown = text::capped(asset_url, text::MESSAGE_CHARS);
            ApiFailure::Decode(format!("{shown:?} is not a URL"))
        })?;
        let mut response = self
            .octo
            ._get_with_headers(url.clone(), Some(headers))
            .await
            .map_err(transport)?;
        let mut redirected = false;
        for _ in 0..MAX_REDIRECTS {
            let Some(location) = redirect(&response) else {
                return self.checked_download(response, redirected).await;
            };
            url = redirect_target(&url, location, self.api.starts_with("https:"))?;
            response = self.octo._get(url.clone()).await.map_err(transport)?;
            redirected = true;
        }
        match redirect(&response) {
            None => self.checked_download(response, redirected).await,
            Some(_) => Err(ApiFailure::TooManyRedirects),
        }
    }

    /// [`Self::checked`], where a refusal after a redirect is storage's
    /// ([`ApiFailure::Storage`]), never a refused token.
    async fn checked_download(
        &self,
        response: Response,
        redirected: bool,
    ) -> Result<Response, ApiFailure> {
        match self.checked(response).await {
            Err(ApiFailure::Status {
                status,
                message,
                retry_after,
                ..
            }) if redirected => Err(ApiFailure::Storage {
                status,
                message,
                retry_after,
            }),
            checked => checked,
        }
    }

    pub(super) async fn delete(&self, url: &str) -> Result<(), ApiFailure> {
        let url = self.keeps_tls(url)?;
        let answer = self.within_deadline(async {
            let response = self
                .octo
                ._delete(url, None::<&()>)
                .await
                .map_err(transport)?;
            self.checked(response).await
        });
        match answer.await {
            Ok(_) => Ok(()),
            // Deleted by an earlier attempt whose answer was lost.
            Err(ApiFailure::Status { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// POST `body` as JSON to `url`; the answer decoded.
    pub(super) async fn post_json<T: octocrab::FromResponse>(
        &self,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<T, ApiFailure> {
        let url = self.keeps_tls(url)?;
        self.within_deadline(async {
            let response = self.octo._post(url, Some(body)).await.map_err(transport)?;
            decoded(self.checked(response).await?).await
        })
        .await
    }

    pub(super) async fn get_json<T: octocrab::FromResponse>(
        &self,
        url: &str,
    ) -> Result<T, ApiFailure> {
        let url = self.keeps_tls(url)?;
        self.within_deadline(async {
            let response = self.octo._get(url).await.map_err(transport)?;
            decoded(self.checked(response).await?).await
        })
        .await
    }

    /// One page of a listing: its items, and where its `Link` header says
    /// the next and the last pages are ([`links`]).
    async fn get_page<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<Listed<T>, ApiFailure> {
        let url = self.keeps_tls(url)?;
        let (parts, bytes) = self
            .within_deadline(async {
                let response = self.octo._get(url).await.map_err(transport)?;
                whole_body(self.checked(response).await?).await
            })
            .await?;
        let (next, last) = links(&parts.headers);
        let items = serde_json::from_slice(&bytes).map_err(|e| {
            // serde quotes the value it stopped at whole: a page is up to
            // tens of MiB.
            let e = text::capped(&e.to_string(), text::MESSAGE_CHARS);
            ApiFailure::Decode(format!(
                "a listing page is not the JSON list GitHub sends: {e}"
            ))
        })?;
        Ok(Listed {
            items,
            next,
            last,
            bytes: bytes.len(),
        })
    }

    /// Every item of the listing that starts at `first`: the first page,
    /// then, when it names its last page by number as GitHub does, every page
    /// up to it [`PAGES_AT_ONCE`] at a time (a 1,000-asset release is ten
    /// pages; one after another they cost ten round trips); otherwise, and
    /// after the last page named, each page's `next`, one after another. A
    /// page read twice or past [`MAX_PAGES`] is refused ([`Pages`]).
    pub(super) async fn list_all<T: serde::de::DeserializeOwned>(
        &self,
        first: String,
    ) -> Result<Vec<T>, ApiFailure> {
        Ok(self.list_matching(first, |_| true, MAX_PAGES).await?.0)
    }

    /// The items of the listing that starts at `first` (read as
    /// [`Self::list_all`] reads it) that `keep` keeps, each page's others
    /// dropped as it arrives. The pages holding kept items may add up to
    /// [`LISTING_BYTES`]: each page is capped, and so is their number, but
    /// items kept from a thousand pages of 32 MiB would not fit in memory.
    ///
    /// At most `window` pages are read: GitHub answers a page of some
    /// listings past a window (releases: the first 1,000) with a 422. The
    /// flag says whether pages were left unread.
    pub(super) async fn list_matching<T: serde::de::DeserializeOwned>(
        &self,
        first: String,
        mut keep: impl FnMut(&T) -> bool,
        window: usize,
    ) -> Result<(Vec<T>, bool), ApiFailure> {
        let mut kept = Kept::default();
        let mut pages = Pages::new(first);
        let Some(first_url) = pages.next()? else {
            return Ok((Vec::new(), false));
        };
        let first: Listed<T> = self.get_page(&first_url).await?;
        let numbered = numbered_pages(first.next.as_ref(), first.last.as_ref())?;
        let mut next = first.next.clone();
        kept.add(first, &mut keep)?;
        let mut unread = false;
        if let Some(mut urls) = numbered {
            if urls.len() >= window {
                urls.truncate(window.saturating_sub(1));
                unread = true;
            }
            for u in &urls {
                pages.mark_read(u)?;
            }
            let mut read = futures::stream::iter(&urls)
                .map(|u| self.get_page::<T>(u))
                .buffered(PAGES_AT_ONCE);
            next = None;
            while let Some(page) = read.try_next().await? {
                next = page.next.clone();
                kept.add(page, &mut keep)?;
            }
            if unread {
                return Ok((kept.items, true));
            }
        }
        pages.then(next);
        loop {
            // Past [`MAX_PAGES`], a listing is the server's lie (`Pages`).
            if window < MAX_PAGES && pages.read.len() >= window && pages.next.is_some() {
                return Ok((kept.items, true));
            }
            let Some(u) = pages.next()? else { break };
            let page: Listed<T> = self.get_page(&u).await?;
            pages.then(page.next.clone());
            kept.add(page, &mut keep)?;
        }
        Ok((kept.items, false))
    }
}

/// The most bytes of listing pages whose items one listing keeps: 64 MiB,
/// twenty times a 1,000-asset release's listing.
pub(crate) const LISTING_BYTES: usize = 64 << 20;

/// The items a listing keeps, and the bytes of the pages they came from.
struct Kept<T> {
    items: Vec<T>,
    bytes: usize,
}

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            bytes: 0,
        }
    }
}

impl<T> Kept<T> {
    fn add(
        &mut self,
        page: Listed<T>,
        keep: &mut impl FnMut(&T) -> bool,
    ) -> Result<(), ApiFailure> {
        let before = self.items.len();
        self.items
            .extend(page.items.into_iter().filter(|i| keep(i)));
        if self.items.len() > before {
            self.bytes = self.bytes.saturating_add(page.bytes);
            if self.bytes > LISTING_BYTES {
                return Err(ApiFailure::ListingTooLarge);
            }
        }
        Ok(())
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
    pub(super) fn new(first: String) -> Self {
        Self {
            next: Some(first),
            read: std::collections::HashSet::new(),
        }
    }

    /// The next page to read, or `None` after the last.
    pub(super) fn next(&mut self) -> Result<Option<String>, ApiFailure> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        if self.read.len() == MAX_PAGES {
            return Err(ApiFailure::TooManyPages);
        }
        if !self.read.insert(url.clone()) {
            return Err(page_loop(&url));
        }
        Ok(Some(url))
    }

    /// A page read out of turn (by number): it counts towards the cap and
    /// is not read again.
    pub(super) fn mark_read(&mut self, url: &str) -> Result<(), ApiFailure> {
        if self.read.len() == MAX_PAGES {
            return Err(ApiFailure::TooManyPages);
        }
        if !self.read.insert(url.to_owned()) {
            return Err(page_loop(url));
        }
        Ok(())
    }

    /// What the page just read names as the next one.
    pub(super) fn then(&mut self, next: Option<http::Uri>) {
        self.next = next.map(|u| u.to_string());
    }
}

/// Pages of a listing read at once when GitHub numbers them.
const PAGES_AT_ONCE: usize = 8;

/// Pages 2 to K of a listing whose first page links `next` to page 2 and
/// `last` to page K of the same URL (GitHub's `Link` header), or `None`
/// when the links are not that (then each page's `next` is followed). A
/// `last` past [`MAX_PAGES`] is refused, as following it is.
fn numbered_pages(
    next: Option<&http::Uri>,
    last: Option<&http::Uri>,
) -> Result<Option<Vec<String>>, ApiFailure> {
    let (Some(next), Some(last)) = (next, last) else {
        return Ok(None);
    };
    let (next, last) = (next.to_string(), last.to_string());
    let Some((base, 2)) = split_page(&next) else {
        return Ok(None);
    };
    let Some((last_base, count)) = split_page(&last) else {
        return Ok(None);
    };
    if last_base != base || count < 2 {
        return Ok(None);
    }
    if count > MAX_PAGES {
        return Err(ApiFailure::TooManyPages);
    }
    Ok(Some(
        (2..=count)
            .map(|p| format!("{}page={p}{}", base.0, base.1))
            .collect(),
    ))
}

/// A URL's `page=N` query parameter split out: what is before and after
/// its value, and the value.
fn split_page(url: &str) -> Option<((&str, &str), usize)> {
    let at = url
        .match_indices("page=")
        .map(|(i, _)| i)
        .find(|&i| i > 0 && matches!(url.as_bytes()[i - 1], b'?' | b'&'))?;
    let value_start = at + "page=".len();
    let value_end = url[value_start..]
        .find('&')
        .map_or(url.len(), |e| value_start + e);
    let n = url[value_start..value_end].parse().ok()?;
    Some(((&url[..at], &url[value_end..]), n))
}

pub(super) type Response =
    http::Response<http_body_util::combinators::BoxBody<Bytes, octocrab::Error>>;

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
    // A storage URL's query is a credential: never shown.
    let shown = || {
        let raw = String::from_utf8_lossy(location.as_bytes());
        text::capped(&text::url_queries_hidden(&raw), 200)
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

/// How much of an error answer is read: GitHub's error JSON is a few
/// hundred bytes, a proxy's error page a few KiB; the rest is not read.
const ERROR_BODY_BYTES: usize = 16 << 10;

/// How large a JSON answer may be: a page of 100 releases, each with up
/// to 125,000 characters of notes, is about 13 MB (with hundreds of assets
/// each it may be more: [`super::Releases::all_for_tag`] then reads smaller
/// pages).
pub(crate) const JSON_BODY_BYTES: usize = 32 << 20;

/// The longest wait for a spent rate limit to come back: longer, and the
/// run says so instead.
const RATE_LIMIT_WAIT: Duration = Duration::from_secs(30);

/// What GitHub asks after a secondary rate limit that names no wait.
const SECONDARY_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

impl Releases {
    /// [`checked`], with the token hidden from the error: a proxy (or a
    /// GitHub Enterprise Server behind one) may echo the request's headers
    /// in its error page; a spent rate limit says whether a token would help.
    pub(super) async fn checked(&self, response: Response) -> Result<Response, ApiFailure> {
        checked(response).await.map_err(|e| {
            let e = match e {
                ApiFailure::RateLimited {
                    status,
                    message,
                    reset_in,
                    ..
                } => ApiFailure::RateLimited {
                    status,
                    message,
                    reset_in,
                    anonymous: self.anonymous,
                },
                e => e,
            };
            match &self.token {
                Some(t) => e.without(t.expose()),
                None => e,
            }
        })
    }
}

/// The response if it succeeded (its body not read), else its status
/// classified for retrying, with at most [`ERROR_BODY_BYTES`] of its body
/// read and at most [`text::MESSAGE_CHARS`] of its message kept: an error page of
/// any size costs neither memory nor a step summary.
async fn checked(response: Response) -> Result<Response, ApiFailure> {
    if response.status().is_success() {
        return Ok(response);
    }
    let (parts, mut body) = response.into_parts();
    let status = parts.status.as_u16();
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_BODY_BYTES {
        match http_body_util::BodyExt::frame(&mut body).await {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    bytes.extend_from_slice(data);
                }
            }
            Some(Err(e)) => return Err(transport(e)),
            None => break,
        }
    }
    bytes.truncate(ERROR_BODY_BYTES);
    /// GitHub's error answer, the fields used.
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        message: Option<String>,
        errors: Option<Vec<serde_json::Value>>,
    }
    let parsed = serde_json::from_slice::<ErrorBody>(&bytes).ok();
    let errors = parsed.as_ref().and_then(|b| b.errors.as_deref());
    if status == 422 && names_taken(errors) {
        let message = parsed.and_then(|b| b.message).unwrap_or_default();
        return Err(ApiFailure::NameTaken {
            message: text::capped(&message, text::MESSAGE_CHARS),
        });
    }
    // A 422's reason is in `errors` ("tag_name was used by an immutable
    // release"); `message` is only "Validation Failed".
    let details = error_details(errors);
    let message = match parsed.and_then(|b| b.message) {
        Some(m) if details.is_empty() => m,
        Some(m) => format!("{m}: {details}"),
        None => {
            let raw = String::from_utf8_lossy(&bytes).trim().to_owned();
            if raw.is_empty() {
                parts
                    .status
                    .canonical_reason()
                    .unwrap_or("no message")
                    .to_owned()
            } else {
                raw
            }
        }
    };
    let message = text::capped(&message, text::MESSAGE_CHARS);
    let headers = parts.headers;
    // Seconds or an HTTP-date, by the one rule every service shares.
    let retry_after = net::retry_after(&headers);
    // GitHub signals primary rate limits with 403/429 and
    // `x-ratelimit-remaining: 0`, secondary ones with 403 and `Retry-After`
    // (or "secondary rate limit" in the message).
    let rate_limited = headers
        .get("x-ratelimit-remaining")
        .is_some_and(|v| v.as_bytes() == b"0")
        || retry_after.is_some()
        || message.to_ascii_lowercase().contains("rate limit");
    // A spent primary limit comes back at `x-ratelimit-reset` (epoch
    // seconds): waited for when that is soon, else said at once, not
    // retried in vain for an hour.
    let spent = matches!(status, 403 | 429)
        && headers
            .get("x-ratelimit-remaining")
            .is_some_and(|v| v.as_bytes() == b"0");
    let reset_in = rate_limit_reset_in(&headers);
    // GitHub: with `Retry-After`, "do not retry your request until after
    // that many seconds has elapsed"; a secondary limit without it, "wait
    // for at least one minute". Retrying sooner is refused again and may
    // get the integration banned: a wait longer than this run takes is
    // said at once instead.
    if rate_limited && matches!(status, 403 | 429) {
        let secondary = message
            .to_ascii_lowercase()
            .contains("secondary rate limit");
        let wait = match retry_after {
            Some(after) => Some(after),
            None if secondary && !spent => Some(SECONDARY_RATE_LIMIT_WAIT),
            None => None,
        };
        if let Some(wait) = wait.filter(|w| *w > RATE_LIMIT_WAIT) {
            return Err(ApiFailure::RateLimited {
                status,
                message,
                reset_in: wait,
                anonymous: false,
            });
        }
    }
    if spent && retry_after.is_none() {
        if let Some(reset_in) = reset_in {
            if reset_in > RATE_LIMIT_WAIT {
                return Err(ApiFailure::RateLimited {
                    status,
                    message,
                    reset_in,
                    anonymous: false,
                });
            }
        }
    }
    let retry_after = retry_after.or(reset_in.filter(|_| spent));
    let transient = net::is_transient(status) || (status == 403 && rate_limited);
    Err(ApiFailure::Status {
        status,
        message,
        transient,
        retry_after,
    })
}

/// How long until a rate limit's `x-ratelimit-reset` (epoch seconds),
/// measured from the server's own clock when it gives one (its `Date`), so
/// a local clock that is off does not count; at least a second, so a reset
/// already past is not retried at once.
fn rate_limit_reset_in(headers: &http::HeaderMap) -> Option<Duration> {
    let at = headers
        .get("x-ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse::<i64>()
        .ok()?;
    let now = headers
        .get(http::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|d| jiff::fmt::rfc2822::parse(d).ok())
        .map_or_else(
            || jiff::Timestamp::now().as_second(),
            |z| z.timestamp().as_second(),
        );
    Some(Duration::from_secs(
        u64::try_from(at.saturating_sub(now)).unwrap_or(0).max(1),
    ))
}

/// A successful answer's head and body, the body read whole only up to
/// [`JSON_BODY_BYTES`].
async fn whole_body(response: Response) -> Result<(http::response::Parts, Bytes), ApiFailure> {
    use http_body_util::BodyExt as _;
    let (parts, body) = response.into_parts();
    match http_body_util::Limited::new(body, JSON_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok((parts, collected.to_bytes())),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ApiFailure::AnswerTooLarge),
        Err(e) => Err(ApiFailure::transport(e)),
    }
}

/// A listing's page: its items, and its `Link` header's `next` and `last`.
pub(super) struct Listed<T> {
    pub(super) items: Vec<T>,
    pub(super) next: Option<http::Uri>,
    pub(super) last: Option<http::Uri>,
    /// The page's size as sent.
    pub(super) bytes: usize,
}

/// The `next` and `last` targets of an answer's `Link` headers (RFC 8288:
/// `<uri>; rel="next"`, links split by commas, a `rel` naming one or more
/// relations, case-insensitive); every other link and parameter is
/// ignored, and a target that is no URI is no link. Read here, not by
/// octocrab's `Page`, which prints an unexpected `rel` to stderr as it
/// came: a server's text, in a CI log, unescaped.
fn links(headers: &http::HeaderMap) -> (Option<http::Uri>, Option<http::Uri>) {
    let (mut next, mut last) = (None, None);
    for value in headers.get_all(http::header::LINK) {
        let Ok(text) = value.to_str() else {
            continue;
        };
        for link in text.split(',') {
            let mut parts = link.split(';');
            let target = parts
                .next()
                .map(str::trim)
                .and_then(|t| t.strip_prefix('<')?.strip_suffix('>'));
            let Some(target) = target else {
                continue;
            };
            for param in parts {
                let Some((name, value)) = param.trim().split_once('=') else {
                    continue;
                };
                if !name.trim().eq_ignore_ascii_case("rel") {
                    continue;
                }
                for rel in value.trim().trim_matches('"').split_ascii_whitespace() {
                    let slot = if rel.eq_ignore_ascii_case("next") {
                        &mut next
                    } else if rel.eq_ignore_ascii_case("last") {
                        &mut last
                    } else {
                        continue;
                    };
                    *slot = target.parse::<http::Uri>().ok();
                }
            }
        }
    }
    (next, last)
}

/// A successful answer's JSON, decoded as `T`, read whole only up to
/// [`JSON_BODY_BYTES`].
pub(super) async fn decoded<T: octocrab::FromResponse>(
    response: Response,
) -> Result<T, ApiFailure> {
    use http_body_util::BodyExt as _;
    let (parts, bytes) = whole_body(response).await?;
    let whole = http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed();
    T::from_response(http::Response::from_parts(parts, whole))
        .await
        .map_err(|e| ApiFailure::Decode(text::capped(&e.to_string(), text::MESSAGE_CHARS)))
}

/// The reasons in a GitHub error's `errors` list, joined: each error's
/// `message`, or else its `resource`, `field` and `code`.
fn error_details(errors: Option<&[serde_json::Value]>) -> String {
    let field =
        |e: &serde_json::Value, k: &str| e.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    errors
        .unwrap_or_default()
        .iter()
        .take(5)
        .filter_map(|e| {
            field(e, "message").or_else(|| {
                let parts: Vec<String> = ["resource", "field", "code"]
                    .iter()
                    .filter_map(|k| field(e, k))
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            })
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether a 422's `errors` say a name is taken (`"code": "already_exists"`,
/// as GitHub answers an asset upload under a name the release already has).
fn names_taken(errors: Option<&[serde_json::Value]>) -> bool {
    let is = |e: &serde_json::Value, k: &str, v: &str| {
        e.get(k).and_then(serde_json::Value::as_str) == Some(v)
    };
    // An asset's name only: a release's `tag_name` taken (another release
    // published under the tag meanwhile) is not one a retry can have.
    errors
        .unwrap_or_default()
        .iter()
        .any(|e| is(e, "code", "already_exists") && is(e, "resource", "ReleaseAsset"))
}

pub(super) fn transport(e: octocrab::Error) -> ApiFailure {
    ApiFailure::transport(e)
}

/// A `Link` that leads back, as an error shows it: the server's URL
/// (only as long as a header allows), capped.
fn page_loop(url: &str) -> ApiFailure {
    ApiFailure::PageLoop {
        url: text::capped(url, text::MESSAGE_CHARS),
    }
}

/// `what` failed as a transport error (retried) if it takes longer than
/// `deadline`.
pub(super) async fn within<T>(
    deadline: Duration,
    what: impl std::future::Future<Output = Result<T, ApiFailure>>,
) -> Result<T, ApiFailure> {
    tokio::time::timeout(deadline, what)
        .await
        .unwrap_or_else(|_| {
            Err(ApiFailure::Transport(format!(
                "GitHub's answer took longer than {} s",
                deadline.as_secs()
            )))
        })
}

/// What any transfer may take, whatever its size.
const TRANSFER_FLOOR: Duration = Duration::from_secs(60);

/// The least a download must bring in each window of [`TRANSFER_FLOOR`]
/// (about a KiB a second): a link far slower is a stalled one.
const LEAST_PER_WINDOW: u64 = 64 << 10;

/// `scheme://authority` as one spelling: the host in lower case, without
/// its scheme's default port, so that `https://API.github.com:443` is
/// github.com's API (whose uploads go to another host) and its host is
/// the one the token is sent to.
fn origin_of(scheme: &str, authority: &http::uri::Authority) -> String {
    let default = match scheme {
        "https" => Some(443),
        _ => Some(80),
    };
    let host = authority.host().to_ascii_lowercase();
    match authority.port_u16().filter(|p| Some(*p) != default) {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    }
}

/// Where the release upload URLs of the API at `origin` point, the one
/// other host the token is sent to: `uploads.github.com` for
/// `api.github.com`, `uploads.SUB.ghe.com` for GitHub Enterprise Cloud with
/// data residency (`api.SUB.ghe.com`), the API's own host for GitHub
/// Enterprise Server (`HOST/api/uploads`).
fn uploads_origin(origin: &str) -> String {
    if origin == GITHUB_COM_API {
        return GITHUB_COM_UPLOADS.to_owned();
    }
    match origin
        .strip_prefix("https://api.")
        .filter(|host| host.ends_with(".ghe.com"))
    {
        Some(host) => format!("https://uploads.{host}"),
        None => origin.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// github.com's API however spelled is github.com's, and so are its
    /// uploads' host. Regression: `https://api.github.com:443` (or upper
    /// case) sent uploads to the API host, without the token.
    #[test]
    fn an_api_url_spelled_otherwise_is_the_same_origin() {
        for (url, origin) in [
            ("https://api.github.com:443", GITHUB_COM_API),
            ("https://API.GitHub.com", GITHUB_COM_API),
            (
                "https://ghes.example:8443/api/v3",
                "https://ghes.example:8443",
            ),
            ("http://127.0.0.1:80", "http://127.0.0.1"),
        ] {
            let uri: http::Uri = url.parse().unwrap();
            let got = origin_of(uri.scheme_str().unwrap(), uri.authority().unwrap());
            assert_eq!(got, origin, "{url}");
        }
        assert_eq!(uploads_origin(GITHUB_COM_API), GITHUB_COM_UPLOADS);
    }

    /// A release found by its tag is that tag's: an answer for another tag
    /// (a lying proxy or server) is refused. Regression: whatever release
    /// came back was taken, and its tag used from then on.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_release_found_by_tag_is_that_tags() {
        use releasekit_sandbox::{Fault, Sandbox, Service};
        let sandbox = Sandbox::start().await.unwrap();
        let name = &sandbox.config().repository;
        let tag = sandbox.config().git_ref.trim_start_matches("refs/tags/");
        sandbox.github().create_release(
            name,
            "v2",
            releasekit_sandbox::github::ReleaseSpec::published(),
        );
        let api = &sandbox.urls().github_api;
        let releases = Releases::on_sandbox(&sandbox, RetryPolicy::default());
        assert_eq!(releases.find("v2").await.unwrap().tag, "v2");
        let other = reqwest::Client::new()
            .get(format!("{api}/repos/{name}/releases/tags/{tag}"))
            .bearer_auth(sandbox.github_token())
            .header("user-agent", "test")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let faults = sandbox.faults(Service::GitHub);
        faults.only_paths_ending_with("/releases/tags/v2");
        faults.fail_next(1, Fault::status_body(200, other));
        let e = releases.find("v2").await.unwrap_err().to_string();
        assert!(
            e.contains(&format!(
                "asked for the release of tag `v2`, the API answered with one of tag `{tag}`"
            )),
            "{e}"
        );
    }

    /// One attempt: a test's fault is met once, not retried past.
    const ONCE: RetryPolicy = RetryPolicy {
        attempts: 1,
        base_delay: Duration::ZERO,
        max_delay: Duration::ZERO,
    };

    /// An answer that sends a byte now and then, never waiting long enough
    /// for a read timeout, is given up on at the API's deadline, and so is
    /// a bundle's download read whole. Regression: only an asset's upload
    /// had a deadline, and such an answer held the run until the job's limit.
    #[tokio::test(flavor = "multi_thread")]
    async fn an_answer_that_never_ends_meets_the_deadline() {
        use releasekit_sandbox::{Fault, Sandbox, Service};
        let sandbox = Sandbox::start().await.unwrap();
        let tag = sandbox.config().git_ref.trim_start_matches("refs/tags/");
        let releases = Releases::on_sandbox(&sandbox, ONCE).with_deadline(Duration::from_secs(1));
        let faults = sandbox.faults(Service::GitHub);
        faults.only_paths_ending_with(format!("/releases/tags/{tag}"));
        faults.fail_next(1, Fault::Trickle(Duration::from_millis(100)));
        let started = std::time::Instant::now();
        let found = tokio::time::timeout(Duration::from_secs(30), releases.find(tag))
            .await
            .expect("the deadline ended it");
        let e = found.unwrap_err().to_string();
        assert!(e.contains("GitHub's answer took longer than 1 s"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(faults.pending(), 0);
    }

    /// An asset's download that sends a byte now and then is given up on
    /// once a window brings too little. Regression: only each read had a timeout, so
    /// such a server held `verify --release` (and sign's upload, reading its
    /// assets back) until the job's limit.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_download_that_never_ends_meets_its_deadline() {
        use releasekit_sandbox::github::ReleaseSpec;
        use releasekit_sandbox::{Fault, Sandbox, Service};
        let sandbox = Sandbox::start().await.unwrap();
        let name = sandbox.config().repository.clone();
        let tag = "v9.9.9";
        sandbox
            .github()
            .create_release(&name, tag, ReleaseSpec::published());
        assert!(sandbox
            .github()
            .insert_asset_unchecked(&name, tag, "a.bin", vec![7u8; 1024]));
        let id = sandbox.github().assets(&name, tag)[0].id;
        let releases = Releases::on_sandbox(&sandbox, ONCE).with_deadline(Duration::from_secs(1));
        let faults = sandbox.faults(Service::Storage);
        faults.fail_next(1, Fault::Trickle(Duration::from_millis(100)));
        let url = format!(
            "{}/repos/{name}/releases/assets/{id}",
            sandbox.urls().github_api
        );
        let started = std::time::Instant::now();
        let streamed = tokio::time::timeout(
            Duration::from_secs(60),
            releases.stream_sha256(&url, 1024, None),
        )
        .await
        .expect("the deadline ended it");
        let e = streamed.unwrap_err().to_string();
        assert!(e.contains("less than 65536: stalled"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(faults.pending(), 0);
    }

    /// A draft whose tag another release was published under meanwhile
    /// (another job's) is not published, and the error says why and what to
    /// do. Regression: "GitHub answered 422" alone, the assets left on the
    /// draft without a word.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_draft_whose_tag_was_published_meanwhile_says_so() {
        use releasekit_sandbox::github::ReleaseSpec;
        let sandbox = releasekit_sandbox::Sandbox::start().await.unwrap();
        let name = sandbox.config().repository.clone();
        let gh = sandbox.github();
        let theirs = gh.create_release(&name, "v9.9.9", ReleaseSpec::draft());
        let ours = gh.create_release(&name, "v9.9.9", ReleaseSpec::draft());
        let releases = Releases::on_sandbox(&sandbox, RetryPolicy::default());
        let draft = releases
            .all_for_tag("v9.9.9")
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.id == ours)
            .unwrap();
        assert!(gh.publish(&name, theirs));
        let e = releases.publish(&draft, None, None).await.unwrap_err();
        assert!(matches!(e, ReleaseError::PublishedMeanwhile { .. }), "{e}");
        assert!(e.to_string().contains("release-mode `existing`"), "{e}");
        let published = gh.releases_for_tag(&name, "v9.9.9");
        assert_eq!(published.iter().filter(|r| !r.draft).count(), 1);
    }

    /// A download must bring a least amount in each window: a drip is
    /// stalled, a slow link (many downloads at once share it) is not.
    #[tokio::test]
    async fn a_download_that_drips_is_stalled_and_a_slow_one_is_not() {
        let releases = Releases::with_token(
            "https://api.github.com",
            "o/r".parse().unwrap(),
            None,
            RetryPolicy::default(),
        )
        .unwrap();
        let start = std::time::Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut window = (start, 0);
        // 2 KiB a second, for two minutes: a slow link, never stalled.
        for s in 1..=120 {
            releases.stalled(&mut window, 2 << 10, at(s)).unwrap();
        }
        // A byte every 30 s: stalled once a window has passed.
        let mut window = (start, 0);
        releases.stalled(&mut window, 1, at(30)).unwrap();
        let e = releases
            .stalled(&mut window, 1, at(61))
            .unwrap_err()
            .to_string();
        assert!(e.contains("brought 2 bytes in 60 s"), "{e}");
    }

    /// A 422 `already_exists` is a taken asset name (retried, the listing
    /// read again) only for a release asset; another release holding the
    /// tag is said as GitHub says it, once. Regression: it was retried
    /// until the attempts ran out, then told as "the name is taken".
    #[tokio::test]
    async fn only_an_assets_name_is_taken() {
        let answer = |resource: &str, field: &str| {
            let body = serde_json::json!({
                "message": "Validation Failed",
                "errors": [{"resource": resource, "code": "already_exists", "field": field}],
            });
            use http_body_util::BodyExt as _;
            let body = http_body_util::Full::new(bytes::Bytes::from(body.to_string()))
                .map_err(|never| -> octocrab::Error { match never {} })
                .boxed();
            http::Response::builder().status(422).body(body).unwrap()
        };
        let taken = checked(answer("ReleaseAsset", "name")).await.unwrap_err();
        assert!(matches!(taken, ApiFailure::NameTaken { .. }), "{taken}");
        let tag = checked(answer("Release", "tag_name")).await.unwrap_err();
        assert!(
            matches!(tag, ApiFailure::Status { status: 422, .. })
                && tag.to_string().contains("Release tag_name already_exists"),
            "{tag}"
        );
    }
    /// A rate limit's reset counts from the server's `Date`, whatever the
    /// local clock says, and is never less than a second.
    #[test]
    fn a_rate_limit_resets_on_the_servers_clock() {
        let headers = |pairs: &[(&str, &str)]| {
            let mut h = http::HeaderMap::new();
            for (k, v) in pairs {
                h.insert(
                    http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    http::HeaderValue::from_str(v).unwrap(),
                );
            }
            h
        };
        // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
        let date = ("date", "Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(
            rate_limit_reset_in(&headers(&[date, ("x-ratelimit-reset", "1445412600")])),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            rate_limit_reset_in(&headers(&[date, ("x-ratelimit-reset", "1445412000")])),
            Some(Duration::from_secs(1))
        );
        assert_eq!(rate_limit_reset_in(&headers(&[date])), None);
        assert_eq!(
            rate_limit_reset_in(&headers(&[("x-ratelimit-reset", "soon")])),
            None
        );
    }

    use percent_encoding::utf8_percent_encode;

    /// Uploads go to the host GitHub's upload URLs name, with the token;
    /// on GHE.com that is `uploads.SUB.ghe.com`. Regression: the API's own
    /// host, so every upload there went without the token.
    #[test]
    fn uploads_go_to_the_hosts_upload_urls_name() {
        for (api, uploads) in [
            ("https://api.github.com", "https://uploads.github.com"),
            ("https://api.octo.ghe.com", "https://uploads.octo.ghe.com"),
            ("https://ghe.example.com", "https://ghe.example.com"),
            ("https://api.example.com", "https://api.example.com"),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ] {
            assert_eq!(uploads_origin(api), uploads, "{api}");
        }
    }

    #[test]
    fn query_encoding_keeps_names_whole() {
        assert_eq!(
            utf8_percent_encode("a+b&c=d é.json", QUERY_VALUE).to_string(),
            "a%2Bb%26c%3Dd%20%C3%A9.json"
        );
    }

    #[test]
    fn numbered_pages_only_from_githubs_links() {
        let uri = |s: &str| s.parse::<http::Uri>().unwrap();
        let pages = |next: &str, last: &str| numbered_pages(Some(&uri(next)), Some(&uri(last)));
        assert_eq!(
            pages(
                "https://h/r/assets?per_page=100&page=2",
                "https://h/r/assets?per_page=100&page=4"
            )
            .unwrap(),
            Some(vec![
                "https://h/r/assets?per_page=100&page=2".to_owned(),
                "https://h/r/assets?per_page=100&page=3".to_owned(),
                "https://h/r/assets?per_page=100&page=4".to_owned(),
            ])
        );
        // Not page 2 next, another URL, no number, or no last: followed instead.
        for (next, last) in [
            ("https://h/a?page=3", "https://h/a?page=4"),
            ("https://h/a?page=2", "https://h/b?page=4"),
            ("https://h/a?page=2", "https://h/a?page=x"),
            ("https://h/a?per_page=2", "https://h/a?per_page=4"),
            ("https://h/a?page=2", "https://h/a?page=1"),
        ] {
            assert_eq!(pages(next, last).unwrap(), None, "{next} {last}");
        }
        assert_eq!(
            numbered_pages(Some(&uri("https://h/a?page=2")), None).unwrap(),
            None
        );
        // A last page past the cap is refused, not read.
        assert!(matches!(
            pages("https://h/a?page=2", "https://h/a?page=1000000"),
            Err(ApiFailure::TooManyPages)
        ));
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

    /// The token goes with every request to the API's host: a URL an https
    /// API names in plain http is refused before any request.
    #[tokio::test]
    async fn an_https_api_never_has_the_token_sent_over_http() {
        let t = Secret::new("t");
        let repo: Repo = "o/r".parse().unwrap();
        let https = Releases::new(
            "https://api.example",
            repo.clone(),
            &t,
            RetryPolicy::default(),
        )
        .unwrap();
        let upload = "https://uploads.example/repos/o/r/releases/1/assets";
        assert_eq!(https.keeps_tls(upload).unwrap(), upload);
        assert!(https.keeps_tls("HTTPS://api.example/x").is_ok());
        let e = https
            .keeps_tls("http://api.example/repos/o/r/releases/assets/1?sig=secret")
            .unwrap_err();
        assert!(matches!(e, ApiFailure::InsecureUrl { .. }), "{e}");
        assert!(!e.to_string().contains("secret"), "{e}");
        // Refused where it is used: no request goes out (nothing listens there).
        assert!(matches!(
            https
                .get_json::<serde_json::Value>("http://127.0.0.1:9/x")
                .await,
            Err(ApiFailure::InsecureUrl { .. })
        ));
        // A plain-http API (a local instance) is plain http throughout.
        let http = Releases::new("http://127.0.0.1:9", repo, &t, RetryPolicy::default()).unwrap();
        assert!(http.keeps_tls("http://127.0.0.1:9/x").is_ok());
    }

    /// GitHub's `Link` header and variations RFC 8288 allows; a `rel` the
    /// server makes up is ignored (octocrab's parser printed it to stderr).
    #[test]
    fn links_are_read_as_rfc_8288_writes_them() {
        let headers = |values: &[&str]| {
            let mut h = http::HeaderMap::new();
            for v in values {
                h.append(http::header::LINK, http::HeaderValue::from_str(v).unwrap());
            }
            h
        };
        let github = r#"<https://api.github.com/r?page=2>; rel="next", <https://api.github.com/r?page=5>; rel="last""#;
        let (next, last) = links(&headers(&[github]));
        assert_eq!(next.unwrap().to_string(), "https://api.github.com/r?page=2");
        assert_eq!(last.unwrap().to_string(), "https://api.github.com/r?page=5");
        let (next, last) = links(&headers(&[
            r#"<https://a/x?page=3>; REL="prev next""#,
            r#"<https://a/x?page=9> ; title="t"; rel=last"#,
        ]));
        assert_eq!(next.unwrap().to_string(), "https://a/x?page=3");
        assert_eq!(last.unwrap().to_string(), "https://a/x?page=9");
        let (next, last) = links(&headers(&[
            r###"<https://a/x>; rel="##[error]forged", <not a uri>; rel="next", no brackets; rel="last""###,
        ]));
        assert!(next.is_none() && last.is_none());
        assert_eq!(links(&http::HeaderMap::new()).0, None);
    }

    /// Regression: a plain-http `GITHUB_API_URL` to another machine took
    /// the token (one that can write releases) in the clear.
    #[tokio::test]
    async fn the_token_goes_in_the_clear_to_this_machine_only() {
        let t = Secret::new("t");
        let repo: Repo = "o/r".parse().unwrap();
        let with = |url: &str, token: Option<&Secret>| {
            Releases::with_token(url, repo.clone(), token, RetryPolicy::default())
        };
        for clear in ["http://192.0.2.1/api/v3", "HTTP://ghe.example.com/api/v3"] {
            let e = with(clear, Some(&t)).err().map(|e| e.to_string());
            assert!(
                e.as_deref().is_some_and(|e| e.contains("in the clear")),
                "{clear}: {e:?}"
            );
            assert!(with(clear, None).is_ok(), "{clear}: anonymous");
        }
        for fine in [
            "https://ghe.example.com/api/v3",
            "http://127.0.0.1:9",
            "http://localhost:9",
        ] {
            assert!(with(fine, Some(&t)).is_ok(), "{fine}");
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
