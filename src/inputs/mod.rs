//! Settings: every source of configuration merged once into typed values.
//!
//! Owns the precedence between sources, which is, for every setting:
//!
//! 1. a command-line flag,
//! 2. a GitHub Action input (`INPUT_*`, action mode),
//! 3. an environment variable (`SIGSTORE_ID_TOKEN`, `NO_COLOR`, the GitHub
//!    Actions token request variables),
//! 4. the default.
//!
//! Sources are first turned into a [`SignLayer`] of optional values; layers are
//! merged with [`SignLayer::or`] in the order above and then resolved. Working
//! code receives [`Settings`] and never sees clap or the process environment
//! (the one exception is `sigstore-oidc`'s ambient CI detection, which reads
//! the environment itself). This module does no I/O.

pub mod action;
pub mod cli;
pub mod upload;
pub mod verify;

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;

use crate::verify::settings::VerifySettings;
pub use action::ActionSettings;
pub use cli::Cli;
use cli::{CliCommand, GlobalArgs, SignArgs};

use crate::oidc::{ActionsTokenRequest, IdentitySettings, Secret, TokenOrigin};
use crate::pipeline::SignCommand;
use crate::sign::{ProvenanceSettings, SignSettings};
use crate::text;
use crate::trust::{BaseInstance, InstanceSettings};
use crate::vocab::{GitHubServer, InstanceName, RekorVersion};

/// Artifacts in flight when neither `--jobs` nor an input says otherwise. Signing
/// many artifacts is bound by round trips to Rekor and the TSA, so many are in
/// flight; reads and hashing are bounded separately by cores (`digest`),
/// so this does not raise peak memory (bench/results.md has the sweep).
pub(crate) const DEFAULT_JOBS: usize = 64;

/// A snapshot of environment variables, so resolution is testable and pure.
///
/// A variable whose value is not UTF-8 has none here, and is remembered:
/// resolution that read one fails naming it (`Env::unreadable`), rather
/// than taking the input for unset and going on with its default.
#[derive(Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
    not_utf8: std::collections::BTreeSet<String>,
    /// The names of the non-UTF-8 variables asked for.
    asked: std::sync::Mutex<Vec<String>>,
}

impl Clone for Env {
    fn clone(&self) -> Self {
        Env {
            vars: self.vars.clone(),
            not_utf8: self.not_utf8.clone(),
            asked: std::sync::Mutex::new(self.asked_names()),
        }
    }
}

/// The names only: the environment holds tokens (`GITHUB_TOKEN`,
/// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, `INPUT_GITHUB-TOKEN`, ...).
impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Env")
            .field(&self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Env {
    /// The current process's environment.
    pub fn from_process() -> Self {
        Self::from_os(std::env::vars_os())
    }

    fn from_os(vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>) -> Self {
        let mut env = Env::default();
        for (k, v) in vars {
            // A name that is not UTF-8 is none this tool reads.
            let Ok(k) = k.into_string() else { continue };
            match v.into_string() {
                Ok(v) => {
                    env.vars.insert(k, v);
                }
                Err(_) => {
                    env.not_utf8.insert(k);
                }
            }
        }
        env
    }

    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Env {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            ..Env::default()
        }
    }

    /// Every variable whose name starts with `prefix`, empty ones
    /// included; those of them whose values are not UTF-8 count as read.
    pub fn with_prefix<'e>(&'e self, prefix: &'e str) -> impl Iterator<Item = (&'e str, &'e str)> {
        self.asked.lock().unwrap_or_else(|p| p.into_inner()).extend(
            self.not_utf8
                .iter()
                .filter(|k| k.starts_with(prefix))
                .cloned(),
        );
        self.vars
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether a variable is set to something other than the empty string,
    /// UTF-8 or not: for a flag whose value means nothing (`NO_COLOR`).
    pub fn is_set(&self, name: &str) -> bool {
        self.get_unread(name).is_some() || self.not_utf8.contains(name)
    }

    /// [`Self::get`] for a value that is only to be hidden (a token to
    /// mask), never used: one that is not UTF-8 cannot be, and fails
    /// nothing.
    pub fn get_unread(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A variable's value; an empty value counts as unset, as in GitHub Actions,
    /// where an undefined expression expands to the empty string.
    pub fn get(&self, name: &str) -> Option<&str> {
        if self.not_utf8.contains(name) {
            self.asked
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(name.to_owned());
        }
        self.get_unread(name)
    }

    /// A variable read so far whose value is not UTF-8, if one was.
    pub(crate) fn unreadable(&self) -> Option<String> {
        self.asked_names().into_iter().min()
    }

    fn asked_names(&self) -> Vec<String> {
        self.asked.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Everything a run needs to know, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub output: OutputSettings,
    pub command: Command,
}

/// How the binary renders the report; the library ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutputSettings {
    pub verbosity: Verbosity,
    pub color: bool,
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose(u8),
}

#[derive(Debug, Clone)]
pub enum Command {
    Sign(SignCommand),
    Verify(VerifySettings),
    /// The GitHub Action: `sign` configured by `INPUT_*`, then upload and check.
    Action(ActionSettings),
    /// `completions` or `man`: nothing to resolve.
    Docs(cli::Docs),
}

/// A configuration source for `sign`, every value optional; see the module doc.
#[derive(Debug, Clone, Default)]
pub struct SignLayer {
    pub inputs: Option<Vec<String>>,
    pub recursive: Option<bool>,
    pub output_dir: Option<PathBuf>,
    pub overwrite: Option<bool>,
    pub dry_run: Option<bool>,
    pub jobs: Option<NonZeroUsize>,
    /// The token and the source that gave it (reported; the token never is).
    pub identity_token: Option<(TokenOrigin, Secret)>,
    pub instance: Option<InstanceName>,
    pub staging: Option<bool>,
    pub trust_config: Option<PathBuf>,
    pub signing_config: Option<PathBuf>,
    pub trusted_root: Option<PathBuf>,
    pub tuf_url: Option<String>,
    pub tuf_root: Option<PathBuf>,
    pub fulcio_url: Option<String>,
    pub rekor_url: Option<String>,
    pub rekor_version: Option<RekorVersion>,
    pub tsa_url: Option<String>,
    pub allow_private_repository: Option<bool>,
    pub provenance: Option<bool>,
    pub provenance_name: Option<String>,
    /// Keep a TUF cache ([`InstanceSettings::tuf_cache`]); the action keeps none.
    pub tuf_cache: Option<bool>,
}

impl SignLayer {
    /// Values of `self`, falling back to `lower` where `self` has none.
    pub fn or(self, lower: SignLayer) -> SignLayer {
        SignLayer {
            inputs: self.inputs.or(lower.inputs),
            recursive: self.recursive.or(lower.recursive),
            output_dir: self.output_dir.or(lower.output_dir),
            overwrite: self.overwrite.or(lower.overwrite),
            dry_run: self.dry_run.or(lower.dry_run),
            jobs: self.jobs.or(lower.jobs),
            identity_token: self.identity_token.or(lower.identity_token),
            instance: self.instance.or(lower.instance),
            staging: self.staging.or(lower.staging),
            trust_config: self.trust_config.or(lower.trust_config),
            signing_config: self.signing_config.or(lower.signing_config),
            trusted_root: self.trusted_root.or(lower.trusted_root),
            tuf_url: self.tuf_url.or(lower.tuf_url),
            tuf_root: self.tuf_root.or(lower.tuf_root),
            fulcio_url: self.fulcio_url.or(lower.fulcio_url),
            rekor_url: self.rekor_url.or(lower.rekor_url),
            rekor_version: self.rekor_version.or(lower.rekor_version),
            tsa_url: self.tsa_url.or(lower.tsa_url),
            allow_private_repository: self
                .allow_private_repository
                .or(lower.allow_private_repository),
            provenance: self.provenance.or(lower.provenance),
            provenance_name: self.provenance_name.or(lower.provenance_name),
            tuf_cache: self.tuf_cache.or(lower.tuf_cache),
        }
    }

    /// The layer the command line gives. A boolean flag that is absent is
    /// "not said" (`None`), so a lower layer can still turn it on.
    pub(crate) fn from_args(args: SignArgs) -> Self {
        let flag = |b: bool| b.then_some(true);
        SignLayer {
            inputs: Some(args.paths),
            recursive: flag(args.recursive),
            output_dir: args.output_dir,
            overwrite: flag(args.overwrite),
            dry_run: flag(args.dry_run),
            jobs: args.jobs,
            identity_token: args.identity_token.map(|t| (TokenOrigin::Flag, t)),
            instance: args.instance.instance,
            staging: flag(args.instance.staging),
            trust_config: args.instance.trust_config,
            signing_config: args.instance.signing_config,
            trusted_root: args.instance.trusted_root,
            tuf_url: args.instance.tuf_url,
            tuf_root: args.instance.tuf_root,
            fulcio_url: args.instance.fulcio_url,
            rekor_url: args.instance.rekor_url,
            rekor_version: args.instance.rekor_version,
            tsa_url: args.instance.tsa_url,
            allow_private_repository: flag(args.allow_private_repository),
            provenance: flag(args.provenance),
            provenance_name: args.provenance_name,
            tuf_cache: None,
        }
    }
}

/// A configuration error found while resolving settings (exit code 2).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("no artifacts given: pass at least one PATH, DIR or GLOB")]
    NoInputs,
    /// `action` reports through the step's outputs, summary and log.
    #[error("--json is not taken by `action`, which reports through the step's outputs (`bundles`, `signed-count`, ...), its summary and its log; fix: drop --json, or run `sign --json` for a JSON report")]
    JsonForAction,
    #[error("{} and {} both choose the Sigstore instance: keep one of them", .vocabulary.name(first), .vocabulary.name(second))]
    ConflictingInstance {
        vocabulary: upload::Vocabulary,
        first: &'static str,
        second: &'static str,
    },
    #[error("{} needs {}: the signing config says where requests go, the trusted root what to trust; fix: pass both (the pair cosign v3 takes), or one ClientTrustConfig with {}", .vocabulary.name(given), .vocabulary.name(missing), .vocabulary.name("trust-config"))]
    IncompleteInstanceFiles {
        vocabulary: upload::Vocabulary,
        given: &'static str,
        missing: &'static str,
    },
    #[error("{} needs {}: the repository's metadata is trusted only from an initial root.json the user holds; fix: pass both (as cosign's `initialize --mirror --root`)", .vocabulary.name(given), .vocabulary.name(missing))]
    IncompleteTuf {
        vocabulary: upload::Vocabulary,
        given: &'static str,
        missing: &'static str,
    },
    #[error("--bundle names the bundle of one artifact, but several were given: verify them in separate runs, or drop --bundle to use each `<artifact>.sigstore.json`")]
    BundleForManyArtifacts,
    #[error("{flag} is not a valid regular expression ({reason}); fix: check the pattern (it is anchored: it must match the whole value)")]
    InvalidRegexp { flag: &'static str, reason: String },
    #[error(transparent)]
    Upload(#[from] upload::UploadSettingsError),
    #[error(transparent)]
    Action(#[from] action::ActionInputError),
    #[error(
        "{flag} `{value}` is not an http(s) URL with a host (or does not parse as one): pass a URL such as https://rekor.example.com"
    )]
    InvalidUrl { flag: String, value: String },
    #[error("--release `{0}` is not OWNER/REPO@TAG: pass e.g. --release octo-org/app@v1.2.3")]
    BadRelease(String),
    #[error("--release `{spec}` does not end with a tag's name ({why}); fix: pass OWNER/REPO@ and the tag's name, e.g. --release octo-org/app@v1.2.3")]
    BadReleaseTag { spec: String, why: &'static str },
    #[error("--predicate-type applies to a provenance, and neither --provenance nor --release is given, so every bundle would pass whatever its type; fix: give the attestation with --provenance FILE, or remove --predicate-type")]
    PredicateTypeWithoutProvenance,
    #[error("environment variable {0} is not UTF-8 text, so it cannot be read; fix: set it to UTF-8 text, or unset it")]
    NotUtf8(String),
    #[error("{flag} `{value}` is not OWNER/NAME: pass e.g. {flag} octo-org/app")]
    BadRepo { flag: &'static str, value: String },
    #[error(
        "--signer-repo `{0}` is not OWNER/REPO: pass e.g. --signer-repo octo-org/release-workflows"
    )]
    BadSignerRepo(String),
    #[error(
        "--signer-workflow `{0}` is not [HOST/]OWNER/REPO/PATH/TO/WORKFLOW.yml[@REF] (REF: refs/... or a commit) nor a workflow's https:// URL: pass e.g. --signer-workflow octo-org/app/.github/workflows/release.yml"
    )]
    BadSignerWorkflow(String),
    #[error("GITHUB_SERVER_URL `{0}` is not a server's URL: unset it (github.com), or set it to https://HOST for GitHub Enterprise Server")]
    BadServerUrl(String),
    #[error(
        "--pattern `{pattern}` is not a valid glob ({reason}); fix: e.g. --pattern '*.tar.gz'"
    )]
    BadPattern { pattern: String, reason: String },
}

impl Settings {
    /// Merge the command line and the environment (see the module doc).
    pub fn resolve(cli: Cli, env: &Env) -> Result<Settings, SettingsError> {
        let settings = Self::resolve_from(cli, env);
        // Whatever else resolution found: an input it took for unset may
        // have been given, and its default is not what was asked for.
        if let Some(name) = env.unreadable() {
            return Err(SettingsError::NotUtf8(name));
        }
        settings
    }

    fn resolve_from(cli: Cli, env: &Env) -> Result<Settings, SettingsError> {
        let output = resolve_output(&cli.global, env);
        let command = match cli.command {
            CliCommand::Sign(args) => {
                let upload = upload::UploadLayer {
                    upload: args.upload.upload.then_some(true),
                    release_tag: args.upload.release_tag.clone(),
                    repo: args.upload.repo.clone(),
                    token: None,
                    mode: args.upload.release_mode,
                    publish: args.upload.publish.then_some(true),
                    make_latest: args.upload.make_latest,
                    upload_artifacts: args.upload.upload_artifacts.then_some(true),
                };
                let sign = SignSettings::resolve(SignLayer::from_args(*args), env)?;
                let upload = upload::resolve(upload, env, sign.overwrite, upload::Vocabulary::Cli)?;
                Command::Sign(SignCommand {
                    sign,
                    upload,
                    warnings: Vec::new(),
                })
            }
            // Regression: taken, then ignored once the run started.
            CliCommand::Action if cli.global.json => return Err(SettingsError::JsonForAction),
            CliCommand::Action => {
                Command::Action(ActionSettings::resolve(action::read(env)?, env)?)
            }
            CliCommand::Verify(args) => Command::Verify(VerifySettings::resolve(*args, env)?),
            CliCommand::Completions(args) => Command::Docs(cli::Docs::Completions(args.shell)),
            CliCommand::Man(args) => Command::Docs(cli::Docs::Man(args.command)),
        };
        Ok(Settings { output, command })
    }
}

fn resolve_output(global: &GlobalArgs, env: &Env) -> OutputSettings {
    let verbosity = if global.quiet {
        Verbosity::Quiet
    } else if global.verbose > 0 {
        Verbosity::Verbose(global.verbose)
    } else {
        Verbosity::Normal
    };
    // https://no-color.org: any non-empty NO_COLOR disables color.
    let color = !global.no_color && !env.is_set("NO_COLOR");
    OutputSettings {
        verbosity,
        color,
        json: global.json,
    }
}

/// The instance the instance-choosing settings name: at most one of
/// a named instance (`instance`, or `staging`), a ClientTrustConfig, or the signing config + trusted root pair
/// (both or neither); `vocabulary` spells the errors.
pub(crate) fn base_instance(
    instance: Option<InstanceName>,
    staging: bool,
    trust_config: Option<PathBuf>,
    signing_config: Option<PathBuf>,
    trusted_root: Option<PathBuf>,
    tuf: (Option<String>, Option<PathBuf>),
    vocabulary: upload::Vocabulary,
) -> Result<BaseInstance, SettingsError> {
    let tuf_named = match &tuf {
        (Some(_), _) => Some("tuf-url"),
        (None, Some(_)) => Some("tuf-root"),
        (None, None) => None,
    };
    let pair = match (&signing_config, &trusted_root) {
        (Some(_), None) => Some("signing-config"),
        (None, Some(_)) => Some("trusted-root"),
        (Some(_), Some(_)) => Some("signing-config"),
        (None, None) => None,
    };
    let named: Vec<&'static str> = [
        instance.is_some().then_some("instance"),
        staging.then_some("staging"),
        trust_config.is_some().then_some("trust-config"),
        pair,
        tuf_named,
    ]
    .into_iter()
    .flatten()
    .collect();
    if let [first, second, ..] = named[..] {
        return Err(SettingsError::ConflictingInstance {
            vocabulary,
            first,
            second,
        });
    }
    match tuf {
        (Some(url), Some(root)) => {
            if !crate::vocab::is_http_url(&url) {
                return Err(SettingsError::InvalidUrl {
                    flag: vocabulary.name("tuf-url"),
                    value: crate::text::echoed(&url),
                });
            }
            return Ok(BaseInstance::Tuf { url, root });
        }
        (Some(_), None) => {
            return Err(SettingsError::IncompleteTuf {
                vocabulary,
                given: "tuf-url",
                missing: "tuf-root",
            })
        }
        (None, Some(_)) => {
            return Err(SettingsError::IncompleteTuf {
                vocabulary,
                given: "tuf-root",
                missing: "tuf-url",
            })
        }
        (None, None) => {}
    }
    Ok(match (trust_config, signing_config, trusted_root) {
        (Some(path), _, _) => BaseInstance::TrustConfig(path),
        (None, Some(signing_config), Some(trusted_root)) => BaseInstance::Files {
            signing_config,
            trusted_root,
        },
        (None, Some(_), None) => {
            return Err(SettingsError::IncompleteInstanceFiles {
                vocabulary,
                given: "signing-config",
                missing: "trusted-root",
            })
        }
        (None, None, Some(_)) => {
            return Err(SettingsError::IncompleteInstanceFiles {
                vocabulary,
                given: "trusted-root",
                missing: "signing-config",
            })
        }
        (None, None, None) => match instance {
            _ if staging => BaseInstance::Staging,
            None | Some(InstanceName::PublicGood) => BaseInstance::PublicGood,
            Some(InstanceName::Staging) => BaseInstance::Staging,
            Some(InstanceName::GitHub) => BaseInstance::GitHub,
        },
    })
}

impl SignSettings {
    /// Resolve `sign` from already-merged higher layers plus the environment.
    pub fn resolve(layer: SignLayer, env: &Env) -> Result<SignSettings, SettingsError> {
        let env_layer = SignLayer {
            identity_token: env
                .get("SIGSTORE_ID_TOKEN")
                .map(|t| (TokenOrigin::SigstoreIdTokenEnv, Secret::new(t))),
            ..SignLayer::default()
        };
        let l = layer.or(env_layer);

        let inputs = l
            .inputs
            .filter(|i| !i.is_empty())
            .ok_or(SettingsError::NoInputs)?;
        let base = base_instance(
            l.instance,
            l.staging.unwrap_or(false),
            l.trust_config,
            l.signing_config,
            l.trusted_root,
            (l.tuf_url, l.tuf_root),
            upload::Vocabulary::Cli,
        )?;
        let checked = |flag: &'static str, v: Option<String>| match v {
            Some(v) if !crate::vocab::is_http_url(&v) => Err(SettingsError::InvalidUrl {
                flag: flag.to_owned(),
                value: crate::text::echoed(&v),
            }),
            v => Ok(v),
        };
        // Fulcio and Rekor are addressed as `{base}/api/...`: a trailing slash would double it.
        let base_url = |flag, v| {
            checked(flag, v).map(|v| v.map(|v: String| v.trim_end_matches('/').to_owned()))
        };
        let instance = InstanceSettings {
            base,
            tuf_cache: l.tuf_cache.unwrap_or(true),
            fulcio_url: base_url("--fulcio-url", l.fulcio_url)?,
            rekor_url: base_url("--rekor-url", l.rekor_url)?,
            rekor_version: l.rekor_version,
            // The TSA URL is the full endpoint: kept exactly as given.
            tsa_url: checked("--tsa-url", l.tsa_url)?,
        };

        let actions = match (
            env.get("ACTIONS_ID_TOKEN_REQUEST_URL"),
            env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        ) {
            (Some(url), Some(token)) => Some(ActionsTokenRequest {
                url: url.to_owned(),
                bearer: Secret::new(token),
            }),
            _ => None,
        };
        let identity = IdentitySettings {
            explicit: l.identity_token,
            github_actions: env.get("GITHUB_ACTIONS") == Some("true"),
            gitlab_ci: env.get("GITLAB_CI") == Some("true"),
            ci_agent: crate::oidc::CiAgent::of_env(env.get("BUILDKITE"), env.get("CIRCLECI")),
            actions,
        };

        Ok(SignSettings {
            inputs,
            recursive: l.recursive.unwrap_or(false),
            output_dir: l.output_dir,
            overwrite: l.overwrite.unwrap_or(false),
            dry_run: l.dry_run.unwrap_or(false),
            jobs: l
                .jobs
                .unwrap_or(NonZeroUsize::new(DEFAULT_JOBS).expect("non-zero default")),
            identity,
            instance,
            allow_private_repository: l.allow_private_repository.unwrap_or(false),
            provenance: match l.provenance.unwrap_or(false) {
                true => Some(ProvenanceSettings {
                    name: l.provenance_name,
                    server_url: github_server(env)?,
                }),
                false => None,
            },
        })
    }
}

/// `GITHUB_SERVER_URL` (the runner sets it: github.com's, or a GitHub
/// Enterprise Server's), read once for sign's provenance and verify's
/// repository claims alike; set but not a server's URL is an error.
pub(crate) fn github_server(env: &Env) -> Result<Option<GitHubServer>, SettingsError> {
    env.get("GITHUB_SERVER_URL")
        .map(|url| {
            GitHubServer::parse(url)
                .ok_or_else(|| SettingsError::BadServerUrl(text::line(text::echoed(url))))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn resolve(args: &[&str], env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let cli =
            Cli::try_parse_from(std::iter::once("releasekit-sign").chain(args.iter().copied()))
                .unwrap();
        Settings::resolve(cli, &Env::from_pairs(env.iter().copied()))
    }

    /// A variable the run reads whose value is not UTF-8 fails resolution
    /// naming it, in the action (every `INPUT_*` is read) and on the
    /// command line; one nothing reads is no failure. Regression: it was
    /// taken for unset, so `INPUT_DRY-RUN` set to such bytes signed and
    /// uploaded for real, and a bad `SIGSTORE_ID_TOKEN` fell through to
    /// another token.
    #[cfg(unix)]
    #[test]
    fn a_value_that_is_not_utf8_is_named_not_ignored() {
        use std::ffi::OsString;
        use std::os::unix::ffi::OsStringExt as _;
        let env = |extra: (&str, &[u8])| {
            Env::from_os([
                (OsString::from("INPUT_INPUTS"), OsString::from("dist/*")),
                (
                    OsString::from(extra.0),
                    OsString::from_vec(extra.1.to_vec()),
                ),
            ])
        };
        let cli = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("releasekit-sign").chain(args.iter().copied()))
                .unwrap()
        };
        // Nothing reads it: not the action (only `INPUT_*`), not the
        // masks, not NO_COLOR's test (any value is set).
        for args in [&["action"][..], &["sign", "a"]] {
            for name in ["UNRELATED", "GH_TOKEN", "NO_COLOR"] {
                let resolved = Settings::resolve(cli(args), &env((name, b"\xff")));
                assert!(resolved.is_ok(), "{args:?} {name}: {resolved:?}");
            }
        }
        let no_color = Settings::resolve(cli(&["sign", "a"]), &env(("NO_COLOR", b"\xff")));
        assert!(!no_color.unwrap().output.color);
        for (args, name) in [
            (&["action"][..], "INPUT_DRY-RUN"),
            (&["sign", "a"], "SIGSTORE_ID_TOKEN"),
            (&["verify", "a"], "GITHUB_SERVER_URL"),
        ] {
            let e = Settings::resolve(cli(args), &env((name, b"\xff"))).unwrap_err();
            assert!(
                matches!(&e, SettingsError::NotUtf8(n) if n == name),
                "{args:?}: {e:?}"
            );
            assert!(e
                .to_string()
                .starts_with(&format!("environment variable {name} is not UTF-8")));
        }
    }

    /// What holds a token before it is resolved shows none in its
    /// `Debug`: the flag, the action's inputs, the environment. Regression:
    /// each derived `Debug` over a plain `String`.
    #[test]
    fn no_debug_shows_a_token() {
        let token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2VjcmV0LXNpZ25hdHVyZQ";
        let cli = Cli::try_parse_from(["releasekit-sign", "sign", "--identity-token", token, "a"])
            .unwrap();
        let env = Env::from_pairs([
            ("GITHUB_TOKEN", token),
            ("INPUT_GITHUB-TOKEN", token),
            ("INPUT_IDENTITY-TOKEN", token),
        ]);
        let inputs = action::read(&env).unwrap();
        for shown in [
            format!("{cli:?}"),
            format!("{env:?}"),
            format!("{inputs:?}"),
        ] {
            assert!(!shown.contains("c2VjcmV0"), "{shown}");
        }
        assert!(format!("{env:?}").contains("GITHUB_TOKEN"));
        // The value still reaches where it is meant to go.
        let Command::Sign(s) = resolve(&["sign", "--identity-token", token, "a"], &[])
            .unwrap()
            .command
        else {
            panic!()
        };
        assert!(
            matches!(s.sign.identity.explicit, Some((TokenOrigin::Flag, ref t)) if t.expose() == token)
        );
    }

    fn sign(args: &[&str], env: &[(&str, &str)]) -> SignSettings {
        match resolve(args, env).unwrap().command {
            Command::Sign(s) => s.sign,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let s = sign(&["sign", "dist/"], &[]);
        assert_eq!(s.inputs, ["dist/"]);
        assert_eq!(s.jobs.get(), DEFAULT_JOBS);
        assert!(!s.recursive && !s.overwrite && !s.dry_run && s.output_dir.is_none());
        assert_eq!(s.instance.base, BaseInstance::PublicGood);
        assert_eq!(s.identity.plan(), crate::oidc::IdentityPlan::NotFound);
    }

    /// `GITHUB_SERVER_URL` has one rule, read where the settings are made:
    /// provenance's URIs start with it, so a bad one is a configuration error
    /// before any request (and unread when there is no provenance to make).
    #[test]
    fn the_github_server_url_is_read_once_and_checked() {
        let ghes = [("GITHUB_SERVER_URL", "https://ghe.example.com/")];
        let s = sign(&["sign", "--provenance", "dist/"], &ghes);
        let server = s.provenance.unwrap().server_url.unwrap();
        assert_eq!(server.url(), "https://ghe.example.com");
        let bad = [("GITHUB_SERVER_URL", "ghe.example.com/x\n::error::x")];
        let e = resolve(&["sign", "--provenance", "dist/"], &bad).unwrap_err();
        assert!(matches!(e, SettingsError::BadServerUrl(_)), "{e}");
        assert!(!e.to_string().contains('\n'), "{e}");
        assert!(sign(&["sign", "dist/"], &bad).provenance.is_none());
    }

    #[test]
    fn flag_token_beats_sigstore_id_token_env() {
        let s = sign(
            &["sign", "a", "--identity-token", "flag"],
            &[("SIGSTORE_ID_TOKEN", "env")],
        );
        let (origin, token) = s.identity.explicit.unwrap();
        assert_eq!((origin, token.expose()), (TokenOrigin::Flag, "flag"));
        let s = sign(&["sign", "a"], &[("SIGSTORE_ID_TOKEN", "env")]);
        let (origin, token) = s.identity.explicit.unwrap();
        assert_eq!(
            (origin, token.expose()),
            (TokenOrigin::SigstoreIdTokenEnv, "env")
        );
        // Empty counts as unset, as an undefined Actions expression expands to "".
        assert!(sign(&["sign", "a"], &[("SIGSTORE_ID_TOKEN", "")])
            .identity
            .explicit
            .is_none());
    }

    #[test]
    fn actions_variables_are_picked_up() {
        let env = [
            ("GITHUB_ACTIONS", "true"),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", "https://x/t?v=1"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "bearer"),
        ];
        let s = sign(&["sign", "a"], &env);
        assert_eq!(s.identity.actions.as_ref().unwrap().url, "https://x/t?v=1");
        assert!(s.identity.github_actions);
        let s = sign(&["sign", "a"], &env[..1]);
        assert_eq!(
            s.identity.plan(),
            crate::oidc::IdentityPlan::GitHubActionsWithoutPermission
        );
    }

    #[test]
    fn instance_flags() {
        let s = sign(
            &[
                "sign",
                "a",
                "--trust-config",
                "t.json",
                "--rekor-version",
                "2",
                "--rekor-url",
                "http://r/",
            ],
            &[],
        );
        assert_eq!(s.instance.base, BaseInstance::TrustConfig("t.json".into()));
        assert_eq!(s.instance.rekor_version, Some(RekorVersion::V2));
        assert_eq!(s.instance.rekor_url.as_deref(), Some("http://r"));
        assert_eq!(
            sign(&["sign", "a", "--staging"], &[]).instance.base,
            BaseInstance::Staging
        );
        for (name, base) in [
            ("github", BaseInstance::GitHub),
            ("staging", BaseInstance::Staging),
            ("public-good", BaseInstance::PublicGood),
        ] {
            assert_eq!(
                sign(&["sign", "a", "--instance", name], &[]).instance.base,
                base
            );
        }
        assert_eq!(
            sign(
                &[
                    "sign",
                    "a",
                    "--signing-config",
                    "s.json",
                    "--trusted-root",
                    "r.json"
                ],
                &[]
            )
            .instance
            .base,
            BaseInstance::Files {
                signing_config: "s.json".into(),
                trusted_root: "r.json".into()
            }
        );
        let e = resolve(&["sign", "a", "--fulcio-url", "fulcio.example"], &[]).unwrap_err();
        assert!(
            matches!(
                e,
                SettingsError::InvalidUrl { ref flag, .. } if flag == "--fulcio-url"
            ),
            "{e}"
        );
    }

    #[test]
    fn usage_errors_are_clap_errors() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("releasekit-sign").chain(args.iter().copied()))
        };
        assert!(parse(&["sign"]).is_err());
        assert!(parse(&["sign", "a", "--rekor-version", "3"]).is_err());
        assert!(parse(&["sign", "a", "--jobs", "0"]).is_err());
        assert!(parse(&["sign", "a", "--staging", "--trust-config", "t"]).is_err());
        assert!(parse(&["sign", "a", "--instance", "github", "--staging"]).is_err());
        assert!(parse(&["sign", "a", "--instance", "gitlab"]).is_err());
        // The pair goes together, and with no other instance.
        assert!(parse(&["sign", "a", "--signing-config", "s"]).is_err());
        assert!(parse(&["sign", "a", "--trusted-root", "r"]).is_err());
        for other in [&["--staging"][..], &["--trust-config", "t"]] {
            let mut args = vec!["sign", "a", "--signing-config", "s", "--trusted-root", "r"];
            args.extend_from_slice(other);
            assert!(parse(&args).is_err(), "{args:?}");
        }
        assert!(parse(&["-q", "-v", "sign", "a"]).is_err());
    }

    /// `--tuf-url` + `--tuf-root` choose a private TUF repository; each
    /// needs the other, and no other instance flag goes with them.
    #[test]
    fn tuf_url_and_root_choose_a_repository() {
        let tuf = [
            "--tuf-url",
            "https://tuf.example",
            "--tuf-root",
            "root.json",
        ];
        for cmd in ["sign", "verify"] {
            let mut args = vec![cmd, "a"];
            args.extend_from_slice(&tuf);
            let parsed = Cli::try_parse_from(std::iter::once("releasekit-sign").chain(args));
            assert!(parsed.is_ok(), "{cmd}");
        }
        assert_eq!(
            sign(&[&["sign", "a"][..], &tuf].concat(), &[])
                .instance
                .base,
            BaseInstance::Tuf {
                url: "https://tuf.example".into(),
                root: "root.json".into()
            }
        );
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("releasekit-sign").chain(args.iter().copied()))
        };
        for cmd in ["sign", "verify"] {
            assert!(parse(&[cmd, "a", "--tuf-url", "https://t"]).is_err());
            assert!(parse(&[cmd, "a", "--tuf-root", "r"]).is_err());
            for other in [
                &["--staging"][..],
                &["--trust-config", "t"],
                &["--instance", "github"],
            ] {
                let mut args = vec![cmd, "a"];
                args.extend_from_slice(&tuf);
                args.extend_from_slice(other);
                assert!(parse(&args).is_err(), "{args:?}");
            }
        }
        let e = resolve(
            &["sign", "a", "--tuf-url", "tuf.example", "--tuf-root", "r"],
            &[],
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                SettingsError::InvalidUrl { ref flag, .. } if flag == "--tuf-url"
            ),
            "{e}"
        );
        let e = base_instance(
            None,
            false,
            Some("t.json".into()),
            None,
            None,
            (Some("https://t".into()), None),
            upload::Vocabulary::Action,
        )
        .unwrap_err();
        assert!(
            matches!(e, SettingsError::ConflictingInstance { .. }),
            "{e}"
        );
        let e = base_instance(
            None,
            false,
            None,
            None,
            None,
            (None, Some("r".into())),
            upload::Vocabulary::Action,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "input `tuf-root` needs input `tuf-url`: the repository's metadata is trusted only from an initial root.json the user holds; fix: pass both (as cosign's `initialize --mirror --root`)"
        );
    }

    #[test]
    fn output_settings() {
        let s = resolve(&["--json", "-vv", "sign", "a"], &[("NO_COLOR", "1")]).unwrap();
        assert_eq!(
            s.output,
            OutputSettings {
                verbosity: Verbosity::Verbose(2),
                color: false,
                json: true
            }
        );
        let s = resolve(&["sign", "a", "-q"], &[]).unwrap();
        assert_eq!(
            s.output,
            OutputSettings {
                verbosity: Verbosity::Quiet,
                color: true,
                json: false
            }
        );
    }
}
