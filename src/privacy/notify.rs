//! systemd's readiness and watchdog notifications (`sd_notify`), without libsystemd: one
//! datagram on the unix socket named by `$NOTIFY_SOCKET` (a path, or `@name` for the abstract
//! namespace). Outside systemd there is no socket and every call is a no-op.
//!
//! The shipped unit is `Type=simple` without `WatchdogSec=`; to use these, `hearth run` calls
//! [`notify_ready`] once it listens and [`notify_watchdog`] every [`watchdog_interval`], and the
//! unit switches to `Type=notify` with `WatchdogSec=30s`.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use super::PrivacyError;

/// Sends `state` (e.g. `READY=1`) to the notification socket `socket` (`$NOTIFY_SOCKET`'s
/// form: a path, or `@name` for an abstract socket).
pub fn notify_to(socket: &str, state: &str) -> Result<(), PrivacyError> {
    let error = |source: std::io::Error| PrivacyError::Notify { socket: socket.to_owned(), source };
    let addr = match socket.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name.as_bytes()).map_err(error)?
        }
        None => SocketAddr::from_pathname(socket).map_err(error)?,
    };
    let datagram = UnixDatagram::unbound().map_err(error)?;
    datagram.send_to_addr(state.as_bytes(), &addr).map_err(error)?;
    Ok(())
}

/// Sends `state` to `$NOTIFY_SOCKET`. `Ok(false)` when not started by systemd with a
/// notification socket.
pub fn notify(state: &str) -> Result<bool, PrivacyError> {
    match std::env::var("NOTIFY_SOCKET") {
        Ok(socket) if !socket.is_empty() => notify_to(&socket, state).map(|()| true),
        _ => Ok(false),
    }
}

fn notify_logged(state: &str) -> bool {
    match notify(state) {
        Ok(sent) => sent,
        Err(e) => {
            tracing::warn!("{e}");
            false
        }
    }
}

/// Tells systemd the service is up (`READY=1`); call once capture and the broker link are
/// running. Returns whether a notification was sent; failures are logged, never fatal.
pub fn notify_ready() -> bool {
    notify_logged("READY=1")
}

/// Tells systemd the service is alive (`WATCHDOG=1`); call every [`watchdog_interval`] from
/// the loop whose progress shows the assistant works.
pub fn notify_watchdog() -> bool {
    notify_logged("WATCHDOG=1")
}

/// Tells systemd the service is shutting down (`STOPPING=1`).
pub fn notify_stopping() -> bool {
    notify_logged("STOPPING=1")
}

/// How often to call [`notify_watchdog`]: half of `$WATCHDOG_USEC` when systemd set a
/// watchdog for this process (`$WATCHDOG_PID` absent or ours), else `None`.
pub fn watchdog_interval() -> Option<Duration> {
    let usec = std::env::var("WATCHDOG_USEC").ok()?;
    let pid = std::env::var("WATCHDOG_PID").ok();
    watchdog_interval_from(&usec, pid.as_deref(), std::process::id())
}

/// [`watchdog_interval`] from the variables' values (pure).
pub fn watchdog_interval_from(usec: &str, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    if let Some(pid) = pid
        && pid.trim().parse::<u32>().ok() != Some(own_pid)
    {
        return None;
    }
    let usec: u64 = usec.trim().parse().ok().filter(|&u| u > 0)?;
    Some(Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagrams_reach_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let receiver = UnixDatagram::bind(&path).unwrap();
        notify_to(path.to_str().unwrap(), "READY=1").unwrap();
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
    }

    #[test]
    fn datagrams_reach_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("hearth-notify-test-{}", std::process::id());
        let receiver = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
        notify_to(&format!("@{name}"), "WATCHDOG=1").unwrap();
        let mut buf = [0u8; 64];
        let n = receiver.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"WATCHDOG=1");
    }

    #[test]
    fn a_missing_socket_is_an_error_naming_it() {
        let err = notify_to("/nonexistent/hearth/notify", "READY=1").unwrap_err().to_string();
        assert!(err.contains("/nonexistent/hearth/notify"), "{err}");
    }

    #[test]
    fn watchdog_interval_is_half_the_timeout_for_our_pid_only() {
        assert_eq!(watchdog_interval_from("30000000", None, 7), Some(Duration::from_secs(15)));
        assert_eq!(watchdog_interval_from("30000000", Some("7"), 7), Some(Duration::from_secs(15)));
        assert_eq!(watchdog_interval_from("30000000", Some("8"), 7), None);
        assert_eq!(watchdog_interval_from("0", None, 7), None);
        assert_eq!(watchdog_interval_from("soon", None, 7), None);
    }
}
