//! The Sigstore instance a run signs with: its trusted root and its service URLs.
//!
//! Owns choosing the instance (public-good by default, staging, GitHub's, a
//! ClientTrustConfig file, a signing config + trusted root pair, or a
//! private TUF repository), refreshing through TUF with a short timeout
//! (signing falls back to a well-known instance's embedded snapshot;
//! verifying, and a private repository, do not), turning the signing config's selection
//! ([`selection::select`], the client spec's rules) into the services this
//! signer can use (one log entry and at most one timestamp per bundle; no log
//! only for an instance whose trusted root lists none, and then a TSA), and
//! applying `--fulcio-url`, `--rekor-url`, `--rekor-version` and `--tsa-url`.
//! [`Requirements`] says what a verifier of the instance can require. This is
//! the only module that knows service URLs. It does not talk to Fulcio, Rekor
//! or the TSA.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sigstore_trust_root::{
    SigningConfig, SigstoreInstance, TrustedRoot, TufBootstrap, TufConfig,
    SIGNING_CONFIG_MEDIA_TYPE,
};

use crate::vocab::RekorVersion;

pub mod selection;

/// Which Sigstore instance, and per-service overrides, as the settings
/// chose them (the values a run hands down; this module reads no flag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSettings {
    pub base: BaseInstance,
    /// Keep a TUF cache (under `XDG_CACHE_HOME` or `HOME`). The action
    /// keeps none: it runs as root in a container, and on a self-hosted
    /// runner what it left in the job's home is root's, which the runner
    /// cannot remove, and which every later job on it would find.
    pub tuf_cache: bool,
    pub fulcio_url: Option<String>,
    pub rekor_url: Option<String>,
    pub rekor_version: Option<RekorVersion>,
    pub tsa_url: Option<String>,
}

/// The instance a run starts from, before per-service overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseInstance {
    /// Sigstore public-good: embedded trust material, refreshed through TUF.
    PublicGood,
    /// Sigstore staging: embedded trust material, refreshed through TUF.
    Staging,
    /// GitHub's instance (private repositories' attestations): Fulcio and a
    /// TSA, no transparency log, no CT log. Its trusted root is embedded and
    /// refreshed through GitHub's TUF repository; it publishes no signing
    /// config, so [`GITHUB_SIGNING_CONFIG`] names its services.
    GitHub,
    /// A ClientTrustConfig file, used as is (no TUF).
    TrustConfig(PathBuf),
    /// A signing config and a trusted root as two files (cosign v3's
    /// `--signing-config` + `--trusted-root`), used as they are (no TUF).
    Files {
        signing_config: PathBuf,
        trusted_root: PathBuf,
    },
    /// A private instance's TUF repository (`--tuf-url`), trusted from an
    /// initial root (`--tuf-root`), as cosign's `initialize --mirror --root`:
    /// its trusted root and signing config, refreshed through TUF into the
    /// per-URL cache; there is no embedded snapshot to fall back to.
    Tuf { url: String, root: PathBuf },
}

impl BaseInstance {
    /// Whether the trust material comes from the user's files (nothing to
    /// refresh, and the user's own instance).
    pub fn is_local(&self) -> bool {
        matches!(
            self,
            BaseInstance::TrustConfig(_) | BaseInstance::Files { .. }
        )
    }

    /// The well-known instance this is, and its name in reports and errors.
    pub(crate) fn well_known(&self) -> Option<(SigstoreInstance, &'static str)> {
        match self {
            BaseInstance::PublicGood => Some((SigstoreInstance::PublicGood, "public-good")),
            BaseInstance::Staging => Some((SigstoreInstance::Staging, "staging")),
            BaseInstance::GitHub => Some((SigstoreInstance::GitHub, "github")),
            BaseInstance::TrustConfig(_)
            | BaseInstance::Files { .. }
            | BaseInstance::Tuf { .. } => None,
        }
    }

    /// Whether what its services are comes from a TUF refresh, with an
    /// embedded snapshot (its signing config and trusted root as the crate
    /// was built) that may be older: public-good and staging. GitHub's
    /// services are [`GITHUB_SIGNING_CONFIG`]'s.
    pub(crate) fn listing_refreshed(&self) -> bool {
        matches!(self, BaseInstance::PublicGood | BaseInstance::Staging)
    }
}

/// GitHub's services, as its attest action (actions/toolkit's
/// `@actions/attest`) reaches them for private repositories: Fulcio at
/// fulcio.githubapp.com, RFC 3161 timestamps at timestamp.githubapp.com, no
/// transparency log. The start dates are those of the first authorities in
/// the embedded GitHub trusted root.
pub const GITHUB_SIGNING_CONFIG: &str = r#"{
  "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
  "caUrls": [{"url": "https://fulcio.githubapp.com", "majorApiVersion": 1, "validFor": {"start": "2023-10-27T16:30:00Z"}, "operator": "github.com"}],
  "tsaUrls": [{"url": "https://timestamp.githubapp.com/api/v1/timestamp", "majorApiVersion": 1, "validFor": {"start": "2023-10-27T16:30:00Z"}, "operator": "github.com"}],
  "rekorTlogConfig": {"selector": "ANY"},
  "tsaConfig": {"selector": "ANY"}
}"#;

/// `mediaType` of sigstore-python's `--trust-config` files.
pub(crate) const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// How long a TUF refresh may take before the embedded snapshot is used.
pub(crate) const TUF_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a TUF refresh may take where nothing is there to fall back to
/// (a verifier's refresh, a private repository): a slow mirror or proxy is
/// waited for, as long as one answer may take, but a hung one cannot hang
/// the job. [`TUF_TIMEOUT`] there failed runs a slower refresh would have
/// passed.
pub(crate) const TUF_NO_FALLBACK_TIMEOUT: Duration = Duration::from_secs(60);

/// A ClientTrustConfig: a trusted root and a signing config in one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientTrustConfig {
    pub media_type: String,
    pub trusted_root: TrustedRoot,
    pub signing_config: SigningConfig,
}

impl ClientTrustConfig {
    /// Parse and check the media types (the signing config must be v0.2).
    /// The media types are read first: a signing config in v0.1's shape
    /// (bare URL lists) or a root of another kind is named as such, not
    /// reported as a field of the wrong shape somewhere in the file.
    pub fn from_json(json: &str, path: &Path) -> Result<Self, TrustError> {
        let parse_error = |source| TrustError::ParseTrustConfig {
            path: path.to_owned(),
            source,
        };
        let raw: serde_json::Value = serde_json::from_str(json).map_err(parse_error)?;
        for (what, found, expected) in [
            (
                "the trust config (a ClientTrustConfig)",
                &raw["mediaType"],
                CLIENT_TRUST_CONFIG_MEDIA_TYPE,
            ),
            (
                "its trustedRoot",
                &raw["trustedRoot"]["mediaType"],
                TRUSTED_ROOT_MEDIA_TYPE,
            ),
            (
                "its signingConfig",
                &raw["signingConfig"]["mediaType"],
                SIGNING_CONFIG_MEDIA_TYPE,
            ),
        ] {
            // One absent or not a string is the typed parse's to name.
            if let Some(found) = found.as_str() {
                media_type(path, what, found, expected)?;
            }
        }
        // Parsed again from the text, not the value: a key given twice is
        // an error there, where a value keeps the last.
        as_protojson_reads(json, Some(&raw), "/signingConfig", |text| {
            serde_json::from_str(text)
        })
        .map_err(parse_error)
    }
}

/// `parse` of `json`, or, where that fails, of `raw` (`json` read as a
/// value) with the signing config at `pointer` in it given what protobuf's
/// JSON writer leaves out ([`protojson_defaults`]); the first failure
/// where that changes nothing.
fn as_protojson_reads<T, E>(
    json: &str,
    raw: Option<&serde_json::Value>,
    pointer: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, E> {
    parse(json).or_else(|e| {
        let mut raw = raw.cloned().unwrap_or_default();
        let filled = raw
            .pointer_mut(pointer)
            .is_some_and(|config| protojson_defaults(json, config));
        match filled {
            true => parse(&raw.to_string()),
            false => Err(e),
        }
    })
}

/// Fill in what protobuf's JSON writer leaves out of a signing config
/// (`config`, read from `json`), as protojson readers (sigstore-go,
/// sigstore-python) read it back: a service's `majorApiVersion` of 0 (a
/// service not yet released, which selection then sets aside), and a
/// selector written as its enum number. Whether anything was filled in,
/// and the text holds no key twice (parsed from a value, a key given twice
/// would be read as its last, unnoticed): only then may the caller parse
/// the value instead of the text. Nothing is added that was not there (no
/// member is made by looking it up), and a value of any shape is taken.
fn protojson_defaults(json: &str, config: &mut serde_json::Value) -> bool {
    const SELECTORS: [&str; 4] = ["SERVICE_SELECTOR_UNDEFINED", "ALL", "ANY", "EXACT"];
    let mut filled = false;
    for urls in ["caUrls", "oidcUrls", "rekorTlogUrls", "tsaUrls"] {
        if let Some(entries) = config.get_mut(urls).and_then(|u| u.as_array_mut()) {
            for entry in entries.iter_mut().filter_map(|e| e.as_object_mut()) {
                if !entry.contains_key("majorApiVersion") {
                    entry.insert("majorApiVersion".into(), 0.into());
                    filled = true;
                }
            }
        }
    }
    for field in ["rekorTlogConfig", "tsaConfig"] {
        let Some(selector) = config.get_mut(field).and_then(|f| f.get_mut("selector")) else {
            continue;
        };
        if let Some(name) = selector
            .as_u64()
            .and_then(|n| SELECTORS.get(usize::try_from(n).ok()?))
        {
            *selector = (*name).into();
            filled = true;
        }
    }
    filled && !has_key_twice(json)
}

/// Whether any object of `json` gives a key twice (or `json` is no JSON).
fn has_key_twice(json: &str) -> bool {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

    /// Any value, refused (as an error) where an object repeats a key.
    struct Unique;
    impl<'de> DeserializeSeed<'de> for Unique {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    impl<'de> Visitor<'de> for Unique {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = std::collections::HashSet::new();
            while let Some(key) = map.next_key::<String>()? {
                if !seen.insert(key) {
                    return Err(serde::de::Error::custom("a key given twice"));
                }
                map.next_value_seed(Unique)?;
            }
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element_seed(Unique)?.is_some() {}
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    }
    let mut d = serde_json::Deserializer::from_str(json);
    Unique.deserialize(&mut d).is_err()
}

/// The transparency log entries go to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogService {
    pub url: String,
    pub version: RekorVersion,
}

/// What an instance's trusted root lets a verifier require: a transparency
/// log entry when it lists logs, an SCT when it lists CT logs. An instance
/// without them (GitHub's) cannot vouch for either, so its bundles rest on
/// an RFC 3161 timestamp instead (sigstore-verify still demands a verified
/// time); an instance that lists them always requires them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirements {
    pub log_entry: bool,
    pub sct: bool,
}

impl Requirements {
    pub fn of(root: &TrustedRoot) -> Self {
        Requirements {
            log_entry: !root.tlogs.is_empty(),
            sct: !root.ctlogs.is_empty(),
        }
    }

    /// `policy` with the checks this instance cannot back left out.
    pub fn apply(
        self,
        mut policy: sigstore_verify::VerificationPolicy,
    ) -> sigstore_verify::VerificationPolicy {
        if !self.log_entry {
            policy = policy.skip_tlog_unsafe();
        }
        if !self.sct {
            policy = policy.skip_sct();
        }
        policy
    }
}

/// The services signatures go to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Services {
    pub fulcio: String,
    /// `None` for an instance that keeps no transparency log (GitHub's):
    /// its bundles carry an RFC 3161 timestamp and no log entry.
    pub rekor: Option<LogService>,
    /// The full RFC 3161 endpoint; `None` when the instance has no TSA.
    pub tsa: Option<String>,
    /// How the signing config's entries were chosen (before the flags'
    /// overrides), for `--dry-run` and `-v`.
    pub selection: Option<selection::Selection>,
}

/// The public Sigstore deployments, by the domain their services are
/// under: a Fulcio there (its certificates go to a public CT log) or a
/// Rekor there publishes what it is sent, whichever configuration named it.
const PUBLIC_DEPLOYMENTS: [(&str, &str); 2] =
    [("sigstore.dev", "public-good"), ("sigstage.dev", "staging")];

impl Services {
    /// The public deployment whose logs this instance's Fulcio or Rekor
    /// write to, if either is one's (a TSA publishes nothing).
    pub(crate) fn public_deployment(&self) -> Option<&'static str> {
        std::iter::once(self.fulcio.as_str())
            .chain(self.rekor.as_ref().map(|log| log.url.as_str()))
            .find_map(public_deployment_of)
    }
}

impl BaseInstance {
    /// The public deployment this instance is by its name alone, before its
    /// services are known: public-good and staging. GitHub's keeps no public
    /// log; the others are the user's, whose services
    /// [`Services::public_deployment`] judges once resolved.
    pub(crate) fn public_deployment(&self) -> Option<&'static str> {
        let domain = match self {
            BaseInstance::PublicGood => "sigstore.dev",
            BaseInstance::Staging => "sigstage.dev",
            BaseInstance::GitHub
            | BaseInstance::TrustConfig(_)
            | BaseInstance::Files { .. }
            | BaseInstance::Tuf { .. } => return None,
        };
        PUBLIC_DEPLOYMENTS
            .iter()
            .find(|(d, _)| *d == domain)
            .map(|(_, name)| *name)
    }
}

/// The public deployment a service URL's host belongs to.
fn public_deployment_of(url: &str) -> Option<&'static str> {
    let url = reqwest::Url::parse(url).ok()?;
    let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    PUBLIC_DEPLOYMENTS
        .iter()
        .find(|(domain, _)| {
            host.strip_suffix(domain)
                .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
        })
        .map(|(_, name)| *name)
}

/// A resolved instance: what to trust and where to send requests.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    /// `public-good`, `staging`, or the trust config's path.
    pub name: String,
    pub trusted_root: TrustedRoot,
    pub services: Services,
    /// Things the user should know (a failed TUF refresh), for the report.
    pub warnings: Vec<String>,
}

/// Whether loading may go online.
#[derive(Debug, Clone)]
pub enum Refresh {
    /// Embedded snapshots and local files only (dry runs).
    Offline,
    /// Refresh well-known instances through TUF, within [`TUF_TIMEOUT`];
    /// when that fails, sign with the embedded snapshot (with a warning).
    Online(reqwest::Client),
    /// As [`Refresh::Online`], but a failed refresh is an error: a verifier
    /// decides on trust material that is current, or on what the user
    /// chose explicitly (`--offline`, `--trusted-root`), never on a silent
    /// fallback.
    Required(reqwest::Client),
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read trust config {}: {source}; fix: pass an existing ClientTrustConfig file to --trust-config (action input `trust-config`)", path.display())]
    ReadTrustConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("trust config {} is not a valid ClientTrustConfig ({source}); fix: pass a file with mediaType, trustedRoot and signingConfig (as `sigstore --trust-config` takes)", path.display())]
    ParseTrustConfig {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: {what} has mediaType `{}`; fix: use `{expected}`", path.display(), crate::text::line(found))]
    MediaType {
        path: PathBuf,
        what: &'static str,
        found: String,
        expected: &'static str,
    },
    #[error("{}: it is {kind}, not {what}; fix: {fix}", path.display())]
    FileOfAnotherKind {
        path: PathBuf,
        kind: &'static str,
        what: &'static str,
        fix: &'static str,
    },
    #[error("{instance}: the signing config's {field} entry `{url}` is not an http(s) URL with a host, which the client spec requires of a service's URL; fix: write it in full (`https://host/...`)")]
    BadServiceUrl {
        instance: String,
        field: &'static str,
        url: String,
    },
    /// sigstore-verify cannot build a verifier of it (a window that ends
    /// before it starts, a key or certificate that does not parse, two logs
    /// of one ID, an authority with no certificate).
    #[error("{instance}: its trusted root cannot be used to verify: {reason}; fix: correct the trusted root (its keys, certificates and validFor windows)")]
    UnusableRoot { instance: String, reason: String },
    #[error("trusted root {}: its mediaType is `{}`, not a TrustedRoot's (`{TRUSTED_ROOT_MEDIA_TYPE}`); fix: pass a trusted_root.json to --trusted-root (a ClientTrustConfig, which also holds a signing config, goes to --trust-config)", path.display(), crate::text::line(found))]
    TrustedRootMediaType { path: PathBuf, found: String },
    #[error("cannot read {what} {}: {source}; fix: pass an existing file to {flag}", path.display())]
    ReadFile {
        path: PathBuf,
        what: &'static str,
        flag: &'static str,
        source: std::io::Error,
    },
    #[error("{} is not a valid {what} ({source}); fix: pass {expected} to {flag}", path.display())]
    ParseFile {
        path: PathBuf,
        what: &'static str,
        flag: &'static str,
        expected: &'static str,
        source: sigstore_trust_root::Error,
    },
    /// Not a TUF root the updater can start from: the wrong file (a
    /// trusted_root.json), or not signed by its own root keys.
    #[error("{} is not a TUF root.json signed to threshold by its own root keys ({reason}); fix: pass the repository's root.json (its first version, or a later one you trust) to --tuf-root (action input `tuf-root`); a trusted_root.json goes to --trusted-root", path.display())]
    BadTufRoot { path: PathBuf, reason: String },
    #[error("{instance}'s trusted root lists no certificate authority valid now (each one's validFor has ended, or none is listed), so no certificate its CA issues could be verified; fix: pass the instance's current trusted root (--trusted-root or --trust-config; action inputs `trusted-root`, `trust-config`)")]
    NoAuthorityValidNow { instance: String },
    #[error("{instance}'s trusted root lists no transparency log whose key is valid now (each one's validFor has ended, or not begun), so no entry made in {url} could be verified; fix: pass the instance's current trusted root (--trusted-root or --trust-config; action inputs `trusted-root`, `trust-config`), or a signing config that names a log it lists")]
    NoLogKeyValidNow { instance: String, url: String },
    #[error("the embedded trust material of {instance} does not load ({source}); fix: pass --trust-config")]
    Embedded {
        instance: String,
        source: sigstore_trust_root::Error,
    },
    #[error("{instance} has no signing config, which names the services to sign with; fix: pass one with {flag}")]
    NoSigningConfig {
        instance: String,
        flag: &'static str,
    },
    #[error("{instance} lists no valid {service} service; fix: a signing config that lists one (--signing-config or --trust-config; action inputs `signing-config`, `trust-config`), or, on the command line, pass {flag}")]
    MissingService {
        instance: String,
        service: &'static str,
        flag: &'static str,
    },
    #[error("{instance} lists no valid Rekor {version} log{}; fix: on the command line, pass --rekor-url, or drop --rekor-version (action input `rekor-version`) if a log of another version is listed and valid", why.as_deref().map(|w| format!(" ({w})")).unwrap_or_default())]
    MissingRekorVersion {
        instance: String,
        version: RekorVersion,
        /// Each listed log and why it cannot be used, when some are listed.
        why: Option<String>,
    },
    #[error(transparent)]
    Select(#[from] selection::SelectError),
    #[error("{instance}: rekorTlogConfig ({selector}) asks for {count} transparency log entries in each bundle, but releasekit-sign writes one; fix: use a signing config whose rekorTlogConfig selector is ANY (or EXACT with count 1), or, on the command line, pass --rekor-url")]
    SeveralLogs {
        instance: String,
        selector: String,
        count: usize,
    },
    #[error("{instance}: tsaConfig ({selector}) asks for {count} RFC 3161 timestamps in each bundle, but releasekit-sign requests one; fix: use a signing config whose tsaConfig selector is ANY (or EXACT with count 1), or, on the command line, pass --tsa-url")]
    SeveralTimestamps {
        instance: String,
        selector: String,
        count: usize,
    },
    #[error("{instance} keeps no transparency log, so each bundle's trusted time is an RFC 3161 timestamp, but it lists no TSA; fix: a signing config with tsaUrls (--signing-config or --trust-config; action inputs `signing-config`, `trust-config`), or, on the command line, --tsa-url")]
    NoLogWithoutTsa { instance: String },
    #[error("{instance}: the signing config lists no transparency log, but the trusted root lists logs, so a verifier of this instance requires a log entry; fix: add rekorTlogUrls to the signing config, or, on the command line, pass --rekor-url")]
    NoLogButRequired { instance: String },
    #[error("{instance}'s trusted root lists no transparency log, so an entry in {url} could not be verified; fix: pass a trusted root that lists that log, or sign without it (drop --rekor-url, or the signing config's rekorTlogUrls; the bundles then rest on RFC 3161 timestamps, from the instance's TSA)")]
    LogNotInRoot { instance: String, url: String },
    #[error("{instance}'s trusted root lists no timestamp authority, so a timestamp from {url} could not be verified, and no bundle carrying one would; fix: pass a trusted root that lists that authority, or sign without it (drop --tsa-url, or the signing config's tsaUrls; the bundles then rest on the log's integrated time)")]
    TsaNotInRoot { instance: String, url: String },
    #[error("{instance}'s trusted root lists no timestamp authority valid now whose certificate may sign timestamps ({reason}; RFC 3161 §2.3 asks for one critical extended key usage, timeStamping alone, and verifiers also ask for no CA and a key usage, if any, of signing alone), and cosign or sigstore-python refuse the timestamps of such an authority, so no bundle carrying one would verify there; fix: the instance's operator issues the authority such a certificate, or sign without a TSA (drop --tsa-url, or the signing config's tsaUrls; the bundles then rest on the log's integrated time)")]
    TsaCertificate { instance: String, reason: String },
    #[error("{instance}'s trusted root lists no timestamp authority valid now (each one's validFor has ended, or not begun), so no timestamp from {url} could be verified; fix: pass the instance's current trusted root (--trusted-root or --trust-config; action inputs `trusted-root`, `trust-config`)")]
    NoTsaValidNow { instance: String, url: String },
    #[error("cannot refresh the trust material of the TUF repository {url} ({reason}); there is no embedded snapshot of it; fix: check the network and the repository; to verify, pass --offline to use the verified cache of an earlier refresh, or --trusted-root with a trusted root you trust")]
    TufRefresh { url: String, reason: String },
    #[error("the TUF repository {url} distributes a trusted root but no signing config ({}), so it names no services to sign with; fix: pass the instance's services with --signing-config and --trusted-root, or a --trust-config (action inputs `signing-config` and `trusted-root`, or `trust-config`), or publish its signing config in the repository", sigstore_trust_root::SIGNING_CONFIG_TARGET)]
    TufNoSigningConfig { url: String },
    #[error("cannot refresh the {instance} trust material through TUF ({reason}); fix: check the network, or pass --offline to verify with the embedded snapshot, or --trusted-root with a trusted root you trust")]
    WellKnownRefresh { instance: String, reason: String },
    /// A choice the embedded snapshot refuses waited for the refreshed
    /// listing, and the refresh failed: both are said, since either alone
    /// sends the user after the wrong fix.
    #[error("{instance}'s TUF refresh failed ({reason}), so its embedded snapshot was read, and it refuses this run: {refused}; or check the network and run again, since the refreshed listing may name what the snapshot lacks")]
    SnapshotRefusesAfterFailedRefresh {
        instance: String,
        reason: String,
        refused: Box<TrustError>,
    },
    #[error("no usable cached trust material of the TUF repository {url} ({reason}); fix: run once without --offline so the cache is filled")]
    TufCache { url: String, reason: String },
    #[error("{url} (from {from}) is plain http, and the identity token is sent to the CA: anyone on the way could use it to get a certificate for this identity; fix: use its https:// URL (plain http is taken only on this machine: localhost, 127.0.0.1, ::1)")]
    CleartextToken { url: String, from: &'static str },
    #[error("Rekor v2 entries carry no signed time, so an RFC 3161 timestamp is required, but {instance} has no TSA; fix: log to Rekor v1 (--rekor-version 1, action input `rekor-version: 1`), use a signing config with tsaUrls (--signing-config or --trust-config; action inputs `signing-config`, `trust-config`), or, on the command line, pass --tsa-url")]
    V2WithoutTsa { instance: String },
}

impl TrustError {
    /// Whether the fix is in the run's setup (exit 2), not a repository
    /// that could not be reached while it ran (exit 1: a re-run may succeed).
    pub(crate) fn is_usage(&self) -> bool {
        !matches!(
            self,
            TrustError::TufRefresh { .. }
                | TrustError::WellKnownRefresh { .. }
                | TrustError::SnapshotRefusesAfterFailedRefresh { .. }
        )
    }

    /// Whether this refuses what an instance's signing config and trusted
    /// root list (its services, their versions and windows, its current
    /// keys and authorities), which a TUF refresh may change, rather than
    /// a file or a flag of the run's.
    pub(crate) fn judges_the_listing(&self) -> bool {
        matches!(
            self,
            TrustError::MissingService { .. }
                | TrustError::MissingRekorVersion { .. }
                | TrustError::Select(_)
                | TrustError::SeveralLogs { .. }
                | TrustError::SeveralTimestamps { .. }
                | TrustError::NoLogWithoutTsa { .. }
                | TrustError::NoLogButRequired { .. }
                | TrustError::LogNotInRoot { .. }
                | TrustError::TsaNotInRoot { .. }
                | TrustError::TsaCertificate { .. }
                | TrustError::V2WithoutTsa { .. }
                | TrustError::NoAuthorityValidNow { .. }
                | TrustError::NoTsaValidNow { .. }
                | TrustError::NoLogKeyValidNow { .. }
        )
    }
}

/// An instance's trust material as a verifier needs it: its trusted root.
#[derive(Debug, Clone)]
pub struct Material {
    /// `public-good`, `staging`, or the trust config's path.
    pub name: String,
    pub trusted_root: TrustedRoot,
    /// Things the user should know (a failed TUF refresh), for the report.
    pub warnings: Vec<String>,
}

/// What a caller takes from an instance. A verifier has no use for service
/// URLs, so it neither fetches a signing config nor fails for the lack of
/// one: a private TUF repository may distribute only `trusted_root.json`,
/// as GitHub's does, and cosign and sigstore-go verify with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Root,
    RootAndSigningConfig,
}

/// The trusted root of `base`, and its signing config when `need` asks for
/// it (`None` otherwise).
type Fetched = (String, TrustedRoot, Option<SigningConfig>);

/// The trust material of `base`, as a verifier needs it (see [`Need`]).
pub async fn material(base: &BaseInstance, refresh: Refresh) -> Result<Material, TrustError> {
    let mut warnings = Vec::new();
    let (name, trusted_root, _) = fetch(base, &refresh, Need::Root, true, &mut warnings).await?;
    Ok(Material {
        name,
        trusted_root,
        warnings,
    })
}

/// `cache`: keep a TUF cache ([`InstanceSettings::tuf_cache`]).
async fn fetch(
    base: &BaseInstance,
    refresh: &Refresh,
    need: Need,
    cache: bool,
    warnings: &mut Vec<String>,
) -> Result<Fetched, TrustError> {
    let (name, root, signing) = fetch_unchecked(base, refresh, need, cache, warnings).await?;
    // What the verifier refuses is refused here, before a token is read or
    // a dry run says all is well.
    if let Err(e) = sigstore_verify::Verifier::new(&root) {
        return Err(TrustError::UnusableRoot {
            instance: name,
            reason: crate::text::line(crate::text::capped(
                &e.to_string(),
                crate::text::MESSAGE_CHARS,
            )),
        });
    }
    Ok((name, root, signing))
}

async fn fetch_unchecked(
    base: &BaseInstance,
    refresh: &Refresh,
    need: Need,
    cache: bool,
    warnings: &mut Vec<String>,
) -> Result<Fetched, TrustError> {
    Ok(match base {
        BaseInstance::TrustConfig(path) => {
            let json = read_small_file(path).map_err(|source| TrustError::ReadTrustConfig {
                path: path.clone(),
                source,
            })?;
            let c = ClientTrustConfig::from_json(&json, path)?;
            // A verifier reads the trusted root alone.
            if need == Need::RootAndSigningConfig {
                if let Ok(raw) = serde_json::from_str::<serde_json::Value>(&json) {
                    missing_selector(&raw["signingConfig"], path)?;
                }
            }
            (
                path.display().to_string(),
                c.trusted_root,
                Some(c.signing_config),
            )
        }
        BaseInstance::Files {
            signing_config,
            trusted_root,
        } => (
            // Both files named: selection errors speak of the signing
            // config's entries, and the root's checks of the trusted root.
            format!(
                "{} (trusted root {})",
                signing_config.display(),
                trusted_root.display()
            ),
            read_trusted_root(trusted_root)?,
            match need {
                Need::Root => None,
                Need::RootAndSigningConfig => Some(read_signing_config(signing_config)?),
            },
        ),
        BaseInstance::PublicGood | BaseInstance::Staging | BaseInstance::GitHub => {
            let (instance, name) = base.well_known().expect("a well-known instance");
            well_known(instance, name, refresh, need, cache, warnings).await?
        }
        BaseInstance::Tuf { url, root } => {
            tuf_repository(url, root, refresh, need, cache, warnings).await?
        }
    })
}

/// Load the instance `settings` describe, with the services to sign with.
pub(crate) async fn load(
    settings: &InstanceSettings,
    refresh: Refresh,
) -> Result<Instance, TrustError> {
    let mut warnings = Vec::new();
    let (name, trusted_root, signing_config) = fetch(
        &settings.base,
        &refresh,
        Need::RootAndSigningConfig,
        settings.tuf_cache,
        &mut warnings,
    )
    .await?;
    let Some(signing_config) = signing_config else {
        return Err(TrustError::NoSigningConfig {
            instance: name,
            flag: "--signing-config (action input `signing-config`)",
        });
    };
    let m = Material {
        name,
        trusted_root,
        warnings,
    };
    let services = select_services(settings, &signing_config, &m.name)?;
    match (&services.rekor, Requirements::of(&m.trusted_root).log_entry) {
        // Our own self-verification would refuse every bundle: say why up front.
        (None, true) => return Err(TrustError::NoLogButRequired { instance: m.name }),
        // The other way round: with no log's key to check it by, an entry
        // would ride in every bundle unverified, and be public for nothing.
        (Some(log), false) => {
            return Err(TrustError::LogNotInRoot {
                instance: m.name,
                url: log.url.clone(),
            })
        }
        _ => {}
    }
    // The certificate and the entries to come are checked against the
    // authorities and log keys valid when they are made: with none valid
    // now, say so before a token goes to Fulcio or an entry to the log.
    let now = jiff::Timestamp::now();
    let current =
        |range: &Option<sigstore_types::TimeRange>| range.as_ref().is_none_or(|r| r.contains(now));
    if !m
        .trusted_root
        .certificate_authorities
        .iter()
        .any(|ca| current(&ca.valid_for))
    {
        return Err(TrustError::NoAuthorityValidNow { instance: m.name });
    }
    if let Some(log) = &services.rekor {
        // An entry made now: a Rekor v1 one is integrated now; a v2 one
        // has no integrated time.
        let integrated = (log.version == RekorVersion::V1).then_some(now);
        if !m
            .trusted_root
            .tlogs
            .iter()
            .any(|t| log_key_valid(t.public_key.valid_for.as_ref(), integrated, now))
        {
            return Err(TrustError::NoLogKeyValidNow {
                instance: m.name,
                url: log.url.clone(),
            });
        }
    }
    // The same for a timestamp authority: every timestamp in a bundle must
    // verify, and with no authority to check it by, none can.
    if let (Some(url), true) = (
        &services.tsa,
        m.trusted_root.timestamp_authorities.is_empty(),
    ) {
        return Err(TrustError::TsaNotInRoot {
            instance: m.name,
            url: url.clone(),
        });
    }
    if services.tsa.is_some() {
        // Refused when no authority valid now may sign: one that may is
        // whichever the service is (which is known only from its answer);
        // one whose `validFor` ended cannot vouch for what it signs now.
        let authorities: Vec<_> = m
            .trusted_root
            .timestamp_authorities
            .iter()
            .filter(|a| current(&a.valid_for))
            .collect();
        let problems: Option<Vec<&'static str>> = authorities
            .iter()
            .map(|a| match a.cert_chain.certificates.first() {
                Some(leaf) => tsa_leaf_problem(leaf.raw_bytes.as_bytes()),
                None => Some("its certificate chain is empty"),
            })
            .collect();
        // None current: a trusted root out of date, not a certificate to
        // reissue.
        if authorities.is_empty() {
            let url = services.tsa.clone().unwrap_or_default();
            return Err(TrustError::NoTsaValidNow {
                instance: m.name,
                url,
            });
        }
        if let Some(reason) = problems.and_then(|all| all.first().copied()) {
            return Err(TrustError::TsaCertificate {
                instance: m.name,
                reason: reason.to_owned(),
            });
        }
    }
    Ok(Instance {
        name: m.name,
        trusted_root: m.trusted_root,
        services,
        warnings: m.warnings,
    })
}

/// Whether a log key whose validity is `range` vouches for an entry
/// integrated at `integrated` (a Rekor v1 entry's time, in the window), or,
/// for an entry with none (Rekor v2), by `now` (the window begun), as
/// sigstore-verify looks a log's key up: one rule for a run's choice of log
/// and for each entry the log answers with.
pub(crate) fn log_key_valid(
    range: Option<&sigstore_types::TimeRange>,
    integrated: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> bool {
    range.is_none_or(|r| match integrated {
        Some(t) => r.contains(t),
        None => r.has_started_by(now),
    })
}

/// Why a timestamp authority's leaf certificate (DER) may not sign
/// timestamps, as sigstore-go (timestamp-authority's `verifyLeafCert`) and
/// sigstore-python refuse it: RFC 3161 §2.3's one critical extended key
/// usage, `id-kp-timeStamping` alone, on a certificate that is no CA (Go's
/// rules); and a key usage, if any, of signing alone (digitalSignature,
/// nonRepudiation: OpenSSL's timestamp-signing purpose, which sigstore-python
/// verifies with). sigstore-tsa 0.15.1 checks only that timeStamping is
/// among the usages, so a signer would make bundles only it accepts. `None`
/// when it may.
fn tsa_leaf_problem(der: &[u8]) -> Option<&'static str> {
    use x509_cert::der::Decode as _;
    use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
    const KEY_USAGE: x509_cert::der::asn1::ObjectIdentifier =
        x509_cert::der::asn1::ObjectIdentifier::new_unwrap("2.5.29.15");
    const EKU: x509_cert::der::asn1::ObjectIdentifier =
        x509_cert::der::asn1::ObjectIdentifier::new_unwrap("2.5.29.37");
    const BASIC_CONSTRAINTS: x509_cert::der::asn1::ObjectIdentifier =
        x509_cert::der::asn1::ObjectIdentifier::new_unwrap("2.5.29.19");
    const TIME_STAMPING: x509_cert::der::asn1::ObjectIdentifier =
        x509_cert::der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
    let Ok(cert) = x509_cert::Certificate::from_der(der) else {
        return Some("its certificate does not parse");
    };
    let extensions = cert.tbs_certificate.extensions.unwrap_or_default();
    let is_ca = extensions
        .iter()
        .filter(|e| e.extn_id == BASIC_CONSTRAINTS)
        .filter_map(|e| BasicConstraints::from_der(e.extn_value.as_bytes()).ok())
        .any(|b| b.ca);
    if is_ca {
        return Some("its certificate is a CA's");
    }
    let signing_only = KeyUsages::DigitalSignature | KeyUsages::NonRepudiation;
    let key_usage_ok = extensions
        .iter()
        .filter(|e| e.extn_id == KEY_USAGE)
        .all(|e| {
            KeyUsage::from_der(e.extn_value.as_bytes())
                .is_ok_and(|k| !k.0.is_empty() && signing_only.contains(k.0))
        });
    if !key_usage_ok {
        return Some("its key usage is not signing alone");
    }
    let ekus: Vec<_> = extensions.iter().filter(|e| e.extn_id == EKU).collect();
    let [eku] = ekus.as_slice() else {
        return Some("its certificate has no single extended key usage extension");
    };
    if !eku.critical {
        return Some("its extended key usage is not critical");
    }
    match ExtendedKeyUsage::from_der(eku.extn_value.as_bytes()) {
        Ok(usages) if usages.0 == [TIME_STAMPING] => None,
        Ok(_) => Some("its extended key usage is not timeStamping alone"),
        Err(_) => Some("its extended key usage does not parse"),
    }
}

/// What a run can load before any request, so usage errors come first:
/// the whole instance from local files and embedded snapshots, or, for a
/// TUF repository (whose cache may be stale or empty), only its root file
/// checked (`None`: [`refresh`] loads it). A well-known instance whose
/// embedded snapshot refuses the run's choice of services (`--rekor-version
/// 2` where the snapshot lists no v2 log) is also `None`: the refreshed
/// listing decides, and refuses it only if it too lacks what was asked.
pub(crate) async fn load_local(
    settings: &InstanceSettings,
) -> Result<Option<Instance>, TrustError> {
    match &settings.base {
        BaseInstance::Tuf { root, .. } => {
            read_tuf_root(root)?;
            Ok(None)
        }
        base => match load(settings, Refresh::Offline).await {
            Err(e) if base.listing_refreshed() && e.judges_the_listing() => Ok(None),
            loaded => loaded.map(Some),
        },
    }
}

/// `offline` (from [`load_local`]) brought up to date: a well-known
/// instance or a TUF repository is loaded (again) through TUF; a trust
/// config file has nothing to refresh, so it is not read twice.
pub(crate) async fn refresh(
    settings: &InstanceSettings,
    offline: Option<Instance>,
    http: reqwest::Client,
) -> Result<Instance, TrustError> {
    match offline {
        Some(offline) if settings.base.is_local() => Ok(offline),
        // The snapshot refused the run's choice ([`load_local`]): only the
        // refreshed listing can take it, so a failed refresh is said, with
        // the snapshot's refusal, not hidden behind the refusal alone.
        None if settings.base.listing_refreshed() => {
            match load(settings, Refresh::Required(http)).await {
                Err(TrustError::WellKnownRefresh { instance, reason }) => {
                    let refused = match load(settings, Refresh::Offline).await {
                        Err(refused) => refused,
                        // Not refused after all: the run goes on with it,
                        // saying so, as any failed refresh is said.
                        Ok(mut snapshot) => {
                            snapshot.warnings.push(on_the_snapshot(&instance, &reason));
                            return Ok(snapshot);
                        }
                    };
                    Err(TrustError::SnapshotRefusesAfterFailedRefresh {
                        instance,
                        reason,
                        refused: Box::new(refused),
                    })
                }
                loaded => loaded,
            }
        }
        _ => load(settings, Refresh::Online(http)).await,
    }
}

/// The warning of a run that goes on with `instance`'s embedded snapshot
/// because its TUF refresh failed for `reason`.
fn on_the_snapshot(instance: &str, reason: &str) -> String {
    format!(
        "could not refresh {instance} trust material through TUF ({reason}); using the embedded snapshot"
    )
}

/// The most a trust file may hold. Public-good's trusted root is about 10
/// KB; a file larger than this is a wrong path (`/dev/zero`, an image), and
/// reading it whole would take the memory it claims.
const MAX_TRUST_FILE_BYTES: u64 = 8 << 20;

/// A trust config, trusted root or signing config: a regular file (a FIFO
/// would block the run) of at most [`MAX_TRUST_FILE_BYTES`], as UTF-8.
fn read_small_file(path: &Path) -> std::io::Result<String> {
    use crate::files::{self, FileError};
    let file = files::open_regular(path, None).map_err(|e| match e {
        FileError::Read { source, .. } => source,
        FileError::NotRegular { kind, .. } => {
            std::io::Error::other(format!("it is {kind}, not a regular file"))
        }
        e => std::io::Error::other(e.to_string()),
    })?;
    let bytes = files::read_to_end_capped(file, MAX_TRUST_FILE_BYTES)?.ok_or_else(|| {
        std::io::Error::other(format!(
            "it holds more than {} MiB, which no trust file does",
            MAX_TRUST_FILE_BYTES >> 20
        ))
    })?;
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

fn read_file(path: &Path, what: &'static str, flag: &'static str) -> Result<String, TrustError> {
    read_small_file(path).map_err(|source| TrustError::ReadFile {
        path: path.to_owned(),
        what,
        flag,
        source,
    })
}

/// A private TUF repository's `root.json` (`--tuf-root`), checked as the
/// updater will start from it (parsed, signed to threshold by its own root
/// keys) before any request: a wrong file is the run's setup, not the
/// repository or the network, which a refresh's failure would blame.
fn read_tuf_root(path: &Path) -> Result<String, TrustError> {
    let json = read_file(path, "TUF root", "--tuf-root (action input `tuf-root`)")?;
    sigstore_tuf::TrustedMetadataSet::from_root(json.as_bytes()).map_err(|e| {
        TrustError::BadTufRoot {
            path: path.to_owned(),
            reason: crate::text::capped(&e.to_string(), crate::text::MESSAGE_CHARS),
        }
    })?;
    Ok(json)
}

/// A `trusted_root.json` (`--trusted-root`).
pub(crate) fn read_trusted_root(path: &Path) -> Result<TrustedRoot, TrustError> {
    let json = read_file(
        path,
        "trusted root",
        "--trusted-root (action input `trusted-root`)",
    )?;
    let root = TrustedRoot::from_json(&json).map_err(|source| TrustError::ParseFile {
        path: path.to_owned(),
        what: "trusted root",
        flag: "--trusted-root (action input `trusted-root`)",
        expected:
            "a trusted_root.json (protobuf-specs TrustedRoot, as `cosign --trusted-root` takes)",
        source,
    })?;
    match root_media_type(&root) {
        Ok(()) => Ok(root),
        Err(found) => Err(TrustError::TrustedRootMediaType {
            path: path.to_owned(),
            found: crate::text::echoed(found),
        }),
    }
}

/// A trusted root's media type: protobuf-specs' TrustedRoot v0.1, the one
/// there is. The crate reads any JSON object as a root (every list empty
/// when absent, unknown fields ignored), so another file, a trust config
/// among them, would pass for a root that trusts nothing and requires
/// nothing; sigstore-go refuses it (`pkg/root/trusted_root.go`).
pub(crate) const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";

/// `Err` holds the media type `root` has instead of [`TRUSTED_ROOT_MEDIA_TYPE`].
fn root_media_type(root: &TrustedRoot) -> Result<(), &str> {
    if root.media_type == TRUSTED_ROOT_MEDIA_TYPE {
        Ok(())
    } else {
        Err(&root.media_type)
    }
}

/// A trusted root a TUF repository gave, refused (as a reason, cut to a
/// line) when it is not one by its media type.
fn tuf_root(root: TrustedRoot) -> Result<TrustedRoot, String> {
    match root_media_type(&root) {
        Ok(()) => Ok(root),
        Err(found) => Err(format!(
            "its trusted root has mediaType `{}`, not `{TRUSTED_ROOT_MEDIA_TYPE}`",
            crate::text::line(crate::text::capped(found, 200))
        )),
    }
}

/// Refuse a signing config (`raw`, read from `path`) that lists logs or
/// timestamp authorities with no selector for them: protobuf's value for a
/// missing one is SERVICE_SELECTOR_UNDEFINED, which the client spec says to
/// refuse (as sigstore-go does), but the crate reads it as ANY. One given
/// as SERVICE_SELECTOR_UNDEFINED the crate keeps, and selection refuses.
/// A signing config fetched through TUF reaches us parsed, so there a
/// missing selector is read as the crate reads it.
fn missing_selector(raw: &serde_json::Value, path: &Path) -> Result<(), TrustError> {
    for (urls, field) in [
        ("rekorTlogUrls", "rekorTlogConfig"),
        ("tsaUrls", "tsaConfig"),
    ] {
        let listed = raw[urls].as_array().is_some_and(|u| !u.is_empty());
        if listed && raw[field]["selector"].is_null() {
            return Err(TrustError::Select(
                selection::SelectError::UndefinedSelector {
                    source_name: path.display().to_string(),
                    field,
                },
            ));
        }
    }
    Ok(())
}

/// `what` in `path` has the mediaType `expected`, not `found`.
fn media_type(
    path: &Path,
    what: &'static str,
    found: &str,
    expected: &'static str,
) -> Result<(), TrustError> {
    if found == expected {
        return Ok(());
    }
    // A file of another kind this product takes: the fix is the flag that
    // takes it, not another mediaType (which would not make it this kind).
    let fix = match found {
        TRUSTED_ROOT_MEDIA_TYPE => Some(("a TrustedRoot", "pass it to --trusted-root (action input `trusted-root`; to sign, with the instance's signing config in --signing-config)")),
        // `verify` has no --signing-config: a signing config trusts nothing.
        SIGNING_CONFIG_MEDIA_TYPE => Some(("a SigningConfig", "to sign, pass it to --signing-config (action input `signing-config`) with the instance's trusted root in --trusted-root; to verify, pass the instance's trusted root alone to --trusted-root (a signing config names services and trusts none)")),
        CLIENT_TRUST_CONFIG_MEDIA_TYPE => Some(("a ClientTrustConfig", "pass it to --trust-config (action input `trust-config`)")),
        _ => None,
    };
    Err(match fix {
        Some((kind, fix)) if what_is_a_file(what) => TrustError::FileOfAnotherKind {
            path: path.to_owned(),
            kind,
            what,
            fix,
        },
        _ => TrustError::MediaType {
            path: path.to_owned(),
            what,
            found: crate::text::echoed(found),
            expected,
        },
    })
}

/// Whether `what` (as [`media_type`] is told it) is a whole file, not a
/// member of one (a ClientTrustConfig's trustedRoot).
fn what_is_a_file(what: &str) -> bool {
    !what.starts_with("its ")
}

/// A SigningConfig v0.2 (`--signing-config`); the crate checks its media type.
fn read_signing_config(path: &Path) -> Result<SigningConfig, TrustError> {
    let json = read_file(
        path,
        "signing config",
        "--signing-config (action input `signing-config`)",
    )?;
    // Its media type first: a v0.1 file (bare URL lists, no selectors), or
    // another kind of file, is named as such, not sent after a selector it
    // lacks or a field of another shape.
    let raw = serde_json::from_str::<serde_json::Value>(&json).ok();
    if let Some(found) = raw.as_ref().and_then(|r| r["mediaType"].as_str()) {
        media_type(path, "the signing config", found, SIGNING_CONFIG_MEDIA_TYPE)?;
    }
    let config = as_protojson_reads(&json, raw.as_ref(), "", SigningConfig::from_json)
        .map_err(|source| TrustError::ParseFile {
            path: path.to_owned(),
            what: "signing config",
            flag: "--signing-config (action input `signing-config`)",
            expected: "a SigningConfig with mediaType application/vnd.dev.sigstore.signingconfig.v0.2+json (as `cosign --signing-config` takes)",
            source,
        })?;
    if let Some(raw) = &raw {
        missing_selector(raw, path)?;
    }
    Ok(config)
}

async fn well_known(
    instance: SigstoreInstance,
    name: &str,
    refresh: &Refresh,
    need: Need,
    cache: bool,
    warnings: &mut Vec<String>,
) -> Result<Fetched, TrustError> {
    let embedded = |e| TrustError::Embedded {
        instance: name.to_owned(),
        source: e,
    };
    // GitHub publishes a trusted root and no signing config: ours names its services.
    let fixed_signing = match instance {
        SigstoreInstance::GitHub => {
            Some(SigningConfig::from_json(GITHUB_SIGNING_CONFIG).map_err(embedded)?)
        }
        _ => None,
    };
    if let Refresh::Online(http) | Refresh::Required(http) = refresh {
        let config = TufConfig::for_instance(instance).with_http_client(http.clone());
        let config = if cache {
            config
        } else {
            config.without_cache()
        };
        let fixed_signing = &fixed_signing;
        let fetch = |config: TufConfig| async move {
            match (need, fixed_signing) {
                (Need::Root, _) => TrustedRoot::from_tuf(config).await.map(|root| (root, None)),
                (Need::RootAndSigningConfig, Some(signing)) => TrustedRoot::from_tuf(config)
                    .await
                    .map(|root| (root, Some(signing.clone()))),
                (Need::RootAndSigningConfig, None) => {
                    sigstore_trust_root::fetch_trust_material(config)
                        .await
                        .map(|(root, signing)| (root, Some(signing)))
                }
            }
        };
        // The embedded snapshot is there to fall back to only when signing.
        let within = match refresh {
            Refresh::Online(_) => TUF_TIMEOUT,
            _ => TUF_NO_FALLBACK_TIMEOUT,
        };
        let reason = match refreshed(config, fetch, within, warnings)
            .await
            .and_then(|(root, signing)| Ok((tuf_root(root)?, signing)))
        {
            Ok((root, signing)) => return Ok((name.to_owned(), root, signing)),
            Err(reason) => reason,
        };
        if let Refresh::Required(_) = refresh {
            return Err(TrustError::WellKnownRefresh {
                instance: name.to_owned(),
                reason,
            });
        }
        warnings.push(on_the_snapshot(name, &reason));
    }
    let root = instance.embedded_trusted_root().map_err(embedded)?;
    let signing = match (need, fixed_signing) {
        (Need::Root, _) => None,
        (Need::RootAndSigningConfig, Some(signing)) => Some(signing),
        (Need::RootAndSigningConfig, None) => Some(
            instance
                .embedded_signing_config()
                .map_err(embedded)?
                .ok_or_else(|| TrustError::NoSigningConfig {
                    instance: name.to_owned(),
                    flag: "--trust-config (action input `trust-config`)",
                })?,
        ),
    };
    Ok((name.to_owned(), root, signing))
}

/// Why a TUF load failed, cut to a line: the error quotes the repository's
/// metadata (a `_type` of half a megabyte).
fn tuf_reason(e: &sigstore_trust_root::Error) -> String {
    crate::text::capped(&e.to_string(), crate::text::MESSAGE_CHARS)
}

/// `fetch` (a TUF refresh) with `config`, or why it failed, `within` that
/// long; where the cache directory cannot be made (no home, a
/// read-only one, a file in its path: `HOME=/` in a container run as
/// another user), once more without a cache, with a warning: a refresh
/// needs none, and every online run failed, blaming the network.
async fn refreshed<T, Fut>(
    config: TufConfig,
    fetch: impl Fn(TufConfig) -> Fut,
    within: Duration,
    warnings: &mut Vec<String>,
) -> Result<T, String>
where
    Fut: std::future::Future<Output = Result<T, sigstore_trust_root::Error>>,
{
    match tokio::time::timeout(within, fetch(config.clone())).await {
        Ok(Err(e)) if cache_unusable(&e) => {
            let reason = tuf_reason(&e);
            let fetched = fetch_within(within, fetch(config.without_cache())).await;
            if fetched.is_ok() {
                warnings.push(format!(
                    "the TUF cache could not be made ({reason}), so trust material was refreshed without one, and --offline runs will not find it; fix: set XDG_CACHE_HOME (or HOME) to a directory this user can write"
                ));
            }
            fetched
        }
        fetched => within_or_why(within, fetched),
    }
}

/// Whether a refresh failed for want of a cache directory, not for anything
/// the repository did: sigstore-trust-root 0.15.1's own words (pinned), at
/// the start of its message. Regression: the words were looked for anywhere
/// in it, and a refusal quotes the repository's metadata, so a mirror's
/// answer holding them dropped the cache, and with it the versions a
/// rollback is refused against.
fn cache_unusable(e: &sigstore_trust_root::Error) -> bool {
    matches!(e, sigstore_trust_root::Error::Tuf(m)
        if m.starts_with("Failed to create cache directory: ")
            || m == "Could not determine cache directory")
}

/// `fetch` (a TUF refresh), or why it failed, `within` that long.
async fn fetch_within<T>(
    within: Duration,
    fetch: impl std::future::Future<Output = Result<T, sigstore_trust_root::Error>>,
) -> Result<T, String> {
    within_or_why(within, tokio::time::timeout(within, fetch).await)
}

/// What a refresh bounded by `within` came to, or why it failed.
fn within_or_why<T>(
    within: Duration,
    fetched: Result<Result<T, sigstore_trust_root::Error>, tokio::time::error::Elapsed>,
) -> Result<T, String> {
    match fetched {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(tuf_reason(&e)),
        Err(_) => Err(format!("timed out after {}s", within.as_secs())),
    }
}

/// The trust material a private TUF repository distributes (the signing
/// config only when `need` asks for it). Online, a failed refresh is an
/// error (nothing embedded to fall back to, and a stale cache must not pass
/// for fresh); offline, the cache verified by an earlier refresh is used,
/// or nothing.
async fn tuf_repository(
    url: &str,
    root: &Path,
    refresh: &Refresh,
    need: Need,
    cache: bool,
    warnings: &mut Vec<String>,
) -> Result<Fetched, TrustError> {
    let bytes = read_tuf_root(root)?;
    let config = TufConfig::custom(url, TufBootstrap::trusted(bytes));
    // Offline with no cache kept, the library refuses: the caller is told
    // no usable copy is cached, and nothing is written.
    let (cache_dir, stale_cache) = match cache.then(|| tuf_cache_dirs(url)).flatten() {
        Some((dir, stale)) => (Some(dir), stale),
        None => (None, None),
    };
    let config = match &cache_dir {
        Some(dir) => config.with_cache_dir(dir.clone()),
        // No cache directory can be found: the library says so itself.
        None if cache => config,
        None => config.without_cache(),
    };
    // Offline, the library would make the cache directory and store the
    // bootstrap root in it before finding nothing there: a dry run or an
    // --offline run writes nothing.
    if let (Refresh::Offline, Some(dir)) = (refresh, &cache_dir) {
        if !dir.join("timestamp.json").is_file() {
            return Err(TrustError::TufCache {
                url: url.to_owned(),
                reason: "nothing of it is cached on this machine".to_owned(),
            });
        }
    }
    let fetch = |config: TufConfig| async move {
        match need {
            Need::Root => TrustedRoot::from_tuf(config).await.map(|root| (root, None)),
            Need::RootAndSigningConfig => sigstore_trust_root::fetch_trust_material(config)
                .await
                .map(|(root, signing)| (root, Some(signing))),
        }
    };
    let (trusted_root, signing_config) = match refresh {
        Refresh::Offline => fetch(config.offline())
            .await
            .map_err(|e| TrustError::TufCache {
                url: url.to_owned(),
                reason: tuf_reason(&e),
            })?,
        Refresh::Online(http) | Refresh::Required(http) => {
            refreshed(
                config.with_http_client(http.clone()),
                fetch,
                TUF_NO_FALLBACK_TIMEOUT,
                warnings,
            )
            .await
            .map_err(|reason| {
                // The repository answered, and lists no signing config:
                // no re-run changes that.
                if need == Need::RootAndSigningConfig
                    && reason.contains(sigstore_trust_root::SIGNING_CONFIG_TARGET)
                    && reason.contains("not listed")
                {
                    TrustError::TufNoSigningConfig {
                        url: url.to_owned(),
                    }
                } else {
                    TrustError::TufRefresh {
                        url: url.to_owned(),
                        reason,
                    }
                }
            })?
        }
    };
    let trusted_root = tuf_root(trusted_root).map_err(|reason| TrustError::TufRefresh {
        url: url.to_owned(),
        reason,
    })?;
    // Refreshed into the cache named without the URL's credentials: the
    // one named with them (the crate's, or this tool's before it named its
    // own) holds a password in its name and is of no more use.
    if !matches!(refresh, Refresh::Offline) {
        if let Some(stale) = &stale_cache {
            if let Err(e) = remove_dir_if_real(stale) {
                warnings.push(format!(
                    "an older cache of this TUF repository, in {} and named after its URL with the user and password, could not be removed ({e}): remove it by hand",
                    stale.parent().map_or_else(String::new, |p| p.display().to_string())
                ));
            }
        }
    }
    Ok((url.to_owned(), trusted_root, signing_config))
}

/// Remove the directory `dir` and what it holds, if it is one (a link in
/// its place is left alone: what it leads to is not the cache's).
fn remove_dir_if_real(dir: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(dir),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The Rekor API version `--rekor-url` `url` speaks when `--rekor-version`
/// does not say: the one the signing config lists it with, else 1 (a log
/// the config does not list says nothing of its API; v1 is what every
/// Rekor deployment speaks). Regression: always 1, so a v2 log of the
/// config named by its URL was asked v1's API (a 404, after the
/// certificate was issued).
fn rekor_url_version(config: &SigningConfig, url: &str) -> RekorVersion {
    let same = |a: &str| a.trim_end_matches('/') == url.trim_end_matches('/');
    match config.rekor_tlog_urls.iter().find(|e| same(&e.url)) {
        Some(e) if e.major_api_version == 2 => RekorVersion::V2,
        _ => RekorVersion::V1,
    }
}

/// Where the TUF repository at `url` is cached: where sigstore-trust-root
/// 0.15.1 caches it (`<cache>/sigstore-rust/tuf/<URL, escaped>`, so a cache
/// it made is found), but named after the URL without its user and
/// password. The crate names the directory after the whole URL, and a
/// password there is readable by anyone who can list the cache. With it,
/// where `url` carries a user or password, the directory named after it
/// whole (the crate's, or this tool's before it named its own), which a
/// refresh removes. `None` where no cache directory can be found (no
/// `HOME`).
fn tuf_cache_dirs(url: &str) -> Option<(PathBuf, Option<PathBuf>)> {
    let dirs = directories::ProjectDirs::from("dev", "sigstore", "sigstore-rust")?;
    let tuf = dirs.cache_dir().join("tuf");
    match reqwest::Url::parse(url) {
        Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
            // Only a URL that cannot have them refuses these.
            let _ = u.set_username("");
            let _ = u.set_password(None);
            Some((
                tuf.join(tuf_dirname(u.as_str())),
                Some(tuf.join(tuf_dirname(url))),
            ))
        }
        _ => Some((tuf.join(tuf_dirname(url)), None)),
    }
}

/// sigstore-trust-root 0.15.1's `url_to_dirname` (private there): the URL
/// less its trailing slashes, every byte but `[A-Za-z0-9._-]` as `%XX`.
fn tuf_dirname(url: &str) -> String {
    let mut name = String::new();
    for &byte in url.trim_end_matches('/').as_bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => name.push(byte as char),
            _ => name.push_str(&format!("%{byte:02X}")),
        }
    }
    name
}

/// The services of `config` (chosen by [`selection::select`] at the current
/// time), with the flags' overrides applied and what this signer cannot do
/// refused: one transparency log entry and at most one timestamp per bundle.
fn select_services(
    settings: &InstanceSettings,
    config: &SigningConfig,
    name: &str,
) -> Result<Services, TrustError> {
    let rekor_major = settings.rekor_version.map(|v| match v {
        RekorVersion::V1 => 1,
        RekorVersion::V2 => 2,
    });
    // A URL flag replaces the config's entries of that kind, selector
    // included: they are neither chosen nor judged.
    let replaced = selection::Replaced {
        ca: settings.fulcio_url.is_some(),
        tlog: settings.rekor_url.is_some(),
        tsa: settings.tsa_url.is_some(),
    };
    let selection = selection::select(
        config,
        jiff::Timestamp::now(),
        selection::SUPPORTED,
        rekor_major,
        replaced,
        name,
    )
    .map_err(|source| match source {
        // The flag, not the config, narrowed the versions: say so.
        selection::SelectError::NoneUsable {
            field: "rekorTlogUrls",
            why,
            ..
        } if settings.rekor_version.is_some() && settings.rekor_url.is_none() => {
            TrustError::MissingRekorVersion {
                instance: name.into(),
                version: settings.rekor_version.unwrap_or(RekorVersion::V1),
                // Each log's own reason: an ended one is not the version's fault.
                why: Some(why),
            }
        }
        source => TrustError::Select(source),
    })?;
    let fulcio = match (&settings.fulcio_url, selection.ca()) {
        (Some(url), _) => url.clone(),
        (None, Some(ca)) => ca.url.clone(),
        (None, None) => {
            return Err(TrustError::MissingService {
                instance: name.into(),
                service: "Fulcio",
                flag: "--fulcio-url",
            })
        }
    };
    // Each URL the config chose (a flag's is checked where it is read).
    let mut chosen: Vec<(&'static str, &str)> = Vec::new();
    if settings.fulcio_url.is_none() {
        chosen.push(("caUrls", &fulcio));
    }
    if settings.rekor_url.is_none() {
        chosen.extend(
            selection
                .tlogs
                .chosen
                .iter()
                .map(|l| ("rekorTlogUrls", l.url.as_str())),
        );
    }
    if settings.tsa_url.is_none() {
        chosen.extend(
            selection
                .tsas
                .chosen
                .iter()
                .map(|t| ("tsaUrls", t.url.as_str())),
        );
    }
    if let Some((field, url)) = chosen
        .into_iter()
        .find(|(_, u)| !crate::vocab::is_http_url(u))
    {
        return Err(TrustError::BadServiceUrl {
            instance: name.into(),
            field,
            url: crate::text::line(crate::text::capped(url, 200)),
        });
    }
    if !crate::net::secret_may_go_to(&fulcio) {
        return Err(TrustError::CleartextToken {
            url: fulcio,
            from: match settings.fulcio_url {
                Some(_) => "--fulcio-url",
                None => "the signing config's caUrls",
            },
        });
    }
    let rekor = match &settings.rekor_url {
        Some(url) => Some(LogService {
            url: url.clone(),
            version: settings
                .rekor_version
                .unwrap_or_else(|| rekor_url_version(config, url)),
        }),
        // An instance that lists no log keeps none (GitHub's), and a Rekor
        // version asked for then has nothing to apply to.
        None if config.rekor_tlog_urls.is_empty() => match settings.rekor_version {
            Some(version) => {
                return Err(TrustError::MissingRekorVersion {
                    instance: name.into(),
                    version,
                    why: None,
                })
            }
            None => None,
        },
        None => {
            let logs = &selection.tlogs;
            if logs.chosen.len() > 1 {
                return Err(TrustError::SeveralLogs {
                    instance: name.into(),
                    selector: logs.selector.clone(),
                    count: logs.chosen.len(),
                });
            }
            let log = logs
                .chosen
                .first()
                .ok_or_else(|| TrustError::MissingService {
                    instance: name.into(),
                    service: "Rekor",
                    flag: "--rekor-url",
                })?;
            let version = if log.major_api_version == 2 {
                RekorVersion::V2
            } else {
                RekorVersion::V1
            };
            Some(LogService {
                url: log.url.clone(),
                version,
            })
        }
    };
    let tsa = match &settings.tsa_url {
        Some(url) => Some(url.clone()),
        None if selection.tsas.chosen.len() > 1 => {
            return Err(TrustError::SeveralTimestamps {
                instance: name.into(),
                selector: selection.tsas.selector.clone(),
                count: selection.tsas.chosen.len(),
            })
        }
        None => selection.tsas.chosen.first().map(|t| t.url.clone()),
    };
    match (&rekor, &tsa) {
        (Some(log), None) if log.version == RekorVersion::V2 => {
            return Err(TrustError::V2WithoutTsa {
                instance: name.into(),
            })
        }
        (None, None) => {
            return Err(TrustError::NoLogWithoutTsa {
                instance: name.into(),
            })
        }
        _ => {}
    }
    Ok(Services {
        fulcio,
        rekor,
        tsa,
        selection: Some(selection),
    })
}

#[cfg(test)]
mod tests {

    /// What protojson leaves out is filled in only where it is missing,
    /// never by making members, and a value of any shape is taken as it
    /// is. Regression: a trust config of another shape (an array) panicked,
    /// found by the fuzz corpus.
    #[test]
    fn protojson_defaults_fill_only_what_is_missing() {
        let text = r#"{"rekorTlogUrls":[{"url":"https://a"},{"url":"https://b","majorApiVersion":1}],"tsaConfig":{"selector":3}}"#;
        let mut config: serde_json::Value = serde_json::from_str(text).unwrap();
        assert!(protojson_defaults(text, &mut config));
        assert_eq!(config["rekorTlogUrls"][0]["majorApiVersion"], 0);
        assert_eq!(config["rekorTlogUrls"][1]["majorApiVersion"], 1);
        assert_eq!(config["tsaConfig"]["selector"], "EXACT");
        assert!(config.get("caUrls").is_none() && config.get("rekorTlogConfig").is_none());
        for other in [
            "[1, 2]",
            "\"x\"",
            "null",
            r#"{"tsaConfig": [1]}"#,
            r#"{"caUrls": {"a": 1}}"#,
        ] {
            let mut v: serde_json::Value = serde_json::from_str(other).unwrap();
            let before = v.clone();
            assert!(!protojson_defaults(other, &mut v), "{other}");
            assert_eq!(v, before, "{other}");
        }
        for shape in ["[]", "\"x\"", r#"{"mediaType": 1, "signingConfig": [1]}"#] {
            assert!(ClientTrustConfig::from_json(shape, Path::new("t.json")).is_err());
        }
        // A key given twice is never read from a value.
        let twice = r#"{"rekorTlogUrls":[{"url":"https://a","url":"https://b"}]}"#;
        let mut config: serde_json::Value = serde_json::from_str(twice).unwrap();
        assert!(!protojson_defaults(twice, &mut config));
    }
    use super::*;

    /// Public-good's and staging's hosts, whatever their case or a final
    /// dot, are public; a look-alike domain or a private host is not.
    #[test]
    fn public_deployments_are_known_by_their_domain() {
        for (url, expected) in [
            ("https://rekor.sigstore.dev", Some("public-good")),
            ("https://log2025-1.rekor.sigstore.dev/", Some("public-good")),
            ("https://FULCIO.SIGSTORE.DEV.", Some("public-good")),
            ("https://fulcio.sigstage.dev", Some("staging")),
            ("https://sigstore.dev.example.com", None),
            ("https://notsigstore.dev", None),
            ("https://fulcio.githubapp.com", None),
            ("http://127.0.0.1:8080", None),
            ("not a url", None),
        ] {
            assert_eq!(public_deployment_of(url), expected, "{url}");
        }
        let services = |fulcio: &str, rekor: Option<&str>| Services {
            fulcio: fulcio.to_owned(),
            rekor: rekor.map(|url| LogService {
                url: url.to_owned(),
                version: RekorVersion::V1,
            }),
            tsa: Some("https://timestamp.sigstore.dev/api/v1/timestamp".to_owned()),
            selection: None,
        };
        assert_eq!(
            services(
                "https://fulcio.internal",
                Some("https://rekor.sigstore.dev")
            )
            .public_deployment(),
            Some("public-good")
        );
        assert_eq!(
            services("https://fulcio.internal", None).public_deployment(),
            None
        );
        // By name, before the services are known.
        assert_eq!(
            BaseInstance::PublicGood.public_deployment(),
            Some("public-good")
        );
        assert_eq!(BaseInstance::Staging.public_deployment(), Some("staging"));
        assert_eq!(BaseInstance::GitHub.public_deployment(), None);
    }

    fn endpoint(url: &str, v: u32) -> serde_json::Value {
        serde_json::json!({"url": url, "majorApiVersion": v, "operator": "op", "validFor": {"start": "2020-01-01T00:00:00Z"}})
    }

    fn trust_config(rekors: &[(&str, u32)], tsa: bool) -> String {
        let root: serde_json::Value =
            serde_json::from_str(SigstoreInstance::PublicGood.embedded_trusted_root_json())
                .unwrap();
        serde_json::json!({
            "mediaType": CLIENT_TRUST_CONFIG_MEDIA_TYPE,
            "trustedRoot": root,
            "signingConfig": {
                "mediaType": SIGNING_CONFIG_MEDIA_TYPE,
                "caUrls": [endpoint("http://127.0.0.1:1", 1)],
                "rekorTlogUrls": rekors.iter().map(|(u, v)| endpoint(u, *v)).collect::<Vec<_>>(),
                "tsaUrls": if tsa { vec![endpoint("http://127.0.0.1:4/api/v1/timestamp", 1)] } else { vec![] },
                "rekorTlogConfig": {"selector": "ANY"},
                "tsaConfig": {"selector": "ANY"},
            }
        })
        .to_string()
    }

    /// The chosen log's URL and version (the instance must have one).
    fn log(i: &Instance) -> (&str, RekorVersion) {
        let l = i.services.rekor.as_ref().expect("a log");
        (l.url.as_str(), l.version)
    }

    fn settings(path: &Path) -> InstanceSettings {
        base_settings(BaseInstance::TrustConfig(path.to_owned()))
    }

    /// `base` with the TUF cache on and no service flag.
    fn base_settings(base: BaseInstance) -> InstanceSettings {
        InstanceSettings {
            tuf_cache: true,
            base,
            fulcio_url: None,
            rekor_url: None,
            rekor_version: None,
            tsa_url: None,
        }
    }

    async fn load_json(
        json: &str,
        tweak: impl FnOnce(&mut InstanceSettings),
    ) -> Result<Instance, TrustError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.json");
        std::fs::write(&path, json).unwrap();
        let mut s = settings(&path);
        tweak(&mut s);
        load(&s, Refresh::Offline).await
    }

    /// A signing config listing logs or timestamp authorities with no
    /// selector for them is refused, as the client spec asks and
    /// sigstore-go does. Regression: the crate read it as ANY, and one of
    /// several TSAs was used where `EXACT` (its count given) was meant.
    #[tokio::test]
    async fn a_signing_config_without_a_selector_is_refused() {
        let good: serde_json::Value =
            serde_json::from_str(&trust_config(&[("http://127.0.0.1:2", 1)], true)).unwrap();
        for (field, value) in [
            ("rekorTlogConfig", serde_json::Value::Null),
            ("tsaConfig", serde_json::json!({"count": 2})),
            (
                "tsaConfig",
                serde_json::json!({"selector": "SERVICE_SELECTOR_UNDEFINED"}),
            ),
        ] {
            let mut config = good.clone();
            let signing = config["signingConfig"].as_object_mut().unwrap();
            match &value {
                serde_json::Value::Null => signing.remove(field),
                v => signing.insert(field.to_owned(), v.clone()),
            };
            let undefined = |e: &TrustError| matches!(e, TrustError::Select(selection::SelectError::UndefinedSelector { field: f, .. }) if *f == field);
            let e = load_json(&config.to_string(), |_| {}).await.unwrap_err();
            assert!(undefined(&e), "{field}: {e}");
            assert!(e.is_usage());
            // The same as a --signing-config file.
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("signing.json");
            std::fs::write(&path, config["signingConfig"].to_string()).unwrap();
            let files = BaseInstance::Files {
                signing_config: path,
                trusted_root: dir.path().join("root.json"),
            };
            std::fs::write(
                dir.path().join("root.json"),
                config["trustedRoot"].to_string(),
            )
            .unwrap();
            let e = load(&base_settings(files), Refresh::Offline)
                .await
                .unwrap_err();
            assert!(undefined(&e), "{field}: {e}");
            // A verifier reads the trusted root alone: no refusal.
            let trust = dir.path().join("trust.json");
            std::fs::write(&trust, config.to_string()).unwrap();
            assert!(
                material(&BaseInstance::TrustConfig(trust), Refresh::Offline)
                    .await
                    .is_ok()
            );
        }
        // No service of a kind: nothing to choose, no selector needed.
        let mut none = good.clone();
        let signing = none["signingConfig"].as_object_mut().unwrap();
        signing.insert("tsaUrls".into(), serde_json::json!([]));
        signing.remove("tsaConfig");
        assert!(load_json(&none.to_string(), |_| {}).await.is_ok());
    }

    /// A `--tuf-root` that is not a TUF root (a trusted_root.json given in
    /// its place, or one its own keys did not sign) is the run's setup, said
    /// before any request. Regression: only the file's reading was checked,
    /// so the token was fetched first and the refresh then failed, blaming
    /// the network (exit 1), a dry run passed, and `--offline` said to fill
    /// the cache.
    #[tokio::test]
    async fn a_tuf_root_that_is_not_one_is_refused_before_any_request() {
        let dir = tempfile::tempdir().unwrap();
        let unsigned = serde_json::json!({
            "signed": {"_type": "root", "spec_version": "1.0", "version": 1,
                       "expires": "2100-01-01T00:00:00Z", "consistent_snapshot": true,
                       "keys": {}, "roles": {
                           "root": {"keyids": [], "threshold": 1},
                           "targets": {"keyids": [], "threshold": 1},
                           "snapshot": {"keyids": [], "threshold": 1},
                           "timestamp": {"keyids": [], "threshold": 1}}},
            "signatures": []
        });
        for (name, bytes) in [
            (
                "trusted_root.json",
                sigstore_trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT.to_owned(),
            ),
            ("unsigned.json", unsigned.to_string()),
            ("garbage.json", "not json".to_owned()),
        ] {
            let root = dir.path().join(name);
            std::fs::write(&root, bytes).unwrap();
            let s = InstanceSettings {
                tuf_cache: false,
                base: BaseInstance::Tuf {
                    url: "https://tuf.invalid".to_owned(),
                    root: root.clone(),
                },
                fulcio_url: None,
                rekor_url: None,
                rekor_version: None,
                tsa_url: None,
            };
            let e = load_local(&s).await.unwrap_err();
            assert!(matches!(e, TrustError::BadTufRoot { .. }), "{name}: {e:?}");
            assert!(e.is_usage(), "{name}");
            let told = e.to_string();
            assert!(told.contains(name) && told.contains("--tuf-root"), "{told}");
            // A dry run reads it offline: the same refusal.
            let e = load(&s, Refresh::Offline).await.unwrap_err();
            assert!(matches!(e, TrustError::BadTufRoot { .. }), "{name}: {e:?}");
        }
    }

    /// Public-good's embedded signing config lists only its v1 log, and
    /// its TUF listing may name a v2 one: `--rekor-version 2` is left to
    /// the refreshed listing, not refused on the snapshot before any
    /// request. Regression: it was refused, so no run could log to v2.
    #[tokio::test]
    async fn a_choice_the_embedded_snapshot_refuses_waits_for_the_refresh() {
        let s = |base| InstanceSettings {
            tuf_cache: false,
            base,
            fulcio_url: None,
            rekor_url: None,
            rekor_version: Some(RekorVersion::V2),
            tsa_url: None,
        };
        let public_good = s(BaseInstance::PublicGood);
        assert!(matches!(
            load(&public_good, Refresh::Offline).await,
            Err(TrustError::MissingRekorVersion { .. })
        ));
        assert!(load_local(&public_good).await.unwrap().is_none());
        // Its refresh failing, both are said. Regression: only the
        // snapshot's refusal was, as if the listing lacked a v2 log.
        let down = reqwest::Client::builder()
            .proxy(reqwest::Proxy::all("http://127.0.0.1:9").unwrap())
            .build()
            .unwrap();
        let e = refresh(&public_good, None, down).await.unwrap_err();
        assert!(
            matches!(&e, TrustError::SnapshotRefusesAfterFailedRefresh { refused, .. }
                if matches!(**refused, TrustError::MissingRekorVersion { .. })),
            "{e:?}"
        );
        assert!(!e.is_usage(), "{e}");
        let told = e.to_string();
        assert!(
            told.starts_with("public-good's TUF refresh failed (")
                && told.contains("; or check the network and run again"),
            "{told}"
        );
        // GitHub's services are ours, not TUF's: refused as before.
        let e = load_local(&s(BaseInstance::GitHub)).await.unwrap_err();
        assert!(e.judges_the_listing() && e.is_usage(), "{e}");
    }

    /// A `--signing-config` of another media type (v0.1's, with bare URL
    /// lists and no selectors) is named as such. Regression: it was told it
    /// lacked a selector, and adding one led only to the real error.
    #[test]
    fn a_signing_config_of_another_media_type_is_named_before_its_selectors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.json");
        std::fs::write(
            &path,
            r#"{"mediaType":"application/vnd.dev.sigstore.signingconfig.v0.1+json","caUrl":"https://fulcio.example","tlogUrls":["https://rekor.example"],"tsaUrls":["https://tsa.example/api/v1/timestamp"]}"#,
        )
        .unwrap();
        let e = read_signing_config(&path).unwrap_err();
        assert!(matches!(e, TrustError::MediaType { .. }), "{e:?}");
        let told = e.to_string();
        assert!(
            told.contains("signing.json")
                && told.contains("v0.1+json")
                && told.contains("fix: use `application/vnd.dev.sigstore.signingconfig.v0.2+json`"),
            "{told}"
        );
    }

    /// The same in a trust config: its signingConfig in v0.1's shape is
    /// named by its media type. Regression: the whole file was said not to
    /// be a ClientTrustConfig, for a field of the wrong shape.
    #[tokio::test]
    async fn a_trust_configs_signing_config_of_another_media_type_is_named() {
        let mut config: serde_json::Value =
            serde_json::from_str(&trust_config(&[("http://127.0.0.1:2", 1)], true)).unwrap();
        config["signingConfig"] = serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.1+json",
            "caUrl": "https://fulcio.example",
            "tlogUrls": ["https://rekor.example"],
            "tsaUrls": ["https://tsa.example/api/v1/timestamp"],
        });
        let e = load_json(&config.to_string(), |_| {}).await.unwrap_err();
        assert!(
            matches!(
                &e,
                TrustError::MediaType {
                    what: "its signingConfig",
                    ..
                }
            ),
            "{e:?}"
        );
        let told = e.to_string();
        assert!(
            told.contains("trust.json") && told.contains("v0.1+json"),
            "{told}"
        );
        // A key given twice is still refused, as the typed parse does.
        let twice = trust_config(&[("http://127.0.0.1:2", 1)], true).replacen(
            "{",
            &format!("{{\"mediaType\":\"{CLIENT_TRUST_CONFIG_MEDIA_TYPE}\","),
            1,
        );
        let e = load_json(&twice, |_| {}).await.unwrap_err();
        assert!(matches!(e, TrustError::ParseTrustConfig { .. }), "{e:?}");
    }

    /// A service URL from the signing config without a scheme or a host is
    /// refused as such, when loaded. Regression: a Fulcio's was said to be
    /// "plain http", and a log's or TSA's failed only when first asked,
    /// after the certificate was issued.
    #[tokio::test]
    async fn a_service_url_without_scheme_or_host_is_refused() {
        let good: serde_json::Value =
            serde_json::from_str(&trust_config(&[("http://127.0.0.1:2", 1)], true)).unwrap();
        for (field, url) in [
            ("caUrls", "fulcio.example.com"),
            ("rekorTlogUrls", "rekor.example.com/api"),
            ("tsaUrls", "ftp://tsa.example/ts"),
        ] {
            let mut config = good.clone();
            config["signingConfig"][field][0]["url"] = url.into();
            let e = load_json(&config.to_string(), |_| {}).await.unwrap_err();
            assert!(
                matches!(&e, TrustError::BadServiceUrl { field: f, .. } if *f == field),
                "{field}: {e}"
            );
            assert!(e.to_string().contains(url), "{e}");
        }
    }

    /// A trusted root the verifier cannot be built from is refused when
    /// loaded (so by a dry run, before any token): a window that ends
    /// before it starts, an authority without a certificate. Regression:
    /// loading and `--dry-run` passed, and the run failed after fetching a
    /// token.
    #[tokio::test]
    async fn a_trusted_root_the_verifier_refuses_is_refused_when_loaded() {
        let good: serde_json::Value =
            serde_json::from_str(&trust_config(&[("http://127.0.0.1:2", 1)], true)).unwrap();
        let mut backwards = good.clone();
        backwards["trustedRoot"]["tlogs"][0]["publicKey"]["validFor"] =
            serde_json::json!({"start": "2025-01-01T00:00:00Z", "end": "2024-01-01T00:00:00Z"});
        let mut empty_tsa = good.clone();
        empty_tsa["trustedRoot"]["timestampAuthorities"] = serde_json::json!([{
            "subject": {"organization": "x", "commonName": "x"},
            "certChain": {"certificates": []},
            "validFor": {"start": "2020-01-01T00:00:00Z"},
        }]);
        for config in [backwards, empty_tsa] {
            let e = load_json(&config.to_string(), |_| {}).await.unwrap_err();
            assert!(matches!(e, TrustError::UnusableRoot { .. }), "{e}");
            assert!(e.is_usage());
        }
        assert!(load_json(&good.to_string(), |_| {}).await.is_ok());
    }

    /// A TSA whose every listed authority's certificate breaks RFC 3161
    /// §2.3 (here: a second extended key usage) is refused up front, as
    /// cosign and sigstore-python would refuse its timestamps; one such
    /// authority beside a compliant one is not (the service may be
    /// either). Regression: signed, and only sigstore-tsa accepted it.
    #[tokio::test]
    async fn a_tsa_whose_certificate_may_not_sign_timestamps_is_refused() {
        use base64::Engine as _;
        let authority = |ekus: &[x509_cert::der::asn1::ObjectIdentifier],
                         encipher: bool,
                         valid_for: serde_json::Value| {
            let tsa = releasekit_sandbox::tsa::TimestampAuthority::generate_with(
                std::time::SystemTime::now(),
                ekus,
                encipher,
            );
            serde_json::json!({
                "subject": {"organization": "x", "commonName": "x"},
                "certChain": {"certificates": tsa.chain_der().iter().map(|der| {
                    serde_json::json!({"rawBytes": base64::engine::general_purpose::STANDARD.encode(der)})
                }).collect::<Vec<_>>()},
                "validFor": valid_for,
            })
        };
        let current = serde_json::json!({"start": "2020-01-01T00:00:00Z"});
        let chain = |ekus: &[x509_cert::der::asn1::ObjectIdentifier]| {
            authority(ekus, false, current.clone())
        };
        let stamping = x509_cert::der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
        let signing = x509_cert::der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
        let mut config: serde_json::Value =
            serde_json::from_str(&trust_config(&[("http://127.0.0.1:2", 1)], true)).unwrap();
        config["trustedRoot"]["timestampAuthorities"] =
            serde_json::json!([chain(&[stamping, signing])]);
        let e = load_json(&config.to_string(), |_| {}).await.unwrap_err();
        assert!(matches!(e, TrustError::TsaCertificate { .. }), "{e}");
        assert!(e.is_usage());
        assert!(
            e.to_string()
                .contains("(its extended key usage is not timeStamping alone;"),
            "{e}"
        );
        config["trustedRoot"]["timestampAuthorities"] =
            serde_json::json!([chain(&[stamping, signing]), chain(&[stamping])]);
        assert!(load_json(&config.to_string(), |_| {}).await.is_ok());
        config["trustedRoot"]["timestampAuthorities"] = serde_json::json!([chain(&[stamping])]);
        assert!(load_json(&config.to_string(), |_| {}).await.is_ok());
        // A key usage beyond signing (OpenSSL's timestamp-signing purpose,
        // which sigstore-python verifies with, refuses it).
        config["trustedRoot"]["timestampAuthorities"] =
            serde_json::json!([authority(&[stamping], true, current.clone())]);
        let e = load_json(&config.to_string(), |_| {}).await.unwrap_err();
        assert!(
            e.to_string()
                .contains("(its key usage is not signing alone;"),
            "{e}"
        );
        // An authority whose validity ended vouches for nothing signed now:
        // it does not stand for one that may not sign.
        let ended =
            serde_json::json!({"start": "2020-01-01T00:00:00Z", "end": "2021-01-01T00:00:00Z"});
        config["trustedRoot"]["timestampAuthorities"] = serde_json::json!([
            authority(&[stamping], false, ended.clone()),
            chain(&[stamping, signing])
        ]);
        let e = load_json(&config.to_string(), |_| {}).await.unwrap_err();
        assert!(matches!(e, TrustError::TsaCertificate { .. }), "{e}");
        config["trustedRoot"]["timestampAuthorities"] =
            serde_json::json!([authority(&[stamping], false, ended)]);
        // None valid now: the trusted root is out of date, and said so.
        // Regression: "its certificate may not sign timestamps", with a fix
        // for the operator.
        let e = load_json(&config.to_string(), |_| {}).await.unwrap_err();
        assert!(matches!(e, TrustError::NoTsaValidNow { .. }), "{e}");
        assert!(e.is_usage());
        let said = e.to_string();
        assert!(
            said.contains("lists no timestamp authority valid now")
                && said.contains("pass the instance's current trusted root")
                && !said.contains("extended key usage"),
            "{said}"
        );
        // Without a TSA to sign with, its authorities are not judged.
        config["trustedRoot"]["timestampAuthorities"] =
            serde_json::json!([chain(&[stamping, signing])]);
        config["signingConfig"]["tsaUrls"] = serde_json::json!([]);
        assert!(load_json(&config.to_string(), |_| {}).await.is_ok());
    }

    /// A TSA the trusted root lists no authority for is refused up front,
    /// like a log it lists no key for: every bundle would carry a timestamp
    /// no verifier can check, and fail its self-verification only after its
    /// log entry was made. Regression: the run signed and logged each.
    #[tokio::test]
    async fn a_tsa_the_root_cannot_verify_is_refused() {
        let mut config: serde_json::Value =
            serde_json::from_str(&trust_config(&[("http://127.0.0.1:2", 1)], true)).unwrap();
        config["trustedRoot"]["timestampAuthorities"] = serde_json::json!([]);
        let e = load_json(&config.to_string(), |_| {}).await.unwrap_err();
        assert!(matches!(e, TrustError::TsaNotInRoot { .. }), "{e}");
        assert!(
            e.to_string()
                .contains("http://127.0.0.1:4/api/v1/timestamp"),
            "{e}"
        );
        // Also when the flag names it; without a TSA, the log's time serves.
        let e = load_json(&config.to_string(), |s| {
            s.tsa_url = Some("https://tsa.example/api/v1/timestamp".into())
        })
        .await
        .unwrap_err();
        assert!(matches!(e, TrustError::TsaNotInRoot { .. }), "{e}");
        config["signingConfig"]["tsaUrls"] = serde_json::json!([]);
        assert!(load_json(&config.to_string(), |_| {}).await.is_ok());
    }

    /// A trust config path that names a FIFO, or a file far larger than any
    /// trust material, is refused at once, saying why: read whole, the one
    /// blocked the run for ever and the other took the memory it claims.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_fifo_or_a_huge_file_is_no_trust_config() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("trust.json");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // On a thread of its own: a read that blocks must fail the test, not hang it.
        let (tx, rx) = std::sync::mpsc::channel();
        let s = settings(&fifo);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            let _ = tx.send(runtime.block_on(load(&s, Refresh::Offline)));
        });
        let e = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a FIFO is refused, not read")
            .unwrap_err();
        assert!(
            matches!(e, TrustError::ReadTrustConfig { .. })
                && e.to_string().contains("a FIFO, not a regular file"),
            "{e}"
        );

        let huge = dir.path().join("huge.json");
        let f = std::fs::File::create(&huge).unwrap();
        f.set_len(MAX_TRUST_FILE_BYTES + 1).unwrap();
        let e = load(&settings(&huge), Refresh::Offline).await.unwrap_err();
        assert!(
            matches!(e, TrustError::ReadTrustConfig { .. })
                && e.to_string().contains("more than 8 MiB"),
            "{e}"
        );
    }

    /// The offline load of a trust config file is the run's instance: the
    /// file is read once (here it is gone before the refresh).
    #[tokio::test]
    async fn a_trust_config_file_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.json");
        std::fs::write(&path, trust_config(&[("http://127.0.0.1:2", 1)], false)).unwrap();
        let s = settings(&path);
        let offline = load(&s, Refresh::Offline).await.unwrap();
        std::fs::remove_file(&path).unwrap();
        let refreshed = refresh(&s, Some(offline), reqwest::Client::new())
            .await
            .unwrap();
        assert_eq!(log(&refreshed).0, "http://127.0.0.1:2");
        assert!(matches!(
            load(&s, Refresh::Offline).await,
            Err(TrustError::ReadTrustConfig { .. })
        ));
    }

    /// The spec's rule: the highest Rekor API version offered wins;
    /// `--rekor-version` narrows it.
    #[tokio::test]
    async fn the_highest_offered_rekor_version_wins_unless_the_flag_narrows() {
        let both = trust_config(
            &[("http://127.0.0.1:2", 1), ("http://127.0.0.1:3", 2)],
            true,
        );
        let i = load_json(&both, |_| {}).await.unwrap();
        assert_eq!(log(&i), ("http://127.0.0.1:3", RekorVersion::V2));
        assert_eq!(
            i.services.tsa.as_deref(),
            Some("http://127.0.0.1:4/api/v1/timestamp")
        );
        let chosen = i.services.selection.as_ref().unwrap();
        assert_eq!(
            chosen.tlogs.set_aside,
            [selection::NotChosen {
                index: 0,
                why: selection::SetAside::OlderVersion { version: 1 }
            }]
        );
        let i = load_json(&both, |s| s.rekor_version = Some(RekorVersion::V1))
            .await
            .unwrap();
        assert_eq!(log(&i), ("http://127.0.0.1:2", RekorVersion::V1));
    }

    /// ALL over two operators' logs would need two entries per bundle:
    /// refused, naming the fix, rather than silently writing one.
    #[tokio::test]
    async fn a_config_asking_for_two_logs_is_refused() {
        let json = trust_config(
            &[("http://127.0.0.1:2", 1), ("http://127.0.0.1:3", 1)],
            true,
        )
        .replacen("\"operator\":\"op\"", "\"operator\":\"other\"", 2)
        .replace("{\"selector\":\"ANY\"}", "{\"selector\":\"ALL\"}");
        let e = load_json(&json, |_| {}).await.unwrap_err();
        assert!(matches!(e, TrustError::SeveralLogs { count: 2, .. }), "{e}");
        assert!(e.to_string().contains("trust.json") && e.to_string().contains("fix:"));
        let i = load_json(&json, |s| s.rekor_url = Some("http://r".into()))
            .await
            .unwrap();
        assert_eq!(log(&i).0, "http://r");
    }

    /// A URL flag stands for its kind, selector included: `--rekor-url` and
    /// `--tsa-url` (the fix errors name) rescue a config asking for EXACT N;
    /// `--fulcio-url` one whose CA entries are all unusable. An OIDC list
    /// with nothing usable never refuses a config: no token comes from it.
    #[tokio::test]
    async fn url_flags_stand_for_their_kind_whatever_the_config_says() {
        let exact = trust_config(&[("http://127.0.0.1:2", 1)], true).replace(
            "{\"selector\":\"ANY\"}",
            "{\"selector\":\"EXACT\",\"count\":2}",
        );
        let e = load_json(&exact, |_| {}).await.unwrap_err();
        assert!(matches!(e, TrustError::Select(_)), "{e}");
        let i = load_json(&exact, |s| {
            s.rekor_url = Some("http://r".into());
            s.tsa_url = Some("http://t/ts".into());
        })
        .await
        .unwrap();
        assert_eq!(log(&i).0, "http://r");
        assert_eq!(i.services.tsa.as_deref(), Some("http://t/ts"));

        let no_ca = trust_config(&[("http://127.0.0.1:2", 1)], true).replacen(
            "\"majorApiVersion\":1",
            "\"majorApiVersion\":9",
            1,
        );
        let e = load_json(&no_ca, |_| {}).await.unwrap_err();
        assert!(e.to_string().contains("caUrls"), "{e}");
        let i = load_json(&no_ca, |s| s.fulcio_url = Some("https://f".into()))
            .await
            .unwrap();
        assert_eq!(i.services.fulcio, "https://f");

        let mut config: serde_json::Value =
            serde_json::from_str(&trust_config(&[("http://127.0.0.1:2", 1)], true)).unwrap();
        config["signingConfig"]["oidcUrls"] = serde_json::json!([endpoint("http://o", 2)]);
        let i = load_json(&config.to_string(), |_| {}).await.unwrap();
        assert_eq!(log(&i).0, "http://127.0.0.1:2");
    }

    /// `--rekor-version` with a log of that version listed but ended: the
    /// log's own reason is said, not only the version's. Regression: the
    /// fix offered was to drop --rekor-version, which changes nothing.
    #[tokio::test]
    async fn an_ended_log_is_told_as_ended_under_rekor_version() {
        let mut config: serde_json::Value =
            serde_json::from_str(&trust_config(&[("http://127.0.0.1:2", 1)], true)).unwrap();
        config["signingConfig"]["rekorTlogUrls"][0]["validFor"]["end"] =
            serde_json::json!("2021-01-01T00:00:00Z");
        let e = load_json(&config.to_string(), |s| {
            s.rekor_version = Some(RekorVersion::V1)
        })
        .await
        .unwrap_err();
        assert!(
            matches!(e, TrustError::MissingRekorVersion { .. })
                && e.to_string().contains("its validFor has ended"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn v2_only_config_selects_v2_and_v2_needs_a_tsa() {
        let i = load_json(&trust_config(&[("http://127.0.0.1:3", 2)], true), |_| {})
            .await
            .unwrap();
        assert_eq!(log(&i).1, RekorVersion::V2);
        let e = load_json(&trust_config(&[("http://127.0.0.1:3", 2)], false), |_| {})
            .await
            .unwrap_err();
        assert!(matches!(e, TrustError::V2WithoutTsa { .. }), "{e}");
        assert!(e.to_string().contains("--tsa-url"));
        let e = load_json(&trust_config(&[("http://127.0.0.1:2", 1)], true), |s| {
            s.rekor_version = Some(RekorVersion::V2)
        })
        .await
        .unwrap_err();
        assert!(matches!(e, TrustError::MissingRekorVersion { .. }), "{e}");
    }

    #[tokio::test]
    async fn flags_override_the_config() {
        let i = load_json(&trust_config(&[("http://127.0.0.1:2", 1)], false), |s| {
            s.fulcio_url = Some("https://f".into());
            s.rekor_url = Some("http://r".into());
            s.tsa_url = Some("http://t/ts".into());
        })
        .await
        .unwrap();
        let s = &i.services;
        assert_eq!(
            (s.fulcio.as_str(), log(&i), s.tsa.as_deref()),
            (
                "https://f",
                ("http://r", RekorVersion::V1),
                Some("http://t/ts")
            )
        );
    }

    /// The identity token goes to the CA over https, or plain http to this
    /// machine only, whether the URL comes from the flag or the config.
    /// Regression: any http:// URL took the token in the clear.
    #[tokio::test]
    async fn the_token_goes_to_no_plain_http_ca_but_this_machines() {
        let config = |ca: &str| {
            trust_config(&[("http://127.0.0.1:2", 1)], false).replace("http://127.0.0.1:1", ca)
        };
        for ca in [
            "http://127.0.0.1:9",
            "http://localhost:9",
            "http://[::1]:9",
            "https://ca.example",
        ] {
            load_json(&config(ca), |_| {}).await.unwrap();
            load_json(&config("https://x"), |s| s.fulcio_url = Some(ca.into()))
                .await
                .unwrap();
        }
        for ca in [
            "http://fulcio.example.com",
            "http://10.0.0.1",
            "http://localhost.example",
        ] {
            let e = load_json(&config(ca), |_| {})
                .await
                .unwrap_err()
                .to_string();
            assert!(
                e.contains(&format!(
                    "{ca} (from the signing config's caUrls) is plain http"
                )),
                "{e}"
            );
            let e = load_json(&config("https://x"), |s| s.fulcio_url = Some(ca.into()))
                .await
                .unwrap_err()
                .to_string();
            assert!(e.contains("(from --fulcio-url) is plain http"), "{e}");
            assert!(e.contains("fix: use its https:// URL"), "{e}");
        }
    }

    #[tokio::test]
    async fn errors_name_the_file_and_the_fix() {
        let e = load_json("{\"mediaType\": 1}", |_| {}).await.unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("trust.json") && msg.contains("fix:"), "{msg}");
        let wrong = trust_config(&[("http://127.0.0.1:2", 1)], true)
            .replace(CLIENT_TRUST_CONFIG_MEDIA_TYPE, "application/x");
        let e = load_json(&wrong, |_| {}).await.unwrap_err();
        assert!(
            matches!(e, TrustError::MediaType { .. }) && e.to_string().contains("trust.json"),
            "{e}"
        );
        let e = load(
            &settings(Path::new("/nonexistent/trust.json")),
            Refresh::Offline,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(e, TrustError::ReadTrustConfig { .. })
                && e.to_string().contains("/nonexistent/trust.json")
        );
    }

    /// The cache directory's name is the crate's (its own test's values),
    /// so a cache it made is found; a user and password are left out.
    #[test]
    fn a_tuf_cache_is_named_as_the_crate_names_it_less_credentials() {
        assert_eq!(
            tuf_dirname("https://tuf-repo-cdn.sigstore.dev/"),
            "https%3A%2F%2Ftuf-repo-cdn.sigstore.dev"
        );
        assert_eq!(tuf_dirname("abc-123_test.json"), "abc-123_test.json");
        let (Some((plain, none)), Some((with, stale))) = (
            tuf_cache_dirs("https://tuf.example/root"),
            tuf_cache_dirs("https://bob:s3cret@tuf.example/root"),
        ) else {
            return; // No cache directory on this machine.
        };
        assert_eq!(none, None);
        assert_eq!(plain, with);
        let stale = stale.unwrap();
        assert!(
            plain.ends_with("tuf/https%3A%2F%2Ftuf.example%2Froot"),
            "{plain:?}"
        );
        assert!(
            stale.ends_with("tuf/https%3A%2F%2Fbob%3As3cret%40tuf.example%2Froot"),
            "{stale:?}"
        );
    }

    /// With `--signing-config` and `--trusted-root`, an error about the
    /// trusted root names the trusted root's file too. Regression: only the
    /// signing config's was named, where there is no root to correct.
    #[tokio::test]
    async fn a_root_given_beside_a_signing_config_is_named_in_its_errors() {
        let config: serde_json::Value =
            serde_json::from_str(&trust_config(&[("http://127.0.0.1:2", 1)], true)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (signing, root) = (dir.path().join("sc.json"), dir.path().join("r.json"));
        std::fs::write(&signing, config["signingConfig"].to_string()).unwrap();
        let mut r = config["trustedRoot"].clone();
        r["certificateAuthorities"] = serde_json::json!([]);
        std::fs::write(&root, r.to_string()).unwrap();
        let e = load(
            &base_settings(BaseInstance::Files {
                signing_config: signing,
                trusted_root: root,
            }),
            Refresh::Offline,
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("r.json"), "{e}");
    }

    /// `--rekor-url` alone speaks the API version the signing config lists
    /// that URL with; a URL it does not list, v1; `--rekor-version` wins.
    /// Regression: always v1, so a v2 log of the config named by its URL
    /// was asked v1's API.
    #[tokio::test]
    async fn a_rekor_url_speaks_the_version_the_config_lists_it_with() {
        let v2 = "http://127.0.0.1:3";
        let json = trust_config(&[(v2, 2)], true);
        let at = |url: &'static str, version: Option<RekorVersion>| {
            let json = json.clone();
            async move {
                let i = load_json(&json, |s| {
                    s.rekor_url = Some(url.into());
                    s.rekor_version = version;
                })
                .await
                .unwrap();
                log(&i).1
            }
        };
        assert_eq!(at("http://127.0.0.1:3/", None).await, RekorVersion::V2);
        assert_eq!(at("http://127.0.0.1:4", None).await, RekorVersion::V1);
        assert_eq!(
            at("http://127.0.0.1:3", Some(RekorVersion::V1)).await,
            RekorVersion::V1
        );
    }

    /// A file of another kind this product takes, given where it takes
    /// another, is told to go to its own flag, and a media type from the
    /// file is repeated at most [`crate::text::ECHOED_CHARS`] long.
    /// Regression: a trusted root given to --trust-config was told to use
    /// a ClientTrustConfig's mediaType, which would not make it one.
    #[test]
    fn a_file_of_another_kind_is_sent_to_its_flag() {
        let config = trust_config(&[("http://127.0.0.1:2", 1)], true);
        let raw: serde_json::Value = serde_json::from_str(&config).unwrap();
        let path = Path::new("given.json");
        let root = raw["trustedRoot"].to_string();
        let e = ClientTrustConfig::from_json(&root, path).unwrap_err();
        assert!(
            matches!(
                e,
                TrustError::FileOfAnotherKind {
                    kind: "a TrustedRoot",
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            e.to_string().contains("given.json") && e.to_string().contains("--trusted-root"),
            "{e}"
        );
        let signing = raw["signingConfig"].to_string();
        let e = ClientTrustConfig::from_json(&signing, path).unwrap_err();
        assert!(
            e.to_string()
                .contains("to sign, pass it to --signing-config"),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("to verify, pass the instance's trusted root alone to --trusted-root"),
            "{e}"
        );
        let long = config.replacen(CLIENT_TRUST_CONFIG_MEDIA_TYPE, &"x".repeat(100_000), 1);
        let e = ClientTrustConfig::from_json(&long, path).unwrap_err();
        assert!(matches!(e, TrustError::MediaType { .. }), "{e}");
        assert!(e.to_string().len() < 1_000, "{} bytes", e.to_string().len());
    }

    /// A trusted root is one by its media type, alone (`--trusted-root`) or
    /// in a trust config: the crate reads any JSON object as a root that
    /// trusts nothing and requires nothing (no log, no SCT). Regression: a
    /// trust config given to `--trusted-root` was such a root.
    #[tokio::test]
    async fn a_trusted_root_of_another_media_type_is_refused() {
        let config = trust_config(&[("http://127.0.0.1:2", 1)], true);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.json");
        std::fs::write(&path, &config).unwrap();
        let e = read_trusted_root(&path).unwrap_err();
        assert!(
            matches!(e, TrustError::TrustedRootMediaType { .. })
                && e.to_string().contains("root.json")
                && e.to_string().contains("goes to --trust-config"),
            "{e}"
        );
        let root: serde_json::Value = serde_json::from_str(&config).unwrap();
        std::fs::write(&path, root["trustedRoot"].to_string()).unwrap();
        assert!(read_trusted_root(&path).is_ok());
        let wrong = config.replace(TRUSTED_ROOT_MEDIA_TYPE, "application/x\\n::error::");
        let e = load_json(&wrong, |_| {}).await.unwrap_err();
        assert!(
            matches!(
                &e,
                TrustError::MediaType {
                    what: "its trustedRoot",
                    ..
                }
            ),
            "{e}"
        );
        assert!(!e.to_string().contains('\n'), "{e}");
    }

    /// GitHub's instance: its embedded trusted root (no logs, no CT logs, so
    /// a verifier requires neither), Fulcio and the TSA at githubapp.com, no
    /// log.
    #[tokio::test]
    async fn github_signs_with_fulcio_and_a_tsa_and_no_log() {
        let s = base_settings(BaseInstance::GitHub);
        let i = load(&s, Refresh::Offline).await.unwrap();
        assert_eq!(i.services.fulcio, "https://fulcio.githubapp.com");
        assert_eq!(i.services.rekor, None);
        // A Rekor version asked of an instance without logs is not ignored.
        let e = load(
            &InstanceSettings {
                tuf_cache: true,
                rekor_version: Some(RekorVersion::V2),
                ..s.clone()
            },
            Refresh::Offline,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, TrustError::MissingRekorVersion { .. }), "{e}");
        // Nor is a log its trusted root could not verify an entry of.
        let e = load(
            &InstanceSettings {
                tuf_cache: true,
                rekor_url: Some("https://rekor.example.com".into()),
                rekor_version: Some(RekorVersion::V1),
                ..s.clone()
            },
            Refresh::Offline,
        )
        .await
        .unwrap_err();
        assert!(matches!(e, TrustError::LogNotInRoot { .. }), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("https://rekor.example.com"), "{msg}");
        // The log may come from the flag or from the signing config.
        assert!(
            msg.contains("drop --rekor-url, or the signing config's rekorTlogUrls"),
            "{msg}"
        );
        assert_eq!(
            i.services.tsa.as_deref(),
            Some("https://timestamp.githubapp.com/api/v1/timestamp")
        );
        assert_eq!(
            Requirements::of(&i.trusted_root),
            Requirements {
                log_entry: false,
                sct: false
            }
        );
        let public = SigstoreInstance::PublicGood
            .embedded_trusted_root()
            .unwrap();
        assert_eq!(
            Requirements::of(&public),
            Requirements {
                log_entry: true,
                sct: true
            }
        );
    }

    /// A signing config without logs is only usable with a trusted root that
    /// requires none, and then needs a TSA for the bundle's trusted time.
    #[tokio::test]
    async fn no_log_needs_a_root_without_logs_and_a_tsa() {
        let e = load_json(&trust_config(&[], true), |_| {})
            .await
            .unwrap_err();
        assert!(matches!(e, TrustError::NoLogButRequired { .. }), "{e}");
        let e = load_json(&trust_config(&[], false), |_| {})
            .await
            .unwrap_err();
        assert!(matches!(e, TrustError::NoLogWithoutTsa { .. }), "{e}");
    }

    #[tokio::test]
    async fn public_good_loads_offline_from_the_embedded_snapshot() {
        let s = base_settings(BaseInstance::PublicGood);
        let i = load(&s, Refresh::Offline).await.unwrap();
        assert_eq!(i.services.fulcio, "https://fulcio.sigstore.dev");
        assert_eq!(log(&i).1, RekorVersion::V1);
        assert!(i.warnings.is_empty());
    }

    /// A refresh that fails is an error for a verifier (naming the fixes)
    /// and a warning for a signer, who goes on with the embedded snapshot.
    #[tokio::test]
    async fn a_failed_refresh_fails_verification_and_warns_signing() {
        // Every request goes through a proxy nobody listens on.
        let down = reqwest::Client::builder()
            .proxy(reqwest::Proxy::all("http://127.0.0.1:9").unwrap())
            .build()
            .unwrap();
        let e = material(&BaseInstance::PublicGood, Refresh::Required(down.clone()))
            .await
            .unwrap_err();
        assert!(matches!(e, TrustError::WellKnownRefresh { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.starts_with("cannot refresh the public-good trust material through TUF"),
            "{text}"
        );
        assert!(
            text.contains("--offline") && text.contains("--trusted-root"),
            "{text}"
        );
        let m = material(&BaseInstance::PublicGood, Refresh::Online(down))
            .await
            .unwrap();
        assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
        assert!(m.warnings[0].ends_with("using the embedded snapshot"));
    }
}
