//! A faithful local Sigstore and GitHub, on loopback, for tests and benchmarks.
//!
//! [`Sandbox::start`] binds every service to its own random port on 127.0.0.1 and
//! writes trust material describing exactly those services:
//!
//! | service | module | endpoints |
//! |---|---|---|
//! | OIDC issuer + GitHub Actions token endpoint | [`oidc`] | `/.well-known/*`, `/token` |
//! | Fulcio v2 | [`fulcio`] (keys in [`ca`]) | `/api/v2/signingCert`, `/api/v2/trustBundle` |
//! | Rekor v1 | [`rekor`] | `/api/v1/log`, `/api/v1/log/entries[/{uuid}]` |
//! | Rekor v2 | [`rekor`] | `/api/v2/log/entries` |
//! | RFC 3161 TSA | [`tsa`] | `/api/v1/timestamp` |
//! | GitHub REST releases | [`github`] | `/repos/{owner}/{repo}/releases...` (an asset's download: a 302 to storage) |
//! | GitHub's asset storage | [`github::storage_router`] | `/release-assets/{id}?X-Amz-Signature=...` (no `Authorization` taken) |
//! | TUF repository of the trust files | [`tuf`] | `/N.root.json`, `/timestamp.json`, `/N.snapshot.json`, `/N.targets.json`, `/targets/<sha256>.<name>` |
//!
//! Cryptography is real (X.509, ECDSA, RFC 6962 Merkle trees, signed notes, CMS), so
//! an independent Sigstore client cannot tell these from a real deployment once it
//! is given [`Sandbox::trust_config_path`]. Every service sits behind [`Faults`], which
//! injects latency and failures and records requests.
//!
//! The product never links this crate; tests and benchmarks hand it the sandbox's
//! URLs and trust files, exactly as a user would for a private Sigstore instance.

pub mod ca;
pub mod faults;
pub mod fulcio;
pub mod github;
pub mod keys;
pub mod lies;
pub mod oidc;
pub mod peers;
pub mod proxy;
pub mod rekor;
mod server;
pub mod trust;
pub mod tsa;
pub mod tuf;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::Mutex;
use tokio::sync::watch;

pub use faults::{Fault, Faults, RecordedRequest};
pub use oidc::{JwtAlgorithm, TokenClaims, GITHUB_ISSUER};

/// The services, for [`Sandbox::faults`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Oidc,
    Fulcio,
    RekorV1,
    RekorV2,
    Tsa,
    GitHub,
    Tuf,
    /// Where GitHub sends asset downloads (`objects.githubusercontent.com`).
    Storage,
}

impl Service {
    pub const ALL: [Service; 8] = [
        Service::Oidc,
        Service::Fulcio,
        Service::RekorV1,
        Service::RekorV2,
        Service::Tsa,
        Service::GitHub,
        Service::Tuf,
        Service::Storage,
    ];

    fn index(self) -> usize {
        self as usize
    }
}

/// Base URLs of the running services (no trailing slash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    pub oidc: String,
    pub fulcio: String,
    pub rekor_v1: String,
    pub rekor_v2: String,
    /// The full timestamp endpoint (`.../api/v1/timestamp`), as signing configs list it.
    pub tsa: String,
    pub github_api: String,
    /// `ACTIONS_ID_TOKEN_REQUEST_URL`: already has a query, clients append `&audience=...`.
    pub actions_token_request: String,
    /// The TUF repository distributing the trust files ([`tuf`]).
    pub tuf: String,
    /// The storage GitHub redirects asset downloads to.
    pub github_storage: String,
}

/// Settings fixed at start; see [`SandboxBuilder`].
#[derive(Debug, Clone)]
pub struct Config {
    pub jwt_algorithm: JwtAlgorithm,
    pub token_lifetime: Duration,
    /// `owner/name` of the repository the default token and release belong to.
    pub repository: String,
    /// `GITHUB_REF` of the default token; a `refs/tags/*` ref gets a pre-created release.
    pub git_ref: String,
    pub sha: String,
    /// When every trust-root entry starts being valid (a little before start).
    pub valid_from: SystemTime,
}

/// State every service handler can reach. Public so that service modules (and
/// tests that poke at internals) share one definition.
pub struct Shared {
    pub config: Config,
    pub urls: Urls,
    pub ca: ca::CertificateAuthority,
    pub oidc: oidc::OidcIssuer,
    pub rekor_v1: rekor::Log,
    pub rekor_v2: rekor::Log,
    pub tsa: tsa::TimestampAuthority,
    pub github: github::GitHub,
    /// The bearer the Actions token endpoint expects (`ACTIONS_ID_TOKEN_REQUEST_TOKEN`).
    pub actions_request_token: String,
    /// Claims the Actions token endpoint puts in the tokens it mints.
    pub actions_claims: Mutex<TokenClaims>,
    /// Lifetime of the tokens the Actions token endpoint mints.
    pub actions_token_lifetime: Mutex<Duration>,
    /// How long Fulcio's leaf certificates are valid (changeable while running).
    pub cert_validity: Mutex<Duration>,
    /// Lies Rekor and Fulcio tell when asked to (none by default).
    pub lies: lies::Lies,
    /// The TUF repository of the trust files.
    pub tuf: tuf::TufRepository,
}

/// Configure a sandbox before starting it.
#[derive(Debug, Clone)]
pub struct SandboxBuilder {
    cert_validity: Duration,
    token_lifetime: Duration,
    jwt_algorithm: JwtAlgorithm,
    latency: Duration,
    jitter: Duration,
    repository: String,
    git_ref: String,
    sha: String,
    dir: Option<PathBuf>,
    bind_ip: std::net::IpAddr,
    rekor_store_as_sent: bool,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            cert_validity: Duration::from_secs(10 * 60),
            token_lifetime: Duration::from_secs(5 * 60),
            jwt_algorithm: JwtAlgorithm::Rs256,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            repository: "octo-org/octo-repo".into(),
            git_ref: "refs/tags/v1.0.0".into(),
            sha: "a3f1c5e9b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2".into(),
            dir: None,
            bind_ip: std::net::Ipv4Addr::LOCALHOST.into(),
            rekor_store_as_sent: false,
        }
    }
}

impl SandboxBuilder {
    /// Validity of Fulcio leaf certificates (default 10 minutes, as Fulcio).
    pub fn cert_validity(mut self, d: Duration) -> Self {
        self.cert_validity = d;
        self
    }
    /// Lifetime of minted identity tokens (default 5 minutes, as GitHub).
    pub fn token_lifetime(mut self, d: Duration) -> Self {
        self.token_lifetime = d;
        self
    }
    /// Signature algorithm of minted tokens (default RS256, as GitHub).
    pub fn jwt_algorithm(mut self, alg: JwtAlgorithm) -> Self {
        self.jwt_algorithm = alg;
        self
    }
    /// Latency added to every response of every service.
    pub fn latency(mut self, fixed: Duration, jitter: Duration) -> Self {
        self.latency = fixed;
        self.jitter = jitter;
        self
    }
    /// Repository (`owner/name`) of the default token and pre-created release.
    pub fn repository(mut self, repo: impl Into<String>) -> Self {
        self.repository = repo.into();
        self
    }
    /// Git ref of the default token; `refs/tags/<tag>` pre-creates a release for `<tag>`.
    pub fn git_ref(mut self, r: impl Into<String>) -> Self {
        self.git_ref = r.into();
        self
    }
    /// Rekor v1 stores each entry's body as sent (the client's JSON bytes, its
    /// PEM untouched) instead of canonicalizing it (default: canonicalize, as
    /// rekor.sigstore.dev). A log that does not re-encode what it is given
    /// shows whether a client's bundles hold up without that help.
    pub fn rekor_store_as_sent(mut self, yes: bool) -> Self {
        self.rekor_store_as_sent = yes;
        self
    }
    /// Where to write the trust files (default: a temporary directory owned by the sandbox).
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Bind every service, write the trust files, and start serving.
    pub async fn start(self) -> anyhow::Result<Sandbox> {
        let (stop_tx, stop_rx) = watch::channel(false);

        // 1. Bind every listener first: the URLs go into certificates, log origins,
        //    release `upload_url`s and the trust files.
        let mut listeners = Vec::new();
        for _ in Service::ALL {
            let l = tokio::net::TcpListener::bind(SocketAddr::new(self.bind_ip, 0)).await?;
            listeners.push(l);
        }
        let addrs: Vec<SocketAddr> = listeners
            .iter()
            .map(|l| l.local_addr())
            .collect::<Result<_, _>>()?;
        let base = |s: Service| format!("http://{}", addrs[s.index()]);
        let urls = Urls {
            oidc: base(Service::Oidc),
            fulcio: base(Service::Fulcio),
            rekor_v1: base(Service::RekorV1),
            rekor_v2: base(Service::RekorV2),
            tsa: format!("{}/api/v1/timestamp", base(Service::Tsa)),
            github_api: base(Service::GitHub),
            actions_token_request: format!("{}/token?api-version=2.0", base(Service::Oidc)),
            tuf: base(Service::Tuf),
            github_storage: base(Service::Storage),
        };

        // 2. Keys and state. Trust starts an hour back so clock skew never matters.
        let now = SystemTime::now();
        let valid_from = truncate_to_secs(now - Duration::from_secs(3600));
        let config = Config {
            jwt_algorithm: self.jwt_algorithm,
            token_lifetime: self.token_lifetime,
            repository: self.repository.clone(),
            git_ref: self.git_ref.clone(),
            sha: self.sha.clone(),
            valid_from,
        };
        let github_token = format!("ghs_sandbox{}", random_hex(16));
        let default_claims = TokenClaims::github(&self.repository, &self.git_ref, &self.sha);
        let shared = Arc::new(Shared {
            ca: ca::CertificateAuthority::generate(valid_from),
            oidc: oidc::OidcIssuer::generate(self.jwt_algorithm),
            rekor_v1: rekor::Log::new(rekor::LogVersion::V1, &urls.rekor_v1)
                .store_as_sent(self.rekor_store_as_sent),
            rekor_v2: rekor::Log::new(rekor::LogVersion::V2, &urls.rekor_v2),
            tsa: tsa::TimestampAuthority::generate(valid_from),
            github: github::GitHub::new(&urls.github_api, &github_token)
                .with_storage(&urls.github_storage),
            actions_request_token: format!("actions-request-{}", random_hex(16)),
            actions_claims: Mutex::new(default_claims),
            actions_token_lifetime: Mutex::new(self.token_lifetime),
            cert_validity: Mutex::new(self.cert_validity),
            lies: lies::Lies::default(),
            tuf: tuf::TufRepository::new(),
            urls: urls.clone(),
            config,
        });
        shared.github.add_repo(&self.repository);
        // The default branch is at the commit the default token was minted
        // for, so a release published from it is tagged at that commit.
        shared
            .github
            .set_branch(&self.repository, "main", &self.sha);
        if let Some(tag) = self.git_ref.strip_prefix("refs/tags/") {
            shared
                .github
                .create_release(&self.repository, tag, github::ReleaseSpec::published());
        }

        // 3. Trust files.
        let (tempdir, dir) = match self.dir {
            Some(d) => {
                std::fs::create_dir_all(&d)?;
                (None, d)
            }
            None => {
                let t = tempfile::Builder::new()
                    .prefix("releasekit-sandbox-")
                    .tempdir()?;
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        let files = trust::write_files(&shared, &dir)?;
        shared.tuf.publish(&files)?;
        let tuf_root = dir.join("tuf_root.json");
        std::fs::write(&tuf_root, shared.tuf.initial_root())?;

        // 4. Serve.
        let faults: Vec<Faults> = Service::ALL.iter().map(|_| Faults::default()).collect();
        let mut tasks = Vec::new();
        for (service, listener) in Service::ALL.into_iter().zip(listeners) {
            let f = faults[service.index()].clone();
            f.set_latency(self.latency, self.jitter);
            let router = match service {
                Service::Oidc => oidc::router(shared.clone()),
                Service::Fulcio => fulcio::router(shared.clone()),
                Service::RekorV1 => rekor::router_v1(shared.clone()),
                Service::RekorV2 => rekor::router_v2(shared.clone()),
                Service::Tsa => tsa::router(shared.clone()),
                Service::GitHub => github::router(shared.clone()),
                Service::Tuf => tuf::router(shared.clone()),
                Service::Storage => github::storage_router(shared.clone()),
            };
            tasks.push(server::serve(listener, router, f, stop_rx.clone()));
        }

        Ok(Sandbox {
            shared,
            faults,
            files,
            tuf_root,
            dir,
            _tempdir: tempdir,
            github_token,
            stop: stop_tx,
            tasks,
        })
    }
}

/// A running sandbox. Dropping it stops every service and deletes its temporary files.
pub struct Sandbox {
    shared: Arc<Shared>,
    faults: Vec<Faults>,
    files: trust::Files,
    tuf_root: PathBuf,
    dir: PathBuf,
    _tempdir: Option<tempfile::TempDir>,
    github_token: String,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Sandbox {
    /// Start with defaults (random ports, 10-minute certificates, no latency).
    pub async fn start() -> anyhow::Result<Sandbox> {
        Self::builder().start().await
    }

    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    pub fn urls(&self) -> &Urls {
        &self.shared.urls
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Internals, for tests of the sandbox itself and for fault set-ups that need them.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Version 1 of the TUF repository's root (`--tuf-root`, cosign's
    /// `initialize --root`): what a client bootstraps trust in [`Urls::tuf`] from.
    pub fn tuf_root_path(&self) -> &Path {
        &self.tuf_root
    }

    /// The TUF repository's switches: rotate the root, expire the
    /// timestamp, take the mirror down.
    pub fn tuf(&self) -> &tuf::TufRepository {
        &self.shared.tuf
    }

    /// The Rekor v1 log (its clock: [`rekor::Log::set_clock_ahead`]).
    pub fn rekor_v1(&self) -> &rekor::Log {
        &self.shared.rekor_v1
    }

    /// The timestamp authority (its clock: [`tsa::TimestampAuthority::set_clock_ahead`]).
    pub fn tsa(&self) -> &tsa::TimestampAuthority {
        &self.shared.tsa
    }

    /// The directory holding the trust files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `trusted_root.json`: CA, CT log, both Rekor logs, TSA.
    pub fn trusted_root_path(&self) -> &Path {
        &self.files.trusted_root
    }

    /// `signing_config.json` (v0.2) selecting Rekor v1 (and the TSA).
    pub fn signing_config_path(&self) -> &Path {
        &self.files.signing_config_v1
    }

    /// A ClientTrustConfig (sigstore-python's `--trust-config`) selecting Rekor v1 + TSA.
    pub fn trust_config_path(&self) -> &Path {
        &self.files.trust_config_v1
    }

    /// A ClientTrustConfig selecting Rekor v2 + TSA.
    pub fn trust_config_v2_path(&self) -> &Path {
        &self.files.trust_config_v2
    }

    /// A ClientTrustConfig of the GitHub-style instance: Fulcio issuing
    /// leaves without an SCT, the TSA, no Rekor; its trusted root lists no
    /// tlogs and no ctlogs.
    pub fn trust_config_github_path(&self) -> &Path {
        &self.files.trust_config_github
    }

    /// A fresh identity token with the default claims (those the Actions endpoint uses).
    pub fn token(&self) -> String {
        let claims = self.shared.actions_claims.lock().clone();
        self.token_with(&claims, self.shared.config.token_lifetime)
    }

    /// A token with these claims and lifetime.
    pub fn token_with(&self, claims: &TokenClaims, lifetime: Duration) -> String {
        self.shared.oidc.mint(claims, lifetime)
    }

    /// The claims of the default token, to modify and pass to [`Self::token_with`].
    pub fn default_claims(&self) -> TokenClaims {
        self.shared.actions_claims.lock().clone()
    }

    /// Change the claims and lifetime of tokens the Actions endpoint mints from now on.
    pub fn set_actions_token(&self, claims: TokenClaims, lifetime: Duration) {
        *self.shared.actions_claims.lock() = claims;
        *self.shared.actions_token_lifetime.lock() = lifetime;
    }

    /// Change Fulcio's certificate validity from now on.
    pub fn set_cert_validity(&self, d: Duration) {
        *self.shared.cert_validity.lock() = d;
    }

    /// The certificate identity (SAN) a default token yields.
    pub fn identity(&self) -> String {
        self.shared.actions_claims.lock().identity()
    }

    /// The OIDC issuer a default token yields (the GitHub Actions issuer).
    pub fn issuer(&self) -> String {
        self.shared.actions_claims.lock().iss.clone()
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    pub fn actions_request_token(&self) -> &str {
        &self.shared.actions_request_token
    }

    /// The GitHub token the API accepts (`GITHUB_TOKEN`).
    pub fn github_token(&self) -> &str {
        &self.github_token
    }

    /// In-memory GitHub state: create releases, read or tamper with assets.
    pub fn github(&self) -> &github::GitHub {
        &self.shared.github
    }

    /// The fault plan and request log of one service.
    pub fn faults(&self, service: Service) -> &Faults {
        &self.faults[service.index()]
    }

    /// Make Rekor or Fulcio lie in their next answers (see [`lies`]).
    pub fn lies(&self) -> &lies::Lies {
        &self.shared.lies
    }

    /// Requests one service received so far.
    pub fn requests(&self, service: Service) -> Vec<RecordedRequest> {
        self.faults(service).requests()
    }

    /// The environment a GitHub Actions job would see, pointed at this sandbox
    /// (`ACTIONS_ID_TOKEN_REQUEST_*`, `GITHUB_*`, `SANDBOX_*`).
    pub fn env(&self) -> Vec<(String, String)> {
        let c = &self.shared.config;
        let path = |p: &Path| p.display().to_string();
        vec![
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL".into(),
                self.urls().actions_token_request.clone(),
            ),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
                self.actions_request_token().into(),
            ),
            ("GITHUB_ACTIONS".into(), "true".into()),
            ("GITHUB_API_URL".into(), self.urls().github_api.clone()),
            ("GITHUB_SERVER_URL".into(), "https://github.com".into()),
            ("GITHUB_TOKEN".into(), self.github_token.clone()),
            ("GITHUB_REPOSITORY".into(), c.repository.clone()),
            ("GITHUB_REF".into(), c.git_ref.clone()),
            ("GITHUB_SHA".into(), c.sha.clone()),
            (
                "SANDBOX_TRUST_CONFIG".into(),
                path(self.trust_config_path()),
            ),
            (
                "SANDBOX_TRUST_CONFIG_V2".into(),
                path(self.trust_config_v2_path()),
            ),
            (
                "SANDBOX_TRUST_CONFIG_GITHUB".into(),
                path(self.trust_config_github_path()),
            ),
            (
                "SANDBOX_TRUSTED_ROOT".into(),
                path(self.trusted_root_path()),
            ),
            (
                "SANDBOX_SIGNING_CONFIG".into(),
                path(self.signing_config_path()),
            ),
            ("SANDBOX_TUF_URL".into(), self.urls().tuf.clone()),
            ("SANDBOX_TUF_ROOT".into(), path(self.tuf_root_path())),
            ("SANDBOX_IDENTITY".into(), self.identity()),
            ("SANDBOX_ISSUER".into(), self.issuer()),
        ]
    }

    /// Stop every service and wait for them to finish.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn truncate_to_secs(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

/// `n` random bytes, hex-encoded.
pub fn random_hex(n: usize) -> String {
    use rand::RngCore;
    let mut b = vec![0u8; n];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}
