//! What every fake vendor server shares: an actix-web server on `127.0.0.1:0`, on its own
//! thread and actix system (so it works from any test runtime), with `TCP_NODELAY` on accepted
//! sockets (without it the first streamed event waits ~40 ms), one worker, no signal handling.

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use std::net::SocketAddr;

/// A running fake server; stops when dropped.
#[derive(Debug)]
pub(crate) struct FakeServer {
    /// The bound address.
    pub(crate) addr: SocketAddr,
    handle: ServerHandle,
}

impl FakeServer {
    /// Starts a server named `name` (the thread's name) whose routes `configure` registers.
    ///
    /// # Panics
    /// When the server thread cannot start or bind (a broken test environment).
    pub(crate) fn start<F>(name: &str, configure: F) -> Self
    where
        F: Fn(&mut web::ServiceConfig) + Clone + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                actix_web::rt::System::new().block_on(async move {
                    let server = HttpServer::new(move || App::new().configure(configure.clone()))
                        .workers(1)
                        .disable_signals()
                        .shutdown_timeout(0)
                        .on_connect(|conn, _| {
                            if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>()
                            {
                                let _ = tcp.set_nodelay(true);
                            }
                        })
                        .bind(("127.0.0.1", 0));
                    let server = match server {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    let addr = server.addrs()[0];
                    let running = server.run();
                    let _ = tx.send(Ok((addr, running.handle())));
                    let _ = running.await;
                });
            })
            .unwrap_or_else(|e| panic!("spawning the {name} server thread: {e}"));
        let (addr, handle) = rx
            .recv()
            .unwrap_or_else(|e| panic!("the {name} server thread reports its address: {e}"))
            .unwrap_or_else(|e| panic!("binding the {name} server to 127.0.0.1:0: {e}"));
        FakeServer { addr, handle }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        // `stop` sends its command at once; the returned future only waits for completion.
        drop(self.handle.stop(false));
    }
}
