//! An HTTP forward proxy on loopback, as a runner behind a corporate proxy
//! reaches the world through: `HTTP_PROXY=http://127.0.0.1:PORT`.
//!
//! It takes requests in absolute form (`GET http://host:port/path HTTP/1.1`,
//! what a client sends a proxy for a plain-http URL) and `CONNECT host:port`
//! (for https), opens the connection to the host named, and carries bytes
//! both ways. Everything a client sent through it is kept, so a test can
//! tell which requests went through the proxy and which went around it.
//! A host under `.invalid` is this machine ([`on_this_machine`]).

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// A running proxy; it stops when dropped.
pub struct Proxy {
    url: String,
    seen: Arc<Mutex<Vec<u8>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Proxy {
    /// Listen on a free loopback port.
    pub async fn start() -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let kept = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(carry(client, kept.clone()));
            }
        });
        Ok(Proxy { url, seen, task })
    }

    /// `http://127.0.0.1:PORT`, for `HTTP_PROXY` / `HTTPS_PROXY`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Everything clients sent through the proxy so far, as text (lossy).
    pub fn sent(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock()).into_owned()
    }
}

/// The authority (`host:port`) a request head names: a CONNECT's target,
/// or an absolute-form URL's.
fn target(head: &str) -> Option<(bool, String)> {
    let request_line = head.lines().next()?;
    let mut parts = request_line.split(' ');
    let method = parts.next()?;
    let uri = parts.next()?;
    if method == "CONNECT" {
        return Some((true, uri.to_owned()));
    }
    let rest = uri.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    let authority = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Some((false, authority))
}

/// Where the proxy connects for `authority` (`host:port`): a host under
/// `.invalid` (RFC 6761: it never resolves) is this machine, on that port.
/// A client sends nothing for this machine through a proxy, so a test names
/// a sandbox service so to reach it through this one, as a runner reaches a
/// service elsewhere.
fn on_this_machine(authority: &str) -> String {
    match authority.rsplit_once(':') {
        Some((host, port)) if host.to_ascii_lowercase().ends_with(".invalid") => {
            format!("127.0.0.1:{port}")
        }
        _ => authority.to_owned(),
    }
}

/// One client connection: read its first request's head, connect where it
/// names, and carry bytes both ways until either side closes.
async fn carry(mut client: TcpStream, seen: Arc<Mutex<Vec<u8>>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 8192];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match client.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 << 10 {
            return;
        }
    }
    seen.lock().extend_from_slice(&head);
    let Some((tunnel, authority)) = target(&String::from_utf8_lossy(&head)) else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(on_this_machine(&authority)).await else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
        return;
    };
    if tunnel {
        if client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
    } else if upstream.write_all(&head).await.is_err() {
        return;
    }
    let (mut client_read, mut client_write) = client.into_split();
    let (mut upstream_read, mut upstream_write) = upstream.into_split();
    let outbound = async {
        let mut buf = [0u8; 16384];
        loop {
            match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    seen.lock().extend_from_slice(&buf[..n]);
                    if upstream_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = upstream_write.shutdown().await;
    };
    let inbound = async {
        let _ = tokio::io::copy(&mut upstream_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(outbound, inbound);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_read_from_the_request_line() {
        assert_eq!(
            target("GET http://127.0.0.1:9/repos/o/r HTTP/1.1\r\n"),
            Some((false, "127.0.0.1:9".into()))
        );
        assert_eq!(
            target("GET http://h/x HTTP/1.1\r\n"),
            Some((false, "h:80".into()))
        );
        assert_eq!(
            target("CONNECT api.github.com:443 HTTP/1.1\r\n"),
            Some((true, "api.github.com:443".into()))
        );
        assert_eq!(target("GET /origin-form HTTP/1.1\r\n"), None);
    }
}
