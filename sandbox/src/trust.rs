//! Trust material describing the running sandbox: `trusted_root.json`,
//! `signing_config*.json` (v0.2) and ClientTrustConfig files (`trust_config*.json`).
//!
//! Owns the JSON shape of these files (protobuf-specs JSON: camelCase, base64
//! `rawBytes`, RFC 3339 `validFor`). It reads public keys and chains from the
//! services; it holds no keys and serves nothing.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::Shared;

pub const TRUSTED_ROOT_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
pub const SIGNING_CONFIG_MEDIA_TYPE: &str = "application/vnd.dev.sigstore.signingconfig.v0.2+json";
pub const CLIENT_TRUST_CONFIG_MEDIA_TYPE: &str =
    "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";

/// Name of the operator in signing configs (sigstore-python keeps one service per operator).
const OPERATOR: &str = "releasekit-sandbox";

/// Paths of the files [`write_files`] wrote.
#[derive(Debug, Clone)]
pub struct Files {
    pub trusted_root: PathBuf,
    pub signing_config_v1: PathBuf,
    pub signing_config_v2: PathBuf,
    pub trust_config_v1: PathBuf,
    pub trust_config_v2: PathBuf,
    pub trust_config_github: PathBuf,
}

/// RFC 3339 in UTC with a `Z`, seconds precision (protobuf Timestamp JSON).
pub fn rfc3339(t: SystemTime) -> String {
    let ts = jiff::Timestamp::try_from(t).expect("time within jiff's range");
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

fn chain(certs: &[Vec<u8>]) -> Value {
    json!({ "certificates": certs.iter().map(|c| json!({ "rawBytes": b64(c) })).collect::<Vec<_>>() })
}

fn log_entry(
    base_url: &str,
    spki_der: &[u8],
    key_details: &str,
    log_id: &[u8],
    start: &str,
) -> Value {
    json!({
        "baseUrl": base_url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": b64(spki_der),
            "keyDetails": key_details,
            "validFor": { "start": start }
        },
        "logId": { "keyId": b64(log_id) }
    })
}

/// The TrustedRoot: the Fulcio chain, the CT log, both Rekor logs and the TSA.
pub fn trusted_root(shared: &Shared) -> Value {
    let start = rfc3339(shared.config.valid_from);
    let urls = &shared.urls;
    let ct = shared.ca.ct_log_key();
    json!({
        "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
        "tlogs": [
            log_entry(&urls.rekor_v1, shared.rekor_v1.key().spki_der(), shared.rekor_v1.key_details(), &shared.rekor_v1.log_id(), &start),
            log_entry(&urls.rekor_v2, shared.rekor_v2.key().spki_der(), shared.rekor_v2.key_details(), &shared.rekor_v2.log_id(), &start),
        ],
        "certificateAuthorities": [{
            "subject": { "organization": "releasekit-sandbox", "commonName": "sandbox-fulcio" },
            "uri": urls.fulcio,
            "certChain": chain(&shared.ca.chain_der()),
            "validFor": { "start": start }
        }],
        "ctlogs": [
            log_entry(&format!("{}/ct", urls.fulcio), ct.spki_der(), "PKIX_ECDSA_P256_SHA_256", &ct.key_id(), &start),
        ],
        "timestampAuthorities": [{
            "subject": { "organization": "releasekit-sandbox", "commonName": "sandbox-tsa" },
            "uri": urls.tsa,
            "certChain": chain(&shared.tsa.chain_der()),
            "validFor": { "start": start }
        }]
    })
}

/// The GitHub-style instance's TrustedRoot: the CA and the TSA, no
/// transparency log and no CT log (as GitHub's trusted root lists them).
pub fn trusted_root_github(shared: &Shared) -> Value {
    let mut root = trusted_root(shared);
    let map = root.as_object_mut().expect("an object");
    map.remove("tlogs");
    map.remove("ctlogs");
    root
}

/// The GitHub-style instance's SigningConfig: its Fulcio (leaves without an
/// SCT, at `{fulcio}/github`) and the TSA; no Rekor.
pub fn signing_config_github(shared: &Shared) -> Value {
    let start = rfc3339(shared.config.valid_from);
    let urls = &shared.urls;
    json!({
        "mediaType": SIGNING_CONFIG_MEDIA_TYPE,
        "caUrls": [service(&format!("{}/github", urls.fulcio), 1, &start)],
        "oidcUrls": [service(&urls.oidc, 1, &start)],
        "rekorTlogUrls": [],
        "tsaUrls": [service(&urls.tsa, 1, &start)],
        "rekorTlogConfig": { "selector": "ANY" },
        "tsaConfig": { "selector": "ANY" }
    })
}

fn service(url: &str, major: u32, start: &str) -> Value {
    json!({ "url": url, "majorApiVersion": major, "validFor": { "start": start }, "operator": OPERATOR })
}

/// A SigningConfig v0.2 that selects the Rekor log of this major version, the CA,
/// the OIDC issuer and the TSA.
pub fn signing_config(shared: &Shared, rekor_major: u32) -> Value {
    let start = rfc3339(shared.config.valid_from);
    let urls = &shared.urls;
    let rekor_url = if rekor_major == 2 {
        &urls.rekor_v2
    } else {
        &urls.rekor_v1
    };
    json!({
        "mediaType": SIGNING_CONFIG_MEDIA_TYPE,
        "caUrls": [service(&urls.fulcio, 1, &start)],
        "oidcUrls": [service(&urls.oidc, 1, &start)],
        "rekorTlogUrls": [service(rekor_url, rekor_major, &start)],
        "tsaUrls": [service(&urls.tsa, 1, &start)],
        "rekorTlogConfig": { "selector": "ANY" },
        "tsaConfig": { "selector": "ANY" }
    })
}

/// A ClientTrustConfig wrapping [`trusted_root`] and [`signing_config`].
pub fn client_trust_config(shared: &Shared, rekor_major: u32) -> Value {
    json!({
        "mediaType": CLIENT_TRUST_CONFIG_MEDIA_TYPE,
        "trustedRoot": trusted_root(shared),
        "signingConfig": signing_config(shared, rekor_major),
    })
}

/// Write every trust file into `dir`.
pub fn write_files(shared: &Shared, dir: &Path) -> std::io::Result<Files> {
    let files = Files {
        trusted_root: dir.join("trusted_root.json"),
        signing_config_v1: dir.join("signing_config.json"),
        signing_config_v2: dir.join("signing_config_rekor_v2.json"),
        trust_config_v1: dir.join("trust_config.json"),
        trust_config_v2: dir.join("trust_config_rekor_v2.json"),
        trust_config_github: dir.join("trust_config_github.json"),
    };
    let write = |path: &Path, v: Value| {
        std::fs::write(
            path,
            serde_json::to_vec_pretty(&v).expect("JSON values serialize"),
        )
    };
    write(&files.trusted_root, trusted_root(shared))?;
    write(&files.signing_config_v1, signing_config(shared, 1))?;
    write(&files.signing_config_v2, signing_config(shared, 2))?;
    write(&files.trust_config_v1, client_trust_config(shared, 1))?;
    write(&files.trust_config_v2, client_trust_config(shared, 2))?;
    write(
        &files.trust_config_github,
        json!({
            "mediaType": CLIENT_TRUST_CONFIG_MEDIA_TYPE,
            "trustedRoot": trusted_root_github(shared),
            "signingConfig": signing_config_github(shared),
        }),
    )?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_is_utc_seconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(rfc3339(t), "2023-11-14T22:13:20Z");
    }
}
