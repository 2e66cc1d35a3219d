//! Every input committed under `fuzz/corpus/<target>/` goes through the very
//! function its fuzz target calls (`fuzz/src/lib.rs`, included here), so CI
//! checks the corpus on stable Rust without a fuzzer: no input may panic.
//! The corpus holds bundles and trust configs from a sandbox run, third-party
//! bundles (see tests/data/ATTRIBUTION.md), hand-mutated variants, and what
//! `cargo fuzz` found worth keeping.

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/lib.rs"]
mod glue;

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Run `f` on every corpus file of `target`; name every input that panicked.
fn replay(target: &str, min_inputs: usize, f: fn(&[u8])) {
    let files = corpus(target);
    assert!(
        files.len() >= min_inputs,
        "{target}: {} inputs, expected at least {min_inputs}",
        files.len()
    );
    let panicked: Vec<String> = files
        .iter()
        .filter(|p| {
            let data = std::fs::read(p).unwrap();
            std::panic::catch_unwind(|| f(&data)).is_err()
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(panicked.is_empty(), "{target}: panicked on {panicked:#?}");
}

#[test]
fn bundle_corpus_never_panics() {
    replay("bundle", 30, glue::bundle);
}

#[test]
fn trust_config_corpus_never_panics() {
    replay("trust_config", 10, glue::trust_config);
}

#[test]
fn inputs_corpus_never_panics() {
    replay("inputs", 15, glue::inputs);
}

/// The seeds are real: the sandbox bundles verify under the committed root, so
/// the fuzzer starts from inputs that reach the deepest checks.
#[test]
fn seed_bundles_verify_under_the_committed_root() {
    let root = sigstore_trust_root::TrustedRoot::from_file(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/trusted_root.json"),
    )
    .unwrap();
    let verifier = sigstore_verify::Verifier::new(&root).unwrap();
    for seed in [
        "seed-rekor-v1.json",
        "seed-rekor-v2.json",
        "seed-empty-artifact.json",
    ] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus/bundle")
            .join(seed);
        let bundle = releasekit_sign::bundle_io::parse(&std::fs::read(&path).unwrap()).unwrap();
        let sigstore_types::SignatureContent::MessageSignature(m) = &bundle.content else {
            panic!("{seed}: not a message signature");
        };
        let digest =
            sigstore_types::Sha256Hash::try_from(&m.message_digest.as_ref().unwrap().digest)
                .unwrap();
        verifier
            .verify(
                sigstore_types::Artifact::from_digest(digest),
                &bundle,
                &sigstore_verify::VerificationPolicy::any_identity(),
            )
            .unwrap_or_else(|e| panic!("{seed}: {e}"));
    }
}
