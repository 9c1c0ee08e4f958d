//! The embedded broker: rumqttd in-process on `127.0.0.1:<port>`, so `hearth run` works with
//! nothing else installed when `[mqtt] host` is absent.
//!
//! **Invariant:** it listens on loopback only, never on `0.0.0.0`: it has no authentication.
//!
//! rumqttd runs on its own threads (a router thread and one per listener, each with its own
//! small runtime) and cannot be stopped: it lives until the process exits. Retained messages
//! live in memory only, so they (and the microphone state) do not survive a restart of Hearth.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::{MAX_PACKET_SIZE, MqttError};

/// How long the broker may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one readiness probe waits for the broker's answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// A running embedded broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddedBroker {
    /// Where it listens: always `127.0.0.1:<port>`.
    addr: SocketAddr,
}

impl EmbeddedBroker {
    /// Starts the broker on `127.0.0.1:port` and returns once it accepts connections.
    ///
    /// Fails with [`MqttError::PortInUse`] when something (usually Mosquitto) already listens
    /// there.
    pub async fn start(port: u16) -> Result<EmbeddedBroker, MqttError> {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        probe_port(addr)?;

        let config = broker_config(addr);
        std::thread::Builder::new()
            .name("hearth-broker".into())
            .spawn(move || {
                let mut broker = Broker::new(config);
                if let Err(e) = broker.start() {
                    tracing::error!(%addr, error = %e, "embedded MQTT broker stopped");
                }
            })
            .map_err(|e| MqttError::EmbeddedBroker { addr, reason: e.to_string() })?;

        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if answers_mqtt(addr).await {
                tracing::info!(%addr, "embedded MQTT broker listening");
                return Ok(EmbeddedBroker { addr });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(MqttError::EmbeddedBroker {
                    addr,
                    reason: format!("it did not start listening within {} s", START_TIMEOUT.as_secs()),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Where the broker listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// Whether an MQTT broker at `addr` accepts a connection: CONNECT, a successful CONNACK, then
/// the socket is closed. A whole handshake, because rumqttd logs an ERROR for every connection
/// that closes before sending CONNECT (a bare TCP probe), but only an info line for this.
async fn answers_mqtt(addr: SocketAddr) -> bool {
    // MQTT 3.1.1 CONNECT: clean session, keep-alive 10 s, client id "hearth-probe".
    const CONNECT: [u8; 26] = [
        0x10, 24, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 10, 0, 12, b'h', b'e', b'a', b'r', b't', b'h', b'-', b'p',
        b'r', b'o', b'b', b'e',
    ];
    let handshake = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(&CONNECT).await?;
        let mut connack = [0u8; 4];
        stream.read_exact(&mut connack).await?;
        Ok::<bool, io::Error>(connack[0] == 0x20 && connack[1] == 2 && connack[3] == 0)
    };
    matches!(tokio::time::timeout(PROBE_TIMEOUT, handshake).await, Ok(Ok(true)))
}

/// Fails if `addr` cannot be listened on. Binds with `SO_REUSEADDR` like the broker will, so
/// connections of an earlier run lingering in TIME_WAIT do not count as "in use".
fn probe_port(addr: SocketAddr) -> Result<(), MqttError> {
    let fail = |e: io::Error| match e.kind() {
        io::ErrorKind::AddrInUse => MqttError::PortInUse { addr },
        _ => MqttError::EmbeddedBroker { addr, reason: e.to_string() },
    };
    let socket = TcpSocket::new_v4().map_err(fail)?;
    socket.set_reuseaddr(true).map_err(fail)?;
    socket.bind(addr).map_err(fail)?;
    socket.listen(1).map_err(fail)?;
    Ok(())
}

/// rumqttd settings: one MQTT 3.1.1 listener on `addr`, anonymous, sized for one home.
fn broker_config(addr: SocketAddr) -> Config {
    let connections = ConnectionSettings {
        connection_timeout_ms: 10_000,
        max_payload_size: MAX_PACKET_SIZE,
        max_inflight_count: 100,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server =
        ServerSettings { name: "hearth-v4".into(), listen: addr, tls: None, next_connection_delay_ms: 1, connections };
    Config {
        id: 0,
        router: RouterConfig {
            max_connections: 256,
            max_outgoing_packet_count: 200,
            max_segment_size: 1024 * 1024,
            max_segment_count: 4,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([("1".to_string(), server)])),
        ..Config::default()
    }
}
