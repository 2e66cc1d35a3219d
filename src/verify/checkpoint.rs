//! Rekor v2 checkpoints named for their log, as sigstore-go (cosign 3)
//! requires and sigstore-verify does not check.
//!
//! sigstore-go (`pkg/verify/tlog.go`) verifies a Rekor v2 entry's
//! checkpoint with a note verifier named for the host of the log's
//! `baseUrl` in the trusted root, so the checkpoint's origin and one of its
//! signature lines must be that host, byte for byte. sigstore-verify reads
//! neither: without this a bundle it accepts would be refused there. A
//! Rekor v1 checkpoint is verified by key alone, by every verifier, and is
//! not held to names.
//!
//! Owns [`TrustedLog`] (a log as the trusted root lists it, with the name
//! its checkpoints must carry) and [`named`]. Used by [`super::cache`] for
//! every bundle verified, and by sign on its log's answer. It does not
//! verify the checkpoint's signature (sigstore-verify does) nor choose
//! which logs are trusted (the trusted root does).

use sigstore_types::bundle::TransparencyLogEntry;

/// A log the trusted root lists, as an entry's answer is held to it.
#[derive(Debug, Clone)]
pub struct TrustedLog {
    pub id: sigstore_types::LogKeyId,
    /// Its key's validity.
    pub valid_for: Option<sigstore_types::TimeRange>,
    /// Its base URL's host without a port, as written (Go's
    /// `url.Hostname()`, which neither lowercases nor converts it): the
    /// name a Rekor v2 checkpoint must carry, byte for byte. `None` when
    /// it has none.
    pub host: Option<String>,
}

impl TrustedLog {
    /// The log listed with `id`, `valid_for` and `base_url`.
    pub fn new(
        id: sigstore_types::LogKeyId,
        valid_for: Option<sigstore_types::TimeRange>,
        base_url: &str,
    ) -> TrustedLog {
        TrustedLog {
            id,
            valid_for,
            host: hostname(base_url),
        }
    }
}

/// Go's `url.Parse(u).Hostname()`: the authority's host as written (no
/// user, no port, an IPv6 address without its brackets), which sigstore-go
/// names a Rekor v2 log's note verifier by. A URL parser that lowercases
/// it or converts it to punycode would name another.
fn hostname(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    (!host.is_empty()).then(|| host.to_owned())
}

impl TrustedLog {
    /// Every log `root` lists.
    pub fn of_root(root: &sigstore_trust_root::TrustedRoot) -> Vec<TrustedLog> {
        root.tlogs
            .iter()
            .map(|l| TrustedLog::new(l.log_id.key_id.clone(), l.public_key.valid_for, &l.base_url))
            .collect()
    }
}

/// How a Rekor v2 checkpoint is named instead, as shown (one line each,
/// capped: the bundle's or the log's text).
#[derive(Debug)]
pub(crate) struct NotNamed {
    pub(crate) origin: String,
    /// Its first signature lines' names, each in backquotes.
    pub(crate) names: String,
    /// The host it should name (the first listed log's).
    pub(crate) host: String,
}

/// Whether `entry` is a Rekor v2 one: `hashedrekord` 0.0.2, the one kind
/// v2 defines, as sigstore-verify tells them apart. A version alone does
/// not say it: `intoto` 0.0.2 is Rekor v1's (npm's provenance).
pub(crate) fn is_v2(entry: &TransparencyLogEntry) -> bool {
    entry.kind_version == sigstore_types::KindVersion::HashedRekordV002
}

/// Whether `entry`, if a Rekor v2 one, has a checkpoint named for one of
/// `listed` (the logs the trusted root lists under its log ID). An entry
/// whose checkpoint cannot be read passes here: its verification refuses
/// it, worded.
///
/// Named means its origin is the log's host, and so is the name of every
/// signature line whose key hint is a key of `trusted` (every log the
/// trusted root lists), of which there is one at least. sigstore-verify
/// accepts a checkpoint on any line a trusted key hinted at verifies,
/// whatever its name, so once it has, the line it took is one named for
/// the host, as sigstore-go's verifier, named for the host, requires
/// (other names' lines, a witness's, are unknown to it and ignored).
/// Regression: one line of the host's name was asked for, and a line of
/// that name that verified nothing, beside the log's signature under
/// another name, passed.
pub(crate) fn named(
    entry: &TransparencyLogEntry,
    listed: &[&TrustedLog],
    trusted: &[TrustedLog],
) -> Result<(), NotNamed> {
    if !is_v2(entry) {
        return Ok(());
    }
    let Some(checkpoint) = entry
        .inclusion_proof
        .as_ref()
        .and_then(|p| p.checkpoint.checkpoint())
    else {
        return Ok(());
    };
    let hinted = |hint: &sigstore_types::KeyHint| {
        trusted
            .iter()
            .any(|log| log.id.as_bytes().get(..4) == Some(hint.as_slice()))
    };
    let named = |host: &str| {
        let mut logs = checkpoint
            .signatures()
            .iter()
            .filter(|s| hinted(&s.key_id))
            .peekable();
        checkpoint.origin() == host && logs.peek().is_some() && logs.all(|s| s.name == host)
    };
    if listed
        .iter()
        .any(|log| log.host.as_deref().is_some_and(named))
    {
        return Ok(());
    }
    let shown = |s: &str| crate::text::capped(&crate::text::line(s), 100);
    Err(NotNamed {
        origin: shown(checkpoint.origin()),
        names: checkpoint
            .signatures()
            .iter()
            .take(3)
            .map(|s| format!("`{}`", shown(&s.name)))
            .collect::<Vec<_>>()
            .join(", "),
        host: listed
            .iter()
            .find_map(|log| log.host.as_deref())
            .map(shown)
            .unwrap_or_else(|| "(none: its URL has no host)".to_owned()),
    })
}

/// Why a checkpoint `envelope` (a signed note) is not one Go's `note`
/// package (sigstore-go, cosign) and sigstore-python read, if it is not:
/// no control character but the newline, one blank line between the body
/// and the signatures, each body line with
/// no surrounding space, each signature line `— NAME BASE64` (a name with
/// no space or `+`, at least a key hint and a byte of signature), and a
/// final newline. sigstore-types splits at the first blank line, ignores
/// what follows a second one and trims every line, so a checkpoint those
/// readers refuse verified here.
pub(crate) fn malformed(envelope: &str) -> Option<&'static str> {
    use base64::Engine as _;
    // `note.Open` refuses the whole note first for any control character
    // but the newline. Regression: one in a signature's name passed here.
    if envelope.chars().any(|c| c < ' ' && c != '\n') {
        return Some("it holds a control character");
    }
    let Some((body, signatures)) = envelope.split_once("\n\n") else {
        return Some("it has no blank line before its signatures");
    };
    if signatures.contains("\n\n") {
        return Some("it has more than one blank line");
    }
    let Some(signatures) = signatures.strip_suffix('\n') else {
        return Some("it does not end with a newline");
    };
    let spaced = |l: &str| l.is_empty() || l.trim() != l;
    if body.split('\n').any(spaced) {
        return Some("a line of its body is empty or has space around it");
    }
    let signature_line = |l: &str| {
        let Some((name, b64)) = l.strip_prefix("— ").and_then(|l| l.split_once(' ')) else {
            return false;
        };
        !name.is_empty()
            && !name.contains(char::is_whitespace)
            && !name.contains('+')
            && base64::engine::general_purpose::STANDARD
                .decode(b64)
                .is_ok_and(|b| b.len() >= 5)
    };
    if signatures.is_empty() || !signatures.split('\n').all(signature_line) {
        return Some("a signature line is not `— NAME BASE64`");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bundle whose Rekor v2 checkpoint is not named for its log's host
    /// in the trusted root is refused, as cosign 3 refuses it, on the cached
    /// path and the full one; named for it, it verifies. Regression: only
    /// sign checked it, on its own log's answers, so `verify` accepted such
    /// a bundle from anyone else.
    #[test]
    fn a_bundle_whose_v2_checkpoint_names_another_host_is_refused() {
        use sha2::Digest as _;
        use sigstore_trust_root::SigstoreInstance;
        use sigstore_verify::VerificationPolicy;
        let bundle = sigstore_types::Bundle::from_json(
            std::str::from_utf8(&data("staging-rekor-v2.txt.sigstore.json")).unwrap(),
        )
        .unwrap();
        let artifact = data("staging-rekor-v2.txt");
        let digest = sigstore_types::Sha256Hash::new(sha2::Sha256::digest(&artifact).into());
        let logged_by = bundle.verification_material.tlog_entries[0]
            .log_id
            .key_id
            .to_string();
        let root = |host: Option<&str>| {
            let mut json: serde_json::Value =
                serde_json::from_str(SigstoreInstance::Staging.embedded_trusted_root_json())
                    .unwrap();
            if let Some(host) = host {
                for log in json["tlogs"].as_array_mut().unwrap() {
                    if log["logId"]["keyId"] == logged_by.as_str() {
                        log["baseUrl"] = format!("https://{host}").into();
                    }
                }
            }
            let root = sigstore_trust_root::TrustedRoot::from_json(&json.to_string()).unwrap();
            super::super::cache::CachingVerifier::new(&root).unwrap()
        };
        let policy = VerificationPolicy::any_identity();
        let named = root(None);
        assert!(named.verify(digest, &bundle, &policy).is_ok());
        refused_here(
            &root(Some("log.other.example")),
            digest,
            &bundle,
            "signed as origin `log2025-alpha1.rekor.sigstage.dev` (signature lines: `log2025-alpha1.rekor.sigstage.dev`), not as `log.other.example`",
        );
    }

    /// A checkpoint Go's `note` and sigstore-python refuse is malformed
    /// here too: a control character, text after a second blank line, no final newline, an
    /// indented or otherwise shaped signature line, a body line with space
    /// around it. Real ones are not.
    #[test]
    fn a_checkpoint_strict_readers_refuse_is_malformed() {
        let real = "log2025-alpha1.rekor.sigstage.dev\n646\nkNum4JmdViJPfZLMRB3xPi6flATj2JzJSiF+1pQDzNQ=\n\n— log2025-alpha1.rekor.sigstage.dev 8w1amQA0XB55lIjvC/rvbpawQn9lp2R5TSkvqoNJuxcH9Ii05Ddi66xN8z5ZE6GsK2MkvgNZuqnZ5RtHbq2kpt/B8AE=\n";
        assert_eq!(malformed(real), None);
        let v1 = "rekor.sigstore.dev - 1193050959916656506\n12\nkNum4JmdViJPfZLMRB3xPi6flATj2JzJSiF+1pQDzNQ=\nTimestamp: 1689748607742585419\n\n— rekor.sigstore.dev wNI9ajBFAiEA8kA=\n— witness.example AAAAAAAA\n";
        assert_eq!(malformed(v1), None);
        let (body, sigs) = real.split_once("\n\n").unwrap();
        for (bad, why) in [
            (format!("{real}\njunk\n"), "more than one blank line"),
            (real.trim_end().to_owned(), "does not end with a newline"),
            (format!("{body}\n\n {sigs}"), "not `— NAME BASE64`"),
            (format!("{body}\n\n{sigs}— x\n"), "not `— NAME BASE64`"),
            (
                format!("{body}\n\n{sigs}— a+b AAAAAAAA\n"),
                "not `— NAME BASE64`",
            ),
            (format!("{body}\n\n{sigs}— x AAAA\n"), "not `— NAME BASE64`"),
            (format!(" {real}"), "space around it"),
            (body.to_owned(), "no blank line"),
            (
                format!("{body}\n\n{sigs}— wit\u{1}ness 3q2+7wE=\n"),
                "a control character",
            ),
            (real.replacen("646", "6\t46", 1), "a control character"),
        ] {
            assert!(
                malformed(&bad).is_some_and(|w| w.contains(why)),
                "{bad:?}: {:?}",
                malformed(&bad)
            );
        }
    }

    /// A Rekor v2 checkpoint whose log signature is on a line named for
    /// another host is refused, though a line named for the log's host is
    /// beside it, when that line verifies nothing (here its key hint is no
    /// trusted key's): sigstore-go's verifier, named for the host, finds no
    /// signature it can verify. Regression: a line of the host's name was
    /// enough, and sigstore-verify accepted the other line by its hint.
    #[test]
    fn a_v2_checkpoint_signed_under_another_name_is_refused() {
        use base64::Engine as _;
        use sha2::Digest as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let mut json: serde_json::Value =
            serde_json::from_slice(&data("staging-rekor-v2.txt.sigstore.json")).unwrap();
        let envelope = &mut json["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
            ["checkpoint"]["envelope"];
        let text = envelope.as_str().unwrap().to_owned();
        let (note, line) = text.split_once("\n\n").unwrap();
        let (name, signed) = line
            .trim_end()
            .trim_start_matches("— ")
            .split_once(' ')
            .unwrap();
        let mut decoy = vec![0u8; 4];
        decoy.extend_from_slice(&b64.decode(signed).unwrap()[4..]);
        *envelope = format!(
            "{note}\n\n— {name} {}\n— evil.example {signed}\n",
            b64.encode(&decoy)
        )
        .into();
        let bundle = sigstore_types::Bundle::from_json(&json.to_string()).unwrap();
        let digest = sigstore_types::Sha256Hash::new(
            sha2::Sha256::digest(data("staging-rekor-v2.txt")).into(),
        );
        refused_here(
            &verifier_of(sigstore_trust_root::SigstoreInstance::Staging),
            digest,
            &bundle,
            "(signature lines: `log2025-alpha1.rekor.sigstage.dev`, `evil.example`)",
        );
    }

    /// A Rekor v1 `intoto` 0.0.2 entry (npm's provenance) is not held to
    /// v2's names: it verifies, as sigstore-verify alone verifies it.
    /// Regression: taken for v2 by its version, its checkpoint (origin
    /// `rekor.sigstore.dev - <tree ID>`) was not named for its log's host,
    /// and every such bundle was refused.
    #[test]
    fn a_v1_intoto_entry_is_not_held_to_v2_names() {
        use sigstore_trust_root::SigstoreInstance;
        use sigstore_types::{ArtifactDigest, DigestBytes, HashAlgorithm};
        use sigstore_verify::VerificationPolicy;
        let json = std::fs::read_to_string(format!(
            "{}/tests/data/npm-provenance-intoto.sigstore.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let bundle = sigstore_types::Bundle::from_json(&json).unwrap();
        let entry = &bundle.verification_material.tlog_entries[0];
        assert!(!is_v2(entry));
        let log = TrustedLog::new(
            entry.log_id.key_id.clone(),
            None,
            "https://rekor.sigstore.dev",
        );
        assert!(named(entry, &[&log], std::slice::from_ref(&log)).is_ok());
        let root = sigstore_trust_root::TrustedRoot::from_json(
            SigstoreInstance::PublicGood.embedded_trusted_root_json(),
        )
        .unwrap();
        let verifier = super::super::cache::CachingVerifier::new(&root).unwrap();
        // The package's sha512, its statement's subject.
        let digest = ArtifactDigest::new(
            HashAlgorithm::Sha2512,
            DigestBytes::new(hex::decode("46d4e2f74c4877316640000a6fdf8a8b59f1e0847667973e9859f774dd31b8f1e0937813b777fb66a2ac67d50540fe34640966eee9fc2ccca387082b4c85cd3c").unwrap()),
        )
        .unwrap();
        let policy = VerificationPolicy::any_identity();
        assert!(verifier
            .uncached()
            .verify(digest.clone(), &bundle, &policy)
            .is_ok());
        if let Err(e) = verifier.verify_in_full(digest, &bundle, &policy) {
            panic!("{e}");
        }
    }

    /// A Rekor v2 entry whose log ID the trusted root does not list is
    /// refused, as sigstore-go skips it and then lacks a log entry.
    /// Regression: left to sigstore-verify, which reads a v2 entry's log ID
    /// nowhere, so it verified (and escaped the naming rule too).
    #[test]
    fn a_v2_entry_of_an_unlisted_log_is_refused() {
        use sha2::Digest as _;
        let mut json: serde_json::Value =
            serde_json::from_slice(&data("staging-rekor-v2.txt.sigstore.json")).unwrap();
        unlisted(&mut json);
        let digest = sigstore_types::Sha256Hash::new(
            sha2::Sha256::digest(data("staging-rekor-v2.txt")).into(),
        );
        let verifier = verifier_of(sigstore_trust_root::SigstoreInstance::Staging);
        refused_as_unknown(&verifier, digest, &json);
    }

    /// A Rekor v1 entry without a SET under a log ID the trusted root does
    /// not list is refused too, as sigstore-go refuses it; sigstore-verify
    /// reads a log ID only with the SET, and accepts it.
    #[test]
    fn a_v1_entry_without_a_set_of_an_unlisted_log_is_refused() {
        use sha2::Digest as _;
        let mut json: serde_json::Value =
            serde_json::from_slice(&data("cosign-v3-blob.txt.sigstore.json")).unwrap();
        let entry = &mut json["verificationMaterial"]["tlogEntries"][0];
        entry.as_object_mut().unwrap().remove("inclusionPromise");
        let digest = sigstore_types::Sha256Hash::new(
            sha2::Sha256::digest(data("cosign-v3-blob.txt")).into(),
        );
        let verifier = verifier_of(sigstore_trust_root::SigstoreInstance::PublicGood);
        // Listed, it verifies without its SET (the timestamp dates it).
        let bundle = sigstore_types::Bundle::from_json(&json.to_string()).unwrap();
        let policy = sigstore_verify::VerificationPolicy::any_identity();
        assert!(verifier.verify(digest, &bundle, &policy).is_ok());
        unlisted(&mut json);
        refused_as_unknown(&verifier, digest, &json);
    }

    /// A file of tests/data.
    fn data(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// A verifier of `instance`'s embedded trusted root.
    fn verifier_of(
        instance: sigstore_trust_root::SigstoreInstance,
    ) -> super::super::cache::CachingVerifier {
        let root =
            sigstore_trust_root::TrustedRoot::from_json(instance.embedded_trusted_root_json())
                .unwrap();
        super::super::cache::CachingVerifier::new(&root).unwrap()
    }

    /// The bundle `json`'s log entry under a log ID no trusted root lists.
    fn unlisted(json: &mut serde_json::Value) {
        json["verificationMaterial"]["tlogEntries"][0]["logId"]["keyId"] =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [0u8; 32]).into();
    }

    /// The bundle `json` for `digest` verifies with sigstore-verify alone
    /// (the check is ours), and `verifier` refuses it, on its cached path
    /// and its full one, as from an unknown log.
    fn refused_as_unknown(
        verifier: &super::super::cache::CachingVerifier,
        digest: sigstore_types::Sha256Hash,
        json: &serde_json::Value,
    ) {
        let bundle = sigstore_types::Bundle::from_json(&json.to_string()).unwrap();
        refused_here(verifier, digest, &bundle, "unknown transparency log");
    }

    /// `bundle` for `digest` verifies with sigstore-verify alone (the check
    /// is ours), and `verifier` refuses it on its cached path and its full
    /// one, saying `says`.
    fn refused_here(
        verifier: &super::super::cache::CachingVerifier,
        digest: sigstore_types::Sha256Hash,
        bundle: &sigstore_types::Bundle,
        says: &str,
    ) {
        let policy = sigstore_verify::VerificationPolicy::any_identity();
        assert!(verifier.uncached().verify(digest, bundle, &policy).is_ok());
        for e in [
            verifier
                .verify(digest, bundle, &policy)
                .map(drop)
                .unwrap_err(),
            verifier
                .verify_in_full(digest, bundle, &policy)
                .map(drop)
                .unwrap_err(),
        ] {
            assert!(e.to_string().contains(says), "{e}");
        }
    }

    #[test]
    fn hosts_as_go_names_them() {
        assert_eq!(hostname("http://[::1]:3000/x").as_deref(), Some("::1"));
        assert_eq!(
            hostname("https://u@h.example:8443/p?q").as_deref(),
            Some("h.example")
        );
        assert_eq!(hostname("no-scheme"), None);
    }
}
