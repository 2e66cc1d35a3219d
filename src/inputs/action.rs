//! GitHub Action inputs: `INPUT_<NAME>` variables read with envy into one
//! typed struct, then resolved into the same settings the command line gets.
//!
//! Owns the action's input names, their parsing (booleans as the Actions
//! toolkit accepts them, paths split on newlines and spaces) and their errors,
//! each naming the input and the fix. It does not print (the binary masks the
//! secrets listed by [`secrets`] before printing anything) and does no I/O.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::upload::{self, UploadLayer, Vocabulary};
use super::{Env, SettingsError, SignLayer};
use crate::oidc::{Secret, TokenOrigin};
use crate::pipeline::SignCommand;
use crate::sign::SignSettings;
use crate::upload::UploadSettings;

use crate::vocab::{InstanceName, MakeLatest, RekorVersion, ReleaseMode};

/// Every input of `action.yml`, as the runner passes it: `INPUT_` + the name
/// uppercased, hyphens kept (`INPUT_RELEASE-TAG`). Empty means "not given".
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ActionInputs {
    pub inputs: Option<String>,
    pub release_tag: Option<String>,
    pub upload: Option<String>,
    pub github_token: Option<Secret>,
    pub dry_run: Option<String>,
    pub overwrite: Option<String>,
    pub instance: Option<String>,
    pub staging: Option<String>,
    pub trust_config: Option<String>,
    pub signing_config: Option<String>,
    pub trusted_root: Option<String>,
    pub tuf_url: Option<String>,
    pub tuf_root: Option<String>,
    pub rekor_version: Option<String>,
    pub verify: Option<String>,
    pub identity_token: Option<Secret>,
    pub allow_private_repository: Option<String>,
    pub release_mode: Option<String>,
    pub publish: Option<String>,
    pub make_latest: Option<String>,
    pub upload_artifacts: Option<String>,
    pub provenance: Option<String>,
    pub provenance_name: Option<String>,
}

/// The names of [`ActionInputs`]' fields as action.yml declares them
/// (tests/repo.rs holds the three to one list).
const DECLARED: &[&str] = &[
    "inputs",
    "release-tag",
    "upload",
    "github-token",
    "dry-run",
    "overwrite",
    "instance",
    "staging",
    "trust-config",
    "signing-config",
    "trusted-root",
    "tuf-url",
    "tuf-root",
    "rekor-version",
    "verify",
    "identity-token",
    "allow-private-repository",
    "release-mode",
    "publish",
    "make-latest",
    "upload-artifacts",
    "provenance",
    "provenance-name",
];

/// `action`, resolved.
#[derive(Debug, Clone)]
pub struct ActionSettings {
    /// What to sign, and the release the bundles go to.
    pub command: SignCommand,
    /// Download each uploaded asset and check it is the verified bundle.
    pub verify: bool,
    /// `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY` (absent outside Actions).
    pub output_file: Option<PathBuf>,
    pub summary_file: Option<PathBuf>,
    /// `$GITHUB_WORKSPACE` as this process sees it (`/github/workspace` in
    /// the action's container): output paths under it are written relative
    /// to it, which later steps, on the runner itself, can open.
    pub workspace: Option<PathBuf>,
    /// The runner's temp directory as this process sees it
    /// (`$RUNNER_TEMP`, `/github/runner_temp` in the container) and as the
    /// runner's own steps see it ([`runner_temp`]), when the two are known.
    pub runner_temp: Option<(PathBuf, PathBuf)>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ActionInputError {
    #[error("cannot read the action inputs: {0}")]
    Env(String),
    #[error("input `{input}` is `{value}`: use true or false")]
    NotBoolean { input: &'static str, value: String },
    #[error("input `inputs` is empty: list the files to sign (paths or globs relative to the workspace, one per line), e.g. `inputs: dist/*`")]
    NoInputs,
    #[error("input `rekor-version` is `{0}`: use 1 or 2")]
    RekorVersion(String),
    #[error("input `instance` is `{0}`: use public-good, staging or github")]
    Instance(String),
    #[error("input `release-mode` is `{0}`: use existing, draft or auto")]
    ReleaseMode(String),
    #[error("input `make-latest` is `{0}`: use true, false or legacy (or leave it empty for GitHub's default)")]
    MakeLatest(String),
    #[error("input `inputs`: `{entry}` is a path on the runner, which this container action does not see there (it sees the workspace as {workspace}, and the runner's temp directory as {temp}); the runner rewrites such a path only at the start of the input, so on a later line it names nothing here; fix: write it relative to the workspace (`dist/*.whl`, not `${{{{ github.workspace }}}}/dist/*.whl`), or one in the runner's temp directory under {temp}")]
    RunnerPath {
        entry: String,
        workspace: String,
        temp: String,
    },
    #[error("input `provenance-name` is set, but input `provenance` is off, so no provenance would be written: set `provenance: true`, or remove `provenance-name`")]
    ProvenanceNameWithoutProvenance,
    /// A `with:` key that is a declared input spelled otherwise: the runner
    /// only warns of it, and it would be ignored.
    #[error("input `{given}` is not an input of this action, so it would be ignored; fix: write it `{input}`")]
    Misspelled { given: String, input: &'static str },
}

/// Read the `INPUT_*` variables of `env` into [`ActionInputs`]. One
/// that is a declared input spelled otherwise (`dry_run`, `dryrun`) is
/// refused, naming the input, before anything is done. Regression: the
/// runner warned and passed it, it was dropped, and `dry_run: true` signed
/// and uploaded for good. Other names are left alone: a job's environment
/// may hold `INPUT_*` variables meant for something else.
pub fn read(env: &Env) -> Result<ActionInputs, ActionInputError> {
    for (key, _) in env.with_prefix("INPUT_") {
        let given = key["INPUT_".len()..].to_lowercase();
        if let Some(input) = misspelled(&given) {
            return Err(ActionInputError::Misspelled {
                given: crate::text::echoed(&given),
                input,
            });
        }
    }
    // envy matches field names against the lowercased variable names.
    envy::prefixed("INPUT_")
        .from_iter(
            env.with_prefix("INPUT_")
                .map(|(k, v)| (k.to_owned(), v.to_owned())),
        )
        .map_err(|e| ActionInputError::Env(e.to_string()))
}

/// The declared input `given` (a `with:` key as the runner passes it,
/// lowercased) spells otherwise: the same but for hyphens, underscores and
/// spaces (which the runner turns into underscores).
fn misspelled(given: &str) -> Option<&'static str> {
    let bare = |s: &str| s.replace(['-', '_', ' '], "");
    (!DECLARED.contains(&given))
        .then(|| DECLARED.iter().find(|d| bare(d) == bare(given)).copied())
        .flatten()
}

/// Values that must be masked before anything is printed.
pub fn secrets(env: &Env) -> Vec<Secret> {
    [
        "INPUT_GITHUB-TOKEN",
        "INPUT_IDENTITY-TOKEN",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "SIGSTORE_ID_TOKEN",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
    ]
    .iter()
    .filter_map(|k| env.get_unread(k))
    .map(Secret::new)
    .collect()
}

/// Booleans as `core.getBooleanInput` accepts them (YAML 1.2 core schema).
fn boolean(input: &'static str, v: Option<String>) -> Result<Option<bool>, ActionInputError> {
    match nonempty(v).as_deref() {
        None => Ok(None),
        Some("true" | "True" | "TRUE") => Ok(Some(true)),
        Some("false" | "False" | "FALSE") => Ok(Some(false)),
        Some(other) => Err(ActionInputError::NotBoolean {
            input,
            value: crate::text::echoed(other),
        }),
    }
}

/// A boolean as `core.getBooleanInput` spells it (`True`, `FALSE`), as
/// the flag's value (`true`, `false`); any other value as it is. For an
/// input that is a boolean or a word (`make-latest`: `legacy`).
/// Regression: `make-latest: True` was refused beside `publish: True`.
fn toolkit_boolean(v: String) -> String {
    match v.trim() {
        "True" | "TRUE" => "true".to_owned(),
        "False" | "FALSE" => "false".to_owned(),
        _ => v,
    }
}

/// An input whose value is one of a flag's (`T`, as clap takes it, case
/// as written), `None` when empty; another value is `refused`'s error.
fn one_of<T: clap::ValueEnum>(
    v: Option<String>,
    refused: fn(String) -> ActionInputError,
) -> Result<Option<T>, ActionInputError> {
    nonempty(v)
        .map(|v| T::from_str(&v, false).map_err(|_| refused(crate::text::echoed(&v))))
        .transpose()
}

fn nonempty(v: Option<String>) -> Option<String> {
    v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl ActionSettings {
    /// Resolve the action's inputs and the job environment.
    pub fn resolve(inputs: ActionInputs, env: &Env) -> Result<Self, SettingsError> {
        let paths: Vec<String> = inputs
            .inputs
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if paths.is_empty() {
            return Err(ActionInputError::NoInputs.into());
        }
        if let Some(entry) = paths.iter().find(|p| on_the_runner_only(p, env)) {
            return Err(ActionInputError::RunnerPath {
                entry: crate::text::echoed(entry),
                workspace: crate::text::echoed(env.get("GITHUB_WORKSPACE").unwrap_or_default()),
                temp: crate::text::echoed(env.get("RUNNER_TEMP").unwrap_or("/github/runner_temp")),
            }
            .into());
        }
        // The flags' own values: an input the flag would refuse is refused.
        let rekor_version: Option<RekorVersion> =
            one_of(inputs.rekor_version, ActionInputError::RekorVersion)?;
        let staging = boolean("staging", inputs.staging)?;
        let trust_config = nonempty(inputs.trust_config).map(PathBuf::from);
        let signing_config = nonempty(inputs.signing_config).map(PathBuf::from);
        let trusted_root = nonempty(inputs.trusted_root).map(PathBuf::from);
        let tuf_url = nonempty(inputs.tuf_url);
        let tuf_root = nonempty(inputs.tuf_root).map(PathBuf::from);
        // Checked here so the error names the inputs, not the flags.
        let instance: Option<InstanceName> = one_of(inputs.instance, ActionInputError::Instance)?;
        super::base_instance(
            instance,
            staging == Some(true),
            trust_config.clone(),
            signing_config.clone(),
            trusted_root.clone(),
            (tuf_url.clone(), tuf_root.clone()),
            Vocabulary::Action,
        )?;
        let overwrite = boolean("overwrite", inputs.overwrite)?;
        let provenance = boolean("provenance", inputs.provenance)?;
        let provenance_name = nonempty(inputs.provenance_name);
        // The command line refuses the same in clap (`requires`).
        if provenance_name.is_some() && provenance != Some(true) {
            return Err(ActionInputError::ProvenanceNameWithoutProvenance.into());
        }
        let layer = SignLayer {
            inputs: Some(paths),
            overwrite,
            dry_run: boolean("dry-run", inputs.dry_run)?,
            identity_token: inputs
                .identity_token
                .and_then(Secret::nonempty)
                .map(|t| (TokenOrigin::ActionInput, t)),
            instance,
            staging,
            trust_config,
            signing_config,
            trusted_root,
            tuf_url,
            tuf_root,
            rekor_version,
            allow_private_repository: boolean(
                "allow-private-repository",
                inputs.allow_private_repository,
            )?,
            provenance,
            provenance_name,
            // Root in a container: what it cached in the job's home would
            // be root's, on a self-hosted runner for every later job.
            tuf_cache: Some(false),
            ..SignLayer::default()
        };
        let upload_layer = UploadLayer {
            upload: boolean("upload", inputs.upload)?,
            release_tag: nonempty(inputs.release_tag),
            // The workflow's own repository (GITHUB_REPOSITORY): action.yml has no input for another.
            repo: None,
            token: inputs.github_token.and_then(Secret::nonempty),
            mode: one_of::<ReleaseMode>(inputs.release_mode, ActionInputError::ReleaseMode)?,
            publish: boolean("publish", inputs.publish)?,
            make_latest: one_of::<MakeLatest>(
                inputs.make_latest.map(toolkit_boolean),
                ActionInputError::MakeLatest,
            )?,
            upload_artifacts: boolean("upload-artifacts", inputs.upload_artifacts)?,
        };
        let verify = boolean("verify", inputs.verify)?.unwrap_or(true);
        let sign = SignSettings::resolve(layer, env)?;
        let warnings = upload::waiting_for_a_tag(&upload_layer, env, Vocabulary::Action)
            .into_iter()
            .collect();
        let upload: Option<UploadSettings> = upload::resolve(
            upload_layer,
            env,
            overwrite.unwrap_or(false),
            Vocabulary::Action,
        )?;
        Ok(ActionSettings {
            command: SignCommand {
                sign,
                upload,
                warnings,
            },
            verify,
            output_file: env.get("GITHUB_OUTPUT").map(PathBuf::from),
            summary_file: env.get("GITHUB_STEP_SUMMARY").map(PathBuf::from),
            workspace: env.get("GITHUB_WORKSPACE").map(PathBuf::from),
            runner_temp: runner_temp(env),
        })
    }
}

/// The runner's work directory as the runner sees it: the parent of
/// `$RUNNER_WORKSPACE` (`<work>/<repository>`, actions/runner's
/// `JobExtension`), which the runner does not rewrite for a container
/// action since no mount starts there.
fn runner_work(env: &Env) -> Option<PathBuf> {
    let workspace = Path::new(env.get("RUNNER_WORKSPACE")?);
    workspace
        .is_absolute()
        .then(|| workspace.parent().map(Path::to_path_buf))
        .flatten()
        .filter(|work| work.parent().is_some())
}

/// `$RUNNER_TEMP` as this process sees it, and the same directory as the
/// runner's own steps see it: `<work>/_temp` (actions/runner's
/// `TempDirectory`), which it mounts into a container action as
/// `/github/runner_temp`. A later step given an output path under the
/// first could not open it.
fn runner_temp(env: &Env) -> Option<(PathBuf, PathBuf)> {
    let here = PathBuf::from(env.get("RUNNER_TEMP")?);
    Some((here, runner_work(env)?.join("_temp")))
}

/// Whether `entry` (a line of input `inputs`) is a path as the runner's
/// own steps see it, under its work directory, while this process runs in
/// the action's container, which sees the workspace elsewhere: the
/// runner rewrites a host path to the container's only at the start of an
/// input's value, so a second line written with `${{ github.workspace }}`
/// reaches here unchanged and names nothing.
fn on_the_runner_only(entry: &str, env: &Env) -> bool {
    let (Some(work), Some(workspace)) = (runner_work(env), env.get("GITHUB_WORKSPACE")) else {
        return false;
    };
    let in_container = !Path::new(workspace).starts_with(&work);
    in_container && Path::new(entry).starts_with(&work)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused input is repeated at most 200 characters long: an input
    /// may be of any length, and its error goes into an annotation and the
    /// step summary. Regression: repeated whole.
    #[test]
    fn a_refused_value_is_repeated_short() {
        let long = "y".repeat(100_000);
        let e = boolean("upload", Some(long.clone()))
            .unwrap_err()
            .to_string();
        assert!(e.len() < 400, "{}", e.len());
        let e = upload::api_url(&Env::from_pairs([("GITHUB_API_URL", long.as_str())]))
            .unwrap_err()
            .to_string();
        assert!(e.len() < 400, "{}", e.len());
        // An input, or the runner's paths, refused the same way.
        // Regression: each was repeated whole.
        let e = resolve(&[
            ("INPUT_INPUTS", "a"),
            ("INPUT_TUF-URL", &long),
            ("INPUT_TUF-ROOT", "r"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.len() < 600, "{}", e.len());
        let in_container = format!("/{long}");
        let e = resolve(&[
            ("INPUT_INPUTS", "a\n/home/runner/work/r/r/b"),
            ("GITHUB_WORKSPACE", &in_container),
            ("RUNNER_TEMP", &in_container),
            ("RUNNER_WORKSPACE", "/home/runner/work/r"),
        ])
        .map(|_| ())
        .unwrap_err()
        .to_string();
        assert!(e.len() < 1_200, "{}", e.len());
    }

    fn resolve(pairs: &[(&str, &str)]) -> Result<ActionSettings, SettingsError> {
        let env = Env::from_pairs(pairs.iter().copied());
        ActionSettings::resolve(read(&env)?, &env)
    }

    /// `make-latest` takes the toolkit's spellings of a boolean, as every
    /// boolean input does.
    #[test]
    fn make_latest_takes_the_toolkits_booleans() {
        for (value, expected) in [
            ("True", MakeLatest::True),
            ("TRUE", MakeLatest::True),
            ("false", MakeLatest::False),
            ("FALSE", MakeLatest::False),
            ("legacy", MakeLatest::Legacy),
        ] {
            let settings = resolve(&[
                ("INPUT_INPUTS", "a"),
                ("INPUT_UPLOAD", "true"),
                ("INPUT_RELEASE-TAG", "v1.0.0"),
                ("INPUT_RELEASE-MODE", "draft"),
                ("INPUT_PUBLISH", "true"),
                ("INPUT_MAKE-LATEST", value),
                ("GITHUB_REPOSITORY", "o/r"),
                ("GITHUB_SHA", "a3f1c5e9b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2"),
                ("GITHUB_TOKEN", "t"),
            ])
            .unwrap_or_else(|e| panic!("{value}: {e}"));
            let upload = settings.command.upload.expect("uploading");
            assert_eq!(upload.make_latest, Some(expected), "{value}");
        }
        assert!(resolve(&[("INPUT_INPUTS", "a"), ("INPUT_MAKE-LATEST", "yes")]).is_err());
    }

    /// A declared input spelled otherwise (as the runner passes a `with:`
    /// key: uppercased, spaces as underscores) is refused, naming the
    /// input; an `INPUT_*` of no input's name is left alone.
    #[test]
    fn a_misspelled_input_is_refused() {
        for (key, given, input) in [
            ("INPUT_DRY_RUN", "dry_run", "dry-run"),
            ("INPUT_DRYRUN", "dryrun", "dry-run"),
            (
                "INPUT_UPLOAD_ARTIFACTS",
                "upload_artifacts",
                "upload-artifacts",
            ),
            ("INPUT_RELEASE_MODE", "release_mode", "release-mode"),
        ] {
            let e = resolve(&[
                ("INPUT_INPUTS", "a"),
                ("INPUT_DRY-RUN", "false"),
                (key, "true"),
            ])
            .unwrap_err()
            .to_string();
            assert_eq!(
                e,
                format!("input `{given}` is not an input of this action, so it would be ignored; fix: write it `{input}`")
            );
        }
        assert!(resolve(&[("INPUT_INPUTS", "a"), ("INPUT_SOMETHING_ELSE", "x")]).is_ok());
    }

    /// Two inputs that both choose the instance are named as inputs; the
    /// same conflict from flags names the flags.
    #[test]
    fn conflicting_instance_in_the_users_words() {
        let e = resolve(&[
            ("INPUT_INPUTS", "a"),
            ("INPUT_STAGING", "true"),
            ("INPUT_TRUST-CONFIG", "t.json"),
        ])
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "input `staging` and input `trust-config` both choose the Sigstore instance: keep one of them"
        );
        assert_eq!(
            SettingsError::ConflictingInstance {
                vocabulary: Vocabulary::Cli,
                first: "staging",
                second: "trust-config"
            }
            .to_string(),
            "--staging and --trust-config both choose the Sigstore instance: keep one of them"
        );
    }

    /// `instance: github` chooses GitHub's instance; an unknown name is named.
    #[test]
    fn instance_input() {
        let s = resolve(&[("INPUT_INPUTS", "a"), ("INPUT_INSTANCE", "github")]).unwrap();
        assert_eq!(
            s.command.sign.instance.base,
            crate::trust::BaseInstance::GitHub
        );
        let e = resolve(&[("INPUT_INPUTS", "a"), ("INPUT_INSTANCE", "gitlab")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "input `instance` is `gitlab`: use public-good, staging or github"
        );
        let e = resolve(&[
            ("INPUT_INPUTS", "a"),
            ("INPUT_INSTANCE", "github"),
            ("INPUT_STAGING", "true"),
        ])
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("input `instance` and input `staging`"),
            "{e}"
        );
    }

    /// `signing-config` + `trusted-root` (cosign v3's pair) choose a local
    /// instance; one without the other names the missing input.
    #[test]
    fn signing_config_and_trusted_root_go_together() {
        let s = resolve(&[
            ("INPUT_INPUTS", "a"),
            ("INPUT_SIGNING-CONFIG", "s.json"),
            ("INPUT_TRUSTED-ROOT", "r.json"),
        ])
        .unwrap();
        assert_eq!(
            s.command.sign.instance.base,
            crate::trust::BaseInstance::Files {
                signing_config: "s.json".into(),
                trusted_root: "r.json".into()
            }
        );
        let e = resolve(&[("INPUT_INPUTS", "a"), ("INPUT_SIGNING-CONFIG", "s.json")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "input `signing-config` needs input `trusted-root`: the signing config says where requests go, the trusted root what to trust; fix: pass both (the pair cosign v3 takes), or one ClientTrustConfig with input `trust-config`"
        );
        let e = resolve(&[
            ("INPUT_INPUTS", "a"),
            ("INPUT_TRUST-CONFIG", "t.json"),
            ("INPUT_TRUSTED-ROOT", "r.json"),
        ])
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("input `trust-config` and input `trusted-root`"),
            "{e}"
        );
    }

    /// `tuf-url` + `tuf-root` choose a private TUF repository; each needs
    /// the other, and no other instance input goes with them.
    #[test]
    fn tuf_url_and_tuf_root_choose_a_repository() {
        let s = resolve(&[
            ("INPUT_INPUTS", "a"),
            ("INPUT_TUF-URL", "https://tuf.example"),
            ("INPUT_TUF-ROOT", "root.json"),
        ])
        .unwrap();
        assert_eq!(
            s.command.sign.instance.base,
            crate::trust::BaseInstance::Tuf {
                url: "https://tuf.example".into(),
                root: "root.json".into()
            }
        );
        // A URL that is no URL is named as the input it came from.
        let e = resolve(&[
            ("INPUT_INPUTS", "a"),
            ("INPUT_TUF-URL", "tuf.example"),
            ("INPUT_TUF-ROOT", "r.json"),
        ])
        .unwrap_err();
        assert!(
            e.to_string().starts_with("input `tuf-url` `tuf.example`"),
            "{e}"
        );
        let e = resolve(&[("INPUT_INPUTS", "a"), ("INPUT_TUF-URL", "https://t")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("input `tuf-url` needs input `tuf-root`"),
            "{e}"
        );
        let e = resolve(&[
            ("INPUT_INPUTS", "a"),
            ("INPUT_STAGING", "true"),
            ("INPUT_TUF-URL", "https://t"),
            ("INPUT_TUF-ROOT", "root.json"),
        ])
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("input `staging` and input `tuf-url`"),
            "{e}"
        );
    }

    const JOB: &[(&str, &str)] = &[
        ("GITHUB_REF", "refs/tags/v1.0.0"),
        ("GITHUB_REPOSITORY", "octo-org/octo-repo"),
        ("INPUT_GITHUB-TOKEN", "ghs_secret"),
        ("INPUT_VERIFY", "true"),
        ("INPUT_DRY-RUN", "false"),
        ("INPUT_UPLOAD", ""),
        ("INPUT_RELEASE-TAG", ""),
    ];

    #[test]
    fn hyphenated_inputs_reach_their_fields() {
        let mut env = JOB.to_vec();
        env.extend([
            ("INPUT_INPUTS", "dist/*.tar.gz\n  dist/a b.whl  \n"),
            ("INPUT_RELEASE-TAG", "v2"),
            ("INPUT_REKOR-VERSION", "2"),
            ("INPUT_OVERWRITE", "True"),
            ("INPUT_IDENTITY-TOKEN", "eyJ.x.y"),
        ]);
        // A later duplicate wins in a snapshot; drop the empty defaults above.
        env.retain(|(k, v)| !(*k == "INPUT_RELEASE-TAG" && v.is_empty()));
        let s = resolve(&env).unwrap();
        assert_eq!(s.command.sign.inputs, ["dist/*.tar.gz", "dist/a", "b.whl"]);
        assert_eq!(
            s.command.sign.instance.rekor_version,
            Some(RekorVersion::V2)
        );
        assert!(s.command.sign.overwrite && s.verify);
        let up = s.command.upload.unwrap();
        assert_eq!((up.tag.as_str(), up.token.expose()), ("v2", "ghs_secret"));
        assert!(up.overwrite);
        let (origin, token) = s.command.sign.identity.explicit.unwrap();
        assert_eq!(
            (origin, token.expose()),
            (TokenOrigin::ActionInput, "eyJ.x.y")
        );
    }

    #[test]
    fn upload_defaults_to_the_tag_of_the_ref() {
        let mut env = JOB.to_vec();
        env.push(("INPUT_INPUTS", "a"));
        let up = resolve(&env).unwrap().command.upload.unwrap();
        assert_eq!(up.tag, "v1.0.0");
        env[0] = ("GITHUB_REF", "refs/heads/main");
        assert!(resolve(&env).unwrap().command.upload.is_none());
    }

    #[test]
    fn bad_inputs_name_the_input_and_the_fix() {
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut env = JOB.to_vec();
            env.extend_from_slice(extra);
            resolve(&env).unwrap_err().to_string()
        };
        assert_eq!(
            with(&[("INPUT_INPUTS", "a"), ("INPUT_UPLOAD", "yes")]),
            "input `upload` is `yes`: use true or false"
        );
        assert!(with(&[("INPUT_INPUTS", " \n ")]).starts_with("input `inputs` is empty"));
        assert!(with(&[("INPUT_INPUTS", "a"), ("INPUT_REKOR-VERSION", "3")])
            .contains("`rekor-version`"));
        let mut env = vec![("INPUT_INPUTS", "a"), ("INPUT_UPLOAD", "true")];
        env.push(("GITHUB_REF", "refs/heads/main"));
        let e = resolve(&env).unwrap_err().to_string();
        assert!(
            e.contains("input `upload`") && e.contains("`release-tag`"),
            "{e}"
        );
        // The command line refuses `--provenance-name` without
        // `--provenance` (clap's `requires`); so does the action, whose
        // `provenance` input defaults to `false`.
        for provenance in [None, Some("false")] {
            let mut env = vec![
                ("INPUT_INPUTS", "a"),
                ("INPUT_PROVENANCE-NAME", "app.intoto.jsonl"),
            ];
            env.extend(provenance.map(|p| ("INPUT_PROVENANCE", p)));
            assert_eq!(
                with(&env),
                "input `provenance-name` is set, but input `provenance` is off, so no provenance would be written: set `provenance: true`, or remove `provenance-name`"
            );
        }
        let env = [
            JOB,
            &[
                ("INPUT_INPUTS", "a"),
                ("INPUT_PROVENANCE", "true"),
                ("INPUT_PROVENANCE-NAME", "app.intoto.jsonl"),
            ],
        ]
        .concat();
        assert!(resolve(&env).is_ok());
    }

    #[test]
    fn secrets_are_listed_for_masking() {
        let env = Env::from_pairs([
            ("INPUT_GITHUB-TOKEN", "a"),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "b"),
            ("INPUT_IDENTITY-TOKEN", ""),
        ]);
        let s: Vec<_> = secrets(&env)
            .iter()
            .map(|s| s.expose().to_owned())
            .collect();
        assert_eq!(s, ["a", "b"]);
    }
}
