//! Where bundles are uploaded: the release target, resolved from flags or
//! action inputs and the GitHub environment.
//!
//! Owns the defaults of an upload (tag from `GITHUB_REF`, repository from
//! `GITHUB_REPOSITORY`, API from `GITHUB_API_URL`, token from `GITHUB_TOKEN`
//! or `GH_TOKEN`,
//! a new draft's commit from `GITHUB_SHA`), the release lifecycle knobs
//! (`release-mode`, `publish`, `upload-artifacts`) and their errors. No I/O;
//! [`crate::upload`] runs the lifecycle and [`crate::github`] does the talking.

use super::Env;
use crate::github::GITHUB_COM_API;
use crate::oidc::Secret;
use crate::upload::UploadSettings;
use crate::vocab::ReleaseMode;
use crate::vocab::Repo;

/// The GitHub REST API's base: `GITHUB_API_URL` (GitHub Enterprise Server's
/// `https://HOST/api/v3`), else github.com's, without a trailing slash.
pub(super) fn api_url(env: &Env) -> Result<String, UploadSettingsError> {
    let url = env.get("GITHUB_API_URL").unwrap_or(GITHUB_COM_API);
    if !crate::vocab::is_http_url(url) {
        return Err(UploadSettingsError::BadApiUrl(url.to_owned()));
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
    #[error(
        "GITHUB_API_URL `{0}` is not an http(s) URL: unset it, or set it to https://HOST/api/v3"
    )]
    BadApiUrl(String),
    #[error("{0} is on, but it needs a draft to publish: set release-mode to `draft` (or `auto`)")]
    PublishNeedsDraft(String),
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
        repo: repo.clone(),
        fix,
    })?;
    let token = layer
        .token
        .or_else(|| {
            env.get("GITHUB_TOKEN")
                .or_else(|| env.get("GH_TOKEN"))
                .map(Secret::new)
        })
        .ok_or_else(|| UploadSettingsError::NoToken {
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
        return Err(UploadSettingsError::PublishNeedsDraft(
            vocabulary.name("publish"),
        ));
    }
    Ok(Some(UploadSettings {
        api_url: api_url(env)?,
        repo,
        tag,
        token,
        overwrite,
        mode: layer.mode.unwrap_or(ReleaseMode::Existing),
        publish: layer.publish.unwrap_or(false),
        upload_artifacts: layer.upload_artifacts.unwrap_or(false),
        target_commitish: env.get("GITHUB_SHA").map(str::to_owned),
    }))
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

    #[test]
    fn lifecycle_knobs() {
        let layer = UploadLayer {
            upload: Some(true),
            mode: Some(ReleaseMode::Draft),
            publish: Some(true),
            upload_artifacts: Some(true),
            ..UploadLayer::default()
        };
        let with_sha = [GH, &[("GITHUB_SHA", "abc123")]].concat();
        let s = resolve(layer, &env(&with_sha), false, Vocabulary::Action)
            .unwrap()
            .unwrap();
        assert_eq!(s.mode, ReleaseMode::Draft);
        assert!(s.publish && s.upload_artifacts);
        assert_eq!(s.target_commitish.as_deref(), Some("abc123"));
        // Publishing needs a draft this run may publish.
        let existing = UploadLayer {
            upload: Some(true),
            publish: Some(true),
            ..UploadLayer::default()
        };
        let e = resolve(existing, &env(GH), false, Vocabulary::Action).unwrap_err();
        assert_eq!(
            e.to_string(),
            "input `publish` is on, but it needs a draft to publish: set release-mode to `draft` (or `auto`)"
        );
    }
}
