//! The Sigstore instance a run signs with: its trusted root and its service URLs.
//!
//! Owns choosing the instance (public-good by default, `--staging`, or a
//! ClientTrustConfig file), refreshing well-known instances through TUF with a
//! short timeout and an embedded fallback, and applying `--fulcio-url`,
//! `--rekor-url`, `--rekor-version` and `--tsa-url`. This is the only module that
//! knows service URLs. It does not talk to Fulcio, Rekor or the TSA.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sigstore_trust_root::{
    SigningConfig, SigstoreInstance, TrustedRoot, TufConfig, SIGNING_CONFIG_MEDIA_TYPE,
};

use crate::vocab::RekorVersion;

/// Which Sigstore instance, and per-service overrides, as the settings
/// chose them (the values a run hands down; this module reads no flag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceSettings {
    pub base: BaseInstance,
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
    /// A ClientTrustConfig file, used as is (no TUF).
    TrustConfig(PathBuf),
}

/// `mediaType` of sigstore-python's `--trust-config` files.
pub(crate) const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// How long a TUF refresh may take before the embedded snapshot is used.
pub(crate) const TUF_TIMEOUT: Duration = Duration::from_secs(5);

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
    pub fn from_json(json: &str, path: &Path) -> Result<Self, TrustError> {
        let config: ClientTrustConfig =
            serde_json::from_str(json).map_err(|source| TrustError::ParseTrustConfig {
                path: path.to_owned(),
                source,
            })?;
        if config.media_type != CLIENT_TRUST_CONFIG_MEDIA_TYPE {
            return Err(TrustError::MediaType {
                path: path.to_owned(),
                what: "ClientTrustConfig",
                found: config.media_type,
                expected: CLIENT_TRUST_CONFIG_MEDIA_TYPE,
            });
        }
        if config.signing_config.media_type != SIGNING_CONFIG_MEDIA_TYPE {
            return Err(TrustError::MediaType {
                path: path.to_owned(),
                what: "signingConfig",
                found: config.signing_config.media_type,
                expected: SIGNING_CONFIG_MEDIA_TYPE,
            });
        }
        Ok(config)
    }
}

/// The services signatures go to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Services {
    pub fulcio: String,
    pub rekor: String,
    pub rekor_version: RekorVersion,
    /// The full RFC 3161 endpoint; `None` when the instance has no TSA.
    pub tsa: Option<String>,
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
    /// Refresh well-known instances through TUF, within [`TUF_TIMEOUT`].
    Online(reqwest::Client),
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read trust config {}: {source}; fix: pass an existing ClientTrustConfig file to --trust-config", path.display())]
    ReadTrustConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("trust config {} is not a valid ClientTrustConfig ({source}); fix: pass a file with mediaType, trustedRoot and signingConfig (as `sigstore --trust-config` takes)", path.display())]
    ParseTrustConfig {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("trust config {}: {what} has mediaType `{found}`; fix: use `{expected}`", path.display())]
    MediaType {
        path: PathBuf,
        what: &'static str,
        found: String,
        expected: &'static str,
    },
    #[error("the embedded trust material of {instance} does not load ({source}); fix: pass --trust-config")]
    Embedded {
        instance: String,
        source: sigstore_trust_root::Error,
    },
    #[error("{instance} lists no valid {service} service; fix: pass {flag}")]
    MissingService {
        instance: String,
        service: &'static str,
        flag: &'static str,
    },
    #[error("{instance} lists no valid Rekor {version} log; fix: pass --rekor-url, or drop --rekor-version")]
    MissingRekorVersion {
        instance: String,
        version: RekorVersion,
    },
    #[error("Rekor v2 entries carry no signed time, so an RFC 3161 timestamp is required, but {instance} has no TSA; fix: pass --tsa-url")]
    V2WithoutTsa { instance: String },
}

/// An instance's trust material, before any service is chosen.
#[derive(Debug, Clone)]
pub struct Material {
    /// `public-good`, `staging`, or the trust config's path.
    pub name: String,
    pub trusted_root: TrustedRoot,
    pub signing_config: SigningConfig,
    /// Things the user should know (a failed TUF refresh), for the report.
    pub warnings: Vec<String>,
}

/// The trust material of `base`: what a verifier needs (it has no use for
/// service URLs, so it should call this rather than [`load`]).
pub async fn material(base: &BaseInstance, refresh: Refresh) -> Result<Material, TrustError> {
    let mut warnings = Vec::new();
    let (name, trusted_root, signing_config) = match base {
        BaseInstance::TrustConfig(path) => {
            let json =
                std::fs::read_to_string(path).map_err(|source| TrustError::ReadTrustConfig {
                    path: path.clone(),
                    source,
                })?;
            let c = ClientTrustConfig::from_json(&json, path)?;
            (path.display().to_string(), c.trusted_root, c.signing_config)
        }
        BaseInstance::PublicGood => {
            well_known(
                SigstoreInstance::PublicGood,
                "public-good",
                &refresh,
                &mut warnings,
            )
            .await?
        }
        BaseInstance::Staging => {
            well_known(
                SigstoreInstance::Staging,
                "staging",
                &refresh,
                &mut warnings,
            )
            .await?
        }
    };
    Ok(Material {
        name,
        trusted_root,
        signing_config,
        warnings,
    })
}

/// Load the instance `settings` describe, with the services to sign with.
pub(crate) async fn load(
    settings: &InstanceSettings,
    refresh: Refresh,
) -> Result<Instance, TrustError> {
    let m = material(&settings.base, refresh).await?;
    let services = select_services(settings, &m.signing_config, &m.name)?;
    Ok(Instance {
        name: m.name,
        trusted_root: m.trusted_root,
        services,
        warnings: m.warnings,
    })
}

/// `offline` (from [`load`] with [`Refresh::Offline`]) brought up to date:
/// a well-known instance is loaded again through TUF; a trust config file
/// has nothing to refresh, so it is not read twice.
pub(crate) async fn refresh(
    settings: &InstanceSettings,
    offline: Instance,
    http: reqwest::Client,
) -> Result<Instance, TrustError> {
    match settings.base {
        BaseInstance::TrustConfig(_) => Ok(offline),
        BaseInstance::PublicGood | BaseInstance::Staging => {
            load(settings, Refresh::Online(http)).await
        }
    }
}

async fn well_known(
    instance: SigstoreInstance,
    name: &str,
    refresh: &Refresh,
    warnings: &mut Vec<String>,
) -> Result<(String, TrustedRoot, SigningConfig), TrustError> {
    if let Refresh::Online(http) = refresh {
        let config = TufConfig::for_instance(instance).with_http_client(http.clone());
        match tokio::time::timeout(TUF_TIMEOUT, sigstore_trust_root::fetch_trust_material(config)).await {
            Ok(Ok((root, signing))) => return Ok((name.to_owned(), root, signing)),
            Ok(Err(e)) => warnings.push(format!(
                "could not refresh {name} trust material through TUF ({e}); using the embedded snapshot"
            )),
            Err(_) => warnings.push(format!(
                "TUF refresh of {name} trust material timed out after {}s; using the embedded snapshot",
                TUF_TIMEOUT.as_secs()
            )),
        }
    }
    let embedded = |e| TrustError::Embedded {
        instance: name.to_owned(),
        source: e,
    };
    let root = instance.embedded_trusted_root().map_err(embedded)?;
    let signing = instance
        .embedded_signing_config()
        .map_err(embedded)?
        .ok_or_else(|| TrustError::MissingService {
            instance: name.to_owned(),
            service: "signing config",
            flag: "--trust-config",
        })?;
    Ok((name.to_owned(), root, signing))
}

/// Rekor v1 unless asked for v2 or the config offers only v2; flags override the config.
fn select_services(
    settings: &InstanceSettings,
    config: &SigningConfig,
    name: &str,
) -> Result<Services, TrustError> {
    let fulcio = match &settings.fulcio_url {
        Some(url) => url.clone(),
        None => config
            .fulcio_url()
            .map(|e| e.url.trim_end_matches('/').to_owned())
            .ok_or_else(|| TrustError::MissingService {
                instance: name.into(),
                service: "Fulcio",
                flag: "--fulcio-url",
            })?,
    };
    let (rekor, rekor_version) = match (&settings.rekor_url, settings.rekor_version) {
        (Some(url), v) => (url.clone(), v.unwrap_or(RekorVersion::V1)),
        (None, Some(v)) => {
            let major = if v == RekorVersion::V2 { 2 } else { 1 };
            let e =
                config
                    .rekor_url(Some(major))
                    .ok_or_else(|| TrustError::MissingRekorVersion {
                        instance: name.into(),
                        version: v,
                    })?;
            (e.url.trim_end_matches('/').to_owned(), v)
        }
        (None, None) => match (config.rekor_url(Some(1)), config.rekor_url(Some(2))) {
            (Some(e), _) => (e.url.trim_end_matches('/').to_owned(), RekorVersion::V1),
            (None, Some(e)) => (e.url.trim_end_matches('/').to_owned(), RekorVersion::V2),
            (None, None) => {
                return Err(TrustError::MissingService {
                    instance: name.into(),
                    service: "Rekor",
                    flag: "--rekor-url",
                })
            }
        },
    };
    let tsa = settings
        .tsa_url
        .clone()
        .or_else(|| config.tsa_url().map(|e| e.url.clone()));
    if rekor_version == RekorVersion::V2 && tsa.is_none() {
        return Err(TrustError::V2WithoutTsa {
            instance: name.into(),
        });
    }
    Ok(Services {
        fulcio,
        rekor,
        rekor_version,
        tsa,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn settings(path: &Path) -> InstanceSettings {
        InstanceSettings {
            base: BaseInstance::TrustConfig(path.to_owned()),
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
        let refreshed = refresh(&s, offline, reqwest::Client::new()).await.unwrap();
        assert_eq!(refreshed.services.rekor, "http://127.0.0.1:2");
        assert!(matches!(
            load(&s, Refresh::Offline).await,
            Err(TrustError::ReadTrustConfig { .. })
        ));
    }

    #[tokio::test]
    async fn rekor_v1_is_the_default_when_offered() {
        let i = load_json(
            &trust_config(
                &[("http://127.0.0.1:2", 1), ("http://127.0.0.1:3", 2)],
                true,
            ),
            |_| {},
        )
        .await
        .unwrap();
        assert_eq!(i.services.rekor, "http://127.0.0.1:2");
        assert_eq!(i.services.rekor_version, RekorVersion::V1);
        assert_eq!(
            i.services.tsa.as_deref(),
            Some("http://127.0.0.1:4/api/v1/timestamp")
        );
        let i = load_json(
            &trust_config(
                &[("http://127.0.0.1:2", 1), ("http://127.0.0.1:3", 2)],
                true,
            ),
            |s| s.rekor_version = Some(RekorVersion::V2),
        )
        .await
        .unwrap();
        assert_eq!(
            (i.services.rekor.as_str(), i.services.rekor_version),
            ("http://127.0.0.1:3", RekorVersion::V2)
        );
    }

    #[tokio::test]
    async fn v2_only_config_selects_v2_and_v2_needs_a_tsa() {
        let i = load_json(&trust_config(&[("http://127.0.0.1:3", 2)], true), |_| {})
            .await
            .unwrap();
        assert_eq!(i.services.rekor_version, RekorVersion::V2);
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
            s.fulcio_url = Some("http://f".into());
            s.rekor_url = Some("http://r".into());
            s.tsa_url = Some("http://t/ts".into());
        })
        .await
        .unwrap();
        assert_eq!(
            i.services,
            Services {
                fulcio: "http://f".into(),
                rekor: "http://r".into(),
                rekor_version: RekorVersion::V1,
                tsa: Some("http://t/ts".into())
            }
        );
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

    #[tokio::test]
    async fn public_good_loads_offline_from_the_embedded_snapshot() {
        let s = InstanceSettings {
            base: BaseInstance::PublicGood,
            fulcio_url: None,
            rekor_url: None,
            rekor_version: None,
            tsa_url: None,
        };
        let i = load(&s, Refresh::Offline).await.unwrap();
        assert_eq!(i.services.fulcio, "https://fulcio.sigstore.dev");
        assert_eq!(i.services.rekor_version, RekorVersion::V1);
        assert!(i.warnings.is_empty());
    }
}
