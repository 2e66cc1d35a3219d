//! Build provenance, verified: a `.intoto.jsonl` file (one Sigstore bundle
//! v0.3 per line, each a DSSE envelope holding an in-toto Statement v1 (or v0.1), as
//! `sign --provenance`, GitHub's attestation store, `gh attestation
//! download`, npm and sigstore-python's `sigstore attest` write it), and
//! which artifacts its verified statements name.
//!
//! Owns reading the file (capped in bytes and lines; a line that is not a
//! bundle fails that statement, not the run), checking each statement, and
//! matching an artifact's digests against the subjects of the statements
//! that verified. Each bundle is verified ONCE by sigstore-verify (chain,
//! SCT, log proof and consistency, timestamps, the envelope's signature over
//! its PAE, and the payload's binding to a subject), handed the digest of
//! one of its own subjects as the artifact, then the signer policy is applied
//! to its certificate, then the predicate type is checked, then a GitHub
//! workflow's SLSA predicate is held to its certificate's claims about the
//! run (`github_claims_agree`: the crate reads no predicate). Only a
//! statement that passed all of that can vouch for a file.
//!
//! Matching a file against a verified statement then uses the crate's own
//! comparisons (`Statement::matches_sha256`, `matches_sha512`), so a
//! 200-subject statement is verified once, not 200 times. The one check
//! written here is SHA-384: sigstore-verify 0.15.1 keeps a `sha384` subject
//! digest uninterpreted (`Digest::other`), so it is compared here (lowercase
//! hex, as the in-toto digest set specifies; `matches_sha384` below, tested
//! with the crate's verdicts on the other two algorithms). A statement whose
//! subjects carry only SHA-384 cannot have its binding checked by the crate
//! and is refused saying so; one whose subjects carry no digest we compute at
//! all (sha256, sha384, sha512) is refused saying exactly that, never as a
//! modified artifact.
//!
//! Everything in the file is outside text: capped, parsed without panicking,
//! and shown only through `text::line` by the report. It prints nothing and
//! writes nothing.

use std::path::{Path, PathBuf};

use serde::Serialize;
use sigstore_crypto::ArtifactHasher;
use sigstore_types::{
    ArtifactDigest, Bundle, HashAlgorithm, Sha256Hash, Sha512Hash, SignatureContent, Statement,
};
use sigstore_verify::VerificationPolicy;

use super::cache::CachingVerifier;
use super::policy::Policy;
use super::{Failure, SignedBy};
use crate::files::{self, FileError, FileId};
use crate::provenance::{PAYLOAD_TYPE, STATEMENT_V1};
use crate::text;

/// The largest provenance file read: GitHub's attestation store keeps a few
/// statements per artifact, each a bundle of a few KiB.
pub(crate) const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// The in-toto Statement version before v1, with the same subjects.
const STATEMENT_V0_1: &str = "https://in-toto.io/Statement/v0.1";
/// The most statements (non-empty lines) one file may hold.
pub(crate) const MAX_LINES: usize = 1024;

/// Why the provenance file cannot be used at all (a usage error).
#[derive(Debug, thiserror::Error)]
pub enum ProvenanceFileError {
    #[error(transparent)]
    Open(FileError),
    #[error("cannot read provenance {}: {source}; fix: check that the file is readable", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("provenance {} is larger than {MAX_FILE_BYTES} bytes; fix: pass the `.intoto.jsonl` file of this release (one Sigstore bundle per line)", .0.display())]
    TooLarge(PathBuf),
    #[error("provenance {} holds more than {MAX_LINES} statements; fix: pass the `.intoto.jsonl` file of this release (one Sigstore bundle per line)", .0.display())]
    TooManyLines(PathBuf),
    #[error("provenance {} holds no statement (no non-empty line); fix: pass the `.intoto.jsonl` file written by `sign --provenance` or `gh attestation download`", .0.display())]
    Empty(PathBuf),
}

/// The statements of one or more provenance files, each verified or refused.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    pub(crate) statements: Vec<Line>,
    /// Provenance files that could not be read at all, with why.
    pub(crate) unusable: Vec<String>,
}

/// One statement (one line of a provenance file).
#[derive(Debug)]
pub(crate) struct Line {
    /// The file it came from (or the release asset's name).
    pub(crate) source: PathBuf,
    /// 1-based.
    pub(crate) line: usize,
    /// The statement, or why it failed, cut to [`text::MESSAGE_CHARS`]: an
    /// error can quote the hostile line it is about (megabytes), and every
    /// artifact's error repeats the lines'.
    pub(crate) result: Result<VerifiedStatement, String>,
    /// For a statement that did not verify but parsed: the SHA-256 digests
    /// its subjects claim, so that a file it names is failed rather than
    /// taken for one no statement names (unsigned).
    pub(crate) refused_claims: Vec<Sha256Hash>,
    /// It was refused only for its predicate type: a statement of another
    /// kind (an SBOM), which claims nothing about what was asked.
    pub(crate) of_another_kind: bool,
}

/// How many lines' failures an artifact's error names; the run's warnings
/// name every one.
const FAILURES_NAMED: usize = 3;

/// A statement that passed every check: only [`check_line`] makes one.
#[derive(Debug, Clone)]
pub(crate) struct VerifiedStatement {
    statement: Statement,
    signed: SignedBy,
}

/// Which subject of which verified statement an artifact is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProvenanceMatch {
    /// The provenance file (or release asset).
    #[serde(serialize_with = "crate::text::lossy_path")]
    pub(crate) file: PathBuf,
    /// 1-based line of the statement in it.
    pub(crate) line: usize,
    /// The subject's name as the statement gives it (need not be the file's).
    pub(crate) subject: String,
    /// The digest algorithm that matched: `sha256`, `sha384` or `sha512`.
    pub(crate) algorithm: &'static str,
    pub(crate) predicate_type: String,
}

/// An artifact's digests: all three when hashed here in one pass; only
/// SHA-256 for a release asset (the release client streams SHA-256).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Digests {
    pub(crate) sha256: Sha256Hash,
    pub(crate) sha384: Option<Vec<u8>>,
    pub(crate) sha512: Option<Sha512Hash>,
    pub(crate) size: u64,
}

impl Digests {
    /// Hash everything `reader` yields with the three algorithms at once.
    pub(crate) fn of_reader(reader: impl std::io::Read) -> std::io::Result<Digests> {
        let mut counted = Counted {
            inner: reader,
            n: 0,
        };
        let mut ready = Vec::with_capacity(3);
        for a in [
            HashAlgorithm::Sha2256,
            HashAlgorithm::Sha2384,
            HashAlgorithm::Sha2512,
        ] {
            ready.push(ArtifactHasher::new(a).map_err(std::io::Error::other)?);
        }
        sigstore_crypto::hash_reader(&mut counted, &mut ready)?;
        let mut out = ready.into_iter().map(ArtifactHasher::finalize);
        let (Some(a), Some(b), Some(c)) = (out.next(), out.next(), out.next()) else {
            return Err(std::io::Error::other("a digest is missing"));
        };
        Ok(Digests {
            sha256: Sha256Hash::try_from(a.as_bytes()).map_err(std::io::Error::other)?,
            sha384: Some(b.as_bytes().to_vec()),
            sha512: Some(Sha512Hash::try_from(c.as_bytes()).map_err(std::io::Error::other)?),
            size: counted.n,
        })
    }

    /// Only the SHA-256 (and size) is known.
    pub(crate) fn sha256_only(sha256: Sha256Hash, size: u64) -> Digests {
        Digests {
            sha256,
            sha384: None,
            sha512: None,
            size,
        }
    }

    /// Hash the file the targets listed (a regular file only; blocking).
    /// As it was when opened: one written to meanwhile is `Changed`, as
    /// for a bundle ([`crate::digest::read_unchanged`]).
    pub(crate) fn of_file(path: &Path, planned: Option<FileId>) -> Result<Digests, Failure> {
        let file = files::open_regular(path, planned).map_err(Failure::ReadArtifact)?;
        crate::digest::read_unchanged(&file, |bytes, _| {
            Digests::of_reader(bytes).map(|d| {
                let n = d.size;
                (d, n)
            })
        })
        .map(|(d, _, _)| d)
        .map_err(|e| Failure::ReadArtifact(e.at(path)))
    }
}

struct Counted<R> {
    inner: R,
    n: u64,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

/// Read a provenance file: its non-empty lines, numbered from 1.
pub(crate) fn read_file(path: &Path) -> Result<Vec<(usize, Vec<u8>)>, ProvenanceFileError> {
    let file = files::open_regular(path, None).map_err(ProvenanceFileError::Open)?;
    let bytes = files::read_to_end_capped(file, MAX_FILE_BYTES)
        .map_err(|source| ProvenanceFileError::Read {
            path: path.to_owned(),
            source,
        })?
        .ok_or_else(|| ProvenanceFileError::TooLarge(path.to_owned()))?;
    split_lines(path, &bytes)
}

/// The statements of a provenance file, numbered by line from 1: its
/// non-empty lines (JSON Lines, CRLF tolerated), or the whole file when it is
/// one JSON document (a bundle written pretty, as `sigstore attest --bundle`
/// and `.sigstore.json` files are).
pub(crate) fn split_lines(
    path: &Path,
    bytes: &[u8],
) -> Result<Vec<(usize, Vec<u8>)>, ProvenanceFileError> {
    if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        return Ok(vec![(1, bytes.to_vec())]);
    }
    let mut lines = Vec::new();
    for (i, l) in bytes.split(|b| *b == b'\n').enumerate() {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        if l.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if lines.len() == MAX_LINES {
            return Err(ProvenanceFileError::TooManyLines(path.to_owned()));
        }
        lines.push((i + 1, l.to_vec()));
    }
    if lines.is_empty() {
        return Err(ProvenanceFileError::Empty(path.to_owned()));
    }
    Ok(lines)
}

/// Whether any line of the provenance file `bytes` (named `path`) is a
/// Sigstore bundle at all: a release may carry `*.intoto.jsonl` files of
/// other formats (slsa-github-generator's bare DSSE envelopes, an SBOM's),
/// which are not the provenance `verify --release` holds its assets to.
/// A line this reader refuses as a bundle (one without a `mediaType`, a
/// key read two ways) still counts: it is Sigstore's, refused, and an asset
/// only it names fails rather than being listed as unsigned.
pub(crate) fn holds_a_bundle(path: &Path, bytes: &[u8]) -> bool {
    split_lines(path, bytes).is_ok_and(|lines| {
        lines
            .iter()
            .any(|(_, line)| super::parse_bundle(path, line).is_ok() || bundle_shaped(line))
    })
}

/// Whether `line` is a JSON object with a `verificationMaterial`: a
/// Sigstore bundle's shape, whether or not it is read as one.
fn bundle_shaped(line: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Shape {
        #[serde(rename = "verificationMaterial")]
        _material: serde::de::IgnoredAny,
    }
    serde_json::from_slice::<Shape>(line).is_ok()
}

/// Verify every line of a provenance file (blocking: cryptography).
pub(crate) fn check_all(
    verifier: &CachingVerifier,
    policy: &Policy,
    predicate_type: &str,
    source: &Path,
    lines: Vec<(usize, Vec<u8>)>,
) -> Checked {
    let statements = lines
        .into_iter()
        .map(|(line, bytes)| {
            let result = check_line(verifier, policy, predicate_type, source, &bytes);
            // A statement of another kind (an SBOM beside the provenance)
            // claims nothing about what was asked.
            let of_another_kind = matches!(result, Err(Failure::PredicateType { .. }));
            let refused_claims = match &result {
                Ok(_) | Err(Failure::PredicateType { .. }) => Vec::new(),
                Err(_) => claimed_sha256(source, &bytes, predicate_type),
            };
            let result = result.map_err(|e| text::capped(&e.to_string(), text::MESSAGE_CHARS));
            Line {
                source: source.to_owned(),
                line,
                result,
                refused_claims,
                of_another_kind,
            }
        })
        .collect();
    Checked {
        statements,
        unusable: Vec::new(),
    }
}

/// The SHA-256 digests the subjects of `line`'s statement claim, if it
/// parses as one of `predicate_type` (unverified: only ever used to fail a
/// file). A statement of another type (an SBOM) claims nothing about what
/// was asked, whichever check refused it first.
fn claimed_sha256(source: &Path, line: &[u8], predicate_type: &str) -> Vec<Sha256Hash> {
    // What it claims, read as leniently as sigstore-types reads it: a line
    // refused here (no `mediaType`) still names what it is about.
    super::parse_bundle(source, line)
        .ok()
        .or_else(|| {
            std::str::from_utf8(line)
                .ok()
                .and_then(|t| sigstore_types::Bundle::from_json(t).ok())
        })
        .and_then(|b| statement_of(&b).ok())
        .filter(|s| s.predicate_type == predicate_type)
        .map(|s| s.subject.iter().filter_map(|s| s.digest.sha256).collect())
        .unwrap_or_default()
}

/// Verify one line: a bundle, a DSSE envelope with an in-toto statement of
/// `predicate_type`, sigstore-verify's verdict, then the signer policy.
pub(crate) fn check_line(
    verifier: &CachingVerifier,
    policy: &Policy,
    predicate_type: &str,
    source: &Path,
    line: &[u8],
) -> Result<VerifiedStatement, Failure> {
    if line.len() as u64 > crate::bundle_io::MAX_BUNDLE_BYTES {
        return Err(Failure::ReadBundle(
            crate::bundle_io::BundleIoError::TooLarge(source.to_owned()),
        ));
    }
    let bundle = super::parse_bundle(source, line)?;
    let statement = statement_of(&bundle)?;
    // First, whatever else refuses the line: a statement of another type
    // (an SBOM's, signed by another workflow or at another commit) claims
    // nothing about what was asked, and is set aside as such rather than
    // failing the assets beside it.
    if statement.predicate_type != predicate_type {
        return Err(Failure::PredicateType {
            expected: predicate_type.to_owned(),
            found: statement.predicate_type.clone(),
        });
    }
    let bound = bindable_digest(&statement)?;
    // Under the trusted root's requirements: GitHub's instance backs its
    // statements with a timestamp, not a log entry or an SCT.
    let result = verifier
        .verify_in_full(bound, &bundle, &VerificationPolicy::any_identity())
        .map_err(|e| match e {
            // We handed it one of the statement's own subjects: a mismatch
            // is the log entry's (another envelope), never the artifact's.
            sigstore_verify::Error::ArtifactMismatch(d) => Failure::LogEntryMismatch(d),
            e => Failure::from_verifier(e, &bundle, &Sha256Hash::new([0; 32])),
        })?;
    let info = result
        .certificate()
        .ok_or_else(|| Failure::BundleInvalid("the bundle has no signing certificate".into()))?;
    policy.check(info)?;
    github_claims_agree(&statement, &info.ci_claims, info.issuer.as_deref())?;
    Ok(VerifiedStatement {
        signed: SignedBy::of(result.integrated_time(), info, &bundle),
        statement,
    })
}

/// A GitHub Actions workflow's provenance (SLSA v1, the buildType GitHub's
/// attest action and `sign --provenance` write) says which run built the
/// subjects; Fulcio certified the same facts about the run that signed it.
/// Each must be the other's, as slsa-verifier holds them: else any workflow
/// of a repository could sign a statement naming another workflow, commit
/// or run. (`gh attestation verify` checks the certificate alone.) Other
/// predicates and build types are not read.
///
/// The attest action writes URLs on `GITHUB_SERVER_URL`, Fulcio on the host
/// its configuration gives the issuer: the same for github.com's, which is
/// held to the whole URL; for another (Enterprise Server, ghe.com), a URL
/// may be on the certificate's host or on the server the issuer names, and
/// must otherwise be the certificate's, character for character.
fn github_claims_agree(
    statement: &Statement,
    certified: &sigstore_crypto::x509::FulcioCiClaims,
    issuer: Option<&str>,
) -> Result<(), Failure> {
    let whole_urls = issuer.is_some_and(crate::oidc::github_com_issuer);
    // Where the statement's URLs may be instead of the certificate's host:
    // the server the issuer's workflows run on, as the attest action names it.
    let issuer_server = issuer
        .and_then(crate::oidc::github_actions_server)
        .and_then(|server| https_host(server.strip_prefix("https://")?));
    let predicate = &statement.predicate;
    let claimed = |pointer: &str| predicate.pointer(pointer).and_then(|v| v.as_str());
    if statement.predicate_type != crate::provenance::SLSA_PROVENANCE_V1
        || claimed("/buildDefinition/buildType")
            != Some(crate::provenance::GITHUB_WORKFLOW_BUILD_TYPE)
    {
        return Ok(());
    }
    let source = match (
        &certified.source_repository_uri,
        &certified.source_repository_ref,
    ) {
        (Some(uri), Some(reference)) => Some(format!("git+{uri}@{reference}")),
        _ => None,
    };
    // The workflow file that ran: the statement's repository and path,
    // Fulcio's Build Config URI (`.1.18`, `{server}/{workflow_ref}`) less
    // its ref. Two workflows of a repository calling one reusable workflow
    // share its Build Signer URI: only this tells their runs apart. The
    // certificate's is cut where its ref starts (a file name may hold `@`;
    // the attest action, cutting at the first `@`, names such a workflow
    // by a shorter path, which is refused: that fails closed).
    let workflow = match (
        claimed("/buildDefinition/externalParameters/workflow/repository"),
        claimed("/buildDefinition/externalParameters/workflow/path"),
    ) {
        (Some(repository), Some(path)) => Some(format!("{repository}/{path}")),
        _ => None,
    };
    let certified_workflow = certified
        .build_config_uri
        .as_ref()
        .map(|uri| crate::vocab::workflow_at_ref(uri).map_or(uri.as_str(), |(path, _)| path))
        .map(str::to_owned);
    // (claim, where the statement says it, what the certificate says, a URL)
    let pairs: [(&'static str, &str, Option<&String>, bool); 10] = [
        (
            "the builder",
            "/runDetails/builder/id",
            certified.build_signer_uri.as_ref(),
            true,
        ),
        (
            "the repository",
            "/buildDefinition/externalParameters/workflow/repository",
            certified.source_repository_uri.as_ref(),
            true,
        ),
        (
            "the ref",
            "/buildDefinition/externalParameters/workflow/ref",
            certified.source_repository_ref.as_ref(),
            false,
        ),
        (
            "the source",
            "/buildDefinition/resolvedDependencies/0/uri",
            source.as_ref(),
            true,
        ),
        (
            "the commit",
            "/buildDefinition/resolvedDependencies/0/digest/gitCommit",
            certified.source_repository_digest.as_ref(),
            false,
        ),
        (
            "the run",
            "/runDetails/metadata/invocationId",
            certified.run_invocation_uri.as_ref(),
            true,
        ),
        (
            "the trigger",
            "/buildDefinition/internalParameters/github/event_name",
            certified.build_trigger.as_ref(),
            false,
        ),
        (
            "the runner environment",
            "/buildDefinition/internalParameters/github/runner_environment",
            certified.runner_environment.as_ref(),
            false,
        ),
        (
            "the repository's id",
            "/buildDefinition/internalParameters/github/repository_id",
            certified.source_repository_identifier.as_ref(),
            false,
        ),
        (
            "the repository owner's id",
            "/buildDefinition/internalParameters/github/repository_owner_id",
            certified.source_repository_owner_identifier.as_ref(),
            false,
        ),
    ];
    let pairs = pairs
        .into_iter()
        .map(|(claim, pointer, certificate, url)| (claim, claimed(pointer), certificate, url))
        .chain([(
            "the workflow",
            workflow.as_deref(),
            certified_workflow.as_ref(),
            true,
        )]);
    for (claim, statement, certificate, url) in pairs {
        let agree = match (statement, certificate) {
            (Some(said), Some(certified)) if url && !whole_urls => {
                match (url_parts(said), url_parts(certified)) {
                    (Some((host, path)), Some((certified_host, certified_path))) => {
                        said.starts_with("git+") == certified.starts_with("git+")
                            && path == certified_path
                            && (host == certified_host || Some(&host) == issuer_server.as_ref())
                    }
                    _ => false,
                }
            }
            (Some(said), Some(certified)) => said == certified,
            _ => false,
        };
        if !agree {
            return Err(Failure::ClaimsDisagree {
                claim,
                statement: statement.unwrap_or("(absent)").to_owned(),
                certificate: certificate.cloned(),
            });
        }
    }
    Ok(())
}

/// The host (lowercase, with its port if not 443) of a plain `https://`
/// URL (or a `git+https://` one), and the rest of it exactly as written:
/// `None` for anything else (another scheme, a user, an authority that is
/// not a plain host and port, no path). The rest is compared as text, not
/// as a parser would normalise it: `..`, `%2e`, `\` or a stray space
/// would otherwise name one thing and read as another.
fn url_parts(url: &str) -> Option<(String, &str)> {
    let rest = url
        .strip_prefix("git+")
        .unwrap_or(url)
        .strip_prefix("https://")?;
    let at = rest.find('/')?;
    let (authority, path) = rest.split_at(at);
    let host = https_host(authority)?;
    (path.len() > 1).then_some((host, path))
}

/// An https URL's authority as a plain host, without the default port.
fn https_host(authority: &str) -> Option<String> {
    let host = crate::vocab::plain_host(authority)?;
    Some(
        host.strip_suffix(":443")
            .map_or(host.clone(), str::to_owned),
    )
}

/// How much of a value from the statement an error quotes.
const QUOTED_CHARS: usize = 200;

/// Whether the provenance `bytes` (read from `what`) may give way to one
/// about `subjects` (name, SHA-256): only a provenance by `policy`'s signer,
/// valid under the run's trusted root, whose every subject is among
/// `subjects`, so that replacing it drops no claim already made; `Err`
/// says why not. Shared by a re-run's local file and its release asset.
pub(crate) fn superseded_by(
    verifier: &CachingVerifier,
    policy: &Policy,
    what: &Path,
    bytes: &[u8],
    subjects: &std::collections::HashSet<(&str, Sha256Hash)>,
) -> Result<(), String> {
    let bundle = super::parse_bundle(what, bytes).map_err(|e| e.diagnosis())?;
    let old = statement_of(&bundle).map_err(|e| e.diagnosis())?;
    // Another kind of claim (an SBOM, older provenance) is not repeated by
    // ours, whatever its subjects.
    of_the_kind_a_run_signs(&old)?;
    let dropped = old.subject.iter().find(|s| {
        !s.digest
            .sha256
            .is_some_and(|d| subjects.contains(&(s.name.as_str(), d)))
    });
    if let Some(dropped) = dropped {
        return Err(format!(
            "it attests {} ({}), which this run does not",
            text::line(&dropped.name),
            dropped
                .digest
                .sha256
                .map(|d| d.to_hex())
                .unwrap_or_else(|| "no SHA-256".into())
        ));
    }
    let first = old
        .subject
        .iter()
        .find_map(|s| s.digest.sha256)
        .ok_or_else(|| "it attests no subject by SHA-256".to_owned())?;
    super::check_bundle(verifier, policy, &bundle, first, None)
        .map(drop)
        .map_err(|e| e.diagnosis())
}

/// `Ok` for a statement of the kind `sign --provenance` makes (in-toto v1,
/// SLSA v1 provenance); else why not.
pub(crate) fn of_the_kind_a_run_signs(statement: &Statement) -> Result<(), String> {
    use crate::provenance::SLSA_PROVENANCE_V1;
    if statement.type_ != STATEMENT_V1 {
        return Err(format!(
            "its statement type is `{}`, not `{STATEMENT_V1}`",
            text::line(text::capped(&statement.type_, QUOTED_CHARS))
        ));
    }
    if statement.predicate_type != SLSA_PROVENANCE_V1 {
        return Err(format!(
            "its predicate type is `{}`, not `{SLSA_PROVENANCE_V1}`",
            text::line(text::capped(&statement.predicate_type, QUOTED_CHARS))
        ));
    }
    Ok(())
}

/// The in-toto statement a bundle's DSSE envelope carries, parsed as
/// sigstore-verify parses it.
pub(crate) fn statement_of(bundle: &Bundle) -> Result<Statement, Failure> {
    let SignatureContent::DsseEnvelope(envelope) = &bundle.content else {
        return Err(Failure::NotAnAttestation(
            "the bundle signs a file directly (a message signature), not a DSSE envelope".into(),
        ));
    };
    if envelope.payload_type != PAYLOAD_TYPE {
        return Err(Failure::NotAnAttestation(format!(
            "its DSSE payload type is `{}`, not {PAYLOAD_TYPE}",
            text::line(text::capped(&envelope.payload_type, QUOTED_CHARS))
        )));
    }
    let statement: Statement =
        serde_json::from_slice(envelope.payload.as_bytes()).map_err(|e| {
            let e = text::capped(&e.to_string(), QUOTED_CHARS);
            Failure::NotAnAttestation(format!("its payload is not an in-toto statement ({e})"))
        })?;
    // v0.1 statements (older npm and slsa-github-generator provenance) name
    // their subjects the same way; the predicate type is checked separately.
    if statement.type_ != STATEMENT_V1 && statement.type_ != STATEMENT_V0_1 {
        return Err(Failure::NotAnAttestation(format!(
            "its statement type is `{}`, not {STATEMENT_V1}",
            text::line(text::capped(&statement.type_, QUOTED_CHARS))
        )));
    }
    Ok(statement)
}

/// The digest of one of the statement's own subjects, in a form
/// sigstore-verify binds (SHA-256, else SHA-512).
fn bindable_digest(statement: &Statement) -> Result<ArtifactDigest, Failure> {
    let subjects = &statement.subject;
    if let Some(d) = subjects.iter().find_map(|s| s.digest.sha256) {
        return Ok(ArtifactDigest::sha256(d));
    }
    if let Some(d) = subjects.iter().find_map(|s| s.digest.sha512) {
        return ArtifactDigest::new(HashAlgorithm::Sha2512, d.as_bytes().to_vec())
            .map_err(|e| Failure::BundleInvalid(e.to_string()));
    }
    let found: Vec<String> = subjects
        .iter()
        .flat_map(|s| s.digest.other.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if found.iter().any(|a| a == "sha384") {
        return Err(Failure::NoComputableDigest(
            "its subjects carry only sha384 digests, and sigstore-verify binds a statement to an artifact through a sha256 or sha512 subject only, so its signature cannot be checked for any file".into(),
        ));
    }
    Err(Failure::NoComputableDigest(format!(
        "its subjects carry no digest we can compute (sha256, sha384, sha512){}",
        if found.is_empty() {
            String::new()
        } else {
            format!(", only {}", text::line(found.join(", ")))
        }
    )))
}

impl VerifiedStatement {
    /// The subject `digests` is, and which algorithm says so.
    pub(crate) fn subject_of(&self, digests: &Digests) -> Option<(&str, &'static str)> {
        let s = &self.statement;
        let sha512 = digests.sha512.as_ref();
        let sha384 = digests.sha384.as_deref();
        // The crate's comparisons first, for the algorithms it knows.
        let by = if s.matches_sha256(&digests.sha256) {
            "sha256"
        } else if sha512.is_some_and(|d| s.matches_sha512(d)) {
            "sha512"
        } else if sha384.is_some_and(|d| s.subject.iter().any(|x| matches_sha384(x, d))) {
            "sha384"
        } else {
            return None;
        };
        let subject = s.subject.iter().find(|x| match by {
            "sha256" => x.digest.sha256.as_ref() == Some(&digests.sha256),
            "sha512" => x.digest.sha512.as_ref() == sha512,
            _ => sha384.is_some_and(|d| matches_sha384(x, d)),
        })?;
        Some((subject.name.as_str(), by))
    }

    /// Who signed it.
    pub(crate) fn signed_by(&self) -> &SignedBy {
        &self.signed
    }
    pub(crate) fn predicate_type(&self) -> &str {
        &self.statement.predicate_type
    }
}

/// Whether a subject's `sha384` (lowercase hex, as the in-toto digest set
/// specifies) is `digest`.
fn matches_sha384(subject: &sigstore_types::Subject, digest: &[u8]) -> bool {
    subject
        .digest
        .other
        .get("sha384")
        .and_then(|h| hex::decode(h).ok())
        .is_some_and(|d| d == digest)
}

impl Checked {
    /// Another file's statements too (a release may carry several).
    pub(crate) fn extend(&mut self, other: Checked) {
        self.statements.extend(other.statements);
        self.unusable.extend(other.unusable);
    }

    /// The first verified statement naming `digests`.
    pub(crate) fn find(&self, digests: &Digests) -> Option<(&VerifiedStatement, ProvenanceMatch)> {
        self.statements.iter().find_map(|l| {
            let s = l.result.as_ref().ok()?;
            let (subject, algorithm) = s.subject_of(digests)?;
            Some((
                s,
                ProvenanceMatch {
                    file: l.source.clone(),
                    line: l.line,
                    // A statement names its subjects at any length; each
                    // artifact it vouches for shows the name.
                    subject: text::capped(subject, text::MESSAGE_CHARS),
                    algorithm,
                    predicate_type: text::capped(s.predicate_type(), QUOTED_CHARS),
                },
            ))
        })
    }

    /// Whether a verified statement may vouch for a file whose SHA-256 a
    /// listing gives as `listed` (`sha256:<hex>`): one names that digest,
    /// or the listing gives none (it is known only once downloaded).
    pub(crate) fn may_vouch_for(&self, listed: Option<&str>, size: u64) -> bool {
        let Some(sha256) = listed
            .and_then(|d| d.strip_prefix("sha256:"))
            .and_then(|hex| Sha256Hash::from_hex(hex).ok())
        else {
            return true;
        };
        let digests = Digests {
            sha256,
            sha384: None,
            sha512: None,
            size,
        };
        self.find(&digests).is_some()
    }

    /// Why no statement vouches for an artifact with these digests, named
    /// `name` (a release asset's, or a file's).
    pub(crate) fn not_found(&self, digests: &Digests, name: &str) -> Failure {
        let mut files: Vec<String> = Vec::new();
        for l in &self.statements {
            let f = l.source.display().to_string();
            if !files.contains(&f) {
                files.push(f);
            }
        }
        let mut failures = self
            .unusable
            .iter()
            .cloned()
            .chain(self.statements.iter().filter_map(|l| {
                l.result.as_ref().err().map(|e| {
                    if files.len() == 1 {
                        format!("line {}: {e}", l.line)
                    } else {
                        format!("{} line {}: {e}", l.source.display(), l.line)
                    }
                })
            }));
        let mut failed: Vec<String> = failures.by_ref().take(FAILURES_NAMED).collect();
        let more = failures.count();
        if more > 0 {
            failed.push(format!("{more} more, named in the warnings"));
        }
        let verified = self.statements.iter().filter(|l| l.result.is_ok()).count();
        let named_by_refused = self
            .statements
            .iter()
            .any(|l| l.refused_claims.contains(&digests.sha256));
        // A verified statement that names this file, with other bytes: the
        // file was changed after the build (an asset replaced on the
        // release). Subjects are named by path, assets by file name, which
        // GitHub renames.
        let named_by_verified = self
            .statements
            .iter()
            .filter_map(|l| l.result.as_ref().ok())
            .flat_map(|v| v.statement.subject.iter())
            .map(|x| x.name.as_str())
            .find(|subject| {
                let base = subject.rsplit('/').next().unwrap_or(subject);
                !base.is_empty() && crate::github::same_asset_name(name, base)
            })
            .map(|subject| text::line(text::capped(subject, 200)));
        Failure::NotInProvenance {
            named_by_refused,
            named_by_verified,
            file: if files.is_empty() {
                "the provenance".to_owned()
            } else {
                files.join(", ")
            },
            sha256: digests.sha256.to_hex(),
            verified,
            failed,
        }
    }

    /// The statements that did not verify, worded for a warning.
    /// Whether every statement was read and refused only for its predicate
    /// type: a file of attestations of another kind (an SBOM's).
    pub(crate) fn of_another_kind(&self) -> bool {
        self.unusable.is_empty()
            && !self.statements.is_empty()
            && self.statements.iter().all(|l| l.of_another_kind)
    }

    pub(crate) fn failures(&self) -> Vec<String> {
        self.unusable
            .iter()
            .cloned()
            .chain(self.statements.iter().filter_map(|l| {
                l.result
                    .as_ref()
                    .err()
                    .map(|e| format!("{} line {} did not verify: {e}", l.source.display(), l.line))
            }))
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {

    /// An artifact hashed for a provenance is read as it was when opened,
    /// as for a bundle: here a file whose size said nothing of what it
    /// yields (Linux's `/proc` files say 0), as one a writer grows while it
    /// is read. Regression: it was read to its end, however far that was.
    #[cfg(target_os = "linux")]
    #[test]
    fn an_artifact_that_changes_while_hashed_for_a_provenance_fails() {
        let path = Path::new("/proc/self/status");
        let e = Digests::of_file(path, None).unwrap_err().to_string();
        assert!(e.contains("changed while it was read"), "{e}");
    }

    use super::*;

    /// A subject's name is shown cut short, however long the statement
    /// gives it. Regression: a name of megabytes was printed (and put in
    /// the JSON report) for every artifact it matched.
    #[test]
    fn a_subject_name_is_cut_short() {
        let sha256 = Sha256Hash::from_hex(&"ab".repeat(32)).unwrap();
        let statement: Statement = serde_json::from_value(serde_json::json!({
            "_type": STATEMENT_V1,
            "subject": [{ "name": "a".repeat(1 << 20), "digest": { "sha256": "ab".repeat(32) } }],
            "predicateType": crate::provenance::SLSA_PROVENANCE_V1,
            "predicate": {},
        }))
        .unwrap();
        let checked = Checked {
            statements: vec![Line {
                source: "p.intoto.jsonl".into(),
                line: 1,
                result: Ok(VerifiedStatement {
                    statement,
                    signed: SignedBy {
                        identity: "id".into(),
                        issuer: None,
                        log_index: None,
                        integrated_time: None,
                        timestamped: false,
                    },
                }),
                refused_claims: Vec::new(),
                of_another_kind: false,
            }],
            unusable: Vec::new(),
        };
        let digests = Digests {
            sha256,
            sha384: None,
            sha512: None,
            size: 1,
        };
        let (_, found) = checked.find(&digests).unwrap();
        assert_eq!(found.subject.chars().count(), text::MESSAGE_CHARS + 1);
    }

    /// A GitHub workflow predicate on `server` for a run of `o/r`, and the
    /// claims Fulcio certifies for it on `fulcio_server`.
    fn run_on(
        server: &str,
        fulcio_server: &str,
    ) -> (Statement, sigstore_crypto::x509::FulcioCiClaims) {
        let r = "refs/tags/v1";
        let predicate = serde_json::json!({
            "buildDefinition": {
                "buildType": crate::provenance::GITHUB_WORKFLOW_BUILD_TYPE,
                "externalParameters": { "workflow": {
                    "ref": r, "repository": format!("{server}/o/r"), "path": ".github/workflows/rel.yml",
                } },
                "internalParameters": { "github": {
                    "event_name": "push", "repository_id": "1", "repository_owner_id": "2",
                    "runner_environment": "github-hosted",
                } },
                "resolvedDependencies": [{
                    "uri": format!("git+{server}/o/r@{r}"), "digest": { "gitCommit": "abc" },
                }],
            },
            "runDetails": {
                "builder": { "id": format!("{server}/o/r/.github/workflows/rel.yml@{r}") },
                "metadata": { "invocationId": format!("{server}/o/r/actions/runs/9/attempts/1") },
            },
        });
        let statement = Statement::new(vec![], crate::provenance::SLSA_PROVENANCE_V1, predicate);
        let mut c = sigstore_crypto::x509::FulcioCiClaims::default();
        c.build_signer_uri = Some(format!("{fulcio_server}/o/r/.github/workflows/rel.yml@{r}"));
        c.build_config_uri = Some(format!("{fulcio_server}/o/r/.github/workflows/rel.yml@{r}"));
        c.source_repository_uri = Some(format!("{fulcio_server}/o/r"));
        c.source_repository_ref = Some(r.into());
        c.source_repository_digest = Some("abc".into());
        c.run_invocation_uri = Some(format!("{fulcio_server}/o/r/actions/runs/9/attempts/1"));
        c.build_trigger = Some("push".into());
        c.runner_environment = Some("github-hosted".into());
        c.source_repository_identifier = Some("1".into());
        c.source_repository_owner_identifier = Some("2".into());
        (statement, c)
    }

    /// github.com's statements are held to the certificate's every claim,
    /// URLs whole; another issuer's URLs from their path on (the host is
    /// its Fulcio's to name); any other build type is not read.
    #[test]
    fn a_github_predicate_must_say_what_its_certificate_says() {
        let github = Some("https://token.actions.githubusercontent.com");
        let (s, c) = run_on("https://github.com", "https://github.com");
        assert!(github_claims_agree(&s, &c, github).is_ok());
        let (s, c) = run_on("https://github.com", "https://evil.example");
        assert!(matches!(
            github_claims_agree(&s, &c, github),
            Err(Failure::ClaimsDisagree {
                claim: "the builder",
                ..
            })
        ));
        for (field, claim) in [
            (
                "/buildDefinition/resolvedDependencies/0/digest/gitCommit",
                "the commit",
            ),
            (
                "/buildDefinition/externalParameters/workflow/ref",
                "the ref",
            ),
            ("/runDetails/metadata/invocationId", "the run"),
            (
                "/buildDefinition/internalParameters/github/runner_environment",
                "the runner environment",
            ),
        ] {
            let (mut s, c) = run_on("https://github.com", "https://github.com");
            *s.predicate.pointer_mut(field).unwrap() = "other".into();
            assert!(
                matches!(github_claims_agree(&s, &c, github), Err(Failure::ClaimsDisagree { claim: c, .. }) if c == claim),
                "{field}"
            );
            // Absent is no agreement either.
            let (mut s, cert) = run_on("https://github.com", "https://github.com");
            let (parent, key) = field.rsplit_once('/').unwrap();
            s.predicate
                .pointer_mut(parent)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .remove(key);
            assert!(
                github_claims_agree(&s, &cert, github).is_err(),
                "{field} absent"
            );
        }
        // The workflow file that ran: a reusable workflow's callers share its
        // builder, so a statement naming another caller (or none) is
        // refused by the Build Config URI. Regression: accepted.
        let (mut s, c) = run_on("https://github.com", "https://github.com");
        *s.predicate
            .pointer_mut("/buildDefinition/externalParameters/workflow/path")
            .unwrap() = ".github/workflows/other.yml".into();
        assert!(matches!(
            github_claims_agree(&s, &c, github),
            Err(Failure::ClaimsDisagree {
                claim: "the workflow",
                ..
            })
        ));
        let (s, mut c) = run_on("https://github.com", "https://github.com");
        c.build_config_uri = None;
        assert!(
            github_claims_agree(&s, &c, github).is_err(),
            "none certified"
        );
        // A file name holding `@`: the workflow is the whole name, so a
        // statement naming the name's first part is another workflow's.
        // Regression: cut at the first `@`, and accepted.
        let (s, mut c) = run_on("https://github.com", "https://github.com");
        c.build_config_uri =
            Some("https://github.com/o/r/.github/workflows/rel.yml@x.yml@refs/tags/v1".into());
        assert!(matches!(
            github_claims_agree(&s, &c, github),
            Err(Failure::ClaimsDisagree {
                claim: "the workflow",
                ..
            })
        ));
        // Its ref is not compared here (the statement's is the `ref` claim).
        let (s, mut c) = run_on("https://github.com", "https://github.com");
        c.build_config_uri =
            Some("https://github.com/o/r/.github/workflows/rel.yml@refs/heads/main".into());
        assert!(github_claims_agree(&s, &c, github).is_ok());
        // An Enterprise Server's: the host may differ, the rest may not.
        let ghes = Some("https://ghe.example.com/_services/token");
        let (s, c) = run_on("https://ghe.example.com", "https://github.ghe.example.com");
        let agreed = github_claims_agree(&s, &c, ghes);
        assert!(agreed.is_ok(), "{agreed:?}");
        let (mut s, c) = run_on("https://ghe.example.com", "https://ghe.example.com");
        *s.predicate.pointer_mut("/runDetails/builder/id").unwrap() =
            "https://ghe.example.com/o/r/.github/workflows/other.yml@refs/tags/v1".into();
        assert!(github_claims_agree(&s, &c, ghes).is_err());
        // Nor on any other host, nor dressed up: a user, a query, a fragment,
        // another scheme, dot segments, escapes, a backslash, a space, no
        // `git+` where the certificate has it.
        for hostile in [
            "https://github.com/o/r",
            "https://ghe.example.com@evil.example/o/r",
            "https://evil.example?/o/r",
            "https://evil.example#/o/r",
            "http://ghe.example.com/o/r",
            "HTTPS://ghe.example.com/o/r",
            "https://ghe.example.com/o/r/",
            "https://ghe.example.com/O/r",
            "https://ghe.example.com/evil/x/../../o/r",
            "https://ghe.example.com/evil/%2e%2e/o/r",
            "https://ghe.example.com\\o/r",
            "https://ghe.example.com/o/r ",
        ] {
            let (mut s, c) = run_on("https://ghe.example.com", "https://github.ghe.example.com");
            *s.predicate
                .pointer_mut("/buildDefinition/externalParameters/workflow/repository")
                .unwrap() = hostile.into();
            assert!(github_claims_agree(&s, &c, ghes).is_err(), "{hostile}");
        }
        // A ref may hold a `#`, read as text, not as a fragment; a port is
        // part of the host.
        let (mut s, mut c) = run_on(
            "https://ghe.example.com:8443",
            "https://ghe.example.com:8443",
        );
        let builder =
            "https://ghe.example.com:8443/o/r/.github/workflows/rel.yml@refs/heads/fix#12";
        *s.predicate.pointer_mut("/runDetails/builder/id").unwrap() = builder.into();
        c.build_signer_uri = Some(builder.into());
        let agreed = github_claims_agree(&s, &c, ghes);
        assert!(agreed.is_ok(), "{agreed:?}");
        let (mut s, c) = run_on("https://ghe.example.com", "https://ghe.example.com");
        *s.predicate
            .pointer_mut("/buildDefinition/resolvedDependencies/0/uri")
            .unwrap() = "https://ghe.example.com/o/r@refs/tags/v1".into();
        assert!(github_claims_agree(&s, &c, ghes).is_err(), "no git+");
        // Another build type: not read.
        let (mut s, c) = run_on("https://github.com", "https://evil.example");
        *s.predicate
            .pointer_mut("/buildDefinition/buildType")
            .unwrap() = "https://example.com/b".into();
        assert!(github_claims_agree(&s, &c, github).is_ok());
    }
    use sigstore_types::{Digest, DsseEnvelope, DsseSignature, PayloadBytes, Subject};

    /// A bundle whose DSSE envelope carries `payload` (not signed: for
    /// checks that only read the statement).
    pub(crate) fn dsse_bundle(payload_type: &str, payload: Vec<u8>) -> Bundle {
        let envelope = DsseEnvelope::new(
            payload_type.to_owned(),
            PayloadBytes::new(payload),
            DsseSignature::new(
                sigstore_types::SignatureBytes::new(vec![1]),
                Default::default(),
            ),
        );
        sigstore_bundle::BundleV03::with_certificate_and_dsse(
            sigstore_types::DerCertificate::new(vec![0x30]),
            envelope,
        )
        .into_bundle()
    }

    /// A refused statement's claims count only when it is of the type asked
    /// for: an SBOM refused (for its signer, say) claims nothing about
    /// provenance. Regression: its subjects failed the files it named.
    #[test]
    fn a_refused_statement_claims_only_for_its_own_type() {
        let digest = "ab".repeat(32);
        let payload = |predicate: &str| {
            format!(r#"{{"_type":"{STATEMENT_V1}","subject":[{{"name":"a","digest":{{"sha256":"{digest}"}}}}],"predicateType":"{predicate}"}}"#).into_bytes()
        };
        let line = |predicate: &str| {
            serde_json::to_vec(&dsse_bundle(PAYLOAD_TYPE, payload(predicate))).unwrap()
        };
        let source = Path::new("p.intoto.jsonl");
        let slsa = "https://slsa.dev/provenance/v1";
        let claimed = claimed_sha256(source, &line(slsa), slsa);
        assert_eq!(claimed, [Sha256Hash::from_hex(&digest).unwrap()]);
        let sbom = "https://spdx.dev/Document";
        assert!(claimed_sha256(source, &line(sbom), slsa).is_empty());
        assert!(claimed_sha256(source, b"not json", slsa).is_empty());
    }

    /// A line whose statement is of another type is set aside as such
    /// whatever else would refuse it (here, no valid signature), as when
    /// it verifies. Regression: an SBOM refused for its signer or its
    /// commit was a failed provenance line, so `verify --release` failed
    /// every asset of a release whose bundles all verified.
    #[test]
    fn a_statement_of_another_type_is_set_aside_before_it_is_verified() {
        let digest = "ab".repeat(32);
        let line = |predicate: &str| {
            let payload = format!(
                r#"{{"_type":"{STATEMENT_V1}","subject":[{{"name":"a","digest":{{"sha256":"{digest}"}}}}],"predicateType":"{predicate}"}}"#
            );
            serde_json::to_vec(&dsse_bundle(PAYLOAD_TYPE, payload.into_bytes())).unwrap()
        };
        let root = sigstore_trust_root::TrustedRoot::from_json(
            sigstore_trust_root::SigstoreInstance::Staging.embedded_trusted_root_json(),
        )
        .unwrap();
        let verifier = CachingVerifier::new(&root).unwrap();
        let source = Path::new("sbom.intoto.jsonl");
        let slsa = crate::provenance::SLSA_PROVENANCE_V1;
        let checked = |predicate: &str| {
            check_all(
                &verifier,
                &Policy::default(),
                slsa,
                source,
                vec![(1, line(predicate))],
            )
        };
        let sbom = checked("https://spdx.dev/Document");
        assert!(sbom.of_another_kind(), "{:?}", sbom.statements[0].result);
        let provenance = checked(slsa);
        assert!(!provenance.of_another_kind());
        assert!(provenance.statements[0].result.is_err());
    }

    #[test]
    fn statements_v1_and_v0_1_are_read_anything_else_is_named() {
        let statement = |t: &str| {
            format!(r#"{{"_type":"{t}","subject":[{{"name":"a","digest":{{"sha256":"{}"}}}}],"predicateType":"p"}}"#, "0".repeat(64)).into_bytes()
        };
        for ok in [STATEMENT_V1, STATEMENT_V0_1] {
            assert!(
                statement_of(&dsse_bundle(PAYLOAD_TYPE, statement(ok))).is_ok(),
                "{ok}"
            );
        }
        let e = statement_of(&dsse_bundle(PAYLOAD_TYPE, statement("x\\u001b[2J")))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "Not an attestation: its statement type is `x\\u{1b}[2J`, not https://in-toto.io/Statement/v1"
        );
        let e = statement_of(&dsse_bundle("text/plain", statement(STATEMENT_V1)))
            .unwrap_err()
            .to_string();
        assert!(e.contains("DSSE payload type is `text/plain`"), "{e}");
        let e = statement_of(&dsse_bundle(PAYLOAD_TYPE, b"[]".to_vec()))
            .unwrap_err()
            .to_string();
        assert!(e.contains("its payload is not an in-toto statement"), "{e}");
    }

    fn statement(subjects: Vec<Subject>) -> VerifiedStatement {
        VerifiedStatement {
            statement: Statement::new(
                subjects,
                crate::provenance::SLSA_PROVENANCE_V1,
                serde_json::json!({}),
            ),
            signed: SignedBy {
                identity: String::new(),
                issuer: None,
                log_index: None,
                integrated_time: None,
                timestamped: false,
            },
        }
    }

    fn digests(data: &[u8]) -> Digests {
        Digests::of_reader(data).unwrap()
    }

    #[test]
    fn one_pass_gives_the_three_digests_and_the_size() {
        let d = digests(b"hello");
        assert_eq!(d.sha256, sigstore_crypto::sha256(b"hello"));
        assert_eq!(
            d.sha384.as_deref(),
            Some(&sigstore_crypto::sha384(b"hello").as_bytes()[..])
        );
        assert_eq!(d.sha512, Some(sigstore_crypto::sha512(b"hello")));
        assert_eq!(d.size, 5);
    }

    /// npm writes `pkg:npm/NAME@VERSION` subjects with a sha512 digest only:
    /// matched by digest whatever the file's name, and said so.
    #[test]
    fn npm_subjects_match_by_sha512() {
        let tarball = b"npm tarball bytes";
        let s = statement(vec![Subject::new(
            "pkg:npm/left-pad@1.3.0",
            Digest::sha512(sigstore_crypto::sha512(tarball)),
        )]);
        assert_eq!(
            s.subject_of(&digests(tarball)),
            Some(("pkg:npm/left-pad@1.3.0", "sha512"))
        );
        assert_eq!(s.subject_of(&digests(b"another tarball")), None);
        // The crate binds this statement through its sha512 subject.
        let bound = bindable_digest(&s.statement).unwrap();
        assert_eq!(bound.algorithm(), HashAlgorithm::Sha2512);
    }

    #[test]
    fn sha384_subjects_match_here_and_only_sha384_is_refused_saying_so() {
        let data = b"artifact";
        let mut d = Digest::default();
        d.other.insert(
            "sha384".into(),
            hex::encode(sigstore_crypto::sha384(data).as_bytes()),
        );
        let mut other = Digest::sha256(sigstore_crypto::sha256(b"x"));
        other.other.insert("sha384".into(), "00".into());
        let s = statement(vec![Subject::new("a", d), Subject::new("b", other)]);
        assert_eq!(s.subject_of(&digests(data)), Some(("a", "sha384")));
        // Uppercase hex is the same digest; a wrong length is no digest.
        let mut upper = Digest::default();
        upper.other.insert(
            "sha384".into(),
            hex::encode_upper(sigstore_crypto::sha384(data).as_bytes()),
        );
        assert!(matches_sha384(
            &Subject::new("u", upper.clone()),
            digests(data).sha384.as_deref().unwrap()
        ));
        let only384 = statement(vec![Subject::new("u", upper)]);
        let e = bindable_digest(&only384.statement).unwrap_err().to_string();
        assert!(e.contains("only sha384"), "{e}");
    }

    #[test]
    fn a_statement_without_a_digest_we_compute_says_exactly_that() {
        let mut d = Digest::default();
        d.other.insert("gitCommit".into(), "abc".into());
        let e = bindable_digest(&statement(vec![Subject::new("src", d)]).statement)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no digest we can compute (sha256, sha384, sha512), only gitCommit"),
            "{e}"
        );
        assert!(!e.contains("modified"), "{e}");
    }

    /// Our match agrees with the crate's own comparison for the algorithms
    /// it knows, on a match, on another file, and on a statement of many.
    #[test]
    fn matching_agrees_with_the_crate() {
        let files: [&[u8]; 3] = [b"one", b"two", b"three"];
        let s = statement(vec![
            Subject::new("one", Digest::sha256(sigstore_crypto::sha256(files[0]))),
            Subject::new("two", Digest::sha512(sigstore_crypto::sha512(files[1]))),
        ]);
        for f in files {
            let d = digests(f);
            let crate_says = s.statement.matches_sha256(&d.sha256)
                || s.statement.matches_sha512(d.sha512.as_ref().unwrap());
            assert_eq!(s.subject_of(&d).is_some(), crate_says);
        }
    }

    #[test]
    fn lines_are_capped_and_numbered() {
        let p = Path::new("p.intoto.jsonl");
        let lines = split_lines(p, b"\n{\"a\":1}\r\n  \n{\"b\":2}").unwrap();
        // One pretty JSON document is one statement.
        let pretty = b"{\n  \"a\": 1\n}\n";
        assert_eq!(split_lines(p, pretty).unwrap(), vec![(1, pretty.to_vec())]);
        assert_eq!(
            lines,
            vec![(2, b"{\"a\":1}".to_vec()), (4, b"{\"b\":2}".to_vec())]
        );
        assert!(matches!(
            split_lines(p, b" \n\n"),
            Err(ProvenanceFileError::Empty(_))
        ));
        let many = "{}\n".repeat(MAX_LINES + 1);
        assert!(matches!(
            split_lines(p, many.as_bytes()),
            Err(ProvenanceFileError::TooManyLines(_))
        ));
        assert_eq!(
            split_lines(p, "{}\n".repeat(MAX_LINES).as_bytes())
                .unwrap()
                .len(),
            MAX_LINES
        );
    }
}
