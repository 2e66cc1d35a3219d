//! CONTRACT STUB (to be replaced): the sandbox certificate authority.
use std::time::SystemTime;

use crate::keys::LogKey;

pub struct CertificateAuthority {
    ct: LogKey,
}

impl CertificateAuthority {
    /// Root + intermediate valid from `valid_from`, and a CT log key.
    pub fn generate(_valid_from: SystemTime) -> Self {
        Self {
            ct: LogKey::generate(),
        }
    }
    /// `[intermediate, root]` DER, leaf-most first (as trusted roots list them).
    pub fn chain_der(&self) -> Vec<Vec<u8>> {
        unimplemented!("contract stub")
    }
    /// The CT log key whose SCTs are embedded in leaves.
    pub fn ct_log_key(&self) -> &LogKey {
        &self.ct
    }
}
