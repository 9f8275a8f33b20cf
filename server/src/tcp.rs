//! TCP_NODELAY for every connection the HTTP server accepts.
//!
//! A chat stream writes its events as they come; with Nagle's algorithm on, a small write
//! waits for the acknowledgement of the one before, which the client delays (40 ms on Linux):
//! the benchmark saw a streamed reply's `done` event arrive 40 ms late. Dropshot binds its own
//! listener and has no option for it, but Linux gives accepted sockets the listener's
//! TCP_NODELAY. So the server finds its listening socket among the process's descriptors and
//! sets the option on it, through a duplicate of the descriptor (`pidfd_getfd`), which needs
//! no unsafe code.

use std::net::SocketAddr;

/// Sets TCP_NODELAY on the process's listening socket bound to `addr`; answers whether one
/// was found.
#[cfg(target_os = "linux")]
pub fn nodelay_on_listener(addr: SocketAddr) -> std::io::Result<bool> {
    use rustix::net::sockopt;
    use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};

    let process = pidfd_open(getpid(), PidfdFlags::empty())?;
    for entry in std::fs::read_dir("/proc/self/fd")?.filter_map(Result::ok) {
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let is_socket = std::fs::read_link(entry.path())
            .is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        // The descriptor may have been closed since the listing: then there is nothing to get.
        let Ok(socket) = pidfd_getfd(&process, fd, PidfdGetfdFlags::empty()) else {
            continue;
        };
        let listening = sockopt::socket_acceptconn(&socket).unwrap_or(false);
        let bound_here = rustix::net::getsockname(&socket)
            .ok()
            .and_then(|local| SocketAddr::try_from(local).ok())
            == Some(addr);
        if listening && bound_here {
            sockopt::set_tcp_nodelay(&socket, true)?;
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(not(target_os = "linux"))]
pub fn nodelay_on_listener(_addr: SocketAddr) -> std::io::Result<bool> {
    Ok(false)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn accepted_connections_inherit_nodelay_from_the_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        assert!(nodelay_on_listener(addr).unwrap(), "the listener is found");
        assert!(rustix::net::sockopt::tcp_nodelay(&listener).unwrap());
        assert!(
            !rustix::net::sockopt::tcp_nodelay(&other).unwrap(),
            "only that listener"
        );
        let _client = std::net::TcpStream::connect(addr).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert!(rustix::net::sockopt::tcp_nodelay(&accepted).unwrap());
    }
}
