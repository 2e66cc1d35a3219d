//! The command line as clap sees it: flags and arguments, validated for shape only.
//!
//! Owns the derive structs and help texts. It must not read the environment,
//! apply defaults that depend on it, or touch the filesystem: merging sources
//! into typed settings is [`super::Settings::resolve`]'s job, so that the
//! GitHub Action's `INPUT_*` variables can feed the same settings without clap.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::vocab::{InstanceName, MakeLatest, RekorVersion, ReleaseMode};

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
#[command(next_help_heading = "Output")]
pub struct GlobalArgs {
    /// More diagnostics on stderr (repeat for more)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings, errors and the final summary
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
    /// Verify artifacts against their `<artifact>.sigstore.json` bundles
    Verify(Box<VerifyArgs>),
    /// Run as the GitHub Action: configured by INPUT_* variables (see action.yml)
    Action,
    /// Print a shell completion script on stdout
    #[command(
        after_help = "Install, e.g.:\n  releasekit-sign completions bash > ~/.local/share/bash-completion/completions/releasekit-sign\n  releasekit-sign completions zsh > ~/.zfunc/_releasekit-sign\n  releasekit-sign completions fish > ~/.config/fish/completions/releasekit-sign.fish"
    )]
    Completions(CompletionsArgs),
    /// Print a man page (roff) on stdout: the tool's, or one command's
    #[command(after_help = "View it with: releasekit-sign man verify | man -l -")]
    Man(ManArgs),
}

/// `releasekit-sign completions`.
#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `releasekit-sign man`.
#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// The command whose page to print [default: releasekit-sign(1), which lists the commands]
    #[arg(value_enum)]
    pub command: Option<ManPage>,
}

/// The commands that have a page of their own, `releasekit-sign-<command>(1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ManPage {
    Sign,
    Verify,
    Action,
    Completions,
    Man,
}

/// A document generated from these definitions, so it cannot drift from `--help`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Docs {
    Completions(clap_complete::Shell),
    Man(Option<ManPage>),
}

impl Docs {
    /// The completion script or the roff page.
    pub fn render(self) -> std::io::Result<Vec<u8>> {
        use clap::CommandFactory as _;
        // `help` is clap's, not ours: no page, and completions offer `--help`.
        let mut cmd = Cli::command().disable_help_subcommand(true);
        let mut out = Vec::new();
        match self {
            Docs::Completions(shell) => {
                let name = cmd.get_name().to_owned();
                clap_complete::generate(shell, &mut cmd, name, &mut out);
            }
            Docs::Man(page) => {
                // Building names each subcommand `releasekit-sign-<command>`,
                // the page's title.
                cmd.build();
                let source = format!(
                    "{} {}",
                    cmd.get_name(),
                    cmd.get_version().unwrap_or_default()
                );
                let page = match page.and_then(|p| p.to_possible_value()) {
                    Some(p) => cmd.find_subcommand(p.get_name()).cloned().ok_or_else(|| {
                        std::io::Error::other(format!("no command `{}`", p.get_name()))
                    })?,
                    None => cmd,
                };
                clap_mangen::Man::new(with_aliases_told(page))
                    .source(source)
                    .render(&mut out)?;
            }
        }
        Ok(out)
    }
}

/// `page` with each flag's visible aliases in its help, as `--help` shows
/// them: clap_mangen renders a flag's own name only, and the aliases are
/// the names other tools' users type (`--source-ref`).
fn with_aliases_told(page: clap::Command) -> clap::Command {
    page.mut_args(|arg| {
        let Some(aliases) = arg.get_visible_aliases().filter(|a| !a.is_empty()) else {
            return arg;
        };
        let told = format!("[alias: --{}]", aliases.join(", --"));
        let help = arg
            .get_help()
            .map(|h| format!("{h} {told}"))
            .unwrap_or_else(|| told.clone());
        let long = arg.get_long_help().map(|h| format!("{h}\n\n{told}"));
        let arg = arg.help(help);
        match long {
            Some(long) => arg.long_help(long),
            None => arg,
        }
    })
}

/// `releasekit-sign sign`.
#[derive(Debug, Clone, Args)]
pub struct SignArgs {
    /// Files, directories (their regular files) or glob patterns (expanded by the tool)
    #[arg(value_name = "PATH|DIR|GLOB", required = true)]
    #[arg(help_heading = "Artifacts")]
    pub paths: Vec<String>,
    /// Descend into subdirectories of DIR arguments
    #[arg(short, long)]
    #[arg(help_heading = "Artifacts")]
    pub recursive: bool,
    /// Write bundles to DIR instead of next to each artifact
    #[arg(long, value_name = "DIR")]
    #[arg(help_heading = "Artifacts")]
    pub output_dir: Option<PathBuf>,
    /// Replace existing bundles, the provenance file and, with --upload, release assets whose content differs (otherwise an existing bundle fails its artifact, unless uploading and it verifies)
    #[arg(long)]
    #[arg(help_heading = "Artifacts")]
    pub overwrite: bool,
    /// Print what would be signed and by which identity source; no identity token, no request, no write
    #[arg(long)]
    #[arg(help_heading = "Artifacts")]
    pub dry_run: bool,
    /// Artifacts in flight (network-bound; reading and hashing use one per core; at most what the open-file limit holds) [default: 64]
    #[arg(short, long, value_name = "N")]
    #[arg(help_heading = "Artifacts")]
    pub jobs: Option<NonZeroUsize>,
    /// OIDC identity token (otherwise SIGSTORE_ID_TOKEN, GitHub Actions, other CI)
    #[arg(long, value_name = "TOKEN", hide_env_values = true)]
    #[arg(help_heading = "Identity", value_parser = crate::oidc::Secret::parse)]
    pub identity_token: Option<crate::oidc::Secret>,
    /// Sign although the token's repository is private or internal: the public log then shows its name and workflow path
    #[arg(long)]
    #[arg(help_heading = "Identity")]
    pub allow_private_repository: bool,
    /// Also sign one SLSA v1 build provenance statement about every artifact (GitHub Actions), written as NAME.intoto.jsonl
    #[arg(long)]
    #[arg(help_heading = "Provenance")]
    pub provenance: bool,
    /// The provenance file's name [default: <repo>-<tag>.intoto.jsonl when uploading, else provenance.intoto.jsonl]
    #[arg(long, value_name = "NAME", requires = "provenance")]
    #[arg(help_heading = "Provenance")]
    pub provenance_name: Option<String>,
    #[command(flatten)]
    pub instance: InstanceArgs,
    #[command(flatten)]
    pub upload: UploadArgs,
}

/// Upload the bundles to a GitHub release (token from GH_TOKEN, else GITHUB_TOKEN).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Release")]
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
    /// existing: the release must exist; draft: the tag's draft (created at GITHUB_SHA if none), never a published release; auto: draft if no release exists [default: existing]
    #[arg(long, value_name = "MODE", requires = "upload", value_enum)]
    pub release_mode: Option<ReleaseMode>,
    /// Publish the draft once every upload was downloaded back and verified
    #[arg(long, requires = "upload")]
    pub publish: bool,
    /// Whether publishing makes it the repository's latest release: true, false (a backport), or legacy (GitHub decides by date and version) [default: GitHub's, true]
    #[arg(long, value_name = "WHETHER", requires = "publish", value_enum)]
    pub make_latest: Option<MakeLatest>,
    /// Also upload the artifacts themselves, not only their bundles
    #[arg(long, requires = "upload")]
    pub upload_artifacts: bool,
}

/// Which Sigstore instance to sign with.
#[derive(Debug, Clone, Args)]
#[group(id = "instance")]
#[command(next_help_heading = "Sigstore instance")]
pub struct InstanceArgs {
    /// A well-known instance: public-good (default), staging, or github (GitHub's: no public log, for private repositories)
    #[arg(long = "instance", id = "instance_name", value_name = "NAME", value_enum, conflicts_with_all = ["staging", "trust_config", "signing_config"])]
    pub instance: Option<InstanceName>,
    /// Use Sigstore's staging instance instead of public-good
    #[arg(long, conflicts_with_all = ["trust_config", "signing_config"])]
    pub staging: bool,
    /// ClientTrustConfig JSON (trusted root + signing config) of a private instance
    #[arg(long, value_name = "FILE", conflicts_with = "signing_config")]
    pub trust_config: Option<PathBuf>,
    /// SigningConfig v0.2 JSON of a private instance (with --trusted-root; the pair cosign v3 takes)
    #[arg(long, value_name = "FILE", requires = "trusted_root")]
    pub signing_config: Option<PathBuf>,
    /// trusted_root.json of the instance --signing-config names
    #[arg(long, value_name = "FILE", requires = "signing_config")]
    pub trusted_root: Option<PathBuf>,
    /// TUF repository of a private instance (its trusted root and signing config, refreshed through TUF; with --tuf-root)
    #[arg(long, value_name = "URL", requires = "tuf_root", conflicts_with_all = ["instance_name", "staging", "trust_config", "signing_config"])]
    pub tuf_url: Option<String>,
    /// The initial root.json that --tuf-url's repository is trusted from (cosign's `initialize --root`)
    #[arg(long, value_name = "FILE", requires = "tuf_url")]
    pub tuf_root: Option<PathBuf>,
    /// Fulcio URL (overrides the instance's signing config); https, or plain http to
    /// this machine only: the identity token is sent to it
    #[arg(long, value_name = "URL")]
    pub fulcio_url: Option<String>,
    /// Rekor URL (overrides the instance's signing config)
    #[arg(long, value_name = "URL")]
    pub rekor_url: Option<String>,
    /// Rekor API version: 1 (hashedrekord 0.0.1) or 2 (0.0.2, needs a TSA) [default: the highest the signing config offers; with --rekor-url, the version the config lists that URL with, else 1]
    #[arg(long, value_name = "1|2", value_enum, hide_possible_values = true)]
    pub rekor_version: Option<RekorVersion>,
    /// RFC 3161 timestamp authority URL (overrides the instance's signing config)
    #[arg(long, value_name = "URL")]
    pub tsa_url: Option<String>,
}

/// `releasekit-sign verify`.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Regular expressions are anchored: --cert-identity-regexp 'https://github.com/org/.*' \
must match the whole identity, as if written ^(?:...)$. (cosign's are unanchored, so there \
`org/repo` also matches `evil-org/repo-fork`.) --signer-workflow and --signer-repo are literal, \
not patterns as in GitHub's CLI.\n\nWithout --cert-identity, --cert-identity-regexp, \
--signer-workflow or --signer-repo any Sigstore identity is accepted, or with --repo or --release \
any workflow of that repository (a warning says so).\n\n\
A --cert-github-workflow-*, --signer-*, --deny-self-hosted-runners or --repo flag without \
--cert-oidc-issuer[-regexp] accepts only certificates GitHub Actions was issued (of \
GITHUB_SERVER_URL's server, else GITHUB_API_URL's, else github.com)."
)]
pub struct VerifyArgs {
    /// Artifacts, directories (every artifact there that has a bundle), glob patterns, or sha256:<hex> (an artifact known by its digest; with --bundle)
    #[arg(
        value_name = "PATH|DIR|GLOB",
        required_unless_present = "release",
        conflicts_with = "release"
    )]
    #[arg(help_heading = "Artifacts")]
    pub paths: Vec<String>,
    /// Verify a GitHub release's assets in place: OWNER/REPO@TAG (token optional: GH_TOKEN or GITHUB_TOKEN; GITHUB_API_URL for GHES)
    #[arg(long, value_name = "OWNER/REPO@TAG")]
    #[arg(help_heading = "Release")]
    pub release: Option<String>,
    /// With --release: only assets whose name matches this glob
    #[arg(long, value_name = "GLOB", requires = "release")]
    #[arg(help_heading = "Release")]
    pub pattern: Option<String>,
    /// With --release: keep the assets that verified, with their bundles (or the provenance file that alone vouched for them), in DIR (otherwise nothing is written)
    #[arg(long, value_name = "DIR", requires = "release")]
    #[arg(help_heading = "Release")]
    pub download: Option<PathBuf>,
    /// With --download: replace files already in DIR (otherwise an asset whose file or bundle is already there fails, and the file is left as it was)
    #[arg(long, requires = "download")]
    #[arg(help_heading = "Release")]
    pub overwrite: bool,
    /// A file of a directory named (or a release's asset) without a bundle is a failure, not just listed as unsigned (a release's asset that a verified provenance statement names needs none)
    #[arg(long)]
    pub require_all: bool,
    /// With --release: also accept assets signed at another commit than the tag's (by default an asset must come from the tag's commit, so one from an older release re-uploaded here is refused)
    #[arg(long, requires = "release")]
    #[arg(help_heading = "Release")]
    pub allow_other_commits: bool,
    /// The GitHub repository the source came from (its repository claims: a reusable workflow's caller), with the GitHub Actions issuer; and, unless --cert-identity* or --signer-* is given, a workflow of it signed; implied by --release
    #[arg(
        long,
        value_name = "OWNER/NAME",
        conflicts_with = "cert_github_workflow_repository"
    )]
    #[arg(help_heading = "Identity policy")]
    pub repo: Option<String>,
    /// The bundle to check a single artifact against [default: <artifact>.sigstore.json]
    #[arg(long, value_name = "FILE", conflicts_with = "release")]
    #[arg(help_heading = "Artifacts")]
    pub bundle: Option<PathBuf>,
    /// Descend into subdirectories of DIR arguments
    #[arg(short, long)]
    #[arg(help_heading = "Artifacts")]
    pub recursive: bool,
    /// Artifacts hashed and verified concurrently [default: twice the number of CPUs; with
    /// --release, 32, or twice the CPUs if more]
    #[arg(short, long, value_name = "N")]
    #[arg(help_heading = "Artifacts")]
    pub jobs: Option<NonZeroUsize>,
    /// The signer's identity (certificate SAN), exactly
    #[arg(long, value_name = "ID", conflicts_with = "cert_identity_regexp")]
    #[arg(help_heading = "Identity policy")]
    pub cert_identity: Option<String>,
    /// A regular expression the whole signer identity must match (anchored)
    #[arg(long, value_name = "REGEXP")]
    #[arg(help_heading = "Identity policy")]
    pub cert_identity_regexp: Option<String>,
    /// The OIDC issuer in the certificate, exactly
    #[arg(long, value_name = "URL", conflicts_with = "cert_oidc_issuer_regexp")]
    #[arg(help_heading = "Identity policy")]
    pub cert_oidc_issuer: Option<String>,
    /// A regular expression the whole OIDC issuer must match (anchored)
    #[arg(long, value_name = "REGEXP")]
    #[arg(help_heading = "Identity policy")]
    pub cert_oidc_issuer_regexp: Option<String>,
    /// GitHub repository (`owner/repo`) the workflow ran in
    #[arg(long, value_name = "OWNER/REPO")]
    #[arg(help_heading = "Identity policy")]
    pub cert_github_workflow_repository: Option<String>,
    /// Git ref the source was built from (e.g. `refs/tags/v1.0.0`)
    #[arg(long, value_name = "REF", visible_alias = "source-ref")]
    #[arg(help_heading = "Identity policy")]
    pub cert_github_workflow_ref: Option<String>,
    /// Commit SHA the source was built from
    #[arg(long, value_name = "SHA", visible_alias = "source-digest")]
    #[arg(help_heading = "Identity policy")]
    pub cert_github_workflow_sha: Option<String>,
    /// Event that triggered the workflow (e.g. `push`, `release`)
    #[arg(long, value_name = "EVENT")]
    #[arg(help_heading = "Identity policy")]
    pub cert_github_workflow_trigger: Option<String>,
    /// Name of the workflow
    #[arg(long, value_name = "NAME")]
    #[arg(help_heading = "Identity policy")]
    pub cert_github_workflow_name: Option<String>,
    /// The workflow that signed, [HOST/]OWNER/REPO/PATH/TO/WORKFLOW.yml[@REF] (REF: refs/... or a commit), as `gh attestation verify` takes it, or its whole https:// URL (a reusable workflow signs as itself; --repo names the caller)
    #[arg(long, value_name = "WORKFLOW", conflicts_with_all = ["cert_identity", "cert_identity_regexp", "signer_repo"])]
    #[arg(help_heading = "Identity policy")]
    pub signer_workflow: Option<String>,
    /// Any workflow of this repository signed (OWNER/REPO; the signing workflow's, not the source's)
    #[arg(long, value_name = "OWNER/REPO", conflicts_with_all = ["cert_identity", "cert_identity_regexp"])]
    #[arg(help_heading = "Identity policy")]
    pub signer_repo: Option<String>,
    /// Refuse signatures made on self-hosted runners (the certificate's runner environment must be github-hosted)
    #[arg(long)]
    #[arg(help_heading = "Identity policy")]
    pub deny_self_hosted_runners: bool,
    /// Build provenance to verify the artifacts against instead of their bundles: a `.intoto.jsonl` file (one Sigstore bundle per line, as `gh attestation download` writes)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["release", "bundle"])]
    #[arg(help_heading = "Provenance")]
    pub provenance: Option<PathBuf>,
    /// The predicate type a provenance statement must have (with --provenance, or --release's `*.intoto.jsonl` assets; given with --release, the release must carry a verified statement of it) [default: https://slsa.dev/provenance/v1]
    #[arg(long, value_name = "URI")]
    #[arg(help_heading = "Provenance")]
    pub predicate_type: Option<String>,
    /// A well-known instance: public-good (default), staging, or github (bundles without a log entry, trusted by their timestamp)
    #[arg(long, value_name = "NAME", value_enum, group = "verify_instance")]
    #[arg(help_heading = "Trust")]
    pub instance: Option<InstanceName>,
    /// Use Sigstore's staging instance instead of public-good
    #[arg(long, group = "verify_instance")]
    #[arg(help_heading = "Trust")]
    pub staging: bool,
    /// A trusted_root.json to verify against (no TUF)
    #[arg(long, value_name = "FILE", group = "verify_instance")]
    #[arg(help_heading = "Trust")]
    pub trusted_root: Option<PathBuf>,
    /// ClientTrustConfig JSON of a private instance (its trusted root is used; no TUF)
    #[arg(long, value_name = "FILE", group = "verify_instance")]
    #[arg(help_heading = "Trust")]
    pub trust_config: Option<PathBuf>,
    /// TUF repository of a private instance (its trusted root, refreshed through TUF; with --tuf-root)
    #[arg(
        long,
        value_name = "URL",
        group = "verify_instance",
        requires = "tuf_root"
    )]
    #[arg(help_heading = "Trust")]
    pub tuf_url: Option<String>,
    /// The initial root.json that --tuf-url's repository is trusted from (cosign's `initialize --root`)
    #[arg(long, value_name = "FILE", requires = "tuf_url")]
    #[arg(help_heading = "Trust")]
    pub tuf_root: Option<PathBuf>,
    /// No TUF refresh: the embedded trust material (or, with --tuf-url, the cache of an earlier refresh)
    #[arg(long)]
    #[arg(help_heading = "Trust")]
    pub offline: bool,
}
