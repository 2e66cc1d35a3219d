//! The idempotent upload of one asset, and the listing of a release's
//! assets. Every upload starts from what the release holds, so a retry (or a
//! re-run after a partial failure) never creates a second copy: identical
//! content is left alone; different content is downloaded and offered to the
//! caller's equivalence test (a re-run on a fresh runner re-signs, and its
//! new bundle differs byte-wise from the valid one already there), kept when
//! it passes, and otherwise an error unless `overwrite`. What "equivalent"
//! means is the caller's. A replacement goes up beside the asset (under
//! [`REPLACEMENT_SUFFIX`]), then the asset is deleted and the new one
//! renamed to its name: GitHub refuses a duplicate name, and deleting first
//! left a published release without the asset's bytes whenever the upload
//! then failed. GitHub has no swap, so the name is free between the delete
//! and the rename; a replacement left beside by a failed rename or a killed
//! run is renamed by the next upload of those bytes, and removed by one
//! that keeps the asset as it is.
//!
//! What the release holds is listed once per release and client, then kept
//! up to date with the client's own uploads and deletions ([`Listed`]):
//! listing it again before each of N uploads was N²/100 requests (5,000
//! for a 500-artifact release, five times the hourly rate limit of an
//! Actions token). An asset the list has is asked for again by its id (what
//! it holds now); one it lacks is created, and if another writer took the
//! name meanwhile GitHub answers 422 `already_exists`, a retried failure. A
//! retry lists again, since a response lost on the way may have created it.
//!
//! Only content the caller checked goes up ([`Checked`]: an artifact as
//! signed, a bundle as verified): the file is hashed before any request and
//! again as it is sent, and a file that changed meanwhile fails the request
//! before its last byte, so GitHub keeps nothing of it.

use std::path::Path;

use bytes::Bytes;
use futures::StreamExt as _;
use http_body_util::StreamBody;
use octocrab::models::repos::Asset;
use octocrab::OctoBody;
use percent_encoding::utf8_percent_encode;

use std::sync::{Arc, Mutex};

use sha2::{Digest as _, Sha256};

use super::client::{decoded, transport, Releases, QUERY_VALUE};
use super::error::{ApiFailure, ReleaseError};
use super::releases::Release;

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
    pub(crate) fn describe(self) -> &'static str {
        match self {
            AssetAction::Uploaded => "uploaded",
            AssetAction::Unchanged => "unchanged: an identical asset is already on the release",
            AssetAction::Replaced => "replaced",
            AssetAction::Equivalent => "kept: an equivalent bundle is already on the release",
        }
    }
}

/// What an existing asset with different content is to the local file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// It stands in for the local file: kept.
    Equivalent,
    /// It says less than the local file, by the same signer (a provenance
    /// about fewer of the same artifacts): replaced even without
    /// `overwrite`, since nothing it claims is lost.
    Superseded,
    /// Neither, and why: replaced only with `overwrite`.
    Differs(String),
    /// A valid claim by the same signer about other files, under the same
    /// name (another job's provenance): replaced only with `overwrite`,
    /// which drops its claims, and the refusal says how to keep both.
    AnotherClaim(String),
}

impl Standing {
    /// `Ok` is equivalent; `Err` is why not.
    pub fn from_check(checked: Result<(), String>) -> Standing {
        match checked {
            Ok(()) => Standing::Equivalent,
            Err(why) => Standing::Differs(why),
        }
    }
}

/// The caller's test of an existing asset with different content.
pub type Equivalence<'a> = &'a (dyn Fn(&[u8]) -> Standing + Send + Sync);

/// Accepts nothing: only identical content is left alone.
pub fn identical_only(_: &[u8]) -> Standing {
    Standing::Differs("its content differs".into())
}

/// The only content an upload may send: the SHA-256 (hex) and size of what
/// the caller checked (an artifact as signed, a bundle as verified). The
/// file is hashed again before any request, and its bytes as they are sent:
/// a file changed after its check never goes up, whole or in part.
#[derive(Debug, Clone, Copy)]
pub struct Checked<'a> {
    pub sha256: &'a str,
    pub size: u64,
}

/// Files at most this large are uploaded from memory, in one write with the
/// request's headers (a bundle is a few KiB, at most
/// [`crate::bundle_io::MAX_BUNDLE_BYTES`]); larger ones are streamed.
const WHOLE_BODY_BYTES: u64 = crate::bundle_io::MAX_BUNDLE_BYTES;

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
    /// Its SHA-256 as GitHub lists it (`sha256:<hex>`), where it does
    /// (not GitHub Enterprise Server): a hint to plan by, never proof.
    pub listed_digest: Option<String>,
}

/// The assets of one release, as this client last knew them.
pub(crate) struct Listed {
    release: u64,
    assets: Vec<Asset>,
}

impl Listed {
    fn find(&self, name: &str, stored_name: &str) -> Option<&Asset> {
        self.assets
            .iter()
            .find(|a| a.name == stored_name || same_asset_name(&a.name, name))
    }
}

/// What stands under a replacement's name ([`Releases::beside`]).
enum Beside {
    /// A replacement of the bytes asked for, uploaded whole.
    Ours(Asset),
    /// An upload still going on (another job's): left alone.
    GoingUp(Asset),
    /// Other bytes, left there for now (asked with `keep_other`).
    Other,
    Nothing,
}

/// What a replacement's name ends with until it takes the asset's: not a
/// name the product gives any file (no `.sigstore.json`, `.intoto.jsonl`).
pub(crate) const REPLACEMENT_SUFFIX: &str = ".releasekit-replacement";

impl Releases {
    /// Upload `bundle` to `release` as `name`, idempotently (see the module doc).
    /// An existing asset with other content is kept when `equivalent` accepts it.
    pub async fn upload(
        &self,
        release: &Release,
        name: &str,
        bundle: &Path,
        checked: Checked<'_>,
        overwrite: bool,
        equivalent: Equivalence<'_>,
    ) -> Result<UploadedAsset, ReleaseError> {
        self.upload_as(
            release,
            name,
            bundle,
            "application/json",
            checked,
            overwrite,
            equivalent,
        )
        .await
    }

    /// [`Self::upload`] for any file, with its content type.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_as(
        &self,
        release: &Release,
        name: &str,
        bundle: &Path,
        content_type: &'static str,
        checked: Checked<'_>,
        overwrite: bool,
        equivalent: Equivalence<'_>,
    ) -> Result<UploadedAsset, ReleaseError> {
        let stored_name = github_asset_name(name);
        let (digest, size, _) = crate::digest::sha256_file(bundle, None, |_| {}).await?;
        let digest = digest.to_hex();
        if let Some(detail) = unlike(checked, &digest, size) {
            let cause = ApiFailure::Changed {
                path: bundle.to_owned(),
                detail,
            };
            return Err(self.classify_on(release, &format!("uploading asset `{name}`"), 1, cause));
        }
        // Where a replacement goes up before it takes the asset's name.
        let beside = github_asset_name(&format!("{stored_name}{REPLACEMENT_SUFFIX}"));
        let mut attempt = 0u32;
        // What an attempt that sent the bytes was doing: a later attempt that
        // finds them there (the answer was lost) says what this run did, not
        // "unchanged".
        let sent: Mutex<Option<AssetAction>> = Mutex::new(None);
        let was_sending = |otherwise| {
            sent.lock()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or(otherwise)
        };
        let sent_for_sure = |action| *sent.lock().unwrap_or_else(|p| p.into_inner()) = Some(action);
        // Only when the answer was lost: a refusal (a name another writer
        // took meanwhile, 422) sent nothing that stayed.
        let sending = |action, failed: &ApiFailure| {
            if failed.may_have_acted() {
                sent_for_sure(action);
            }
        };
        let result = self
            .retrying(|| {
                attempt += 1;
                let relist = attempt > 1;
                let stored_name = &stored_name;
                let digest = &digest;
                let beside = &beside;
                let (was_sending, sending, sent_for_sure) =
                    (&was_sending, &sending, &sent_for_sure);
                async move {
                    let mut stale_beside = false;
                    // 1. What is there: listed once, and again on a retry (a
                    //    previous attempt may have succeeded though its response
                    //    was lost).
                    let existing = match self.find_asset(release, name, stored_name, relist).await?
                    {
                        // An upload that broke off (GitHub lists it as
                        // `starter`, with no bytes): it holds nothing anyone
                        // could download, and its name blocks ours, on this
                        // attempt and every re-run, until it is deleted.
                        Some(asset) if asset.state == "starter" => {
                            self.delete(asset.url.as_str()).await?;
                            self.forget(release, asset.url.as_str());
                            None
                        }
                        // Any other state (`open`) is an upload still going
                        // on, another job's: neither read nor replaced; it
                        // is listed again on each retry (about two seconds
                        // in all), then the asset fails saying so.
                        Some(asset) if asset.state != "uploaded" => {
                            return Err(ApiFailure::UploadInProgress {
                                name: crate::text::line(&asset.name),
                                state: crate::text::line(crate::text::capped(&asset.state, 32)),
                            });
                        }
                        existing => existing,
                    };
                    let action = match existing {
                        Some(asset) if self.same_content(&asset, digest).await? => {
                            self.no_stray_beside(release, beside).await?;
                            return Ok(uploaded(asset, was_sending(AssetAction::Unchanged)));
                        }
                        // 2. Different bytes may still be the same statement (a
                        //    re-signed artifact): the caller decides. Kept even
                        //    with `overwrite`: replacing a valid bundle buys
                        //    nothing and churns what consumers already fetched.
                        Some(asset) => match self.equivalent(&asset, equivalent).await? {
                            Standing::Equivalent => {
                                self.no_stray_beside(release, beside).await?;
                                return Ok(uploaded(asset, AssetAction::Equivalent));
                            }
                            Standing::Differs(reason) if !overwrite => {
                                return Err(ApiFailure::Differs(reason))
                            }
                            Standing::AnotherClaim(reason) if !overwrite => {
                                return Err(ApiFailure::AnotherClaim(reason))
                            }
                            // 3. Replace. GitHub refuses a duplicate name, so
                            //    the new bytes go up beside the asset first,
                            //    then it is deleted and they take its name: a
                            //    failure (or a kill) on the way leaves the old
                            //    bytes or the new ones on the release, never
                            //    neither, and the next upload puts the name
                            //    back (GitHub has no swap: between the delete
                            //    and the rename, the name is free).
                            Standing::Differs(_)
                            | Standing::AnotherClaim(_)
                            | Standing::Superseded => {
                                let new = self
                                    .upload_beside(
                                        release,
                                        beside,
                                        bundle,
                                        checked,
                                        content_type,
                                        digest,
                                    )
                                    .await
                                    .inspect_err(|e| sending(AssetAction::Replaced, e))?;
                                // Up for sure: whatever a retry finds next
                                // is this replacement.
                                sent_for_sure(AssetAction::Replaced);
                                if let Err(e) = self.delete(asset.url.as_str()).await {
                                    // Only a refusal leaves the old asset for
                                    // sure: an answer lost on the way may have
                                    // been a delete carried out, and the new
                                    // bytes are then all there is (the next
                                    // attempt takes them up either way).
                                    let refused = matches!(
                                        e,
                                        ApiFailure::Status {
                                            transient: false,
                                            ..
                                        }
                                    );
                                    if refused && self.delete(new.url.as_str()).await.is_ok() {
                                        self.forget(release, new.url.as_str());
                                    }
                                    return Err(e);
                                }
                                self.forget(release, asset.url.as_str());
                                let renamed = self.rename(release, &new, stored_name).await?;
                                return Ok(uploaded(renamed, AssetAction::Replaced));
                            }
                        },
                        None => {
                            // The new bytes of a replacement whose rename did
                            // not happen (a failed attempt, a killed run) are
                            // taken as they are. Other bytes there are stale,
                            // but may be the only ones of this asset the
                            // release holds (the old deleted, the rename
                            // failed): they go only once ours are up.
                            match self.beside(release, beside, Some(digest), true).await? {
                                Beside::Ours(new) => {
                                    let renamed = self.rename(release, &new, stored_name).await?;
                                    let action = was_sending(AssetAction::Uploaded);
                                    return Ok(uploaded(renamed, action));
                                }
                                Beside::Other => stale_beside = true,
                                Beside::GoingUp(_) | Beside::Nothing => {}
                            }
                            AssetAction::Uploaded
                        }
                    };
                    // 4. Upload.
                    let asset = self
                        .post_asset(release, name, bundle, checked, content_type)
                        .await
                        .inspect_err(|e| sending(action, e))?;
                    self.remember(release, &asset);
                    if stale_beside {
                        self.no_stray_beside(release, beside).await?;
                    }
                    Ok(uploaded(asset, action))
                }
            })
            .await;
        result.map_err(|(attempts, cause)| match cause {
            ApiFailure::Differs(reason) => ReleaseError::AssetDiffers {
                name: stored_name.clone(),
                tag: release.tag.clone(),
                reason,
            },
            ApiFailure::AnotherClaim(reason) => ReleaseError::AnotherClaim {
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

    /// [`Self::classify`], also telling an immutable release's 422 apart,
    /// and a tag an immutable release used (reserved for good).
    pub(super) fn classify_on(
        &self,
        release: &Release,
        what: &str,
        attempts: u32,
        cause: ApiFailure,
    ) -> ReleaseError {
        self.classify_for(&release.tag, what, attempts, cause)
    }

    /// [`Self::classify_on`] for the release of `tag`, which may not exist
    /// yet (creating it is refused alike for a reserved tag).
    pub(super) fn classify_for(
        &self,
        tag: &str,
        what: &str,
        attempts: u32,
        cause: ApiFailure,
    ) -> ReleaseError {
        match cause {
            ApiFailure::Status {
                status: 422,
                message,
                ..
            } if message
                .to_ascii_lowercase()
                .contains("was used by an immutable release") =>
            {
                ReleaseError::TagReserved {
                    tag: tag.to_owned(),
                    what: what.to_owned(),
                    message,
                }
            }
            ApiFailure::Status {
                status: 422,
                message,
                ..
            } if message.to_ascii_lowercase().contains("immutable") => ReleaseError::Immutable {
                tag: tag.to_owned(),
                what: what.to_owned(),
                message,
            },
            cause => self.classify(cause, |cause| ReleaseError::Api {
                what: what.to_owned(),
                tag: tag.to_owned(),
                attempts,
                cause,
            }),
        }
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
            })?;
        self.forget(release, &asset.api_url);
        Ok(())
    }

    /// Every asset of `release`, in GitHub's order.
    pub async fn assets(&self, release: &Release) -> Result<Vec<UploadedAsset>, ReleaseError> {
        let all =
            self.retrying(|| self.all_assets(release))
                .await
                .map_err(|(attempts, cause)| {
                    self.classify_on(release, "listing assets", attempts, cause)
                })?;
        Ok(all
            .into_iter()
            .map(|a| uploaded(a, AssetAction::Unchanged))
            .collect())
    }

    /// Whether `asset` of `release` holds the bytes with hex SHA-256
    /// `sha256`: by the digest GitHub lists, or, where it lists none
    /// (Enterprise Server), by downloading and hashing it.
    pub(crate) async fn asset_holds(
        &self,
        release: &Release,
        asset: &UploadedAsset,
        sha256: &str,
    ) -> Result<bool, ReleaseError> {
        if let Some(d) = asset
            .listed_digest
            .as_deref()
            .and_then(|d| d.strip_prefix("sha256:"))
        {
            return Ok(d.eq_ignore_ascii_case(sha256));
        }
        self.retrying(|| self.stream_sha256(&asset.api_url, asset.size, None))
            .await
            .map(|(digest, _)| digest.eq_ignore_ascii_case(sha256))
            .map_err(|(attempts, cause)| {
                self.classify_on(
                    release,
                    &format!("reading asset `{}`", crate::text::line(&asset.name)),
                    attempts,
                    cause,
                )
            })
    }

    /// Every asset of `release`, as [`Releases::list_all`] reads a listing.
    async fn all_assets(&self, release: &Release) -> Result<Vec<Asset>, ApiFailure> {
        self.list_all(format!(
            "{}/releases/{}/assets?per_page=100",
            self.repo_url(),
            release.id
        ))
        .await
    }

    /// The asset of `release` named `name` (or the name GitHub stores it
    /// under), from what this client knows of the release unless `relist`
    /// or it knows nothing of it yet: then from a new listing, kept.
    async fn find_asset(
        &self,
        release: &Release,
        name: &str,
        stored_name: &str,
        relist: bool,
    ) -> Result<Option<Asset>, ApiFailure> {
        if !relist {
            let known = self
                .listing()
                .as_ref()
                .filter(|l| l.release == release.id)
                .map(|l| l.find(name, stored_name).cloned());
            match known {
                Some(None) => return Ok(None),
                // Listed: asked again by its id (one request), for what it
                // holds now; another writer may have replaced it, or
                // renamed it: then it is no longer the asset under this
                // name, and the release is listed again for what is.
                // Regression: a renamed bundle was taken as this run's,
                // "unchanged", and the release published without it.
                Some(Some(asset)) => match self.get_json::<Asset>(asset.url.as_str()).await {
                    Ok(now) if now.name == stored_name || same_asset_name(&now.name, name) => {
                        return Ok(Some(now))
                    }
                    Ok(_) => self.forget(release, asset.url.as_str()),
                    Err(ApiFailure::Status { status: 404, .. }) => {
                        self.forget(release, asset.url.as_str());
                        return Ok(None);
                    }
                    Err(e) => return Err(e),
                },
                None => {}
            }
        }
        let assets = self.all_assets(release).await?;
        let listed = Listed {
            release: release.id,
            assets,
        };
        let found = listed.find(name, stored_name).cloned();
        *self.listing() = Some(listed);
        Ok(found)
    }

    fn listing(&self) -> std::sync::MutexGuard<'_, Option<Listed>> {
        // A panic while holding it cannot leave a half-changed list: each
        // change is one `Vec` operation.
        self.listed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An asset this client just created on `release`.
    fn remember(&self, release: &Release, asset: &Asset) {
        if let Some(listed) = self.listing().as_mut().filter(|l| l.release == release.id) {
            listed
                .assets
                .retain(|a| a.id != asset.id && a.name != asset.name);
            listed.assets.push(asset.clone());
        }
    }

    /// An asset (its API URL) this client just deleted from `release`.
    fn forget(&self, release: &Release, api_url: &str) {
        if let Some(listed) = self.listing().as_mut().filter(|l| l.release == release.id) {
            listed.assets.retain(|a| a.url.as_str() != api_url);
        }
    }

    /// `bundle` uploaded as `beside`, the name a replacement takes until
    /// the asset it replaces is deleted; one there already with these bytes
    /// (an attempt whose answer was lost) is taken, with others deleted.
    async fn upload_beside(
        &self,
        release: &Release,
        beside: &str,
        bundle: &Path,
        checked: Checked<'_>,
        content_type: &'static str,
        digest: &str,
    ) -> Result<Asset, ApiFailure> {
        match self.beside(release, beside, Some(digest), false).await? {
            Beside::Ours(there) => return Ok(there),
            // Another job's replacement, still going up: not touched.
            Beside::GoingUp(there) => {
                return Err(ApiFailure::UploadInProgress {
                    name: crate::text::line(&there.name),
                    state: crate::text::line(&there.state),
                })
            }
            // Not asked to keep one: deleted.
            Beside::Other | Beside::Nothing => {}
        }
        let new = self
            .post_asset(release, beside, bundle, checked, content_type)
            .await?;
        self.remember(release, &new);
        Ok(new)
    }

    /// Remove a replacement left beside an asset that stays as it is (its
    /// run killed, or its delete refused): nothing verified it, and
    /// `verify --release` would take it for an unsigned artifact. Asked
    /// only where the listing holds one; one still going up is left.
    async fn no_stray_beside(&self, release: &Release, beside: &str) -> Result<(), ApiFailure> {
        self.beside(release, beside, None, false).await.map(|_| ())
    }

    /// What the release holds under `beside` (the listing asked, with no
    /// request where it holds nothing there): a replacement of the bytes
    /// with hex SHA-256 `digest`, one still going up, or nothing, any
    /// other one there (stale: other bytes, a broken-off upload) deleted,
    /// or, `keep_other`, left and said to be there.
    async fn beside(
        &self,
        release: &Release,
        beside: &str,
        digest: Option<&str>,
        keep_other: bool,
    ) -> Result<Beside, ApiFailure> {
        let Some(there) = self.find_asset(release, beside, beside, false).await? else {
            return Ok(Beside::Nothing);
        };
        if there.state == "open" {
            return Ok(Beside::GoingUp(there));
        }
        if let Some(digest) = digest {
            if there.state == "uploaded" && self.same_content(&there, digest).await? {
                return Ok(Beside::Ours(there));
            }
        }
        if keep_other && there.state == "uploaded" {
            return Ok(Beside::Other);
        }
        self.delete(there.url.as_str()).await?;
        self.forget(release, there.url.as_str());
        Ok(Beside::Nothing)
    }

    /// Give `asset` the name `name` ("Update a release asset"), as known.
    async fn rename(
        &self,
        release: &Release,
        asset: &Asset,
        name: &str,
    ) -> Result<Asset, ApiFailure> {
        let url = self.keeps_tls(asset.url.as_str())?;
        let body = serde_json::json!({ "name": name });
        let renamed: Asset = self
            .within_deadline(async {
                let r = self
                    .octo
                    ._patch(url, Some(&body))
                    .await
                    .map_err(transport)?;
                decoded(self.checked(r).await?).await
            })
            .await?;
        self.forget(release, asset.url.as_str());
        self.remember(release, &renamed);
        Ok(renamed)
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
    ) -> Result<Standing, ApiFailure> {
        let body = match self
            .fetch_bundle(asset.url.as_str(), asset.size.max(0) as u64)
            .await
        {
            Ok(body) => body,
            Err(ApiFailure::TooLarge { size, .. }) => {
                return Ok(Standing::Differs(format!(
                    "its content differs ({size} bytes, too large to be a bundle)"
                )))
            }
            Err(e) => return Err(e),
        };
        Ok(equivalent(&body))
    }

    /// Send `bundle` as the asset `name`: exactly the `checked` bytes, or
    /// nothing that GitHub could keep (see [`Checked`]).
    async fn post_asset(
        &self,
        release: &Release,
        name: &str,
        bundle: &Path,
        checked: Checked<'_>,
        content_type: &'static str,
    ) -> Result<Asset, ApiFailure> {
        let size = checked.size;
        let base = release
            .upload_url
            .split('{')
            .next()
            .unwrap_or(&release.upload_url);
        let base = self.keeps_tls(base)?;
        let url = format!("{base}?name={}", utf8_percent_encode(name, QUERY_VALUE));
        let refused = Arc::new(Mutex::new(None));
        let unreadable = |e: std::io::Error| {
            ApiFailure::transport(format!("cannot read {}: {e}", bundle.display()))
        };
        // Opened as every file read is: a regular file only, without
        // blocking. Regression: a FIFO put in the file's place since it was
        // checked (the listing and a retry's backoff lie between) held the
        // run until the job's limit, and a device was read without end.
        let file = crate::files::open_regular(bundle, None)
            .map_err(|e| ApiFailure::Unopenable(e.to_string()))?;
        let body = if size <= WHOLE_BODY_BYTES {
            // Sent with the headers in one write. Streamed, the headers went
            // alone and the body's small write waited for their ACK, which
            // the server delays (40 ms on Linux): every bundle's upload took
            // that long. Read up to a byte past what was checked: more is
            // another file.
            let bytes = crate::files::read_to_end_capped(file, size)
                .map_err(unreadable)?
                .ok_or_else(|| ApiFailure::Changed {
                    path: bundle.to_owned(),
                    detail: format!("it now holds more than the checked {size} bytes"),
                })?;
            let digest = hex::encode(Sha256::digest(&bytes));
            if let Some(detail) = unlike(checked, &digest, bytes.len() as u64) {
                return Err(ApiFailure::Changed {
                    path: bundle.to_owned(),
                    detail,
                });
            }
            OctoBody::from(bytes)
        } else {
            let file = tokio::fs::File::from_std(file);
            let frames = CheckedFrames::new(checked, refused.clone())
                .frames(tokio_util::io::ReaderStream::new(file));
            OctoBody::new(StreamBody::new(frames))
        };
        let request = http::Request::builder()
            .method(http::Method::POST)
            .uri(url)
            .header(http::header::CONTENT_TYPE, content_type)
            .header(http::header::CONTENT_LENGTH, size)
            .body(body)
            .map_err(ApiFailure::transport)?;
        let deadline = self.transfer_deadline(size);
        let sent = tokio::time::timeout(deadline, self.uploads.execute(request)).await;
        let Ok(sent) = sent else {
            return Err(ApiFailure::transport(format!(
                "the upload of {size} bytes did not finish within {} s",
                deadline.as_secs()
            )));
        };
        let response = match sent {
            Ok(response) => response,
            // The body stopped because the file is not what was checked.
            Err(e) => match refused.lock().unwrap_or_else(|p| p.into_inner()).take() {
                Some(detail) => {
                    return Err(ApiFailure::Changed {
                        path: bundle.to_owned(),
                        detail,
                    })
                }
                None => return Err(transport(e)),
            },
        };
        // The answer, a small JSON, bounded as the API client bounds a read.
        super::client::within(std::time::Duration::from_secs(60), async {
            decoded(self.checked(response).await?).await
        })
        .await
    }
}

/// How a file's `digest` (hex) and `size` differ from what was `checked`, if they do.
fn unlike(checked: Checked<'_>, digest: &str, size: u64) -> Option<String> {
    (!digest.eq_ignore_ascii_case(checked.sha256) || size != checked.size).then(|| {
        format!(
            "its SHA-256 is {digest} ({size} bytes), not the checked {} ({} bytes)",
            checked.sha256, checked.size
        )
    })
}

/// A large file's chunks as they are sent, hashed on the way. The chunk
/// that reaches the checked size is held back unless the whole file hashes
/// to the checked digest: the request then fails short of its
/// `Content-Length`, and GitHub keeps no asset. A file that grows or ends
/// early fails it too. Why it failed is left in `refused`.
struct CheckedFrames {
    sha256: String,
    size: u64,
    seen: u64,
    hasher: Sha256,
    refused: Arc<Mutex<Option<String>>>,
}

impl CheckedFrames {
    fn new(checked: Checked<'_>, refused: Arc<Mutex<Option<String>>>) -> Self {
        CheckedFrames {
            sha256: checked.sha256.to_owned(),
            size: checked.size,
            seen: 0,
            hasher: Sha256::new(),
            refused,
        }
    }

    /// `chunk`, if the file is still what was checked.
    fn pass(&mut self, chunk: Bytes) -> Result<Bytes, String> {
        self.seen += chunk.len() as u64;
        if self.seen > self.size {
            return Err(format!(
                "it grew past the checked {} bytes while it was being uploaded",
                self.size
            ));
        }
        self.hasher.update(&chunk);
        if self.seen == self.size {
            let digest = hex::encode(std::mem::take(&mut self.hasher).finalize());
            let checked = Checked {
                sha256: &self.sha256,
                size: self.size,
            };
            if let Some(detail) = unlike(checked, &digest, self.seen) {
                return Err(detail);
            }
        }
        Ok(chunk)
    }

    /// What remains once the file ends: nothing, or why it ended early.
    fn end(&self) -> Option<String> {
        (self.seen != self.size).then(|| {
            format!(
                "it ended after {} of the checked {} bytes while it was being uploaded",
                self.seen, self.size
            )
        })
    }

    fn refuse(&self, detail: String) -> std::io::Error {
        *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(detail.clone());
        std::io::Error::other(detail)
    }

    fn frames(
        self,
        chunks: impl futures::Stream<Item = std::io::Result<Bytes>> + Send + Unpin + 'static,
    ) -> impl futures::Stream<Item = std::io::Result<http_body::Frame<Bytes>>> + Send + 'static
    {
        futures::stream::unfold(
            (self, chunks, false),
            |(mut check, mut chunks, done)| async move {
                if done {
                    return None;
                }
                let item = match chunks.next().await {
                    Some(Ok(chunk)) => match check.pass(chunk) {
                        Ok(chunk) => Ok(http_body::Frame::data(chunk)),
                        Err(detail) => Err(check.refuse(detail)),
                    },
                    Some(Err(e)) => Err(e),
                    None => match check.end() {
                        Some(detail) => Err(check.refuse(detail)),
                        None => return None,
                    },
                };
                let done = item.is_err();
                Some((item, (check, chunks, done)))
            },
        )
    }
}

/// An asset GitHub listed or returned, and what happened to it.
fn uploaded(asset: Asset, action: AssetAction) -> UploadedAsset {
    UploadedAsset {
        name: asset.name,
        action,
        download_url: asset.browser_download_url.to_string(),
        api_url: asset.url.to_string(),
        size: asset.size.max(0) as u64,
        listed_digest: asset.digest,
    }
}

/// Whether the asset GitHub lists as `listed` is the one an upload named
/// `wanted` lands on: the same name, or the same once renamed as GitHub
/// renames (applied to both, which holds whatever order GitHub applies
/// its rules in).
pub fn same_asset_name(listed: &str, wanted: &str) -> bool {
    listed == wanted || github_asset_name(listed) == github_asset_name(wanted)
}

/// The name GitHub will list for an asset uploaded as `name`, to find it
/// before an upload and to name what a release lacks; after an upload the
/// name GitHub returns is the one used. GitHub "renames asset filenames
/// that have special characters, non-alphanumeric characters, and leading
/// or trailing periods" without saying how; what is seen (travis-ci/dpl
/// #821, softprops/action-gh-release#159) is each run of characters
/// outside `A-Za-z0-9-_+`, the periods in it included, becoming one `.`
/// (`@` too, and `+` unless percent-encoded, as this client sends it)
/// (`App (1).zip` is `App.1.zip`, `a~.deb` is `a.deb`), trailing periods
/// dropped (`test~file!!!` is `test.file`), and a leading `.` becoming
/// `default.` (`.config` is `default.config`). Before that, non-ASCII
/// letters are transliterated ([`ascii_letters`]: `a5_ð_æ_©_ŋ.txt` is
/// `a5_d_ae_._ng.txt` in dpl#821).
pub fn github_asset_name(name: &str) -> String {
    use unicode_normalization::UnicodeNormalization as _;
    let mut kept = String::with_capacity(name.len());
    let mut keep = |c: char| {
        let kept_as_is = c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+');
        if kept_as_is {
            kept.push(c);
        } else if !kept.ends_with('.') {
            kept.push('.');
        }
    };
    for c in name.nfc() {
        match ascii_letters(c) {
            Some(letters) => letters.chars().for_each(&mut keep),
            None => keep(c),
        }
    }
    let kept = kept.trim_end_matches('.');
    match kept.strip_prefix('.') {
        Some(rest) => format!("default.{rest}"),
        None if kept.is_empty() => "default".to_owned(),
        None => kept.to_owned(),
    }
}

/// The ASCII letters GitHub writes for the non-ASCII letter `c` in an
/// asset's name, if it has any. GitHub transliterates "non-ASCII Unicode
/// characters to their Latin equivalents" (its CLI's maintainer,
/// cli/cli#7201) as Rails does, and what is seen matches Rails' default
/// table (dpl#821: `ð` is `d`, `æ` `ae`, `ŋ` `ng`, and `©`, which it
/// lacks, a period): the letters of Latin-1 and Latin Extended-A, `Ǫ`,
/// `Ǭ` and `ẞ`, and nothing else. Those whose canonical decomposition is an
/// ASCII letter and accents are that letter (`é`, `ż`, `İ`); the rest are
/// below. `ſ` and `÷` have none, as there.
fn ascii_letters(c: char) -> Option<&'static str> {
    const UNDECOMPOSED: [(char, &str); 30] = [
        ('Æ', "AE"),
        ('æ', "ae"),
        ('Ð', "D"),
        ('ð', "d"),
        ('×', "x"),
        ('Ø', "O"),
        ('ø', "o"),
        ('Þ', "Th"),
        ('þ', "th"),
        ('ß', "ss"),
        ('ẞ', "SS"),
        ('Đ', "D"),
        ('đ', "d"),
        ('Ħ', "H"),
        ('ħ', "h"),
        ('ı', "i"),
        ('Ĳ', "IJ"),
        ('ĳ', "ij"),
        ('ĸ', "k"),
        ('Ŀ', "L"),
        ('ŀ', "l"),
        ('Ł', "L"),
        ('ł', "l"),
        ('ŉ', "'n"),
        ('Ŋ', "NG"),
        ('ŋ', "ng"),
        ('Œ', "OE"),
        ('œ', "oe"),
        ('Ŧ', "T"),
        ('ŧ', "t"),
    ];
    /// Each ASCII letter once, to hand out as a `&'static str`.
    const LETTERS: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    if let Some((_, letters)) = UNDECOMPOSED.iter().find(|(u, _)| *u == c) {
        return Some(letters);
    }
    if !matches!(c, '\u{C0}'..='\u{17F}' | '\u{1EA}'..='\u{1ED}') {
        return None;
    }
    use unicode_normalization::UnicodeNormalization as _;
    let mut parts = std::iter::once(c).nfd();
    let base = parts.next().filter(char::is_ascii_alphabetic)?;
    let accented =
        parts.next().is_some() && parts.all(unicode_normalization::char::is_combining_mark);
    let at = LETTERS.find(base)?;
    accented.then(|| &LETTERS[at..at + 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file sent is opened as every file read is: a FIFO put in its
    /// place since it was checked is refused at once, and a file grown past
    /// what was checked is not read to its end. Regression: read again by
    /// path, the FIFO held the run until the job's limit.
    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread")]
    async fn the_file_sent_is_a_regular_file_read_only_as_far_as_checked() {
        use releasekit_sandbox::github::ReleaseSpec;
        let sandbox = releasekit_sandbox::Sandbox::start().await.unwrap();
        let name = sandbox.config().repository.clone();
        sandbox
            .github()
            .create_release(&name, "v9.9.9", ReleaseSpec::draft());
        let releases = Releases::on_sandbox(&sandbox, crate::net::RetryPolicy::default());
        let release = releases.find("v9.9.9").await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("a.tgz");
        crate::files::tests::mkfifo(&fifo);
        let checked = Checked {
            sha256: &"0".repeat(64),
            size: 3,
        };
        let post = releases.post_asset(&release, "a.tgz", &fifo, checked, "text/plain");
        let e = tokio::time::timeout(std::time::Duration::from_secs(30), post)
            .await
            .expect("a FIFO is not waited on")
            .unwrap_err();
        assert!(matches!(e, ApiFailure::Unopenable(_)), "{e}");
        assert!(e.to_string().contains("a.tgz"), "{e}");
        let grown = dir.path().join("b.tgz");
        std::fs::write(&grown, b"abcdef").unwrap();
        let e = releases
            .post_asset(&release, "b.tgz", &grown, checked, "text/plain")
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("more than the checked 3 bytes"),
            "{e}"
        );
        assert!(sandbox.github().assets(&name, "v9.9.9").is_empty());
    }

    /// What [`CheckedFrames`] lets through of `chunks`, and what it left in
    /// `refused`, for a file checked as `content`.
    fn sent(content: &[u8], chunks: &[&[u8]]) -> (Vec<u8>, bool, Option<String>) {
        let sha256 = hex::encode(Sha256::digest(content));
        let checked = Checked {
            sha256: &sha256,
            size: content.len() as u64,
        };
        let refused = Arc::new(Mutex::new(None));
        let chunks: Vec<std::io::Result<Bytes>> = chunks
            .iter()
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let frames =
            CheckedFrames::new(checked, refused.clone()).frames(futures::stream::iter(chunks));
        let items: Vec<_> = futures::executor::block_on(frames.collect());
        let mut body = Vec::new();
        let mut failed = false;
        for item in items {
            match item {
                Ok(frame) => body.extend_from_slice(&frame.into_data().unwrap()),
                Err(_) => failed = true,
            }
        }
        let why = refused.lock().unwrap().take();
        (body, failed, why)
    }

    #[test]
    fn a_streamed_upload_sends_only_the_checked_file() {
        // The checked file: every byte goes, and the stream ends cleanly.
        let (body, failed, why) = sent(b"abcdef", &[b"abc", b"def"]);
        assert_eq!(
            (body.as_slice(), failed, why),
            (&b"abcdef"[..], false, None)
        );

        // Changed since (same size): the chunk that completes it is held back.
        let (body, failed, why) = sent(b"abcdef", &[b"abc", b"dXf"]);
        assert_eq!(body, b"abc");
        assert!(failed);
        assert!(why.unwrap().starts_with("its SHA-256 is "));

        // Grown: refused at the first byte past the checked size.
        let (body, failed, why) = sent(b"abcdef", &[b"abc", b"defg"]);
        assert_eq!(body, b"abc");
        assert!(failed);
        assert!(why.unwrap().contains("grew past the checked 6 bytes"));

        // Shrunk: the end of the file is an error, never a clean end.
        let (body, failed, why) = sent(b"abcdef", &[b"abc"]);
        assert_eq!(body, b"abc");
        assert!(failed);
        assert!(why
            .unwrap()
            .contains("ended after 3 of the checked 6 bytes"));
    }

    #[test]
    fn asset_names_like_github() {
        assert_eq!(
            github_asset_name("a b é.tgz.sigstore.json"),
            "a.b.e.tgz.sigstore.json"
        );
        assert_eq!(github_asset_name("x_1-2+3.bin"), "x_1-2+3.bin");
        // `@` is replaced (travis-ci/dpl#821: `;=@` became one `.`).
        assert_eq!(github_asset_name("pkg@1.0.tgz"), "pkg.1.0.tgz");
        assert!(same_asset_name("pkg.1.0.tgz", "pkg@1.0.tgz"));
        // A run of replaced characters is one period, trailing ones go.
        // Regression: each was its own (`a.b..1..tgz`), so a re-run did
        // not find `App (1).zip`, listed as `App.1.zip`, and every attempt
        // to upload it again met "already_exists".
        assert_eq!(github_asset_name("a~b:(1).tgz"), "a.b.1.tgz");
        assert_eq!(github_asset_name("App (1).zip"), "App.1.zip");
        assert_eq!(github_asset_name("test~file!!!"), "test.file");
        assert_eq!(
            github_asset_name("a5_ !#$%&'(),-.0123.txt"),
            "a5_.-.0123.txt"
        );
        assert_eq!(github_asset_name(".config"), "default.config");
        assert!(same_asset_name("App.1.zip", "App (1).zip"));
        assert!(same_asset_name("a.1.zip", "a (1).zip"));
    }

    /// Non-ASCII letters are transliterated as GitHub does, then renamed as
    /// the rest. Regression: each was a period (`a5_._._._.txt`), so a
    /// re-run did not find the asset it had uploaded, and every attempt to
    /// upload it again met "already_exists".
    #[test]
    fn non_ascii_letters_are_transliterated_like_github() {
        // As listed by github.com in travis-ci/dpl#821.
        assert_eq!(github_asset_name("a5_ð_æ_©_ŋ.txt"), "a5_d_ae_._ng.txt");
        assert!(same_asset_name("a5_d_ae_._ng.txt", "a5_ð_æ_©_ŋ.txt"));
        assert_eq!(github_asset_name("a5_żółw.txt"), "a5_zolw.txt");
        assert_eq!(
            github_asset_name("Straße-Œuvre-İ.zip"),
            "Strasse-OEuvre-I.zip"
        );
        // Composed first: a decomposed `é` is `e` too.
        assert_eq!(github_asset_name("cafe\u{301}.zip"), "cafe.zip");
        // Letters outside the table, and symbols, are periods.
        assert_eq!(github_asset_name("ſ÷ḁ.bin"), "default.bin");
        assert_eq!(github_asset_name("か_き_く.pdf"), "default._._.pdf");
        // `ŉ` is `'n`, whose apostrophe is then a leading period.
        assert_eq!(github_asset_name("ŉ.txt"), "default.n.txt");
    }
}
