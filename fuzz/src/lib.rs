//! What the fuzz targets run, one function per target, shared with the corpus
//! replay test of the main crate (`tests/fuzz_corpus.rs` includes this file),
//! so CI checks every committed input without a fuzzer.
//!
//! Each function feeds arbitrary bytes through product code and returns;
//! errors are expected and ignored, a panic is the bug. Nothing here touches
//! the network or writes a file. The targets:
//! - [`bundle`]: bundle JSON -> `bundle_io::parse` -> write form -> sigstore-verify,
//!   against the trusted root of the sandbox run that made the seed bundles.
//! - [`trust_config`]: a `--trust-config` ClientTrustConfig -> parse -> verifier.
//! - [`inputs`]: command-line words and `INPUT_*`/job environment -> Settings.

use std::path::Path;
use std::sync::OnceLock;

use releasekit_sign::bundle_io;
use releasekit_sign::inputs::{Cli, Env, Settings};
use releasekit_sign::trust::ClientTrustConfig;
use sigstore_trust_root::TrustedRoot;
use sigstore_types::{Artifact, Sha256Hash, SignatureContent};
use sigstore_verify::{VerificationPolicy, Verifier};

/// The trusted root the seed bundles in `corpus/bundle` were signed under.
const SEED_TRUSTED_ROOT: &str = include_str!("../trusted_root.json");

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let root = TrustedRoot::from_json(SEED_TRUSTED_ROOT).expect("seed trusted root parses");
        Verifier::new(&root).expect("seed trusted root makes a verifier")
    })
}

/// A bundle file's bytes, as `verify` reads them.
pub fn bundle(data: &[u8]) {
    let Ok(bundle) = bundle_io::parse(data) else {
        return;
    };
    // What the signer would write from it must read back.
    if let Ok(json) = bundle_io::to_json(&bundle) {
        let _ = bundle_io::parse(&json);
    }
    // Verify for the digest the bundle claims, so that the checks past the
    // digest comparison (certificate, log, timestamps) run on mutated input.
    let digest = match &bundle.content {
        SignatureContent::MessageSignature(m) => m
            .message_digest
            .as_ref()
            .and_then(|d| Sha256Hash::try_from(&d.digest).ok()),
        _ => None,
    }
    .unwrap_or(Sha256Hash::new([0; 32]));
    let _ = verifier().verify(
        Artifact::from_digest(digest),
        &bundle,
        &VerificationPolicy::any_identity(),
    );
}

/// A `--trust-config` file's bytes.
pub fn trust_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = ClientTrustConfig::from_json(text, Path::new("fuzz.json")) {
        let _ = Verifier::new(&config.trusted_root);
    }
    if let Ok(root) = TrustedRoot::from_json(text) {
        let _ = Verifier::new(&root);
    }
}

/// Command-line words, one per line, then an empty line, then `NAME=value`
/// environment lines (`INPUT_*`, `GITHUB_*`, ...): resolved as `main` does.
pub fn inputs(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (words, env) = text.split_once("\n\n").unwrap_or((text, ""));
    let env = Env::from_pairs(env.lines().filter_map(|l| l.split_once('=')));
    let argv = std::iter::once("releasekit-sign").chain(words.lines());
    if let Ok(cli) = <Cli as clap::Parser>::try_parse_from(argv) {
        let _ = Settings::resolve(cli, &env);
    }
}
