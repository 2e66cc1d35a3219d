//! ECDSA P-256 signing keys shared by every sandbox service (CA, CT log, Rekor logs, TSA).
//!
//! Owns key generation, the DER SubjectPublicKeyInfo encoding, the Sigstore key id
//! (SHA-256 over the SPKI DER) and signing. It does not know any wire format.
//!
//! Signing runs on aws-lc (the same key, imported once): a service signs up to
//! three times per logged artifact (SET, checkpoint, timestamp), and the
//! sandbox shares the bench's cores with the tools it measures, so its signing
//! must not cost what RustCrypto's portable P-256 arithmetic does (a third of
//! its CPU in a profile of a signing run).

use std::sync::Arc;

use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey};
use sha2::{Digest, Sha256};

/// A P-256 key pair owned by one sandbox service.
#[derive(Clone)]
pub struct LogKey {
    signing: SigningKey,
    /// The same key in aws-lc, which signs.
    pair: Arc<EcdsaKeyPair>,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKey")
            .field("key_id", &hex::encode(self.key_id()))
            .finish_non_exhaustive()
    }
}

impl LogKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        Self::from_signing_key(SigningKey::random(&mut rand::rngs::OsRng))
    }

    /// Wrap an existing key.
    pub fn from_signing_key(signing: SigningKey) -> Self {
        let spki_der = signing
            .verifying_key()
            .to_public_key_der()
            .expect("P-256 public keys always encode")
            .into_vec();
        let pkcs8 = signing
            .to_pkcs8_der()
            .expect("P-256 private keys always encode");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_bytes())
            .expect("aws-lc imports a P-256 PKCS#8 key");
        Self {
            signing,
            pair: Arc::new(pair),
            spki_der,
        }
    }

    /// The DER SubjectPublicKeyInfo, as trusted roots carry it (`publicKey.rawBytes`).
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }

    /// SHA-256 of the SPKI DER: Rekor's log id and the CT log id.
    pub fn key_id(&self) -> [u8; 32] {
        Sha256::digest(&self.spki_der).into()
    }

    /// ECDSA-SHA256 over `message`, DER-encoded (the encoding Sigstore uses everywhere).
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair
            .sign(&aws_lc_rs::rand::SystemRandom::new(), message)
            .expect("aws-lc signs with a valid key")
            .as_ref()
            .to_vec()
    }

    /// The underlying key, for builders that take a `signature::Signer` (x509-cert, cms).
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{signature::Verifier, VerifyingKey};
    use p256::pkcs8::DecodePublicKey;

    #[test]
    fn signatures_verify_under_the_published_spki() {
        let key = LogKey::generate();
        let sig = key.sign(b"hello");
        let vk = VerifyingKey::from_public_key_der(key.spki_der()).unwrap();
        let sig = p256::ecdsa::DerSignature::try_from(sig.as_slice()).unwrap();
        vk.verify(b"hello", &sig).unwrap();
        assert!(vk.verify(b"other", &sig).is_err());
    }

    #[test]
    fn key_id_is_sha256_of_spki() {
        let key = LogKey::generate();
        assert_eq!(
            key.key_id().to_vec(),
            Sha256::digest(key.spki_der()).to_vec()
        );
    }
}
