//! Releases and tags: find a tag's release (drafts too), list a tag's
//! drafts, create, publish and delete a draft, and resolve a tag to its
//! commit (annotated tags peeled, at most [`MAX_TAG_DEPTH`] of them).

use octocrab::models::repos::Release as GhRelease;
use percent_encoding::utf8_percent_encode;

use super::client::{decoded, transport, Releases, PATH_SEGMENT};
use super::error::{ApiFailure, ReleaseError};

/// How many annotated tags a tag may go through before its commit. git allows
/// any depth, but a release tag is one annotated tag (rarely a tag of a tag),
/// and a server's answers must not keep us asking.
pub(crate) const MAX_TAG_DEPTH: usize = 4;

/// A release found by tag.
#[derive(Debug, Clone)]
pub struct Release {
    pub id: u64,
    pub tag: String,
    pub draft: bool,
    /// Published with immutability on: no asset may be added or deleted.
    pub immutable: bool,
    /// Marked a pre-release: GitHub never makes it the latest.
    pub prerelease: bool,
    pub html_url: String,
    /// Where publishing creates the tag if it does not exist yet: a branch
    /// or a commit SHA, as given when the release was created.
    pub target_commitish: String,
    /// The release's own upload URL template (`...{?name,label}`).
    pub(super) upload_url: String,
}

/// Releases a listing page asks for when a page of 100 was too large (see
/// [`Releases::all_for_tag`]).
const RELEASES_PER_SMALL_PAGE: usize = 10;

/// How many of a repository's releases GitHub lists (the newest).
const RELEASES_LISTED: usize = 1000;

impl Releases {
    /// The release for `tag`, drafts included (GitHub resolves only
    /// published releases by tag; drafts are found by listing, the oldest
    /// first).
    pub async fn find(&self, tag: &str) -> Result<Release, ReleaseError> {
        match self.by_tag(tag).await? {
            Some(r) if r.tag_name == tag => return Ok(release(r)),
            // Everything after is about the release of the tag asked for.
            Some(r) => {
                let other = crate::text::line(crate::text::capped(&r.tag_name, 200));
                let cause = ApiFailure::Decode(format!(
                    "asked for the release of tag `{}`, the API answered with one of tag `{other}`",
                    crate::text::line(tag)
                ));
                return Err(ReleaseError::Api {
                    what: "finding the release".into(),
                    tag: tag.to_owned(),
                    attempts: 1,
                    cause,
                });
            }
            None => {}
        }
        // Several drafts may share a tag (matrix jobs): the oldest, as
        // `release-mode: draft` settles on.
        // A listing that is 404 too: no such repository, or one this client
        // may not see (GitHub hides private repositories from anonymous
        // callers): no release, with the fix for how we looked.
        match self.all_for_tag(tag).await {
            Ok(all) => {
                if let Some(oldest) = all.into_iter().next() {
                    return Ok(oldest);
                }
            }
            Err(ReleaseError::Api {
                cause: ApiFailure::Status { status: 404, .. },
                ..
            }) => {}
            Err(e) => return Err(e),
        }
        Err(ReleaseError::NoRelease {
            repo: self.repo.clone(),
            tag: tag.to_owned(),
            anonymous: self.anonymous,
        })
    }

    /// Whether the repository is private (`GET /repos/{owner}/{repo}`). A
    /// repository this client cannot see is not known to be private: the
    /// release lookup that follows says what is wrong with it.
    pub(crate) async fn is_private(&self, tag: &str) -> Result<bool, ReleaseError> {
        /// The field read of a repository.
        #[derive(serde::Deserialize)]
        struct Repository {
            private: bool,
        }
        let url = self.repo_url();
        match self.retrying(|| self.get_json::<Repository>(&url)).await {
            Ok(r) => Ok(r.private),
            Err((_, ApiFailure::Status { status: 404, .. })) => Ok(false),
            Err((attempts, e)) => Err(self.classify(e, |cause| ReleaseError::Api {
                what: "reading the repository's visibility".to_owned(),
                tag: tag.to_owned(),
                attempts,
                cause,
            })),
        }
    }

    /// The commit `tag` points at (`git/ref/tags/<tag>`), annotated tags
    /// peeled (`git/tags/<sha>`, at most [`MAX_TAG_DEPTH`] of them), as a
    /// lowercase hex SHA.
    pub(crate) async fn tag_commit(&self, tag: &str) -> Result<String, ReleaseError> {
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
            if !crate::vocab::is_commit(&sha) {
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

    /// Every release for `tag`, drafts included (several drafts may share a
    /// tag), in id order: a draft among the repository's newest 1,000
    /// releases, which is all GitHub lists ([`RELEASES_LISTED`]).
    pub(crate) async fn all_for_tag(&self, tag: &str) -> Result<Vec<Release>, ReleaseError> {
        let api_err = |attempts, cause| ReleaseError::Api {
            what: "listing releases".into(),
            tag: tag.to_owned(),
            attempts,
            cause,
        };
        // Only the tag's releases are kept, page by page: a repository's
        // releases, with their notes and assets, may be far more. GitHub
        // lists each release with every asset (up to 1,000 of about 3 KB
        // each), so a page of 100 may pass what one answer may be: then
        // the listing is read again 10 a page, which ten such releases stay
        // under. (10 a page throughout would ask ten times as many pages of
        // every repository, against an hourly budget.)
        // GitHub lists only a repository's newest 1,000 releases (a page
        // past them is a 422, "Only the first 1000 results are
        // available."): those are read, newest first, so a draft made
        // minutes ago is among them.
        let list = |per_page: usize| {
            self.retrying(move || {
                self.list_matching(
                    format!("{}/releases?per_page={per_page}", self.repo_url()),
                    move |r: &GhRelease| r.tag_name == tag,
                    RELEASES_LISTED / per_page,
                )
            })
        };
        let (all, unread) = match list(100).await {
            Err((_, ApiFailure::AnswerTooLarge)) => list(RELEASES_PER_SMALL_PAGE).await,
            listed => listed,
        }
        .map_err(|(n, e)| self.classify(e, |e| api_err(n, e)))?;
        let mut found: Vec<Release> = all.into_iter().map(release).collect();
        // An older published release of the tag is asked for by its tag.
        if unread && found.iter().all(|r| r.draft) {
            if let Some(published) = self.published(tag).await? {
                found.push(published);
            }
        }
        found.sort_by_key(|r| r.id);
        Ok(found)
    }

    /// The published release of `tag`, if there is one.
    async fn published(&self, tag: &str) -> Result<Option<Release>, ReleaseError> {
        Ok(self
            .by_tag(tag)
            .await?
            .filter(|r| r.tag_name == tag && !r.draft)
            .map(release))
    }

    /// What `GET releases/tags/{tag}` answers (it sees no draft), or `None`
    /// for 404. The answer is the server's: its tag is the caller's to check.
    async fn by_tag(&self, tag: &str) -> Result<Option<GhRelease>, ReleaseError> {
        let url = format!(
            "{}/releases/tags/{}",
            self.repo_url(),
            utf8_percent_encode(tag, PATH_SEGMENT)
        );
        match self.retrying(|| self.get_json::<GhRelease>(&url)).await {
            Ok(r) => Ok(Some(r)),
            Err((_, ApiFailure::Status { status: 404, .. })) => Ok(None),
            Err((n, e)) => Err(self.classify(e, |e| ReleaseError::Api {
                what: "finding the release".into(),
                tag: tag.to_owned(),
                attempts: n,
                cause: e,
            })),
        }
    }

    /// Create a draft release for `tag` at `target_commitish`. Not retried:
    /// a lost answer would make a second draft (the caller reconciles drafts).
    pub(crate) async fn create_draft(
        &self,
        tag: &str,
        target_commitish: Option<&str>,
    ) -> Result<Release, ReleaseError> {
        let mut body = serde_json::json!({ "tag_name": tag, "name": tag, "draft": true });
        if let Some(t) = target_commitish {
            body["target_commitish"] = t.into();
        }
        let url = format!("{}/releases", self.repo_url());
        let result = self.post_json::<GhRelease>(&url, &body).await;
        result
            .map(release)
            .map_err(|cause| self.classify_for(tag, "creating the draft release", 1, cause))
    }

    /// Delete a release (a duplicate draft this run created).
    pub(crate) async fn delete_release(&self, release: &Release) -> Result<(), ReleaseError> {
        let url = format!("{}/releases/{}", self.repo_url(), release.id);
        self.retrying(|| self.delete(&url))
            .await
            .map_err(|(attempts, cause)| {
                self.classify_on(release, "deleting a duplicate draft", attempts, cause)
            })
    }

    /// Publish a draft; where its tag does not exist yet, GitHub creates it
    /// at `commit` when given (ignored where the tag exists). `make_latest`
    /// as given, else GitHub's default (a newly published release becomes
    /// the latest).
    pub async fn publish(
        &self,
        draft: &Release,
        commit: Option<&str>,
        make_latest: Option<crate::vocab::MakeLatest>,
    ) -> Result<Release, ReleaseError> {
        let url = format!("{}/releases/{}", self.repo_url(), draft.id);
        let mut body = serde_json::json!({ "draft": false });
        if let Some(commit) = commit {
            body["target_commitish"] = commit.into();
        }
        if let Some(latest) = make_latest {
            body["make_latest"] = latest.as_str().into();
        }
        let published = self
            .retrying(|| {
                self.within_deadline(async {
                    let r = self
                        .octo
                        ._patch(url.as_str(), Some(&body))
                        .await
                        .map_err(transport)?;
                    decoded::<GhRelease>(self.checked(r).await?).await
                })
            })
            .await;
        match published {
            // Answered, and still a draft: not published, whatever the
            // status said. Regression: reported as published, exit 0.
            Ok(r) if r.draft => Err(ReleaseError::StillDraft {
                tag: crate::text::line(&draft.tag),
                draft: crate::text::line(&draft.html_url),
            }),
            Ok(r) => Ok(release(r)),
            // Every answer lost on the way back, the release may be out all
            // the same: said as it is (a published release's links), not
            // as a draft a re-run would find published and stop at.
            Err((attempts, cause)) if cause.may_have_acted() => {
                match self.retrying(|| self.get_json::<GhRelease>(&url)).await {
                    Ok(r) if !r.draft => Ok(release(r)),
                    _ => Err(self.classify_on(draft, "publishing", attempts, cause)),
                }
            }
            // Not an asset's name: the tag's (see `names_taken`).
            Err((
                _,
                ApiFailure::Status {
                    status: 422,
                    message,
                    ..
                },
            )) if message.contains("Release tag_name already_exists") => {
                Err(ReleaseError::PublishedMeanwhile {
                    tag: crate::text::line(&draft.tag),
                    draft: crate::text::line(&draft.html_url),
                })
            }
            Err((attempts, cause)) => Err(self.classify_on(draft, "publishing", attempts, cause)),
        }
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

fn release(r: GhRelease) -> Release {
    Release {
        id: r.id.0,
        tag: r.tag_name,
        // GitHub reports `immutable: true` once an immutable release is published.
        immutable: r.immutable.unwrap_or(false) && !r.draft,
        draft: r.draft,
        prerelease: r.prerelease,
        html_url: r.html_url.to_string(),
        target_commitish: r.target_commitish,
        upload_url: r.upload_url,
    }
}
