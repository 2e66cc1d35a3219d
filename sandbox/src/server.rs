//! Serving one service's router on its own loopback port, behind its fault layer.
//!
//! Owns the serve loop and shutdown. Each service gets its own port, as each has its
//! own host in a real deployment, so faults and latency apply per service.

use axum::serve::ListenerExt as _;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::faults::{self, Faults};

/// Serve `router` on the already bound `listener`, behind `faults`, until
/// `shutdown` flips to true.
pub(crate) fn serve(
    listener: TcpListener,
    router: Router,
    faults: Faults,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let app = router.layer(axum::middleware::from_fn_with_state(
        faults,
        faults::middleware,
    ));
    // Production front ends answer without Nagle's delay; without it, a
    // response written in two parts waited for the client's delayed ACK
    // (40 ms on Linux) and every asset upload took that long.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await;
    })
}
