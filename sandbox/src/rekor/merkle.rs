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

/// An append-only tree holding the leaf hashes and the hash of every complete
/// subtree.
///
/// RFC 6962's recursion only ever splits a range into a left part that is a
/// complete subtree of 2^k leaves aligned on 2^k, and a rest: those complete
/// subtrees never change once their last leaf is in, so they are kept
/// (`levels[k][i]` is the hash of leaves `i * 2^k .. (i + 1) * 2^k`), and a
/// root or an audit path costs O(log² n) hashes instead of O(n). The real
/// Rekor answers in constant time whatever its size, and a bench that logs
/// thousands of entries must not measure a sandbox slowing down as it grows.
#[derive(Debug, Clone)]
pub struct Tree {
    /// `levels[0]` holds the leaves.
    levels: Vec<Vec<Hash>>,
}

impl Default for Tree {
    fn default() -> Self {
        Self {
            levels: vec![Vec::new()],
        }
    }
}

impl Tree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Append a leaf hash; returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        self.levels[0].push(leaf);
        let index = self.levels[0].len() - 1;
        // Each level whose length became even completed one subtree above it.
        let mut level = 0;
        while self.levels[level].len().is_multiple_of(2) {
            let n = self.levels[level].len();
            let parent = node_hash(&self.levels[level][n - 2], &self.levels[level][n - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(parent);
            level += 1;
        }
        index as u64
    }

    pub fn size(&self) -> u64 {
        self.levels[0].len() as u64
    }

    pub fn leaf(&self, index: u64) -> Option<&Hash> {
        self.levels[0].get(usize::try_from(index).ok()?)
    }

    /// MTH(D[0:size]); the empty tree's root is SHA-256 of the empty string.
    ///
    /// # Panics
    /// If `size` exceeds the number of leaves.
    pub fn root(&self, size: u64) -> Hash {
        let size = usize::try_from(size).expect("size fits usize");
        assert!(size <= self.levels[0].len(), "root beyond tree size");
        if size == 0 {
            return Sha256::digest([]).into();
        }
        self.mth(0, size)
    }

    /// PATH(index, D[0:size]), leaf to root; `None` if `index >= size` or `size` is
    /// beyond the tree.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        let size = usize::try_from(size).ok()?;
        let index = usize::try_from(index).ok()?;
        if index >= size || size > self.levels[0].len() {
            return None;
        }
        let mut out = Vec::new();
        self.path(index, 0, size, &mut out);
        Some(out)
    }

    /// MTH(D[start:start + len]), `len >= 1`, for a range the recursion from
    /// the root reaches.
    fn mth(&self, start: usize, len: usize) -> Hash {
        if len.is_power_of_two() && start.is_multiple_of(len) {
            return self.levels[len.trailing_zeros() as usize][start / len];
        }
        let k = split(len);
        node_hash(&self.mth(start, k), &self.mth(start + k, len - k))
    }

    /// PATH(m, D[start:start + len]).
    fn path(&self, m: usize, start: usize, len: usize, out: &mut Vec<Hash>) {
        if len <= 1 {
            return;
        }
        let k = split(len);
        if m < k {
            self.path(m, start, k, out);
            out.push(self.mth(start + k, len - k));
        } else {
            self.path(m - k, start + k, len - k, out);
            out.push(self.mth(start, k));
        }
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

    /// RFC 6962 §2.1's MTH, transcribed literally.
    fn naive_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let k = split(n);
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_at_every_size_are_the_rfc_definition() {
        let full = tree(130);
        let leaves: Vec<Hash> = (0..130).map(|i| *full.leaf(i).unwrap()).collect();
        for size in 0..=130 {
            assert_eq!(
                full.root(size as u64),
                naive_root(&leaves[..size]),
                "size {size}"
            );
        }
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
