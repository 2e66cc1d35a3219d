//! Where bundles are uploaded: the release target, resolved from flags or
//! action inputs and the GitHub environment.
//!
//! Owns the defaults of an upload (tag from `GITHUB_REF`, repository from
//! `GITHUB_REPOSITORY`, API from `GITHUB_API_URL`, token from `GITHUB_TOKEN`
//! or `GH_TOKEN`,
//! a new draft's commit from `GITHUB_SHA`), the release lifecycle knobs
//! (`release-mode`, `publish`, `make-latest`, `upload-artifacts`) and their errors. No I/O;
//! [`crate::upload`] runs the lifecycle and [`crate::github`] does the talking.

use super::Env;
use crate::github::GITHUB_COM_API;
use crate::oidc::Secret;
use crate::upload::UploadSettings;
use crate::vocab::Repo;
use crate::vocab::{MakeLatest, ReleaseMode};

/// The GitHub REST API's base: `GITHUB_API_URL` (GitHub Enterprise Server's
/// `https://HOST/api/v3`), else github.com's, without a trailing slash.
pub(super) fn api_url(env: &Env) -> Result<String, UploadSettingsError> {
    let url = env.get("GITHUB_API_URL").unwrap_or(GITHUB_COM_API);
    if !crate::vocab::is_http_url(url) {
        return Err(UploadSettingsError::BadApiUrl(crate::text::echoed(url)));
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// Upload values as one source gives them, each optional.
#[derive(Debug, Clone, Default)]
pub struct UploadLayer {
    pub upload: Option<bool>,
    pub release_tag: Option<String>,
    pub repo: Option<String>,
    pub token: Option<Secret>,
    pub mode: Option<ReleaseMode>,
    pub publish: Option<bool>,
    pub make_latest: Option<MakeLatest>,
    pub upload_artifacts: Option<bool>,
}

/// Names of the knobs in the user's own vocabulary: flags or action inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vocabulary {
    Cli,
    Action,
}

impl Vocabulary {
    /// How this source spells a setting: `--knob`, or input `knob`.
    pub(crate) fn name(self, knob: &'static str) -> String {
        match self {
            Vocabulary::Cli => format!("--{knob}"),
            Vocabulary::Action => format!("input `{knob}`"),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UploadSettingsError {
    #[error("{upload} is on but no release tag is known: {fix}")]
    NoTag { upload: String, fix: String },
    #[error("no repository to upload to: {fix}")]
    NoRepo { fix: &'static str },
    #[error("the repository `{repo}` is not owner/name: {fix}")]
    BadRepo { repo: String, fix: &'static str },
    #[error("uploading needs a GitHub token: {fix}")]
    NoToken { fix: String },
    #[error("GITHUB_SHA `{sha}` is not a commit's full SHA (40 or 64 hex digits); fix: set it to the commit the artifacts were built from (`git rev-parse HEAD`), or unset it")]
    NotACommit { sha: String },
    /// An HTTP header cannot carry it (the GitHub client would panic
    /// building one).
    #[error("the GitHub token in {from} holds a line break or another control character; fix: set {from} to the token alone")]
    BadToken { from: String },
    #[error(
        "GITHUB_API_URL `{0}` is not an http(s) URL: unset it, or set it to https://HOST/api/v3"
    )]
    BadApiUrl(String),
    /// Uploading always sends the token, which can write releases.
    #[error("GITHUB_API_URL `{0}` is plain http to another machine, and uploading sends it the GitHub token in the clear: set it to its https:// URL (https://HOST/api/v3)")]
    TokenInTheClear(String),
    #[error("{make_latest} is set, but {publish} is off, and it only applies to publishing: turn {publish} on, or remove {make_latest}")]
    MakeLatestNeedsPublish {
        make_latest: String,
        publish: String,
    },
    #[error("{publish} is on, but it needs a draft to publish: set {mode} to `draft` (or `auto`)")]
    PublishNeedsDraft { publish: String, mode: String },
    #[error("{publish} is on, but the commit the artifacts were built from is not known (GITHUB_SHA is unset), and publishing creates the release's tag there: GitHub would tag its default branch instead; fix: set GITHUB_SHA to that commit, or leave the draft for a person to publish")]
    PublishNeedsCommit { publish: String },
    #[error("the release tag `{tag}` is not a tag name ({why}); fix: give {input} the tag's name, e.g. `v1.2.3` (in a workflow, `${{{{ github.ref_name }}}}`, not `github.ref`)")]
    BadTag {
        tag: String,
        why: &'static str,
        input: String,
    },
    #[error("{knob} is set, but {upload} is off, and it only applies to an upload: turn {upload} on, or remove {knob}")]
    NeedsUpload { knob: String, upload: String },
}

/// `GITHUB_REF`'s tag, when the run is for a tag.
pub(crate) fn tag_from_ref(env: &Env) -> Option<String> {
    env.get("GITHUB_REF")?
        .strip_prefix("refs/tags/")
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// What to tell a run of the action that uploads nothing for want of a
/// tag while inputs that only an upload uses are set (`publish`,
/// `upload-artifacts`, `release-mode`): the run succeeds, and without this
/// the release the workflow asks for is silently not made. `None` when an
/// upload happens, when `upload` is set either way (off with those inputs
/// is refused by [`resolve`]), and on the command line, where those flags
/// need `--upload`.
pub fn waiting_for_a_tag(layer: &UploadLayer, env: &Env, vocabulary: Vocabulary) -> Option<String> {
    if vocabulary != Vocabulary::Action
        || layer.upload.is_some()
        || layer.release_tag.is_some()
        || tag_from_ref(env).is_some()
    {
        return None;
    }
    let asked: Vec<String> = [
        (layer.publish == Some(true), "publish"),
        (layer.make_latest.is_some(), "make-latest"),
        (layer.upload_artifacts == Some(true), "upload-artifacts"),
        // `existing` is action.yml's default, which the runner always
        // passes: only another mode is a wish for a release.
        (
            layer.mode.is_some_and(|m| m != ReleaseMode::Existing),
            "release-mode",
        ),
    ]
    .iter()
    .filter(|(on, _)| *on)
    .map(|(_, knob)| vocabulary.name(knob))
    .collect();
    if asked.is_empty() {
        return None;
    }
    let run_for = match env.get("GITHUB_REF") {
        Some(r) => format!("`{}`", crate::text::capped(&crate::text::line(r), 200)),
        None => "no ref (GITHUB_REF is unset)".to_owned(),
    };
    Some(format!(
        "{} {} set, but nothing is uploaded: this run is for {run_for}, not a tag, and input `release-tag` is empty; to upload from such a run, set input `release-tag`; to keep {} for a tag's run only, set {} from `startsWith(github.ref, 'refs/tags/')`",
        asked.join(" and "),
        if asked.len() == 1 { "is" } else { "are" },
        if asked.len() == 1 { "it" } else { "them" },
        if asked.len() == 1 { "it" } else { "each" },
    ))
}

/// `None` when no upload is wanted. `upload` defaults to "a tag is known" in
/// action mode and to off on the command line.
pub fn resolve(
    layer: UploadLayer,
    env: &Env,
    overwrite: bool,
    vocabulary: Vocabulary,
) -> Result<Option<UploadSettings>, UploadSettingsError> {
    let named_tag = layer.release_tag.is_some();
    let tag = layer.release_tag.or_else(|| tag_from_ref(env));
    let upload = match vocabulary {
        Vocabulary::Cli => layer.upload.unwrap_or(false),
        Vocabulary::Action => layer.upload.unwrap_or(tag.is_some()),
    };
    if !upload {
        // Turned off outright while asking for what only an upload does: a
        // contradiction (the command line refuses it in clap). Off because
        // no tag is known (a branch push), those inputs simply wait for a tag.
        if layer.upload == Some(false) {
            let asked = [
                (named_tag, "release-tag"),
                (layer.publish == Some(true), "publish"),
                (layer.make_latest.is_some(), "make-latest"),
                (layer.upload_artifacts == Some(true), "upload-artifacts"),
                (
                    layer.mode.is_some_and(|m| m != ReleaseMode::Existing),
                    "release-mode",
                ),
            ];
            if let Some((_, knob)) = asked.iter().find(|(on, _)| *on) {
                return Err(UploadSettingsError::NeedsUpload {
                    knob: vocabulary.name(knob),
                    upload: vocabulary.name("upload"),
                });
            }
        }
        return Ok(None);
    }
    let tag = tag.ok_or_else(|| UploadSettingsError::NoTag {
        upload: vocabulary.name("upload"),
        fix: match vocabulary {
            Vocabulary::Cli => "pass --release-tag TAG".into(),
            Vocabulary::Action => {
                "set input `release-tag`, run the workflow on a tag push, or set `upload: false`"
                    .into()
            }
        },
    })?;
    if let Some(why) = not_a_tag_name(&tag) {
        return Err(UploadSettingsError::BadTag {
            tag: crate::text::line(crate::text::echoed(&tag)),
            why,
            input: vocabulary.name("release-tag"),
        });
    }
    // The action has no input for the repository: it is the workflow's own.
    let fix = match vocabulary {
        Vocabulary::Cli => "pass --repo owner/name or set GITHUB_REPOSITORY",
        Vocabulary::Action => {
            "the action uploads to the workflow's repository, GITHUB_REPOSITORY, which the runner sets to owner/name; check the job's environment"
        }
    };
    let repo = layer
        .repo
        .or_else(|| env.get("GITHUB_REPOSITORY").map(str::to_owned))
        .ok_or(UploadSettingsError::NoRepo { fix })?;
    let repo: Repo = repo.parse().map_err(|_| UploadSettingsError::BadRepo {
        repo: crate::text::echoed(&repo),
        fix,
    })?;
    let token = match layer.token {
        Some(t) => Some(usable_token(t, vocabulary.name("github-token"))?),
        None => github_token(env)?,
    };
    let token = token.ok_or_else(|| UploadSettingsError::NoToken {
        fix: match vocabulary {
            Vocabulary::Cli => "set GITHUB_TOKEN (or GH_TOKEN)".into(),
            Vocabulary::Action => {
                "set input `github-token` (its default is `${{ github.token }}`)".into()
            }
        },
    })?;
    if layer.publish == Some(true)
        && layer.mode.unwrap_or(ReleaseMode::Existing) == ReleaseMode::Existing
    {
        return Err(UploadSettingsError::PublishNeedsDraft {
            publish: vocabulary.name("publish"),
            mode: vocabulary.name("release-mode"),
        });
    }
    let target_commitish = env.get("GITHUB_SHA").map(str::to_owned);
    // The commit drafts are created and published at, and the one the
    // run's own bundles are held to: a branch (`main`) would have GitHub
    // tag wherever it points when publishing.
    if let Some(sha) = target_commitish
        .as_deref()
        .filter(|s| !crate::vocab::is_commit(s))
    {
        return Err(UploadSettingsError::NotACommit {
            sha: crate::text::line(crate::text::capped(sha, 100)),
        });
    }
    if layer.make_latest.is_some() && layer.publish != Some(true) {
        return Err(UploadSettingsError::MakeLatestNeedsPublish {
            make_latest: vocabulary.name("make-latest"),
            publish: vocabulary.name("publish"),
        });
    }
    if layer.publish == Some(true) && target_commitish.is_none() {
        return Err(UploadSettingsError::PublishNeedsCommit {
            publish: vocabulary.name("publish"),
        });
    }
    let api_url = api_url(env)?;
    // Before anything is signed: the client refuses it too, after the run.
    if !crate::net::secret_may_go_to(&api_url) {
        return Err(UploadSettingsError::TokenInTheClear(crate::text::echoed(
            &api_url,
        )));
    }
    Ok(Some(UploadSettings {
        api_url,
        repo,
        tag,
        token,
        overwrite,
        mode: layer.mode.unwrap_or(ReleaseMode::Existing),
        publish: layer.publish.unwrap_or(false),
        make_latest: layer.make_latest,
        upload_artifacts: layer.upload_artifacts.unwrap_or(false),
        target_commitish,
    }))
}

/// The token for GitHub's API from the environment: `GH_TOKEN`, then
/// `GITHUB_TOKEN`, in `gh`'s order of precedence ([`usable_token`]).
pub(crate) fn github_token(env: &Env) -> Result<Option<Secret>, UploadSettingsError> {
    ["GH_TOKEN", "GITHUB_TOKEN"]
        .into_iter()
        .find_map(|name| env.get(name).map(|t| (name, t)))
        .map(|(name, t)| usable_token(Secret::new(t), name.to_owned()))
        .transpose()
}

/// `token` (from `from`, which an error names) as an HTTP header takes it:
/// its ends trimmed (a secret stored with a trailing line break), and
/// refused when a character inside it could not be sent.
fn usable_token(token: Secret, from: String) -> Result<Secret, UploadSettingsError> {
    let trimmed = token.expose().trim();
    if trimmed.chars().any(|c| c.is_control()) {
        return Err(UploadSettingsError::BadToken { from });
    }
    Ok(Secret::new(trimmed))
}

/// Why `tag` cannot be a tag's name, by git's rules for a ref's name
/// (`git check-ref-format`), or `None`. The common mistake is a whole ref
/// (`refs/tags/v1`, `${{ github.ref }}`): GitHub would create a tag of that
/// name and publish the release under it.
pub(super) fn not_a_tag_name(tag: &str) -> Option<&'static str> {
    if tag.starts_with("refs/tags/") || tag.starts_with("refs/heads/") {
        return Some("it is a whole ref; a tag's name is what follows `refs/tags/`");
    }
    if tag.is_empty() || tag == "@" {
        return Some("it is empty");
    }
    if tag
        .chars()
        .any(|c| c.is_control() || c == ' ' || "~^:?*[\\".contains(c))
    {
        return Some("it holds a space, a control character or one of ~ ^ : ? * [ \\");
    }
    if tag.contains("..") || tag.contains("@{") || tag.contains("//") {
        return Some("it holds `..`, `@{` or `//`");
    }
    if tag.starts_with('/') || tag.ends_with('/') || tag.ends_with('.') {
        return Some("it starts or ends with `/`, or ends with `.`");
    }
    if tag
        .split('/')
        .any(|part| part.starts_with('.') || part.ends_with(".lock"))
    {
        return Some("a part of it starts with `.` or ends with `.lock`");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().copied())
    }

    const GH: &[(&str, &str)] = &[
        ("GITHUB_REF", "refs/tags/v1.2.3"),
        ("GITHUB_REPOSITORY", "o/r"),
        ("GITHUB_TOKEN", "ghs_x"),
    ];

    /// `make-latest` only means something when publishing: set without it,
    /// the input is refused naming both; with it, it is kept.
    #[test]
    fn make_latest_needs_publish() {
        let env = env(&[GH, &[("GITHUB_SHA", &"a".repeat(40))]].concat());
        let asked = UploadLayer {
            make_latest: Some(MakeLatest::False),
            mode: Some(ReleaseMode::Draft),
            ..UploadLayer::default()
        };
        let e = resolve(asked.clone(), &env, false, Vocabulary::Action).unwrap_err();
        assert_eq!(
            e.to_string(),
            "input `make-latest` is set, but input `publish` is off, and it only applies to publishing: turn input `publish` on, or remove input `make-latest`"
        );
        let publishing = UploadLayer {
            publish: Some(true),
            ..asked
        };
        let s = resolve(publishing, &env, false, Vocabulary::Action)
            .unwrap()
            .unwrap();
        assert_eq!(s.make_latest, Some(MakeLatest::False));
        // Upload turned off outright: refused as the other upload inputs
        // are. Regression: accepted, and silently nothing.
        let off = UploadLayer {
            upload: Some(false),
            make_latest: Some(MakeLatest::False),
            ..UploadLayer::default()
        };
        assert_eq!(
            resolve(off, &env, false, Vocabulary::Action).unwrap_err(),
            UploadSettingsError::NeedsUpload {
                knob: "input `make-latest`".into(),
                upload: "input `upload`".into(),
            }
        );
    }

    #[test]
    fn action_uploads_by_default_on_a_tag() {
        let s = resolve(UploadLayer::default(), &env(GH), false, Vocabulary::Action)
            .unwrap()
            .unwrap();
        assert_eq!(
            (s.tag.as_str(), s.api_url.as_str()),
            ("v1.2.3", GITHUB_COM_API)
        );
        assert_eq!(s.repo.to_string(), "o/r");
        let branch = env(&[("GITHUB_REF", "refs/heads/main")]);
        assert!(
            resolve(UploadLayer::default(), &branch, false, Vocabulary::Action)
                .unwrap()
                .is_none()
        );
    }

    /// On a branch's run of the action, an input only an upload uses is
    /// named in a warning with the way to upload or to quiet it; nothing is
    /// said when an upload happens, when `upload` is set either way, when
    /// no such input is set, or on the command line.
    #[test]
    fn inputs_waiting_for_a_tag_are_named() {
        let branch = env(&[("GITHUB_REF", "refs/heads/main")]);
        let publish = UploadLayer {
            publish: Some(true),
            mode: Some(ReleaseMode::Draft),
            ..UploadLayer::default()
        };
        let said = waiting_for_a_tag(&publish, &branch, Vocabulary::Action).unwrap();
        assert_eq!(
            said,
            "input `publish` and input `release-mode` are set, but nothing is uploaded: this run is for `refs/heads/main`, not a tag, and input `release-tag` is empty; to upload from such a run, set input `release-tag`; to keep them for a tag's run only, set each from `startsWith(github.ref, 'refs/tags/')`"
        );
        let artifacts = UploadLayer {
            upload_artifacts: Some(true),
            ..UploadLayer::default()
        };
        let said = waiting_for_a_tag(&artifacts, &env(&[]), Vocabulary::Action).unwrap();
        assert!(
            said.starts_with("input `upload-artifacts` is set, but nothing is uploaded: this run is for no ref (GITHUB_REF is unset), not a tag"),
            "{said}"
        );
        // A hostile ref is one escaped line.
        let odd = env(&[("GITHUB_REF", "refs/heads/x\n::error::y")]);
        let said = waiting_for_a_tag(&artifacts, &odd, Vocabulary::Action).unwrap();
        assert!(!said.contains('\n'), "{said}");
        for (layer, env, vocabulary) in [
            (publish.clone(), env(GH), Vocabulary::Action),
            (
                UploadLayer {
                    release_tag: Some("v1".into()),
                    ..publish.clone()
                },
                branch.clone(),
                Vocabulary::Action,
            ),
            (
                UploadLayer {
                    upload: Some(true),
                    ..publish.clone()
                },
                branch.clone(),
                Vocabulary::Action,
            ),
            (UploadLayer::default(), branch.clone(), Vocabulary::Action),
            // action.yml's defaults, as the runner passes them on every run.
            (
                UploadLayer {
                    mode: Some(ReleaseMode::Existing),
                    publish: Some(false),
                    upload_artifacts: Some(false),
                    ..UploadLayer::default()
                },
                branch.clone(),
                Vocabulary::Action,
            ),
            (publish.clone(), branch.clone(), Vocabulary::Cli),
        ] {
            assert_eq!(
                waiting_for_a_tag(&layer, &env, vocabulary),
                None,
                "{layer:?}"
            );
        }
    }

    /// `upload: false` with an input only an upload uses is refused, naming
    /// both; with upload off for want of a tag (a branch push), those inputs
    /// just wait for a tag.
    #[test]
    fn action_inputs_that_need_an_upload_are_refused_when_it_is_off() {
        for (layer, knob) in [
            (
                UploadLayer {
                    publish: Some(true),
                    mode: Some(ReleaseMode::Draft),
                    ..UploadLayer::default()
                },
                "publish",
            ),
            (
                UploadLayer {
                    upload_artifacts: Some(true),
                    ..UploadLayer::default()
                },
                "upload-artifacts",
            ),
            (
                UploadLayer {
                    mode: Some(ReleaseMode::Auto),
                    ..UploadLayer::default()
                },
                "release-mode",
            ),
        ] {
            let off = UploadLayer {
                upload: Some(false),
                ..layer.clone()
            };
            let e = resolve(off, &env(GH), false, Vocabulary::Action).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("input `{knob}` is set, but input `upload` is off, and it only applies to an upload: turn input `upload` on, or remove input `{knob}`")
            );
            let branch = env(&[("GITHUB_REF", "refs/heads/main")]);
            assert!(matches!(
                resolve(layer, &branch, false, Vocabulary::Action),
                Ok(None)
            ));
        }
        // A tag named while the upload is off (on a branch, naming one
        // turns the upload on).
        let tagged = UploadLayer {
            upload: Some(false),
            release_tag: Some("v1".into()),
            ..UploadLayer::default()
        };
        let e = resolve(tagged, &env(GH), false, Vocabulary::Action).unwrap_err();
        assert_eq!(
            e.to_string(),
            "input `release-tag` is set, but input `upload` is off, and it only applies to an upload: turn input `upload` on, or remove input `release-tag`"
        );
        let defaults = UploadLayer {
            upload: Some(false),
            publish: Some(false),
            upload_artifacts: Some(false),
            mode: Some(ReleaseMode::Existing),
            ..UploadLayer::default()
        };
        assert!(matches!(
            resolve(defaults, &env(GH), false, Vocabulary::Action),
            Ok(None)
        ));
    }

    #[test]
    fn cli_uploads_only_when_asked() {
        assert!(
            resolve(UploadLayer::default(), &env(GH), false, Vocabulary::Cli)
                .unwrap()
                .is_none()
        );
        let layer = UploadLayer {
            upload: Some(true),
            release_tag: Some("v9".into()),
            repo: Some("a/b".into()),
            ..UploadLayer::default()
        };
        let s = resolve(layer, &env(GH), true, Vocabulary::Cli)
            .unwrap()
            .unwrap();
        assert_eq!((s.tag.as_str(), s.repo.to_string().as_str()), ("v9", "a/b"));
        assert!(s.overwrite);
    }

    /// Uploading sends the token: a plain-http API on another machine is
    /// refused before anything is signed. Regression: refused only by the
    /// release client, once every artifact had been signed and logged.
    #[test]
    fn uploading_never_sends_the_token_in_the_clear() {
        let on = UploadLayer {
            upload: Some(true),
            ..UploadLayer::default()
        };
        let at = |url: &'static str| [GH, &[("GITHUB_API_URL", url)]].concat();
        let e = resolve(
            on.clone(),
            &env(&at("http://192.0.2.1/api/v3")),
            false,
            Vocabulary::Cli,
        )
        .unwrap_err();
        assert!(matches!(e, UploadSettingsError::TokenInTheClear(_)), "{e}");
        assert!(e.to_string().contains("https://HOST/api/v3"), "{e}");
        for fine in ["http://127.0.0.1:9", "https://ghe.example.com/api/v3"] {
            assert!(
                resolve(on.clone(), &env(&at(fine)), false, Vocabulary::Cli).is_ok(),
                "{fine}"
            );
        }
    }

    #[test]
    fn errors_name_the_knob_and_the_fix() {
        let on = UploadLayer {
            upload: Some(true),
            ..UploadLayer::default()
        };
        let e = resolve(on.clone(), &env(&[]), false, Vocabulary::Action).unwrap_err();
        assert!(e.to_string().contains("input `upload`") && e.to_string().contains("release-tag"));
        let e = resolve(on.clone(), &env(&[]), false, Vocabulary::Cli).unwrap_err();
        assert!(e.to_string().contains("--release-tag"), "{e}");
        let no_token = &GH[..2];
        let e = resolve(on.clone(), &env(no_token), false, Vocabulary::Action).unwrap_err();
        assert!(e.to_string().contains("github-token"), "{e}");
        let bad = [GH, &[("GITHUB_REPOSITORY", "nope")]].concat();
        let e = resolve(on.clone(), &env(&bad), false, Vocabulary::Cli).unwrap_err();
        assert!(matches!(&e, UploadSettingsError::BadRepo { repo, .. } if repo == "nope"));
        assert!(e.to_string().contains("pass --repo owner/name"), "{e}");
        // The action has no `--repo`: its error does not name one.
        let e = resolve(on, &env(&bad), false, Vocabulary::Action).unwrap_err();
        assert!(!e.to_string().contains("--repo"), "{e}");
        assert!(e.to_string().contains("GITHUB_REPOSITORY"), "{e}");
    }

    /// A token with a line break (a secret stored with one) is trimmed at
    /// its ends and refused, naming where it came from, inside: the GitHub
    /// client panics on a header it cannot build. Regression: exit 101,
    /// after signing, with no outputs written.
    #[test]
    fn a_token_a_header_cannot_carry_is_refused() {
        let on = UploadLayer {
            upload: Some(true),
            release_tag: Some("v1".into()),
            ..UploadLayer::default()
        };
        let trailing = [&GH[..2], &[("GH_TOKEN", "ghp_x\n")]].concat();
        let s = resolve(on.clone(), &env(&trailing), false, Vocabulary::Cli)
            .unwrap()
            .unwrap();
        assert_eq!(s.token.expose(), "ghp_x");
        let inside = [&GH[..2], &[("GITHUB_TOKEN", "ghp_x\nghp_y")]].concat();
        let e = resolve(on.clone(), &env(&inside), false, Vocabulary::Cli).unwrap_err();
        assert_eq!(
            e,
            UploadSettingsError::BadToken {
                from: "GITHUB_TOKEN".into()
            }
        );
        let input = UploadLayer {
            token: Some(Secret::new("a\u{7}b")),
            ..on
        };
        let e = resolve(input, &env(&GH[..2]), false, Vocabulary::Action).unwrap_err();
        assert!(e.to_string().contains("input `github-token`"), "{e}");
        assert!(!e.to_string().contains("a\u{7}b"), "{e}");
    }

    #[test]
    fn lifecycle_knobs() {
        let layer = UploadLayer {
            upload: Some(true),
            mode: Some(ReleaseMode::Draft),
            publish: Some(true),
            upload_artifacts: Some(true),
            ..UploadLayer::default()
        };
        let with_sha = [
            GH,
            &[("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")],
        ]
        .concat();
        let s = resolve(layer.clone(), &env(&with_sha), false, Vocabulary::Action)
            .unwrap()
            .unwrap();
        assert_eq!(s.mode, ReleaseMode::Draft);
        assert!(s.publish && s.upload_artifacts);
        assert_eq!(
            s.target_commitish.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        // A branch or an abbreviation is not the commit: GitHub would tag
        // wherever `main` points when publishing. Regression: taken as is.
        for not_one in ["main", "HEAD", "abc1234"] {
            let with = [GH, &[("GITHUB_SHA", not_one)]].concat();
            let e = resolve(layer.clone(), &env(&with), false, Vocabulary::Cli).unwrap_err();
            assert!(
                matches!(e, UploadSettingsError::NotACommit { .. }),
                "{not_one}: {e}"
            );
        }
        // Publishing needs a draft this run may publish.
        let existing = UploadLayer {
            upload: Some(true),
            publish: Some(true),
            ..UploadLayer::default()
        };
        let e = resolve(existing.clone(), &env(GH), false, Vocabulary::Action).unwrap_err();
        assert_eq!(
            e.to_string(),
            "input `publish` is on, but it needs a draft to publish: set input `release-mode` to `draft` (or `auto`)"
        );
        let e = resolve(existing, &env(GH), false, Vocabulary::Cli).unwrap_err();
        assert!(
            e.to_string().contains("set --release-mode to `draft`"),
            "{e}"
        );
        // Publishing tags the built commit: unknown, it is refused, not left
        // to GitHub's default branch. Regression: published there.
        let layer = UploadLayer {
            upload: Some(true),
            mode: Some(ReleaseMode::Draft),
            publish: Some(true),
            ..UploadLayer::default()
        };
        let e = resolve(layer.clone(), &env(GH), false, Vocabulary::Cli).unwrap_err();
        assert!(
            matches!(e, UploadSettingsError::PublishNeedsCommit { .. }),
            "{e}"
        );
        assert!(e.to_string().contains("set GITHUB_SHA"), "{e}");
        // A draft alone tags nothing.
        let draft = UploadLayer {
            publish: None,
            ..layer
        };
        assert!(resolve(draft, &env(GH), false, Vocabulary::Cli).is_ok());
    }

    /// A release tag is a tag's name: a whole ref (`${{ github.ref }}`)
    /// and names git refuses are refused, naming the input. Regression: a
    /// release tagged `refs/tags/v1` was created and published.
    #[test]
    fn a_release_tag_must_be_a_tag_name() {
        for (tag, why) in [
            ("refs/tags/v1.0.0", "whole ref"),
            ("v1 .0", "space"),
            ("v1..0", "`..`"),
            ("v1.lock", "`.lock`"),
            ("v1.lock/x", "`.lock`"),
            ("v1/", "ends with"),
            ("/v1", "starts or ends with `/`"),
            (".v1", "starts with `.`"),
            ("v1\u{1b}[0m", "control"),
        ] {
            let layer = UploadLayer {
                upload: Some(true),
                release_tag: Some(tag.to_owned()),
                ..UploadLayer::default()
            };
            let e = resolve(layer, &env(GH), false, Vocabulary::Action).unwrap_err();
            let text = e.to_string();
            assert!(text.contains(why), "{tag}: {text}");
            assert!(
                text.contains("give input `release-tag` the tag's name"),
                "{text}"
            );
            assert!(!text.contains('\u{1b}'), "{text}");
        }
        for tag in [
            "v1.2.3",
            "release/2024-01",
            "v1.0.0-rc.1+build.5",
            "1.0",
            "refs/x",
        ] {
            let layer = UploadLayer {
                upload: Some(true),
                release_tag: Some(tag.to_owned()),
                ..UploadLayer::default()
            };
            assert!(
                resolve(layer, &env(GH), false, Vocabulary::Action).is_ok(),
                "{tag}"
            );
        }
    }

    /// `GH_TOKEN` before `GITHUB_TOKEN`, as `gh` reads them.
    #[test]
    fn gh_token_comes_first() {
        let both = env(&[("GITHUB_TOKEN", "job"), ("GH_TOKEN", "pat")]);
        assert_eq!(github_token(&both).unwrap().unwrap().expose(), "pat");
        let one = env(&[("GITHUB_TOKEN", "job")]);
        assert_eq!(github_token(&one).unwrap().unwrap().expose(), "job");
    }
}
