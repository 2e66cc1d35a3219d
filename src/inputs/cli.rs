//! The command line as clap sees it: flags and arguments, validated for shape only.
//!
//! Owns the derive structs and help texts. It must not read the environment,
//! apply defaults that depend on it, or touch the filesystem: merging sources
//! into typed settings is [`super::Settings::resolve`]'s job, so that the
//! GitHub Action's `INPUT_*` variables can feed the same settings without clap.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

/// Sign release artifacts with Sigstore keyless signing.
#[derive(Debug, Parser)]
#[command(name = "releasekit-sign", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: CliCommand,
}

/// Flags every subcommand accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// More diagnostics on stderr (repeat for more)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Only errors and the final summary
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Never use colors or a progress bar
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Print the report as JSON on stdout
    #[arg(long, global = true)]
    pub json: bool,
}

// `verify` is added here as `Verify(VerifyArgs)`, with its settings resolved
// next to `SignSettings` in `inputs/mod.rs`.
#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Sign artifacts: writes `<artifact>.sigstore.json` (Sigstore bundle v0.3)
    Sign(Box<SignArgs>),
    /// Run as the GitHub Action: configured by INPUT_* variables (see action.yml)
    Action,
}

/// `releasekit-sign sign`.
#[derive(Debug, Clone, Args)]
pub struct SignArgs {
    /// Files, directories (their regular files) or glob patterns (expanded by the tool)
    #[arg(value_name = "PATH|DIR|GLOB", required = true)]
    pub paths: Vec<String>,
    /// Descend into subdirectories of DIR arguments
    #[arg(short, long)]
    pub recursive: bool,
    /// Write bundles to DIR instead of next to each artifact
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Replace existing bundles (otherwise an existing bundle fails that artifact)
    #[arg(long)]
    pub overwrite: bool,
    /// Print what would be signed and by which identity source; no token, no request, no write
    #[arg(long)]
    pub dry_run: bool,
    /// Artifacts signed concurrently [default: 16]
    #[arg(short, long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
    /// OIDC identity token (otherwise SIGSTORE_ID_TOKEN, GitHub Actions, other CI)
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    pub identity_token: Option<String>,
    #[command(flatten)]
    pub instance: InstanceArgs,
    #[command(flatten)]
    pub upload: UploadArgs,
}

/// Upload the bundles to a GitHub release (token from GITHUB_TOKEN or GH_TOKEN).
#[derive(Debug, Clone, Args)]
pub struct UploadArgs {
    /// Upload each bundle as a release asset `<artifact>.sigstore.json` (same content: skipped)
    #[arg(long)]
    pub upload: bool,
    /// The release's tag [default: the tag in GITHUB_REF]
    #[arg(long, value_name = "TAG", requires = "upload")]
    pub release_tag: Option<String>,
    /// The repository [default: GITHUB_REPOSITORY]
    #[arg(long, value_name = "OWNER/NAME", requires = "upload")]
    pub repo: Option<String>,
}

/// Which Sigstore instance to sign with.
#[derive(Debug, Clone, Args)]
#[group(id = "instance")]
pub struct InstanceArgs {
    /// Use Sigstore's staging instance instead of public-good
    #[arg(long, conflicts_with = "trust_config")]
    pub staging: bool,
    /// ClientTrustConfig JSON (trusted root + signing config) of a private instance
    #[arg(long, value_name = "FILE")]
    pub trust_config: Option<PathBuf>,
    /// Fulcio URL (overrides the instance's signing config)
    #[arg(long, value_name = "URL")]
    pub fulcio_url: Option<String>,
    /// Rekor URL (overrides the instance's signing config)
    #[arg(long, value_name = "URL")]
    pub rekor_url: Option<String>,
    /// Rekor API version: 1 (hashedrekord 0.0.1) or 2 (0.0.2, needs a TSA) [default: 1, or 2 when the instance offers only v2]
    #[arg(long, value_name = "1|2", value_parser = clap::value_parser!(u32).range(1..=2))]
    pub rekor_version: Option<u32>,
    /// RFC 3161 timestamp authority URL (overrides the instance's signing config)
    #[arg(long, value_name = "URL")]
    pub tsa_url: Option<String>,
}
