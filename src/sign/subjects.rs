//! The provenance's subjects, known before the run ends.
//!
//! Owns one rule: the run's provenance is about every artifact signed or
//! kept, in plan order. Those are known for sure only when every artifact
//! is done, but almost always earlier: once every artifact is hashed or has
//! failed, the artifacts still in flight are only waiting for their log
//! entry and timestamp, and nearly all of them will be signed. So the
//! provenance is signed from those digests at that moment, one round trip
//! before the run ends instead of after it, and written only if the
//! artifacts' outcomes confirm exactly those subjects; otherwise it is
//! signed again from the outcomes (one more log entry, only when an
//! artifact failed after that provenance went to the log; a draft still
//! waiting for the log when one of its subjects fails is drafted again
//! instead). It does no I/O and signs nothing.

use sigstore_types::Sha256Hash;

/// One provenance subject: the artifact's name on a release, and its digest.
pub(crate) type Subject = (String, Sha256Hash);

/// What the run knows of each artifact so far.
#[derive(Debug)]
pub(crate) struct Early {
    names: Vec<String>,
    digests: Vec<Option<Sha256Hash>>,
    /// `Some(true)` signed or kept, `Some(false)` failed.
    done: Vec<Option<bool>>,
    /// Artifacts hashed or done.
    settled: usize,
}

impl Early {
    /// `names`: every planned artifact's name, in plan order.
    pub(crate) fn new(names: Vec<String>) -> Self {
        let n = names.len();
        Self {
            names,
            digests: vec![None; n],
            done: vec![None; n],
            settled: 0,
        }
    }

    /// Artifact `i` was hashed.
    pub(crate) fn hashed(&mut self, i: usize, digest: Sha256Hash) {
        self.settle(i);
        self.digests[i] = Some(digest);
    }

    /// Artifact `i` is done: signed or kept (`ok`), or failed.
    pub(crate) fn done(&mut self, i: usize, ok: bool) {
        self.settle(i);
        self.done[i] = Some(ok);
    }

    /// Count artifact `i` as settled the first time it is hashed or done
    /// (the two arrive in either order).
    fn settle(&mut self, i: usize) {
        if self.digests[i].is_none() && self.done[i].is_none() {
            self.settled += 1;
        }
    }

    /// How many artifacts the run planned: more than the likely subjects
    /// when one failed.
    pub(crate) fn planned(&self) -> usize {
        self.names.len()
    }

    /// The subjects the provenance will have if every artifact still in
    /// flight is signed: `None` until every artifact is hashed or done (or
    /// when there would be none).
    pub(crate) fn likely_subjects(&self) -> Option<Vec<Subject>> {
        if self.settled < self.names.len() {
            return None;
        }
        let subjects: Vec<Subject> = self
            .names
            .iter()
            .zip(&self.digests)
            .zip(&self.done)
            .filter(|(_, done)| **done != Some(false))
            .filter_map(|((name, digest), _)| digest.map(|d| (name.clone(), d)))
            .collect();
        (!subjects.is_empty()).then_some(subjects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(b: u8) -> Sha256Hash {
        Sha256Hash::new([b; 32])
    }

    fn early() -> Early {
        Early::new(vec!["a".into(), "b".into(), "c".into()])
    }

    #[test]
    fn known_once_every_artifact_is_hashed_or_done() {
        let mut e = early();
        e.hashed(0, d(1));
        e.done(1, false); // failed before it was hashed (unreadable)
        assert_eq!(e.likely_subjects(), None);
        e.hashed(2, d(3));
        assert_eq!(
            e.likely_subjects(),
            Some(vec![("a".into(), d(1)), ("c".into(), d(3))])
        );
    }

    #[test]
    fn an_artifact_that_failed_after_its_hash_is_not_a_subject() {
        let mut e = early();
        for i in 0..3 {
            e.hashed(i, d(i as u8));
        }
        e.done(1, false);
        assert_eq!(
            e.likely_subjects(),
            Some(vec![("a".into(), d(0)), ("c".into(), d(2))])
        );
    }

    #[test]
    fn either_order_of_hash_and_outcome_counts_once() {
        let mut e = early();
        e.done(0, true);
        e.hashed(0, d(0));
        e.hashed(1, d(1));
        e.done(1, true);
        assert_eq!(e.likely_subjects(), None, "c is neither hashed nor done");
        e.done(2, false);
        assert_eq!(
            e.likely_subjects(),
            Some(vec![("a".into(), d(0)), ("b".into(), d(1))])
        );
    }

    #[test]
    fn none_when_nothing_would_be_attested() {
        let mut e = early();
        for i in 0..3 {
            e.done(i, false);
        }
        assert_eq!(e.likely_subjects(), None);
    }
}
