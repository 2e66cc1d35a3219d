//! Streaming an asset back: hashed while it arrives, refused as soon as more
//! than the release lists for it has arrived (or when it ends short of
//! that), kept in memory only for a
//! bundle (capped), and written only into a file the caller hands over;
//! where that file ends up is the caller's business.

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use super::assets::UploadedAsset;
use super::client::{transport, Releases, Response};
use super::error::{ApiFailure, ReleaseError};

impl Releases {
    /// The SHA-256 and size of an asset's content, streamed: nothing is kept
    /// in memory, and nothing is written unless `keep` is given: then the
    /// content is also written to that file (emptied at each attempt) and
    /// flushed to disk. Where the file goes next is the caller's business.
    /// More bytes than the release lists for the asset are refused as they
    /// arrive.
    pub(crate) async fn download_sha256_to(
        &self,
        asset: &UploadedAsset,
        tag: &str,
        keep: Option<&std::fs::File>,
    ) -> Result<(String, u64), ReleaseError> {
        self.retrying(|| self.stream_sha256(self.download_url(asset), asset.size, keep))
            .await
            .map_err(|(attempts, cause)| self.download_failed(asset, tag, attempts, cause))
    }

    /// The SHA-256 and size of an asset's content, streamed: nothing is kept
    /// in memory or written to disk.
    pub(crate) async fn download_sha256(
        &self,
        asset: &UploadedAsset,
        tag: &str,
    ) -> Result<(String, u64), ReleaseError> {
        self.download_sha256_to(asset, tag, None).await
    }

    pub(super) async fn stream_sha256(
        &self,
        asset_url: &str,
        listed: u64,
        keep: Option<&std::fs::File>,
    ) -> Result<(String, u64), ApiFailure> {
        use tokio::io::{AsyncSeekExt as _, AsyncWriteExt as _};
        let local = |e: std::io::Error| ApiFailure::Local(e.to_string());
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
        // A read's timeout starts again at each byte, so a server sending
        // one now and then held the run until the job's limit: each window
        // must bring a least amount (`Releases::stalled`). Not a deadline
        // for the whole: downloads run many at once, and each then has its
        // share of a slow link. The file is flushed after, whether it passed
        // or not (below).
        let streamed: Result<(), ApiFailure> = async {
            // Its headers (and an error's body) within the API's deadline.
            let response = self
                .within_deadline(self.get_asset_response(asset_url))
                .await?;
            let mut body = CappedBody::new(response, listed);
            let mut window = (std::time::Instant::now(), 0u64);
            while let Some(data) = body.chunk().await? {
                size += data.len() as u64;
                hasher.update(&data);
                if let Some(f) = &mut file {
                    f.write_all(&data).await.map_err(local)?;
                }
                self.stalled(&mut window, data.len() as u64, std::time::Instant::now())?;
            }
            Ok(())
        }
        .await;
        if let Some(mut f) = file {
            // Also when the attempt failed: tokio writes on a blocking thread
            // and returns before the bytes are in the file, and the next
            // attempt empties the same file (a duplicate of one descriptor,
            // one offset). A write of this attempt landing after that would
            // leave bytes in the file that the next attempt never hashed.
            // Flushing waits for the write in flight.
            let flushed = f.flush().await.map_err(local);
            streamed?;
            flushed?;
            f.sync_all().await.map_err(local)?;
        } else {
            streamed?;
        }
        Ok((hex::encode(hasher.finalize()), size))
    }

    /// A bundle asset's content in memory: refused when the release lists
    /// it larger than any bundle ([`crate::bundle_io::MAX_BUNDLE_BYTES`]),
    /// before any download, and when more than its listed size arrives.
    pub(crate) async fn download_bundle(
        &self,
        asset: &UploadedAsset,
        tag: &str,
    ) -> Result<Bytes, ReleaseError> {
        self.download_capped(asset, tag, crate::bundle_io::MAX_BUNDLE_BYTES)
            .await
    }

    /// An asset's content in memory, as [`Self::download_bundle`], up to
    /// `cap` bytes: the size the caller reads such a file to (a provenance
    /// file, `.intoto.jsonl`, one bundle a line).
    pub(crate) async fn download_capped(
        &self,
        asset: &UploadedAsset,
        tag: &str,
        cap: u64,
    ) -> Result<Bytes, ReleaseError> {
        self.retrying(|| self.fetch_capped(self.download_url(asset), asset.size, cap))
            .await
            .map_err(|(attempts, cause)| self.download_failed(asset, tag, attempts, cause))
    }

    /// Where `asset` is downloaded from: with a token, its API URL (drafts
    /// and private repositories too); without one, or where the caller
    /// knows the release is public ([`Self::with_public_downloads`]), the
    /// release's public download URL
    /// (`https://github.com/OWNER/REPO/releases/download/TAG/NAME`), which
    /// GitHub does not count against the API's rate limit (60 requests an
    /// hour for an anonymous caller, 1,000 for a job's token), so that a
    /// release of hundreds of assets verifies. Both redirect to the same
    /// storage; a URL that is not http(s) is not taken.
    fn download_url<'a>(&self, asset: &'a UploadedAsset) -> &'a str {
        if (self.anonymous || self.public_downloads)
            && crate::vocab::is_http_url(&asset.download_url)
        {
            &asset.download_url
        } else {
            &asset.api_url
        }
    }

    /// A download that failed after `attempts` tries, classified once for every
    /// way of downloading an asset.
    pub(super) fn download_failed(
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

    /// A bundle's content, at most its `listed` size, which must be a
    /// bundle's (checked before asking).
    pub(super) async fn fetch_bundle(
        &self,
        asset_url: &str,
        listed: u64,
    ) -> Result<Bytes, ApiFailure> {
        self.fetch_capped(asset_url, listed, crate::bundle_io::MAX_BUNDLE_BYTES)
            .await
    }

    /// An asset's content, at most its `listed` size, which must be at most
    /// `cap` (checked before asking).
    async fn fetch_capped(
        &self,
        asset_url: &str,
        listed: u64,
        cap: u64,
    ) -> Result<Bytes, ApiFailure> {
        if listed > cap {
            return Err(ApiFailure::TooLarge { size: listed, cap });
        }
        // Read whole, it has a deadline (a stream's reads each have theirs).
        super::client::within(self.transfer_deadline(listed), async {
            let mut body = CappedBody::new(self.get_asset_response(asset_url).await?, listed);
            let mut content = bytes::BytesMut::new();
            while let Some(data) = body.chunk().await? {
                content.extend_from_slice(&data);
            }
            Ok(content.freeze())
        })
        .await
    }
}

/// An asset's body, refused ([`ApiFailure::MoreThanListed`]) as soon as
/// more than its listed size has arrived, and at its end if less did
/// ([`ApiFailure::LessThanListed`]): the listed size is part of what is
/// checked, so another, shorter file cannot pass under the asset's name.
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
        if self.left > 0 {
            return Err(ApiFailure::LessThanListed {
                listed: self.listed,
                got: self.listed - self.left,
            });
        }
        Ok(None)
    }
}
