//! The words every layer shares: which Rekor API a run logs to, which
//! release an upload goes to, and the GitHub Actions issuer.
//!
//! A leaf: it imports nothing of this crate, so settings, the stages and the
//! report can all name these values without importing each other. It owns
//! the values and their spellings (flags, action inputs, JSON), no behaviour.

use std::fmt;

/// The issuer of GitHub Actions identity tokens on github.com.
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The Rekor API a run writes its entries to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
pub enum RekorVersion {
    /// Rekor v1: hashedrekord 0.0.1, with an inclusion promise (SET).
    #[serde(rename = "1")]
    #[value(name = "1")]
    V1,
    /// Rekor v2: hashedrekord 0.0.2, with an RFC 3161 timestamp.
    #[serde(rename = "2")]
    #[value(name = "2")]
    V2,
}

impl fmt::Display for RekorVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RekorVersion::V1 => "v1",
            RekorVersion::V2 => "v2",
        })
    }
}

/// Which release the upload goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseMode {
    /// The release must exist (published or draft).
    Existing,
    /// The draft for the tag, created when there is none; a published
    /// release is never touched.
    Draft,
    /// The release when it exists, else a new draft.
    Auto,
}

impl ReleaseMode {
    /// The value as flags, action inputs and JSON spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseMode::Existing => "existing",
            ReleaseMode::Draft => "draft",
            ReleaseMode::Auto => "auto",
        }
    }
}

impl std::str::FromStr for ReleaseMode {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        [ReleaseMode::Existing, ReleaseMode::Draft, ReleaseMode::Auto]
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum as _;

    /// The flag values, the action inputs' parsing and the JSON agree.
    #[test]
    fn spellings_agree() {
        for m in ReleaseMode::value_variants() {
            let flag = m.to_possible_value().unwrap();
            assert_eq!(flag.get_name(), m.as_str());
            assert_eq!(m.as_str().parse::<ReleaseMode>(), Ok(*m));
            assert_eq!(serde_json::to_value(m).unwrap(), m.as_str());
        }
        assert!("v1".parse::<ReleaseMode>().is_err());
        for v in RekorVersion::value_variants() {
            let flag = v.to_possible_value().unwrap();
            assert_eq!(serde_json::to_value(v).unwrap(), flag.get_name());
        }
        assert!(RekorVersion::from_str("3", false).is_err());
    }
}
