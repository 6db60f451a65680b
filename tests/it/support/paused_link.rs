//! A TCP link to a real server that a test can pause: bytes pass unchanged until `pause`, then
//! none pass in either direction (connections stay open, as with a broker stuck behind a memory
//! alarm or a partition) until `resume`.

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::watch,
};

pub struct PausedLink {
    pub port: u16,
    paused: watch::Sender<bool>,
    accept: tokio::task::JoinHandle<()>,
}

impl PausedLink {
    /// A link on a loopback port to `target` (a loopback address).
    pub async fn to(target: &'static str) -> PausedLink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (paused, _) = watch::channel(false);
        let gate = paused.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(relay(client_read, server_write, gate.subscribe()));
                tokio::spawn(relay(server_read, client_write, gate.subscribe()));
            }
        });
        PausedLink {
            port,
            paused,
            accept,
        }
    }

    pub fn pause(&self) {
        self.paused.send_replace(true);
    }

    pub fn resume(&self) {
        self.paused.send_replace(false);
    }
}

impl Drop for PausedLink {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Copies `from` to `to`, holding each chunk while the link is paused.
async fn relay(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut paused: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        if paused.wait_for(|p| !p).await.is_err() {
            return;
        }
        let n = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if paused.wait_for(|p| !p).await.is_err() || to.write_all(&buffer[..n]).await.is_err() {
            return;
        }
    }
}
