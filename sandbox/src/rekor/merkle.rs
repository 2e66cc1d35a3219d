//! The RFC 6962 Merkle tree both Rekor logs append to.
//!
//! Owns leaf/node hashing, the root at any size and audit paths (inclusion proofs),
//! exactly as RFC 6962 §2.1 defines them. It knows nothing about entries, HTTP or keys.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// `SHA-256(0x00 || leaf)`.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// An append-only tree holding the leaf hashes.
///
/// Roots and proofs are recomputed from the leaves on demand: O(n) per call, which
/// is far below HTTP cost at the sizes a sandbox reaches and keeps the code a
/// literal transcription of the RFC's recursive definitions.
#[derive(Debug, Default, Clone)]
pub struct Tree {
    leaves: Vec<Hash>,
}

impl Tree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Append a leaf hash; returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        self.leaves.push(leaf);
        (self.leaves.len() - 1) as u64
    }

    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    pub fn leaf(&self, index: u64) -> Option<&Hash> {
        self.leaves.get(usize::try_from(index).ok()?)
    }

    /// MTH(D[0:size]); the empty tree's root is SHA-256 of the empty string.
    ///
    /// # Panics
    /// If `size` exceeds the number of leaves.
    pub fn root(&self, size: u64) -> Hash {
        let size = usize::try_from(size).expect("size fits usize");
        assert!(size <= self.leaves.len(), "root beyond tree size");
        if size == 0 {
            return Sha256::digest([]).into();
        }
        mth(&self.leaves[..size])
    }

    /// PATH(index, D[0:size]), leaf to root; `None` if `index >= size` or `size` is
    /// beyond the tree.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        let size = usize::try_from(size).ok()?;
        let index = usize::try_from(index).ok()?;
        if index >= size || size > self.leaves.len() {
            return None;
        }
        let mut out = Vec::new();
        path(index, &self.leaves[..size], &mut out);
        Some(out)
    }
}

/// The largest power of two strictly less than `n` (`n >= 2`).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

fn mth(leaves: &[Hash]) -> Hash {
    if leaves.len() == 1 {
        return leaves[0];
    }
    let k = split(leaves.len());
    node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
}

fn path(m: usize, leaves: &[Hash], out: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split(leaves.len());
    if m < k {
        path(m, &leaves[..k], out);
        out.push(mth(&leaves[k..]));
    } else {
        path(m - k, &leaves[k..], out);
        out.push(mth(&leaves[..k]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sigstore_types::Sha256Hash;

    fn tree(n: u64) -> Tree {
        let mut t = Tree::new();
        for i in 0..n {
            t.push(leaf_hash(format!("leaf {i}").as_bytes()));
        }
        t
    }

    #[test]
    fn hashing_matches_sigstore_merkle() {
        let l = leaf_hash(b"abc");
        assert_eq!(sigstore_merkle::hash_leaf(b"abc").as_bytes(), &l);
        let n = node_hash(&l, &leaf_hash(b"def"));
        let expected = sigstore_merkle::hash_children(
            &Sha256Hash::new(l),
            &sigstore_merkle::hash_leaf(b"def"),
        );
        assert_eq!(expected.as_bytes(), &n);
    }

    #[test]
    fn every_proof_of_every_size_verifies_with_sigstore_merkle() {
        let full = tree(33);
        for size in 1..=33u64 {
            let root = Sha256Hash::new(full.root(size));
            for index in 0..size {
                let proof: Vec<Sha256Hash> = full
                    .inclusion_proof(index, size)
                    .unwrap()
                    .into_iter()
                    .map(Sha256Hash::new)
                    .collect();
                let leaf = Sha256Hash::new(*full.leaf(index).unwrap());
                sigstore_merkle::verify_inclusion_proof(&leaf, index, size, &proof, &root)
                    .unwrap_or_else(|e| panic!("index {index} size {size}: {e}"));
                // The proof must bind the index: the neighbour's leaf must not verify.
                let other = Sha256Hash::new(*full.leaf((index + 1) % size).unwrap());
                if size > 1 {
                    assert!(sigstore_merkle::verify_inclusion_proof(
                        &other, index, size, &proof, &root
                    )
                    .is_err());
                }
            }
        }
    }

    #[test]
    fn known_roots() {
        // RFC 6962 empty tree and a single leaf.
        assert_eq!(
            hex::encode(Tree::new().root(0)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let t = tree(3);
        let l: Vec<Hash> = (0..3).map(|i| *t.leaf(i).unwrap()).collect();
        assert_eq!(t.root(1), l[0]);
        assert_eq!(t.root(3), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
    }

    #[test]
    fn out_of_range_proofs_are_refused() {
        let t = tree(4);
        assert!(t.inclusion_proof(4, 4).is_none());
        assert!(t.inclusion_proof(0, 5).is_none());
        assert!(t.inclusion_proof(0, 0).is_none());
    }
}
