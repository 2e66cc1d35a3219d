//! The sandbox as a whole: trust files parse with the Sigstore crates, the env
//! describes the running services, faults apply per service and from the control path.

use std::time::Duration;

use releasekit_sandbox::{Fault, Sandbox, Service};

#[tokio::test]
async fn trust_files_parse_with_the_sigstore_crates() {
    let sandbox = Sandbox::start().await.unwrap();
    let root = sigstore_trust_root::TrustedRoot::from_file(sandbox.trusted_root_path()).unwrap();
    assert_eq!(root.tlogs.len(), 2, "Rekor v1 and v2");
    assert_eq!(root.ctlogs.len(), 1);
    assert_eq!(root.timestamp_authorities.len(), 1);
    sigstore_verify::Verifier::new(&root).expect("the verifier accepts every key and chain");
    let config =
        sigstore_trust_root::SigningConfig::from_file(sandbox.signing_config_path()).unwrap();
    assert_eq!(config.rekor_url(None).unwrap().url, sandbox.urls().rekor_v1);
    assert_eq!(config.tsa_url().unwrap().url, sandbox.urls().tsa);

    let tc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sandbox.trust_config_v2_path()).unwrap()).unwrap();
    assert_eq!(
        tc["mediaType"],
        "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
    );
    assert_eq!(
        tc["signingConfig"]["rekorTlogUrls"][0]["majorApiVersion"],
        2
    );
    assert_eq!(
        tc["signingConfig"]["rekorTlogUrls"][0]["url"],
        sandbox.urls().rekor_v2
    );
}

#[tokio::test]
async fn env_points_at_the_running_services() {
    let sandbox = Sandbox::start().await.unwrap();
    let env: std::collections::HashMap<_, _> = sandbox.env().into_iter().collect();
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
        assert!(env.contains_key(key), "{key} missing");
    }
    assert_eq!(
        env["SANDBOX_ISSUER"],
        "https://token.actions.githubusercontent.com"
    );
    assert!(std::path::Path::new(&env["SANDBOX_TRUST_CONFIG"]).is_file());

    // The Actions token protocol: URL + `&audience=`, bearer required.
    let client = reqwest::Client::new();
    let url = format!("{}&audience=sigstore", env["ACTIONS_ID_TOKEN_REQUEST_URL"]);
    let ok = client
        .get(&url)
        .bearer_auth(&env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(
        body["value"].as_str().unwrap().split('.').count(),
        3,
        "a JWT"
    );
    let denied = client.get(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(denied.status(), 401);
}

#[tokio::test]
async fn faults_apply_to_one_service_and_are_consumed() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = reqwest::Client::new();
    let rekor_log = format!("{}/api/v1/log", sandbox.urls().rekor_v1);

    sandbox
        .faults(Service::RekorV1)
        .fail_next(2, Fault::retry_after(503, 1));
    for _ in 0..2 {
        let r = client.get(&rekor_log).send().await.unwrap();
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "1");
    }
    assert_eq!(client.get(&rekor_log).send().await.unwrap().status(), 200);
    // Other services were untouched.
    let fulcio = format!("{}/api/v2/trustBundle", sandbox.urls().fulcio);
    assert_eq!(client.get(&fulcio).send().await.unwrap().status(), 200);

    sandbox
        .faults(Service::RekorV1)
        .fail_next(1, Fault::MalformedBody);
    let body = client
        .get(&rekor_log)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(serde_json::from_str::<serde_json::Value>(&body).is_err());

    sandbox
        .faults(Service::RekorV1)
        .fail_next(1, Fault::DropConnection);
    let dropped = async { client.get(&rekor_log).send().await?.bytes().await }.await;
    assert!(dropped.is_err(), "the connection must break mid-response");

    let recorded = sandbox.requests(Service::RekorV1);
    assert_eq!(recorded.len(), 5);
    assert_eq!(recorded[0].status, 503);
    assert_eq!(recorded[2].status, 200);
}

#[tokio::test]
async fn latency_and_the_control_path() {
    let sandbox = Sandbox::start().await.unwrap();
    let client = reqwest::Client::new();
    let base = &sandbox.urls().fulcio;
    let set = client
        .post(format!("{base}/__sandbox/faults"))
        .json(
            &serde_json::json!({ "latency_ms": 150, "status": 429, "retry_after": 7, "count": 1 }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let t = std::time::Instant::now();
    let r = client
        .get(format!("{base}/api/v2/trustBundle"))
        .send()
        .await
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(150));
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    let bad = client
        .post(format!("{base}/__sandbox/faults"))
        .json(&serde_json::json!({ "status": 503, "drop_connection": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        bad.status(),
        400,
        "contradictory fault requests are refused"
    );
    // Control requests are not part of the service's request log.
    assert_eq!(sandbox.requests(Service::Fulcio).len(), 1);
}
