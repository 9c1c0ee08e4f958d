//! The MQTT transport: the [`MqttBridge`] that connects Hearth to the home's broker (or to the
//! [`EmbeddedBroker`] it starts itself when `[mqtt] host` is absent), publishes commands without
//! ever losing one silently, delivers subscriptions to the rest of the assistant, announces the
//! satellite to Home Assistant and keeps its Microphone switch.
//!
//! Shape (after rumqttc): [`MqttBridge`] is a cloneable handle; two tokio tasks do the work. The
//! *connection task* owns rumqttc's event loop and only polls it (reconnecting with backoff); the
//! *bridge task* owns all state: the [`outbox`] of commands, the subscriptions, the microphone
//! state and the announcement. The handle talks to the bridge task over one bounded channel.
//!
//! - [`announce`]: pure builders for what Hearth publishes about itself (device discovery config,
//!   intent events) and the topics it uses ([`SiteTopics`]).
//! - [`outbox`]: the bounded, age-limited command queue and the PUBACK bookkeeping; no I/O.
//! - [`broker`]: the embedded rumqttd broker on loopback.
//! - [`topic`]: the topic rules a broker enforces, checked before anything is sent (pure).
//!
//! **Invariant:** every command handed to [`MqttBridge::publish`] ends with exactly one
//! [`Outcome`] (published, expired or dropped), reported to its [`Delivery`] and logged when it
//! is not published.

pub mod announce;
mod bridge;
pub mod broker;
mod connect;
pub mod outbox;
pub mod topic;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use announce::{SiteTopics, device_config, intent_event_payload};
pub use bridge::{
    BridgeOptions, DISCOVERY_LIMIT, DISCOVERY_QUIET, Delivery, LinkState, Message, MicState, MqttBridge,
    RetainedDiscovery, Subscription, warn_if_incomplete,
};
pub use broker::EmbeddedBroker;
pub use outbox::{DropReason, Outcome};
pub use topic::TopicError;

/// Largest MQTT packet Hearth sends: a command is a few hundred bytes at most.
pub const MAX_PACKET_SIZE: usize = 256 * 1024;

/// Largest MQTT packet Hearth accepts. MQTT 3.1.1 cannot ask a broker to hold back larger
/// messages (only MQTT 5 has a Maximum Packet Size), and rumqttc drops the *connection* on a
/// larger packet, before its topic is even read, so any message at all under a subscribed
/// topic must fit: a big device's discovery config runs to tens of kilobytes, a hostile or
/// broken retained one to megabytes (issue #18: 300 KB cost every command its connection).
/// 16 MiB takes all of those and is parsed, or skipped with a warning naming its topic, while
/// one transient buffer of that size is still affordable next to the speech model. Mosquitto's
/// own limit (`message_size_limit`) is off by default, so a larger message is possible: it
/// ends the connection with [`MqttError::Oversized`], which says how to remove it.
pub const MAX_INCOMING_PACKET_SIZE: usize = 16 * 1024 * 1024;

/// Everything that can go wrong in the MQTT layer; each message names the thing and the fix.
///
/// `Clone` because connection errors are shared through a `watch` channel ([`LinkState`]), so
/// causes are kept as text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MqttError {
    /// `password_file` could not be read.
    #[error("cannot read [mqtt] password_file {path}: {reason}; check the path and that hearth may read it")]
    PasswordFile { path: PathBuf, reason: String },
    /// `password_file` without `username`: MQTT sends no password without a user name.
    #[error("[mqtt] password_file is set but username is not; set [mqtt] username too")]
    PasswordWithoutUsername,
    /// A TLS file (`tls_ca`, `tls_cert`, `tls_key`) could not be read or holds no usable PEM.
    #[error("cannot use [mqtt] {key} {path}: {reason}; it must be a readable PEM file")]
    TlsFile { key: &'static str, path: PathBuf, reason: String },
    /// `tls_cert` without `tls_key` or the other way round, or a key the certificate rejects.
    #[error("[mqtt] client certificate: {reason}; set both tls_cert and tls_key, a matching pair")]
    ClientAuth { reason: String },
    /// The broker answered CONNACK "bad user name or password" or "not authorized".
    #[error("the MQTT broker at {broker} refused the login ({reason}); check [mqtt] username and password_file")]
    NotAuthorized { broker: String, reason: String },
    /// The broker refused the connection for another reason (protocol version, client id, busy).
    #[error("the MQTT broker at {broker} refused the connection ({reason}); {fix}")]
    Refused { broker: String, reason: String, fix: &'static str },
    /// Nothing listens on the broker's port.
    #[error(
        "cannot connect to the MQTT broker at {broker}: connection refused; is the broker running? check [mqtt] host and port"
    )]
    Unreachable { broker: String },
    /// The TLS handshake failed (unknown CA, wrong host name, broker not speaking TLS, ...).
    #[error(
        "TLS with the MQTT broker at {broker} failed: {reason}; check [mqtt] tls_ca (the CA that signed the broker's certificate), tls_cert and tls_key, and that the certificate names [mqtt] host"
    )]
    Tls { broker: String, reason: String },
    /// The broker did not answer in time.
    #[error("the MQTT broker at {broker} did not answer in time; check [mqtt] host and port and the network")]
    Timeout { broker: String },
    /// Any other network error (host not found, connection reset, ...).
    #[error(
        "lost or could not open the connection to the MQTT broker at {broker}: {reason}; check [mqtt] host and port"
    )]
    Network { broker: String, reason: String },
    /// The broker sent a packet larger than [`MAX_INCOMING_PACKET_SIZE`]; rumqttc refuses it
    /// and the connection with it. Almost surely a retained message under a subscribed topic,
    /// so it comes back on every reconnect until it is removed.
    #[error(
        "the MQTT broker at {broker} sent a message of {bytes} bytes, more than Hearth accepts ({limit} bytes), and the connection was dropped; it is most likely a retained message under the discovery prefix: find it (mosquitto_sub -v -t 'homeassistant/#' | cut -c1-120) and remove it (mosquitto_pub -r -n -t TOPIC), or set message_size_limit on the broker"
    )]
    Oversized { broker: String, bytes: usize, limit: usize },
    /// The embedded broker's port is taken.
    #[error("{addr} is in use; is Mosquitto already running? set [mqtt] host = \"127.0.0.1\" to use it")]
    PortInUse { addr: SocketAddr },
    /// The embedded broker could not be started.
    #[error("cannot start the embedded MQTT broker on {addr}: {reason}")]
    EmbeddedBroker { addr: SocketAddr, reason: String },
    /// A topic or topic filter that MQTT or the broker does not allow (`#` not last, NUL, ...).
    #[error("invalid MQTT topic filter {filter:?}: {why}")]
    InvalidTopic {
        /// The filter, escaped and shortened for the message.
        filter: String,
        /// The rule it breaks.
        why: TopicError,
    },
    /// The bridge has shut down (or its task ended); nothing more can be sent or received.
    #[error("the MQTT bridge has stopped")]
    Stopped,
}
