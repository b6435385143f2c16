//! What a server process needs beside its server: the contract's `listening on` line, and the signals that
//! stop it.

use std::net::SocketAddr;

/// A future that resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when it
/// is first polled: call it before announcing the address, so a signal sent right after the `listening on`
/// line is never lost to the default action.
pub(super) fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).ok();
        let mut int = signal(SignalKind::interrupt()).ok();
        async move {
            let term = async {
                match term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let int = async {
                match int.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = term => {}
                () = int => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Prints the contract's first stdout line, `listening on http://ADDR` (https with TLS), and flushes it.
pub(super) fn announce(addr: SocketAddr) {
    announce_scheme("http", addr)
}

/// [`announce`] with another scheme (`https`).
pub(super) fn announce_scheme(scheme: &str, addr: SocketAddr) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on {scheme}://{addr}");
    let _ = out.flush();
}

/// A live status line for a long session on a terminal (what `record` has recorded, what `replay` has
/// answered), redrawn every second on stderr until dropped, when the line is cleared. Nothing when stderr is no
/// terminal (CI logs, pipes): the shutdown line says it all once.
pub(super) struct StatusLine(Option<tokio::task::JoinHandle<()>>);

impl StatusLine {
    pub(super) fn start(text: impl Fn() -> String + Send + 'static) -> StatusLine {
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return StatusLine(None);
        }
        StatusLine(Some(tokio::spawn(async move {
            let mut line = crate::reporting::Progress::new(true);
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                line.show(true, &text);
            }
        })))
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abort();
            eprint!("\r\x1b[2K");
        }
    }
}
