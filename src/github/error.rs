//! What can go wrong talking to GitHub: [`ReleaseError`], one variant per
//! failure, each naming the release or asset and the fix, and which of them
//! are usage errors (one list for sign's upload and `verify --release`);
//! [`ApiFailure`], one failed request, classified for retrying.

use std::time::Duration;

use super::client::{MAX_PAGES, MAX_REDIRECTS};
use super::releases::MAX_TAG_DEPTH;
use crate::net::{Retry, Retryable};
use crate::vocab::Repo;

/// A failure talking to GitHub. Each names the release or asset and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("the GitHub API URL `{0}` is not an http(s) URL: set GITHUB_API_URL to e.g. https://api.github.com or https://HOST/api/v3")]
    BadApiUrl(String),
    #[error("the GitHub API URL `{0}` is plain http to another machine, and the token would go to it in the clear: set GITHUB_API_URL to its https:// URL (https://HOST/api/v3), or unset GITHUB_TOKEN and GH_TOKEN to read a public repository anonymously")]
    TokenInTheClear(String),
    #[error("cannot set up the GitHub client: {0}")]
    Client(String),
    #[error("{repo} has no release for tag `{tag}`{}", no_release_fix(tag, *anonymous))]
    NoRelease {
        repo: Repo,
        tag: String,
        /// Asked without a token: drafts and private repositories are hidden.
        anonymous: bool,
    },
    #[error("GitHub refused the token for {repo} ({status}: {message}): {}", if *.reading { "the job needs `permissions: contents: read`, or pass a token that can read the repository (a public one needs none: unset GH_TOKEN and GITHUB_TOKEN)" } else { "the job needs `permissions: contents: write`, or pass a token that can write releases" })]
    Forbidden {
        repo: Repo,
        status: u16,
        message: String,
        /// The client only reads (`verify --release`): the fix asks no more.
        reading: bool,
    },
    /// The token may write releases but not attestations: the caller warns.
    #[error("GitHub refused to store the build provenance in {repo}'s attestations ({status}: {message}): the job needs `permissions: attestations: write` (and `id-token: write`), or pass a token that can write attestations")]
    AttestationForbidden {
        repo: Repo,
        status: u16,
        message: String,
    },
    /// `make-latest true` asked of a draft marked a pre-release, which
    /// GitHub refuses to make the latest: refused before any upload.
    #[error("the draft for tag `{tag}` is marked a pre-release, and GitHub never makes a pre-release the latest release, so publishing it with make-latest `true` would be refused after every upload; fix: unmark it as a pre-release, or leave make-latest (--make-latest; action input `make-latest`) unset or `false`")]
    PrereleaseNotLatest { tag: String },
    /// The repository's API answers with a redirect: it was renamed or
    /// transferred. Not followed: a request's token and body go only where
    /// they were asked to.
    #[error("{repo} was renamed or transferred: GitHub answered {status}, redirecting to the repository's new place, and API redirects are not followed (a request's token and body go only where asked); fix: use its current OWNER/REPO (`gh repo view {repo} --json nameWithOwner` prints it)")]
    Moved { repo: Repo, status: u16 },
    /// An asset checked on the draft was replaced or removed before the
    /// draft was published.
    #[error("asset `{asset}` of the draft for {tag} was replaced or removed after this run checked it, so the draft was not published: another job is changing the release; re-run when it is done")]
    ChangedSinceChecked { tag: String, asset: String },
    /// The tag has other drafts holding assets, which jobs whose listings
    /// lagged filled instead of this one: the draft was not published.
    #[error("tag `{tag}` has {count} other draft(s) holding assets ({drafts}), which jobs that did not see this draft in time filled instead, so this draft was not published: it lacks their assets; fix: delete those drafts and re-run the jobs that filled them (each then uploads to this draft, the oldest), then this job")]
    OtherDrafts {
        tag: String,
        count: usize,
        /// The first few, by their links.
        drafts: String,
    },
    /// An asset named as one of the run's artifacts, which the run did not
    /// upload, holds other bytes: the draft was not published.
    #[error("asset `{asset}` of the draft for {tag} is not the artifact this run signed (its SHA-256 differs; another step uploaded another build of it), so the draft was not published: its bundle would not verify for it; fix: upload the signed file over it (--upload-artifacts with --overwrite; action inputs `upload-artifacts: true`, `overwrite: true`) or delete the asset, and re-run")]
    NotTheSignedArtifact { tag: String, asset: String },
    /// Uploading bundles only, an artifact of the run is no asset of the
    /// draft: published, the release would hold a bundle for a file it
    /// lacks, and `verify --release` of it would fail for good (an
    /// immutable release takes no asset once published).
    #[error("the draft for {tag} has no asset `{asset}`, the artifact whose bundle this run uploaded, so it was not published: it would hold a bundle for a file it lacks; fix: upload the artifacts too (--upload-artifacts; action input `upload-artifacts: true`), or in an earlier step, and re-run")]
    ArtifactNotOnRelease { tag: String, asset: String },
    /// With `--overwrite`, a provenance of a run one of whose artifacts
    /// failed (so it names fewer files) met one on the release it does not
    /// supersede: not replaced.
    #[error("asset `{name}` of the release for {tag} was not replaced, though --overwrite was given: an artifact of this run failed, so this run's provenance names fewer files, and the one there is not one it supersedes ({reason}); fix: re-run once every artifact signs (if it is another job's provenance under the same name, give each job its own, --provenance-name)")]
    PartialNotReplaced {
        name: String,
        tag: String,
        reason: String,
    },
    /// Uploading bundles only, the release holds an asset of the
    /// artifact's name with other bytes than were signed: its bundle is
    /// not uploaded beside it.
    #[error("not uploaded: asset `{asset}` of the release for {tag} is not the artifact this run signed (its SHA-256 differs; another build of it was uploaded), and its bundle would not verify for it; fix: upload the signed file over it (--upload-artifacts with --overwrite; action inputs `upload-artifacts: true`, `overwrite: true`) or delete the asset, and re-run")]
    OtherBytesUnderName { tag: String, asset: String },
    /// Any other refusal that is not transient (400, 404, 422: a feature
    /// the repository's plan lacks, a bundle for another repository): a
    /// re-run would be refused alike, so the caller warns.
    #[error("GitHub refused to store the build provenance in {repo}'s attestations ({status}: {message}), and would refuse it again")]
    AttestationRefused {
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
    #[error("asset `{name}` on release {tag} is a provenance this run's workflow signed that attests files this run does not ({reason}): another job's under the same name, or an earlier run's; fix: give each job that attests to the release its own provenance name, --provenance-name (action input `provenance-name`), e.g. `${{{{ github.ref_name }}}}-${{{{ matrix.os }}}}.intoto.jsonl`; --overwrite replaces it and drops its claims")]
    AnotherClaim {
        name: String,
        tag: String,
        reason: String,
    },
    /// A bundle (or the provenance) on disk that no longer verifies for
    /// this run: never uploaded.
    #[error("{} does not verify as it is on disk now ({reason}), so it was not uploaded; fix: leave the bundles alone until the run ends, and sign again", path.display())]
    NotValidHere {
        path: std::path::PathBuf,
        reason: String,
    },
    #[error("release {tag} is published and immutable, so {what} is refused (GitHub: {message}): upload before publishing instead: use `release-mode: draft` (--release-mode draft) with `publish: true`, which uploads to a draft and publishes it only after every upload verified, or sign before the release is published")]
    Immutable {
        tag: String,
        what: String,
        message: String,
    },
    #[error("release {tag}: GitHub refuses the tag for {what} (GitHub: {message}): a tag an immutable release used stays reserved, even after that release was deleted; fix: release under a new tag")]
    TagReserved {
        tag: String,
        what: String,
        message: String,
    },
    /// A draft a run at another commit left, for a tag that does not exist:
    /// publishing it would tag that commit.
    #[error("the draft release for tag `{tag}` was made for commit {draft}, but this run is at commit {run}, and the tag does not exist yet: publishing the draft would create the tag at {draft}, under assets signed at {run}; fix: delete the stale draft (`gh release delete {}`) and run again, or run the job at {draft}", tag_word(.tag))]
    DraftAtOtherCommit {
        tag: String,
        draft: String,
        run: String,
    },
    /// The tag exists at another commit than the run's: a release under it
    /// would hold assets signed at the run's commit, which `verify
    /// --release` holds to the tag's.
    #[error("tag `{tag}` points at commit {tagged}, but this run is at commit {run}: its assets would be signed at {run} under a tag at {tagged}, and `verify --release` refuses every one; fix: run the job at the tag's commit (on the tag's push), or move the tag to {run} before signing")]
    TagAtOtherCommit {
        tag: String,
        tagged: String,
        run: String,
    },
    #[error("release {tag} is already published, and release-mode `draft` never touches a published release: sign before publishing, or use release-mode `existing` (or `auto`) to add to it")]
    AlreadyPublished { tag: String },
    /// The draft could not be published: another release of its tag was
    /// published while the run filled it (another job's run, say).
    #[error("another release of tag `{tag}` was published while this run filled its draft, and GitHub publishes one release a tag, so the draft stays unpublished with this run's assets ({draft}); fix: add them to the published release (re-run with release-mode `existing`), then delete the draft")]
    PublishedMeanwhile { tag: String, draft: String },
    /// GitHub answered the publish with the release still a draft.
    #[error("GitHub answered the publishing of the draft for {tag} with the release still a draft, so it is not published ({draft}); fix: check the release and the repository's rules for releases on GitHub, then re-run")]
    StillDraft { tag: String, draft: String },
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
    #[error(transparent)]
    File(#[from] crate::files::FileError),
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
        format!(" (drafts included): check the tag (and the repository), or create the release first (e.g. `gh release create {}`)", tag_word(tag))
    }
}

/// `tag` in a command to copy and run: one shell word that means it (a
/// tag may hold `$(...)`, backticks or `;`), or `TAG` where no quoting keeps
/// it on one visible line.
fn tag_word(tag: &str) -> String {
    crate::text::shell_word_or(tag, "TAG")
}

impl ReleaseError {
    /// A download answered with other bytes than the asset the release
    /// lists (more or fewer, or a size no bundle has): what is there is
    /// wrong. Any other failure to download says nothing of the asset.
    pub(crate) fn served_other_content(&self) -> bool {
        matches!(
            self,
            ReleaseError::Api {
                cause: ApiFailure::MoreThanListed { .. }
                    | ApiFailure::LessThanListed { .. }
                    | ApiFailure::TooLarge { .. },
                ..
            }
        )
    }

    /// Why a run asked GitHub for nothing more after `at` (its first
    /// [`Self::rate_limited`] error's place), for each thing left: sign's
    /// uploads and `verify --release`'s downloads say it alike.
    pub(crate) fn rate_limit_spent_at(at: &str) -> String {
        format!("GitHub's API rate limit ran out at {at} (its error says when it comes back)")
    }

    /// GitHub's API budget is spent until later than a retry waits: every
    /// further request would be refused too.
    pub(crate) fn rate_limited(&self) -> bool {
        matches!(
            self,
            ReleaseError::Api {
                cause: ApiFailure::RateLimited { .. },
                ..
            }
        )
    }

    /// The target is wrong, not the run: fixed by configuration (exit 2).
    /// The one list, for sign's upload and `verify --release` alike.
    pub(crate) fn is_usage(&self) -> bool {
        matches!(
            self,
            ReleaseError::NoRelease { .. }
                | ReleaseError::BadApiUrl(_)
                | ReleaseError::TokenInTheClear(_)
                | ReleaseError::Forbidden { .. }
                | ReleaseError::AlreadyPublished { .. }
                | ReleaseError::DraftAtOtherCommit { .. }
                | ReleaseError::TagAtOtherCommit { .. }
                | ReleaseError::TagReserved { .. }
                | ReleaseError::Moved { .. }
                | ReleaseError::PrereleaseNotLatest { .. }
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
    /// GitHub's hourly API budget for this caller is spent, and comes back
    /// too late to wait for.
    #[error("GitHub's API rate limit for this caller is used up for {} more minute(s) (answered {status}: {message}){}", reset_in.as_secs().div_ceil(60), if *anonymous { "; fix: set GITHUB_TOKEN (a token's limit is far higher than the 60 requests an hour GitHub allows without one), or wait" } else { "; fix: wait, or run with a token that has requests left" })]
    RateLimited {
        status: u16,
        message: String,
        reset_in: Duration,
        anonymous: bool,
    },
    #[error("{0}")]
    Transport(String),
    /// The storage GitHub redirected a download to refused it (its signed
    /// URL expired on the way, S3's `Request has expired`, or it failed):
    /// not the token's doing (none goes there). Retried: each attempt asks
    /// the API again, for a freshly signed URL.
    #[error("the storage GitHub redirected the download to answered {status}: {message}")]
    Storage {
        status: u16,
        message: String,
        /// Its `Retry-After`, if it gave one.
        retry_after: Option<Duration>,
    },
    /// A create named what exists now (422 `already_exists`): what the
    /// decision to create was made from is out of date. Retried, and a
    /// retry of an upload lists the release's assets again.
    #[error("GitHub answered 422: {message} (the name is taken)")]
    NameTaken { message: String },
    /// The asset exists with other content that the caller does not accept
    /// as equivalent, and `overwrite` is off: final.
    #[error("asset differs: {0}")]
    Differs(String),
    /// The asset is the same signer's claim about other files, and
    /// `overwrite` is off: final.
    #[error("asset is another claim: {0}")]
    AnotherClaim(String),
    #[error("unexpected response: {0}")]
    Decode(String),
    /// The file to upload is not what its caller checked (an artifact as
    /// signed, a bundle as verified): final, and nothing of it was kept.
    #[error("{} is not the file that was checked ({detail}), so it was not uploaded; fix: leave the files alone until the run ends, and sign again", path.display())]
    Changed {
        path: std::path::PathBuf,
        detail: String,
    },
    /// Writing a downloaded file failed: not GitHub's doing, not retried.
    #[error("cannot write the download: {0}")]
    Local(String),
    /// The file to upload cannot be opened as one (no longer a regular
    /// file, gone): not GitHub's doing, not retried. The message names the
    /// file and the fix.
    #[error("{0}")]
    Unopenable(String),
    /// A download went past the size the release lists for the asset.
    #[error("the server sent more than the {listed} bytes the release lists for it, so it was refused (nothing of it is kept): try again; if it persists, check the release (or the proxy in front of GITHUB_API_URL)")]
    MoreThanListed { listed: u64 },
    /// A download ended before the size the release lists for the asset:
    /// another file, or part of one, under the asset's name.
    #[error("the server sent {got} of the {listed} bytes the release lists for it, so it was refused (nothing of it is kept): try again; if it persists, check the release (or the proxy in front of GITHUB_API_URL)")]
    LessThanListed { listed: u64, got: u64 },
    /// An asset listed larger than what it is read as may be (a bundle:
    /// [`crate::bundle_io::MAX_BUNDLE_BYTES`]; a provenance file).
    #[error("it is {size} bytes, larger than the {cap} bytes such a file may have, so it is not what its name says: replace it with the file the signer wrote")]
    TooLarge { size: u64, cap: u64 },
    /// A JSON answer larger than [`super::client::JSON_BODY_BYTES`].
    #[error("the answer is larger than {} bytes, more than GitHub sends; check GITHUB_API_URL (or the proxy in front of it)", super::client::JSON_BODY_BYTES)]
    AnswerTooLarge,
    /// A listing's `Link: rel="next"` named a page already read.
    #[error("the listing's `Link: rel=\"next\"` leads back to a page already read ({url}), so it would never end: GitHub does not do that; check GITHUB_API_URL (or the proxy in front of it)")]
    PageLoop { url: String },
    /// A listing went on past [`MAX_PAGES`] pages.
    #[error("the listing goes on past {MAX_PAGES} pages, more than GitHub ever lists: check GITHUB_API_URL (or the proxy in front of it)")]
    TooManyPages,
    /// The pages of a listing whose items are kept went past
    /// [`super::client::LISTING_BYTES`].
    #[error("the listing's pages add up to more than {} bytes, more than GitHub sends for a release: check GITHUB_API_URL (or the proxy in front of it)", super::client::LISTING_BYTES)]
    ListingTooLarge,
    /// A download redirected somewhere that is no URL to follow.
    #[error("it redirects to {location:?}, which is not an absolute http(s) URL: check GITHUB_API_URL (or the proxy in front of it)")]
    BadRedirect { location: String },
    /// A download over https redirected to plain http.
    #[error("it redirects to {location:?}, plain http from an https API, so it was not followed: check GITHUB_API_URL (or the proxy in front of it)")]
    InsecureRedirect { location: String },
    /// A URL an https API named (an asset's, an upload URL, a next page)
    /// is plain http: the token would go in the clear. Final.
    #[error("the API named {url:?}, plain http from an https API, so it was not requested (the token would be sent in the clear): check GITHUB_API_URL (or the proxy in front of it)")]
    InsecureUrl { url: String },
    /// A download redirected more than [`MAX_REDIRECTS`] times.
    #[error("it redirects more than {MAX_REDIRECTS} times: check GITHUB_API_URL (or the proxy in front of it)")]
    TooManyRedirects,
    /// Another upload of the same name is in progress (GitHub lists the
    /// asset in a state other than `uploaded` or `starter`, e.g. `open`).
    #[error("another upload of `{name}` is in progress on the release (GitHub lists it as `{state}`), so it is neither compared nor replaced: re-run once it is done, or delete the asset if it is stale")]
    UploadInProgress { name: String, state: String },
}

impl ApiFailure {
    /// A failure to exchange with GitHub or the storage it redirects to,
    /// from the HTTP client's words, which name the URL asked: a storage
    /// URL's query is a credential (a signed download link), so no query
    /// is kept, and the text is cut to a line.
    pub(crate) fn transport(error: impl std::fmt::Display) -> ApiFailure {
        let text = error.to_string();
        ApiFailure::Transport(crate::text::capped(
            &crate::text::url_queries_hidden(&text),
            crate::text::MESSAGE_CHARS,
        ))
    }

    /// The same failure with `secret` hidden from the server's words in it.
    pub(crate) fn without(self, secret: &str) -> ApiFailure {
        let hide = |s: String| crate::text::secret_hidden(s, secret);
        match self {
            ApiFailure::Status {
                status,
                message,
                transient,
                retry_after,
            } => ApiFailure::Status {
                status,
                message: hide(message),
                transient,
                retry_after,
            },
            ApiFailure::NameTaken { message } => ApiFailure::NameTaken {
                message: hide(message),
            },
            ApiFailure::RateLimited {
                status,
                message,
                reset_in,
                anonymous,
            } => ApiFailure::RateLimited {
                status,
                message: hide(message),
                reset_in,
                anonymous,
            },
            ApiFailure::Transport(s) => ApiFailure::Transport(hide(s)),
            ApiFailure::Decode(s) => ApiFailure::Decode(hide(s)),
            other => other,
        }
    }
}

impl ApiFailure {
    /// Whether the request may have been carried out all the same: its
    /// answer was lost on the way back, or was a transient status (a front
    /// end failing after the service acted).
    pub(super) fn may_have_acted(&self) -> bool {
        matches!(
            self,
            ApiFailure::Transport(_)
                | ApiFailure::Status {
                    transient: true,
                    ..
                }
        )
    }
}

impl Retryable for ApiFailure {
    fn retry(&self) -> Retry {
        match self {
            ApiFailure::Status {
                transient: true,
                retry_after,
                ..
            } => Retry::After(*retry_after),
            ApiFailure::Storage { retry_after, .. } => Retry::After(*retry_after),
            ApiFailure::Transport(_)
            | ApiFailure::NameTaken { .. }
            | ApiFailure::UploadInProgress { .. } => Retry::After(None),
            _ => Retry::No,
        }
    }
}

#[cfg(test)]
mod tests {

    /// A tag in a command to copy is one shell word: a tag holding shell
    /// syntax is quoted, never run by whoever pastes the fix. Regression:
    /// it was pasted bare.
    #[test]
    fn tags_in_commands_are_shell_words() {
        let tag = "v1$(touch pwned)`id`;x";
        let fix = no_release_fix(tag, false);
        assert!(
            fix.contains("`gh release create 'v1$(touch pwned)`id`;x'`"),
            "{fix}"
        );
        let e = ReleaseError::DraftAtOtherCommit {
            tag: tag.into(),
            draft: "a".repeat(40),
            run: "b".repeat(40),
        };
        assert!(
            e.to_string()
                .contains("(`gh release delete 'v1$(touch pwned)`id`;x'`)"),
            "{e}"
        );
        assert!(no_release_fix("v1\nx", false).contains("`gh release create TAG`"));
        assert!(no_release_fix("v1.2.3", false).contains("`gh release create v1.2.3`"));
    }
    use super::*;

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
}
