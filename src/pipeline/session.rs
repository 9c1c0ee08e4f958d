//! [`Session`]: the MQTT bridge together with the runtime that drives it, for code that is not
//! async itself — the assistant (`hearth run`), `hearth intent --execute`, `hearth devices` and
//! `hearth doctor`. It is the one place where a runtime and a bridge are built, and where "publish,
//! then wait for the broker's acknowledgements" is written down.
//!
//! The runtime has one worker thread, so the bridge's tasks (and anything spawned on
//! [`Session::handle`], such as the discovery follower) keep running while the caller's thread
//! blocks in [`Session::block_on`] or does other work.

use std::time::Duration;

use crate::config::{Settings, TranscriptPolicy};
use crate::home::EntityRegistry;
use crate::intent::IntentMatch;
use crate::mqtt::{Delivery, MqttBridge, MqttError, Outcome};

/// Why a session could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The runtime's worker thread could not be started (out of memory or threads).
    #[error("cannot start the MQTT runtime: {0}; free some memory")]
    Runtime(#[source] std::io::Error),
    /// The bridge could not be started or the broker not reached.
    #[error(transparent)]
    Mqtt(#[from] MqttError),
}

/// How a batch of messages ended: how many the broker acknowledged, how many it did not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    /// Acknowledged by the broker (PUBACK).
    pub published: usize,
    /// Expired, dropped or refused; each one logged with its topic and reason.
    pub failed: usize,
}

/// A running bridge and its runtime. Dropping it without [`Session::shutdown`] still stops the
/// bridge (its tasks end with the runtime), but without the clean `offline` message.
pub struct Session {
    /// Drives the bridge's tasks; one worker thread.
    runtime: tokio::runtime::Runtime,
    /// The broker connection.
    bridge: MqttBridge,
}

impl Session {
    /// Starts the runtime and the bridge (or the embedded broker when `[mqtt] host` is not set),
    /// without waiting for the connection: commands published meanwhile are queued.
    pub fn start(settings: &Settings) -> Result<Session, SessionError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("hearth-io")
            .enable_all()
            .build()
            .map_err(SessionError::Runtime)?;
        let bridge = runtime.block_on(MqttBridge::from_settings(settings))?;
        Ok(Session { runtime, bridge })
    }

    /// [`Session::start`], then waits up to `timeout` for the broker; on failure the bridge is
    /// shut down and the reason returned.
    pub fn connect(settings: &Settings, timeout: Duration) -> Result<Session, SessionError> {
        let session = Session::start(settings)?;
        if let Err(e) = session.wait_connected(timeout) {
            session.shutdown();
            return Err(e.into());
        }
        Ok(session)
    }

    /// Waits up to `timeout` for the broker connection.
    pub fn wait_connected(&self, timeout: Duration) -> Result<(), MqttError> {
        self.runtime.block_on(self.bridge.wait_connected(timeout))
    }

    /// The bridge (a cloneable handle).
    pub fn bridge(&self) -> &MqttBridge {
        &self.bridge
    }

    /// The runtime, to spawn tasks on or to block on from other threads.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.handle()
    }

    /// Runs `future` to completion on the session's runtime, blocking this thread.
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Adds the devices Home Assistant discovery announces on the broker now (the retained
    /// configs) to `registry`.
    pub fn load_discovery(&self, registry: &mut EntityRegistry, prefix: &str) -> Result<(), MqttError> {
        self.runtime.block_on(self.bridge.load_discovery(registry, prefix))
    }

    /// Publishes a match's commands and its intent event and waits for the acknowledgements;
    /// see [`execute`].
    pub fn execute(&self, m: &IntentMatch, text: Option<&str>) -> Settled {
        execute(&self.bridge, self.runtime.handle(), m, text, None)
    }

    /// Stops the bridge cleanly: `offline` published, DISCONNECT sent.
    pub fn shutdown(self) {
        self.runtime.block_on(self.bridge.shutdown());
    }
}

/// The text the intent event may carry under `policy`: none when transcripts are discarded.
pub fn shared_text(policy: TranscriptPolicy, text: &str) -> Option<&str> {
    (policy != TranscriptPolicy::Discard).then_some(text)
}

/// Publishes a match's commands, then its intent event (with `text` and the spoken `response`
/// if given), and blocks the calling thread (not a runtime thread) until the broker has settled
/// every one.
pub fn execute(
    bridge: &MqttBridge,
    runtime: &tokio::runtime::Handle,
    m: &IntentMatch,
    text: Option<&str>,
    response: Option<&str>,
) -> Settled {
    let mut deliveries: Vec<(String, Delivery)> = m
        .actions
        .iter()
        .map(|a| {
            // What was sent where. Debug level: a device's topic says what was asked for, and the
            // default log never holds what was said (the no-microphone demo turns this on).
            tracing::debug!(topic = %a.topic, payload = %a.payload, "publishing");
            (a.topic.clone(), bridge.publish(a.topic.as_str(), a.payload.as_str()))
        })
        .collect();
    let intent = m.intent_json();
    let slots = intent.get("slots").and_then(|s| s.as_object()).cloned().unwrap_or_default();
    deliveries.push((bridge.topics().intent.clone(), bridge.publish_intent_event(&m.name, &slots, text, response)));
    runtime.block_on(settle(deliveries))
}

/// Waits for every delivery, logging each one the broker did not acknowledge.
pub async fn settle(deliveries: Vec<(String, Delivery)>) -> Settled {
    let mut settled = Settled::default();
    for (topic, delivery) in deliveries {
        match delivery.await {
            Outcome::Published => settled.published += 1,
            outcome => {
                tracing::warn!(%topic, "MQTT message not confirmed: {outcome}");
                settled.failed += 1;
            }
        }
    }
    settled
}
