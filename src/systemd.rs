//! Telling systemd how the daemon is doing, for `Type=notify` units: ready once it serves,
//! stopping when asked to stop, and meanwhile what it waits for (`systemctl status` shows it).
//! Outside systemd (no `NOTIFY_SOCKET`), nothing is sent.

use std::{ffi::OsStr, io, os::unix::net::UnixDatagram};

/// Sends `state` (`READY=1`, `STOPPING=1`, `STATUS=…`) to the service manager, if any.
pub fn notify(state: &str) {
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    if let Err(error) = send(&socket, state) {
        tracing::warn!(%error, "cannot tell the service manager {state:?}");
    }
}

/// One datagram to the socket at `path`: a file, or an abstract name when it starts with '@'.
fn send(path: &OsStr, state: &str) -> io::Result<()> {
    let socket = UnixDatagram::unbound()?;
    match path.as_encoded_bytes().strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            socket.send_to_addr(state.as_bytes(), &addr)?;
        }
        None => {
            socket.send_to(state.as_bytes(), path)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::linux::net::SocketAddrExt;

    use super::*;

    #[test]
    fn states_reach_an_abstract_socket_as_systemd_names_it() {
        let name = format!("tocsin-notify-test-{}", rand::random::<u64>());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        let manager = UnixDatagram::bind_addr(&addr).unwrap();
        send(OsStr::new(&format!("@{name}")), "READY=1").unwrap();
        let mut buffer = [0u8; 64];
        let n = manager.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..n], b"READY=1");
        assert!(send(OsStr::new("/nonexistent/notify"), "READY=1").is_err());
    }
}
