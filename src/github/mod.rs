//! GitHub's REST API for releases: find a release by tag (drafts too),
//! create, publish and delete drafts, upload assets idempotently, stream
//! them back, resolve a tag to its commit; and the repository attestations
//! API, where a verified provenance bundle is stored. The only module that imports
//! octocrab; it knows nothing about signing or reports, and never logs the
//! token.
//!
//! One file per concern:
//! - [`client`]: the [`Releases`] client for one repository: the API base
//!   (`GITHUB_API_URL`, so GHES works), requests, classifying answers for
//!   retrying (5xx, 429, secondary rate limits, `Retry-After` through
//!   [`crate::net::retry`]; octocrab's own retry is off: it re-sends a POST
//!   immediately, which duplicates assets; a spent primary rate limit is
//!   waited for only when `x-ratelimit-reset` is within 30 s, else refused
//!   at once, [`ApiFailure::RateLimited`]), bounded listings (`Link:
//!   rel="next"` for at most [`client::MAX_PAGES`] pages, never to a page
//!   already read) and download redirects, followed here with each
//!   `Location` checked (octocrab's own following panics on one that is not
//!   ASCII);
//! - [`releases`]: releases and tags (find, list a tag's drafts, create,
//!   publish, delete; a tag's commit, annotated tags peeled);
//! - [`assets`]: the idempotent upload: the release's assets are listed
//!   once and kept current (listed again on a retry), so a retry or a
//!   re-run never creates a second copy;
//!   identical content is left alone, different content is offered to the
//!   caller's equivalence test and kept when it passes, otherwise an error
//!   unless `overwrite`; the upload URL is always the release's own
//!   `upload_url`; the name GitHub stores is the one it returns;
//! - [`download`]: streaming an asset back, hashed as it arrives and refused
//!   as soon as more than its listed size arrived (a bundle also when it is
//!   listed past [`crate::bundle_io::MAX_BUNDLE_BYTES`]), written only into a
//!   file the caller hands over; from the asset's API URL with a token,
//!   from the release's public download URL without one, or for
//!   `verify --release` of a published public release (not on GHES) with
//!   one too (which GitHub's API budget does not count);
//! - [`attestations`]: the repository attestations API (store a verified
//!   bundle, its id and URL; GitHub Enterprise Server has none), a refused
//!   permission told apart;
//! - [`error`]: [`ReleaseError`], one variant per failure, each naming the
//!   fix, and [`ApiFailure`], one failed request.

pub mod assets;
pub mod attestations;
pub mod client;
pub mod download;
pub mod error;
pub mod releases;

pub use assets::{
    github_asset_name, identical_only, same_asset_name, AssetAction, Checked, Equivalence,
    Standing, UploadedAsset,
};
pub use attestations::{attestation_url, has_attestations_api, is_enterprise_server};
pub use client::{Releases, GITHUB_COM_API};
pub use error::{ApiFailure, ReleaseError};
pub use releases::Release;
