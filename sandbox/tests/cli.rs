//! The `releasekit-sandbox` binary as CI scripts and the container test use it:
//! `serve --env-file` writes a sourceable env file and serves until killed, `token`
//! mints through the running Actions endpoint, `fault` changes a running service.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_releasekit-sandbox");

/// Kills the server even when an assertion fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve never wrote {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What `sh` sees after sourcing the file: proves the quoting is shell-correct.
fn source(env_file: &Path) -> HashMap<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(". '{}' && env", env_file.display()))
        .env_clear()
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn serve_token_and_fault() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("sandbox.env");
    let _server = Server(
        Command::new(BIN)
            .args([
                "serve",
                "--latency-ms",
                "1",
                "--ref",
                "refs/tags/v9.9.9",
                "--env-file",
            ])
            .arg(&env_file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(&env_file);
    let env = source(&env_file);
    for key in [
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "GITHUB_API_URL",
        "GITHUB_TOKEN",
        "GITHUB_REPOSITORY",
        "GITHUB_REF",
        "SANDBOX_TRUST_CONFIG",
        "SANDBOX_TRUSTED_ROOT",
        "SANDBOX_IDENTITY",
        "SANDBOX_ISSUER",
    ] {
        assert!(env.contains_key(key), "{key} missing from the env file");
    }
    assert_eq!(env["GITHUB_REF"], "refs/tags/v9.9.9");
    assert!(Path::new(&env["SANDBOX_TRUST_CONFIG"]).is_file());
    assert!(env["SANDBOX_IDENTITY"].ends_with("@refs/tags/v9.9.9"));

    // `token` mints a JWT whose payload carries the sandbox's claims.
    let token = Command::new(BIN)
        .args(["token", "--env-file"])
        .arg(&env_file)
        .output()
        .unwrap();
    assert!(
        token.status.success(),
        "{}",
        String::from_utf8_lossy(&token.stderr)
    );
    let jwt = String::from_utf8(token.stdout).unwrap();
    let payload = jwt.trim().split('.').nth(1).expect("a JWT");
    use base64::Engine as _;
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], "sigstore");
    assert_eq!(claims["ref"], "refs/tags/v9.9.9");

    // The release for the ref's tag was pre-created (published, so readable anonymously).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let release_url = format!(
        "{}/repos/{}/releases/tags/v9.9.9",
        env["GITHUB_API_URL"], env["GITHUB_REPOSITORY"]
    );
    let status = runtime.block_on(async { reqwest::get(&release_url).await.unwrap().status() });
    assert_eq!(status, 200);

    // `fault` makes the next Rekor request fail, then it recovers.
    let fault = Command::new(BIN)
        .args([
            "fault",
            "--service",
            "rekor-v1",
            "--status",
            "503",
            "--retry-after",
            "2",
            "--env-file",
        ])
        .arg(&env_file)
        .output()
        .unwrap();
    assert!(
        fault.status.success(),
        "{}",
        String::from_utf8_lossy(&fault.stderr)
    );
    let log = format!("{}/api/v1/log", env["SANDBOX_REKOR_URL"]);
    let statuses = runtime.block_on(async {
        let first = reqwest::get(&log).await.unwrap();
        let retry_after = first.headers()["retry-after"].to_str().unwrap().to_string();
        let second = reqwest::get(&log).await.unwrap().status();
        (first.status(), retry_after, second)
    });
    assert_eq!(statuses.0, 503);
    assert_eq!(statuses.1, "2");
    assert_eq!(statuses.2, 200);

    // A contradictory fault is refused with a non-zero exit.
    let bad = Command::new(BIN)
        .args([
            "fault",
            "--service",
            "fulcio",
            "--status",
            "503",
            "--drop-connection",
            "--env-file",
        ])
        .arg(&env_file)
        .output()
        .unwrap();
    assert!(!bad.status.success());
}
