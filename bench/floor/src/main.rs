//! `releasekit-bench-floor [BYTES]`: what the cryptography of one bundle costs
//! on this machine, timed with the libraries releasekit-sign does it with
//! (sigstore-crypto's P-256 over aws-lc, sha2's SHA-256), on one thread.
//!
//! The benchmark (`bench/run.py`) runs it beside each repetition of the CPU
//! cases, so the CPU a bundle takes can be read against the floor measured in
//! the same minutes on the same cores: this machine's speed drifts by more
//! than the margins of some targets. Prints one JSON object:
//! `p256_verify_us`, `p256_sign_us` (one ECDSA P-256 with SHA-256 of a short
//! message) and `sha256_us` (SHA-256 of BYTES bytes, default 64 KiB), each
//! the median of several batches, in microseconds.
//!
//! Owns this measurement only; it reads and writes no file.

use std::hint::black_box;
use std::time::Instant;

use sha2::{Digest as _, Sha256};
use sigstore_crypto::{KeyPair, VerificationKey};

/// Batches per figure; the median is reported.
const BATCHES: usize = 7;
/// Operations per batch.
const PER_BATCH: usize = 200;

fn main() {
    let bytes = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        None => 64 * 1024,
        Some(Ok(n)) if n > 0 && n <= 1 << 30 => n,
        Some(_) => {
            eprintln!("usage: releasekit-bench-floor [BYTES] (1 to 2^30; default 65536)");
            std::process::exit(2);
        }
    };
    let key = KeyPair::generate_ecdsa_p256().expect("aws-lc generates a P-256 key");
    let public = VerificationKey::from_spki(&key.public_key_der().expect("the key's SPKI"))
        .expect("its own public key parses");
    // A bundle's signed messages are short (an artifact's digest, a SET's
    // canonical JSON, a checkpoint, CMS signed attributes): a few hundred bytes.
    let message = [0x5au8; 256];
    let signature = key.sign(&message).expect("aws-lc signs");
    let data = vec![0xa5u8; bytes];

    let verify = median_us(|| {
        public
            .verify(black_box(&message), &signature)
            .expect("the signature verifies");
    });
    let sign = median_us(|| {
        black_box(key.sign(black_box(&message)).expect("aws-lc signs"));
    });
    let sha256 = median_us(|| {
        black_box(Sha256::digest(black_box(&data)));
    });
    println!(
        "{{\"p256_verify_us\": {verify:.2}, \"p256_sign_us\": {sign:.2}, \"sha256_us\": {sha256:.2}, \"sha256_bytes\": {bytes}}}"
    );
}

/// The median over [`BATCHES`] of the time of one `op`, in microseconds,
/// after one untimed batch.
fn median_us(mut op: impl FnMut()) -> f64 {
    for _ in 0..PER_BATCH {
        op();
    }
    let per_op = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..PER_BATCH {
                op();
            }
            start.elapsed().as_secs_f64() * 1e6 / PER_BATCH as f64
        })
        .collect();
    median(per_op)
}

/// The middle value (of an odd count; the upper middle otherwise).
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_value_not_the_mean() {
        assert_eq!(median(vec![9.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![5.0, 100.0, 4.0, 6.0, 3.0]), 5.0);
    }

    #[test]
    fn every_batch_is_timed_after_one_untimed() {
        let mut calls = 0usize;
        median_us(|| calls += 1);
        assert_eq!(calls, PER_BATCH * (BATCHES + 1));
    }
}
