//! The words every layer shares: which Rekor API a run logs to, which
//! release an upload goes to, a GitHub repository, and the GitHub Actions
//! issuer.
//!
//! A leaf: it imports nothing of this crate, so settings, the stages and the
//! report can all name these values without importing each other. It owns
//! the values and their spellings (flags, action inputs, JSON), no behaviour.

use std::fmt;

/// The issuer of GitHub Actions identity tokens on github.com.
pub(crate) const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// The fix a message names for a failure only a bug of ours can cause (a
/// task that panicked): one wording wherever it can happen, so it is never
/// mistaken for a problem with the files, the directory or a service.
pub(crate) const FIX_REPORT_BUG: &str =
    "fix: none on your side: this is a bug in releasekit-sign, please report it with this message";

/// Where a run's Fulcio is chosen, as a fix names it: the flag, and the
/// trust or signing config the action's inputs give (the action has no
/// URL inputs). Regression: the action's annotations told its users to
/// check flags it does not take.
pub(crate) const FULCIO_CHOICE: &str =
    "--fulcio-url, or the CA URL of the trust or signing config (action inputs `trust-config`, `signing-config`, or the `tuf-url` repository's)";

/// Where a run's Rekor is chosen ([`FULCIO_CHOICE`]'s twin).
pub(crate) const REKOR_CHOICE: &str = "--rekor-url and --rekor-version, or the Rekor URL of the trust or signing config (action inputs `trust-config`, `signing-config`, or the `tuf-url` repository's; and `rekor-version`)";

/// Where a run's timestamp authority is chosen ([`FULCIO_CHOICE`]'s twin).
pub(crate) const TSA_CHOICE: &str =
    "--tsa-url, or the TSA URL of the trust or signing config (action inputs `trust-config`, `signing-config`, or the `tuf-url` repository's)";

/// The trust a run verifies its own bundles with, as a fix names it.
pub(crate) const TRUST_CHOICE: &str = "--trust-config (or --signing-config with --trusted-root; action inputs `trust-config`, `signing-config`, `trusted-root`, or `tuf-url`)";

/// A GitHub workflow's URI (or `OWNER/REPO/PATH@REF`, a `workflow_ref`)
/// split at its ref: at the
/// first `@refs/` (a workflow's file name may hold `@` but no `/`, and
/// workflows sit directly in `.github/workflows`, so no ref starts
/// earlier), else at a last `@` before a commit's full hex (a reusable
/// workflow called by SHA). `None` when no ref is named.
pub(crate) fn workflow_at_ref(uri: &str) -> Option<(&str, &str)> {
    if let Some(i) = uri.find("@refs/") {
        return Some((&uri[..i], &uri[i + 1..]));
    }
    let (path, commit) = uri.rsplit_once('@')?;
    is_commit(commit).then_some((path, commit))
}

/// Whether `s` is a git commit's full name: 40 hex digits (SHA-1) or 64
/// (SHA-256), never a branch, a tag or an abbreviation.
pub(crate) fn is_commit(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `s` is an http(s) URL with a host, as the HTTP client will read
/// it: the one rule for URLs from flags, inputs, the environment, trust
/// files and server answers (plain http is allowed for local and test
/// instances). A prefix alone is not enough: `https://rek or` or
/// `https://h:99999` would be taken, and fail only at its first request,
/// after the certificate was issued.
/// The host must also be spelled where it belongs: the URL parser
/// (WHATWG's) takes `https:///x` for host `x`.
pub(crate) fn is_http_url(s: &str) -> bool {
    let spelled = s
        .split_once("://")
        .is_some_and(|(_, rest)| !rest.is_empty() && !rest.starts_with(['/', '\\', '?', '#']));
    spelled
        && reqwest::Url::parse(s).is_ok_and(|u| {
            matches!(u.scheme(), "https" | "http") && u.host_str().is_some_and(|h| !h.is_empty())
        })
}

/// A Sigstore instance known by name (`--instance`, action input
/// `instance`): Sigstore's public-good and staging instances, and GitHub's
/// (Fulcio and a TSA, no transparency log: for private repositories).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum InstanceName {
    PublicGood,
    Staging,
    #[value(name = "github")]
    #[serde(rename = "github")]
    GitHub,
}

/// The Rekor API a run writes its entries to: v1 (hashedrekord 0.0.1, with
/// an inclusion promise) or v2 (hashedrekord 0.0.2, with an RFC 3161
/// timestamp). Variants carry no doc comment: clap would turn it into a
/// long per-value help (the flag's own help says it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
pub enum RekorVersion {
    #[serde(rename = "1")]
    #[value(name = "1")]
    V1,
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

/// Which release the upload goes to: `existing` (the release must exist,
/// published or draft), `draft` (the tag's draft, created when there is
/// none; a published release is never touched), `auto` (the release when it
/// exists, else a new draft). As for [`RekorVersion`], the variants carry no
/// doc comment, so `--help` lists the values on one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseMode {
    Existing,
    Draft,
    Auto,
}

/// Whether publishing makes the release the repository's latest, as
/// GitHub's `make_latest` takes it: `true`, `false`, or `legacy` (GitHub
/// decides by creation date and semantic version). Unset, GitHub makes a
/// newly published release the latest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum MakeLatest {
    True,
    False,
    Legacy,
}

impl MakeLatest {
    /// The value GitHub's API takes.
    pub fn as_str(self) -> &'static str {
        match self {
            MakeLatest::True => "true",
            MakeLatest::False => "false",
            MakeLatest::Legacy => "legacy",
        }
    }
}

/// `authority` (what is between `scheme://` and the path) when it is a
/// plain host name with an optional port (letters, digits, `.`, `-`, `:`),
/// lowercase; `None` for anything else: a user, a query, a space, empty.
pub(crate) fn plain_host(authority: &str) -> Option<String> {
    let plain = !authority.is_empty()
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    plain.then(|| authority.to_ascii_lowercase())
}

/// The GitHub a run belongs to, as `GITHUB_SERVER_URL` names it
/// (`https://github.com`, or a GitHub Enterprise Server): an http(s) URL
/// with a bare host (and optional port), kept without its trailing slash.
/// The one rule for that variable: provenance's URIs start with [`Self::url`],
/// repository claims are checked against [`Self::host`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubServer {
    url: String,
    host: String,
}

impl GitHubServer {
    /// `url` as a server URL, `None` when it is anything else (a path, a
    /// query, control characters, another scheme).
    pub fn parse(url: &str) -> Option<GitHubServer> {
        let (scheme, rest) = url
            .strip_prefix("https://")
            .map(|r| ("https://", r))
            .or_else(|| url.strip_prefix("http://").map(|r| ("http://", r)))?;
        let host = rest.strip_suffix('/').unwrap_or(rest);
        let bare = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        bare.then(|| GitHubServer {
            url: format!("{scheme}{host}"),
            host: host.to_ascii_lowercase(),
        })
    }

    /// github.com's.
    pub fn github_com() -> GitHubServer {
        GitHubServer {
            url: "https://github.com".to_owned(),
            host: "github.com".to_owned(),
        }
    }

    /// The server whose REST API is at `api_url` (`GITHUB_API_URL`), for
    /// when `GITHUB_SERVER_URL` is not set: `https://api.HOST` is `HOST`'s
    /// (github.com, `SUB.ghe.com`), `SCHEME://HOST/api/v3` a GitHub
    /// Enterprise Server's; `None` for anything else.
    pub fn of_api(api_url: &str) -> Option<GitHubServer> {
        let (scheme, rest) = api_url.split_once("://")?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let server = match path.trim_end_matches('/') {
            "" => host.strip_prefix("api.")?,
            "api/v3" => host,
            _ => return None,
        };
        GitHubServer::parse(&format!("{scheme}://{server}"))
    }

    /// The URL, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The host (and port), lowercase.
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// A GitHub repository, `owner/name`: what the upload, `verify --release`
/// and the identity policy all name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl std::str::FromStr for Repo {
    type Err = NotARepo;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // GitHub takes neither `.` nor `..` for a name: either would also
        // change the path of every API URL built from it.
        let valid = |p: &str| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match s.split_once('/') {
            Some((owner, name)) if valid(owner) && valid(name) => Ok(Repo {
                owner: owner.to_owned(),
                name: name.to_owned(),
            }),
            _ => Err(NotARepo(s.to_owned())),
        }
    }
}

impl std::fmt::Display for Repo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// A repository that is not `owner/name` (the text as given).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not owner/name")]
pub struct NotARepo(pub String);

#[cfg(test)]
mod tests {

    /// A URL is one the client can send to: an http(s) scheme, a host, and
    /// nothing the URL parser refuses.
    #[test]
    fn an_http_url_parses_and_has_a_host() {
        for good in [
            "https://rekor.example.com",
            "https://rekor.example.com/",
            "http://127.0.0.1:8080/api/v1/timestamp",
            "https://[::1]:443/x",
        ] {
            assert!(is_http_url(good), "{good}");
        }
        for bad in [
            "rekor.example.com",
            "ftp://rekor.example.com",
            "https://",
            "https://rek or",
            "https://h:99999",
            "https://[::1",
            "https:///path",
            "",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }
    use super::*;

    #[test]
    fn a_server_is_known_from_its_api() {
        for (api, server) in [
            ("https://api.github.com", Some("https://github.com")),
            ("https://api.github.com/", Some("https://github.com")),
            ("https://api.octo.ghe.com", Some("https://octo.ghe.com")),
            (
                "https://ghe.example.com/api/v3",
                Some("https://ghe.example.com"),
            ),
            ("http://127.0.0.1:9/api/v3/", Some("http://127.0.0.1:9")),
            ("http://127.0.0.1:9", None),
            ("https://ghe.example.com/other", None),
        ] {
            assert_eq!(
                GitHubServer::of_api(api).as_ref().map(GitHubServer::url),
                server,
                "{api}"
            );
        }
    }

    #[test]
    fn github_servers_are_bare_http_hosts() {
        let ghes = GitHubServer::parse("https://GHE.example.com:8443/").unwrap();
        assert_eq!(ghes.url(), "https://GHE.example.com:8443");
        assert_eq!(ghes.host(), "ghe.example.com:8443");
        assert_eq!(
            GitHubServer::parse("https://github.com"),
            Some(GitHubServer::github_com())
        );
        for bad in [
            "github.com",
            "ftp://github.com",
            "https://",
            "https://github.com/o",
            "https://github.com?x",
            "https://github.com\n::error::x",
        ] {
            assert_eq!(GitHubServer::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn repo_parsing() {
        let r: Repo = "octo-org/octo.repo_1".parse().unwrap();
        assert_eq!(
            (r.owner.as_str(), r.name.as_str()),
            ("octo-org", "octo.repo_1")
        );
        // `..` would change the path of the API URLs built from it.
        for bad in [
            "", "owner", "/name", "owner/", "a/b/c", "a b/c", "../..", "o/..", "./r",
        ] {
            assert!(bad.parse::<Repo>().is_err(), "{bad}");
        }
    }
    use clap::ValueEnum as _;

    /// The flag values, the action inputs' parsing and the JSON agree.
    #[test]
    fn spellings_agree() {
        for m in ReleaseMode::value_variants() {
            let flag = m.to_possible_value().unwrap();
            assert_eq!(serde_json::to_value(m).unwrap(), flag.get_name());
        }
        assert!(ReleaseMode::from_str("later", false).is_err());
        for v in RekorVersion::value_variants() {
            let flag = v.to_possible_value().unwrap();
            assert_eq!(serde_json::to_value(v).unwrap(), flag.get_name());
        }
        assert!(RekorVersion::from_str("3", false).is_err());
        for v in InstanceName::value_variants() {
            let flag = v.to_possible_value().unwrap();
            assert_eq!(serde_json::to_value(v).unwrap(), flag.get_name());
        }
        assert_eq!(
            InstanceName::from_str("github", false),
            Ok(InstanceName::GitHub)
        );
    }
}
