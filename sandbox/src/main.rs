//! `releasekit-sandbox`: run the sandbox as a process, for CI scripts, benchmarks,
//! peers (sigstore-python, cosign) and the container test.
//!
//! `serve` runs until killed and writes a shell-sourceable env file; `token` mints a
//! fresh identity token from a running sandbox (through its Actions endpoint, exactly
//! as a workflow would); `fault` changes a running service's faults.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand, ValueEnum};
use releasekit_sandbox::faults::{ControlRequest, CONTROL_PATH};
use releasekit_sandbox::Sandbox;

#[derive(Parser)]
#[command(
    name = "releasekit-sandbox",
    version,
    about = "A local Sigstore + GitHub on loopback"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start every service and run until killed (SIGINT/SIGTERM).
    Serve {
        /// Write `export NAME='value'` lines for the job environment here.
        #[arg(long)]
        env_file: Option<PathBuf>,
        /// Latency added to every response of every service.
        #[arg(long, default_value_t = 0)]
        latency_ms: u64,
        /// Random extra latency, uniform in 0..=N ms.
        #[arg(long, default_value_t = 0)]
        jitter_ms: u64,
        /// Fulcio certificate validity.
        #[arg(long, default_value_t = 600)]
        cert_validity_secs: u64,
        /// Where to write the trust files (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Repository of the default token and pre-created release.
        #[arg(long, default_value = "octo-org/octo-repo")]
        repository: String,
        /// Git ref of the default token; `refs/tags/<tag>` pre-creates that release.
        #[arg(long = "ref", default_value = "refs/tags/v1.0.0")]
        git_ref: String,
    },
    /// Print a fresh identity token from a running sandbox.
    Token {
        /// The env file `serve` wrote.
        #[arg(long)]
        env_file: PathBuf,
    },
    /// Change the faults of one service of a running sandbox.
    Fault {
        #[arg(long)]
        env_file: PathBuf,
        #[arg(long, value_enum)]
        service: ServiceArg,
        /// Forget queued faults and latency first.
        #[arg(long)]
        clear: bool,
        #[arg(long)]
        latency_ms: Option<u64>,
        #[arg(long)]
        jitter_ms: Option<u64>,
        /// Fail the next requests with this HTTP status.
        #[arg(long)]
        status: Option<u16>,
        /// With --status: send `Retry-After: N`.
        #[arg(long)]
        retry_after: Option<u64>,
        /// With --status: answer with exactly this body.
        #[arg(long, requires = "status", conflicts_with = "retry_after")]
        body: Option<String>,
        /// With a 3xx --status: redirect to this URL (`Location`).
        #[arg(long, requires = "status", conflicts_with_all = ["retry_after", "body"])]
        location: Option<String>,
        /// Cut the connection mid-response.
        #[arg(long)]
        drop_connection: bool,
        /// Replace the response body with bytes that are not JSON.
        #[arg(long)]
        malformed_body: bool,
        /// How many requests the fault applies to.
        #[arg(long, default_value_t = 1)]
        count: usize,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ServiceArg {
    Oidc,
    Fulcio,
    RekorV1,
    RekorV2,
    Tsa,
    Github,
    Tuf,
    /// Where GitHub sends asset downloads.
    Storage,
}

impl ServiceArg {
    /// The env-file variable holding the service's base URL.
    fn env_var(self) -> &'static str {
        match self {
            ServiceArg::Oidc => "SANDBOX_OIDC_URL",
            ServiceArg::Fulcio => "SANDBOX_FULCIO_URL",
            ServiceArg::RekorV1 => "SANDBOX_REKOR_URL",
            ServiceArg::RekorV2 => "SANDBOX_REKOR_V2_URL",
            ServiceArg::Tsa => "SANDBOX_TSA_BASE_URL",
            ServiceArg::Github => "GITHUB_API_URL",
            ServiceArg::Tuf => "SANDBOX_TUF_URL",
            ServiceArg::Storage => "SANDBOX_GITHUB_STORAGE_URL",
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            env_file,
            latency_ms,
            jitter_ms,
            cert_validity_secs,
            dir,
            repository,
            git_ref,
        } => {
            let mut builder = Sandbox::builder()
                .latency(
                    Duration::from_millis(latency_ms),
                    Duration::from_millis(jitter_ms),
                )
                .cert_validity(Duration::from_secs(cert_validity_secs))
                .repository(repository)
                .git_ref(git_ref);
            if let Some(dir) = dir {
                builder = builder.dir(dir);
            }
            let sandbox = builder.start().await?;
            // Faults are set from outside; the request log is read by tests
            // in the same process only, so a long `serve` keeps none.
            for service in releasekit_sandbox::Service::ALL {
                sandbox.faults(service).stop_recording();
            }
            let env = env_lines(&sandbox);
            match &env_file {
                Some(path) => write_atomically(path, env.as_bytes())
                    .with_context(|| format!("writing the env file {}", path.display()))?,
                None => print!("{env}"),
            }
            eprintln!(
                "releasekit-sandbox: serving (GitHub API {}, Fulcio {}, Rekor v1 {}, Rekor v2 {}, TSA {}); Ctrl-C to stop",
                sandbox.urls().github_api,
                sandbox.urls().fulcio,
                sandbox.urls().rekor_v1,
                sandbox.urls().rekor_v2,
                sandbox.urls().tsa
            );
            wait_for_signal().await;
            sandbox.shutdown().await;
            Ok(())
        }
        Command::Token { env_file } => {
            let env = read_env_file(&env_file)?;
            let url = get(&env, "ACTIONS_ID_TOKEN_REQUEST_URL")?;
            let bearer = get(&env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN")?;
            let token = fetch_token(&url, &bearer).await?;
            println!("{token}");
            Ok(())
        }
        Command::Fault {
            env_file,
            service,
            clear,
            latency_ms,
            jitter_ms,
            status,
            retry_after,
            body,
            location,
            drop_connection,
            malformed_body,
            count,
        } => {
            let env = read_env_file(&env_file)?;
            let base = get(&env, service.env_var())?;
            let req = ControlRequest {
                clear,
                latency_ms,
                jitter_ms,
                count: Some(count),
                status,
                retry_after,
                body,
                location,
                drop_connection,
                malformed_body,
                only_paths_containing: None,
            };
            let body = serde_json::to_string(&req)?;
            let answer = http_post(&format!("{base}{CONTROL_PATH}"), body).await?;
            println!("{answer}");
            Ok(())
        }
    }
}

fn env_lines(sandbox: &Sandbox) -> String {
    let mut vars = sandbox.env();
    let urls = sandbox.urls();
    vars.extend([
        ("SANDBOX_OIDC_URL".to_string(), urls.oidc.clone()),
        (
            "SANDBOX_GITHUB_STORAGE_URL".to_string(),
            urls.github_storage.clone(),
        ),
        ("SANDBOX_FULCIO_URL".to_string(), urls.fulcio.clone()),
        ("SANDBOX_REKOR_URL".to_string(), urls.rekor_v1.clone()),
        ("SANDBOX_REKOR_V2_URL".to_string(), urls.rekor_v2.clone()),
        ("SANDBOX_TSA_URL".to_string(), urls.tsa.clone()),
        (
            "SANDBOX_TSA_BASE_URL".to_string(),
            urls.tsa.trim_end_matches("/api/v1/timestamp").to_string(),
        ),
    ]);
    vars.iter()
        .map(|(k, v)| format!("export {k}='{}'\n", v.replace('\'', r"'\''")))
        .collect()
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Parse the `export NAME='value'` lines `serve` writes.
fn read_env_file(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "reading {} (written by `releasekit-sandbox serve --env-file`)",
            path.display()
        )
    })?;
    let mut vars = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("export ") else {
            continue;
        };
        let Some((k, v)) = rest.split_once('=') else {
            continue;
        };
        let v = v
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .unwrap_or(v)
            .replace(r"'\''", "'");
        vars.push((k.to_string(), v));
    }
    Ok(vars)
}

fn get(env: &[(String, String)], key: &str) -> anyhow::Result<String> {
    env.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .with_context(|| format!("{key} is missing from the env file"))
}

async fn fetch_token(url: &str, bearer: &str) -> anyhow::Result<String> {
    let response = reqwest::Client::new()
        .get(format!("{url}&audience=sigstore"))
        .bearer_auth(bearer)
        .send()
        .await?;
    let status = response.status();
    if !status.is_success() {
        bail!("the sandbox token endpoint answered {status}");
    }
    let v: serde_json::Value = response.json().await?;
    v["value"]
        .as_str()
        .map(str::to_owned)
        .context("token response has no `value`")
}

async fn http_post(url: &str, body: String) -> anyhow::Result<String> {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = response.status();
    let answer = response.text().await?;
    if !status.is_success() {
        bail!("the sandbox answered {status}: {answer}");
    }
    Ok(answer)
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
