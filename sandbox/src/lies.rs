//! Lies: a compromised or buggy Rekor or Fulcio that answers with well-formed,
//! genuinely signed material that is nonetheless wrong.
//!
//! Owns the queue of lies each lying service consumes, one per answer, and the
//! helpers that corrupt an answer. Unlike [`crate::faults`] (transport-level
//! failures a client should retry), a lie is a 2xx answer that parses; only a
//! client that checks what it was given notices. The services call in at one
//! point each (Rekor v1/v2 `create`, Fulcio `signing_cert`); nothing else here
//! changes their behaviour, and with no lie queued they answer honestly.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;

/// A lie a Rekor log tells in its answer to `POST .../entries`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RekorLie {
    /// Log and return an entry for another body (same kind, another artifact
    /// digest): the SET, proof and checkpoint are genuine, for the wrong entry.
    EntryForAnotherBody,
    /// Return the real entry with its signed entry timestamp corrupted (v1 only).
    BadSet,
    /// Return the real entry with an inclusion proof that does not lead to the
    /// root (an audit path hash flipped, or the root hash when the path is empty).
    WrongInclusionProof,
}

/// A lie Fulcio tells in its answer to `POST /api/v2/signingCert`: a genuine
/// certificate, chained to the trusted CA with a valid SCT, but not the one asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FulcioLie {
    /// The certificate's SAN is this identity instead of the token's.
    AnotherIdentity(String),
    /// The certificate's issuer extensions name this issuer instead of the token's.
    AnotherIssuer(String),
    /// The certificate carries no SCT (the CA submitted nothing to its CT
    /// log), in the answer form that says it has one.
    NoSct,
}

#[derive(Debug, Default)]
struct State {
    rekor_v1: VecDeque<RekorLie>,
    rekor_v2: VecDeque<RekorLie>,
    fulcio: VecDeque<FulcioLie>,
}

/// The lies queued for every lying service. Cheap to clone; clones share state.
#[derive(Debug, Clone, Default)]
pub struct Lies(Arc<Mutex<State>>);

impl Lies {
    /// Rekor v1's next `n` created entries are answered with `lie`.
    pub fn rekor_v1(&self, n: usize, lie: RekorLie) {
        self.0.lock().rekor_v1.extend(std::iter::repeat_n(lie, n));
    }

    /// Rekor v2's next `n` created entries are answered with `lie` (`BadSet` is
    /// meaningless for v2, which has no SET, and is ignored).
    pub fn rekor_v2(&self, n: usize, lie: RekorLie) {
        self.0.lock().rekor_v2.extend(std::iter::repeat_n(lie, n));
    }

    /// Fulcio's next `n` certificates are issued with `lie`.
    pub fn fulcio(&self, n: usize, lie: FulcioLie) {
        self.0.lock().fulcio.extend(std::iter::repeat_n(lie, n));
    }

    /// Lies queued and not yet told, over every service.
    pub fn pending(&self) -> usize {
        let s = self.0.lock();
        s.rekor_v1.len() + s.rekor_v2.len() + s.fulcio.len()
    }

    /// The lie for this Rekor answer, if any (`v2` selects the log).
    pub fn take_rekor(&self, v2: bool) -> Option<RekorLie> {
        let mut s = self.0.lock();
        if v2 {
            s.rekor_v2.pop_front()
        } else {
            s.rekor_v1.pop_front()
        }
    }

    /// The lie for this Fulcio answer, if any.
    pub fn take_fulcio(&self) -> Option<FulcioLie> {
        self.0.lock().fulcio.pop_front()
    }
}

/// Flip the last byte of `bytes` (a signature or a hash stays well-formed but wrong).
pub fn flip(bytes: &mut [u8]) {
    if let Some(b) = bytes.last_mut() {
        *b ^= 0x01;
    }
}

/// `digest` with its last byte flipped: another artifact's SHA-256.
pub fn another_digest(digest: &[u8]) -> Vec<u8> {
    let mut d = digest.to_vec();
    flip(&mut d);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lies_are_told_once_each_in_order_per_service() {
        let lies = Lies::default();
        lies.rekor_v1(2, RekorLie::BadSet);
        lies.rekor_v2(1, RekorLie::WrongInclusionProof);
        lies.fulcio(1, FulcioLie::AnotherIdentity("x".into()));
        assert_eq!(lies.pending(), 4);
        assert_eq!(lies.take_rekor(false), Some(RekorLie::BadSet));
        assert_eq!(lies.take_rekor(true), Some(RekorLie::WrongInclusionProof));
        assert_eq!(lies.take_rekor(true), None);
        assert_eq!(lies.take_rekor(false), Some(RekorLie::BadSet));
        assert_eq!(lies.take_rekor(false), None);
        assert_eq!(
            lies.take_fulcio(),
            Some(FulcioLie::AnotherIdentity("x".into()))
        );
        assert_eq!(lies.pending(), 0);
        let d = [0u8; 32];
        assert_ne!(another_digest(&d), d);
    }
}
