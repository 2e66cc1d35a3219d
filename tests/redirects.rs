//! A Sigstore service that answers with a redirect (a hijacked proxy, a
//! misconfigured service) is not followed: Fulcio's request holds the identity
//! token, and a 307/308 would re-send it, body and all, to whatever host the
//! `Location` names, plain http included. The run fails once, naming the
//! service and where it pointed, and nothing reaches the other host.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use releasekit_sandbox::{Fault, Sandbox, Service};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::util::{assert_printable, code, run, sign, stderr, stdout, Work};

/// A listener on another port that records every byte that reaches it: where
/// a followed redirect would deliver the request.
struct Elsewhere {
    url: String,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Elsewhere {
    async fn start() -> Elsewhere {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 8192];
                    // Everything the client sends until it pauses, then a 404.
                    while let Ok(Ok(n @ 1..)) =
                        tokio::time::timeout(Duration::from_millis(300), socket.read(&mut buf))
                            .await
                    {
                        record.lock().unwrap().extend_from_slice(&buf[..n]);
                    }
                    let _ = socket
                        .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        Elsewhere { url, seen }
    }

    fn seen(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned()
    }
}

/// Fulcio answers the certificate request with `307 Location: http://<another
/// port>/...`: the token never reaches that port, Fulcio is asked once (a
/// redirect is not retried), and the error names Fulcio, the status and the
/// `Location`.
#[tokio::test(flavor = "multi_thread")]
async fn fulcio_redirect_is_not_followed_and_the_token_stays_home() {
    let sandbox = Sandbox::start().await.unwrap();
    let elsewhere = Elsewhere::start().await;
    let work = Work::new();
    work.file("a.whl", "a");
    let location = format!("{}/api/v2/signingCert", elsewhere.url);
    sandbox
        .faults(Service::Fulcio)
        .fail_next(10, Fault::redirect(307, &location));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    let o = run(cmd).await;

    // The token the run sent, as Fulcio received it.
    let fulcio = sandbox.requests(Service::Fulcio);
    let request: serde_json::Value = serde_json::from_slice(&fulcio[0].body).unwrap();
    let token = request["credentials"]["oidcIdentityToken"]
        .as_str()
        .unwrap();
    let seen = elsewhere.seen();
    for part in token.split('.').skip(1) {
        assert!(
            !seen.contains(part),
            "the identity token reached the redirect's target:\n{seen}"
        );
    }
    assert_eq!(seen, "", "nothing reaches the redirect's target");
    assert_eq!(code(&o), 1);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "Fulcio at {} redirected the certificate request: Fulcio answered `create signing certificate` with HTTP 307, a redirect to `{location}`",
            sandbox.urls().fulcio
        )),
        "{err}"
    );
    assert!(
        err.contains("--fulcio-url"),
        "the fix names the setting: {err}"
    );
    assert_eq!(
        sandbox.requests(Service::Fulcio).len(),
        1,
        "a redirect is not retried"
    );
    assert!(sandbox.requests(Service::RekorV1).is_empty());
    assert_eq!(work.listing(), ["a.whl"]);
}

/// Rekor v1 answers the entry with `308` and a `Location` holding a bidi
/// override, a tab and a legacy workflow command: the entry is not re-sent
/// there, the artifact fails naming Rekor, and the `Location` is shown as
/// one printable line.
#[tokio::test(flavor = "multi_thread")]
async fn rekor_redirect_is_not_followed_and_its_location_is_escaped() {
    let sandbox = Sandbox::start().await.unwrap();
    let elsewhere = Elsewhere::start().await;
    let work = Work::new();
    work.file("a.whl", "a");
    let location = format!(
        "{}/api/v1/log/entries\u{202e}\t##[error]pwned",
        elsewhere.url
    );
    let rekor = sandbox.faults(Service::RekorV1);
    rekor.only_paths_containing("/api/v1/log/entries");
    rekor.fail_next(10, Fault::redirect(308, &location));
    let mut cmd = sign(&sandbox, work.dir.path());
    cmd.arg("a.whl");
    let o = run(cmd).await;

    assert_eq!(
        elsewhere.seen(),
        "",
        "nothing reaches the redirect's target"
    );
    assert_eq!(code(&o), 1);
    assert_printable("stdout", &stdout(&o));
    assert_printable("stderr", &stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(&format!(
            "❌ Failed: a.whl: Rekor at {} did not log the signature: Rekor answered `create entry` with HTTP 308, a redirect to `{}/api/v1/log/entries\\u{{202e}}\\t##\\u{{5b}}error]pwned`",
            sandbox.urls().rekor_v1,
            elsewhere.url
        )),
        "{out}"
    );
    assert_eq!(
        sandbox.requests(Service::RekorV1).len(),
        1,
        "a redirect is not retried"
    );
    assert_eq!(work.listing(), ["a.whl"]);
}
