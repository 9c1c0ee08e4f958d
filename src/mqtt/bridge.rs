//! The [`MqttBridge`] handle and the two tasks behind it.
//!
//! - The *connection task* owns rumqttc's `EventLoop` and does nothing but poll it, forwarding
//!   every event to the bridge task. When the connection fails it reports [`ConnEvent::Down`],
//!   waits until the bridge task has taken note (so the bridge submits nothing more to the dead
//!   session), discards whatever rumqttc still holds for that session, sleeps (0.5 s doubling
//!   to 30 s by default) and connects again, forever.
//! - The *bridge task* owns all state and is the only one to submit requests to rumqttc, and
//!   only while connected: the [`Outbox`] of commands, the subscriptions, the microphone state
//!   and Hearth's own announcement.
//!
//! Shutdown (after mini-redis): [`MqttBridge::shutdown`] asks the bridge task to stop; it drops
//! what is still queued (reporting each), publishes `offline` to the availability topic (a clean
//! DISCONNECT suppresses the last will), disconnects, stops the connection task and signals
//! completion on a `watch` every handle can wait on. Dropping every handle does the same.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use rumqttc::{AsyncClient, Event, EventLoop, Incoming, NetworkOptions, Outgoing, Publish, QoS, SubscribeFilter};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::announce::{self, OFF, OFFLINE, ON, ONLINE, SiteTopics};
use super::broker::EmbeddedBroker;
use super::connect;
use super::outbox::{Command, DropReason, Outbox, Outcome, Settled};
use super::{MAX_PACKET_SIZE, MqttError, topic};
use crate::config::{MqttSettings, Settings};

/// Capacity of the handle → bridge task request channel. A full channel (the bridge task stuck)
/// drops the request with [`DropReason::Overloaded`] rather than blocking the caller.
const REQUEST_CAPACITY: usize = 256;
/// Capacity of rumqttc's request channel; the bridge keeps far fewer requests outstanding.
const CLIENT_CAPACITY: usize = 256;
/// Capacity of the connection task → bridge task event channel (the connection task waits when
/// it is full; the bridge task never waits on the connection task).
const EVENT_CAPACITY: usize = 64;
/// Messages buffered per [`Subscription`]; beyond that new messages are dropped and counted.
pub const SUBSCRIPTION_CAPACITY: usize = 1024;
/// Messages buffered for the discovery subscription ([`MqttBridge::subscribe_discovery`]): the
/// broker sends every retained config of the home at once on subscribing, faster than they are
/// parsed, and a large home has thousands (issue #18: 5,000 lost 2,000 at 1,024).
pub const DISCOVERY_CAPACITY: usize = 65_536;
/// The broker sends retained messages right after subscribing; this much silence ends them.
pub const DISCOVERY_QUIET: Duration = Duration::from_millis(700);
/// However many retained discovery configs there are, collecting them stops after this long.
pub const DISCOVERY_LIMIT: Duration = Duration::from_secs(10);
/// Seconds rumqttc may take to open the TCP/TLS connection and get CONNACK.
const CONNECT_TIMEOUT_SECS: u64 = 10;
/// How long shutdown waits for `offline` and DISCONNECT to be written.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Tuning of the bridge; [`Default`] is what `hearth run` uses.
#[derive(Debug, Clone)]
pub struct BridgeOptions {
    /// Most commands queued during an outage; the oldest is dropped beyond it.
    pub queue_capacity: usize,
    /// Most commands written and not yet acknowledged at once.
    pub window: usize,
    /// Default age limit of a command ([`MqttBridge::publish`]); older ones are never sent.
    pub max_age: Duration,
    /// First reconnect delay; it doubles after each failure.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// After the broker acknowledges the subscription to the retained microphone state, how
    /// long to wait for that retained message before assuming there is none.
    pub retained_grace: Duration,
    /// Longest wait for that subscription's acknowledgement.
    pub retained_wait: Duration,
    /// With no broker connection this long after start, the microphone is assumed on (the
    /// retained state is still read, and applied, once the broker is reached).
    pub restore_timeout: Duration,
    /// The satellite's area (`[site] area`), announced as the device's suggested area.
    pub area: Option<String>,
}

impl Default for BridgeOptions {
    fn default() -> Self {
        BridgeOptions {
            queue_capacity: 32,
            window: 16,
            max_age: Duration::from_secs(30),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            retained_grace: Duration::from_millis(300),
            retained_wait: Duration::from_secs(3),
            restore_timeout: Duration::from_secs(5),
            area: None,
        }
    }
}

/// The state of the broker connection, as seen through [`MqttBridge::link_state`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Started, first connection attempt not finished yet.
    Connecting,
    /// Connected (CONNACK accepted).
    Connected,
    /// The last attempt failed or the connection was lost; the bridge keeps retrying.
    Down(MqttError),
    /// The bridge has shut down.
    Stopped,
}

/// The Microphone switch: off means muted, audio capture stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicState {
    /// Not known yet: the retained state is still being read from the broker. Treat as muted,
    /// so a satellite muted before a restart never listens in the meantime.
    Unknown,
    /// Microphone on: capture.
    On,
    /// Microphone muted: do not capture.
    Off,
}

impl MicState {
    /// True only when capture is allowed.
    pub fn capturing(self) -> bool {
        self == MicState::On
    }

    fn payload(self) -> Option<&'static str> {
        match self {
            MicState::On => Some(ON),
            MicState::Off => Some(OFF),
            MicState::Unknown => None,
        }
    }

    fn parse(payload: &[u8]) -> Option<MicState> {
        let text = std::str::from_utf8(payload).ok()?.trim();
        if text.eq_ignore_ascii_case(ON) {
            Some(MicState::On)
        } else if text.eq_ignore_ascii_case(OFF) {
            Some(MicState::Off)
        } else {
            None
        }
    }
}

/// One message received on a subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The topic it was published to.
    pub topic: String,
    /// Its payload (empty for a retained-message removal).
    pub payload: Vec<u8>,
    /// True when the broker delivered it as a retained message (sent on subscribing).
    pub retained: bool,
}

/// Messages matching one or more topic filters, from [`MqttBridge::subscribe`] or
/// [`MqttBridge::subscribe_discovery`]. The subscription is renewed after every reconnect (so
/// retained messages arrive again); dropping it stops delivery.
#[derive(Debug)]
pub struct Subscription {
    /// Filled by the bridge task.
    rx: mpsc::Receiver<Message>,
    /// Messages the bridge dropped because this subscription's buffer was full.
    dropped: Arc<AtomicU64>,
}

impl Subscription {
    /// How many messages were dropped so far because they arrived faster than they were read.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The next message; `None` once the bridge has stopped.
    pub async fn recv(&mut self) -> Option<Message> {
        self.rx.recv().await
    }

    /// The next message if one is waiting.
    pub fn try_recv(&mut self) -> Option<Message> {
        self.rx.try_recv().ok()
    }
}

/// The retained discovery configs read at one time ([`MqttBridge::retained_discovery`]).
#[derive(Debug)]
pub struct RetainedDiscovery {
    /// Every config read, in the order the broker sent them.
    pub messages: Vec<Message>,
    /// Configs the broker sent that did not fit the subscription's buffer and were lost.
    pub dropped: u64,
    /// False when the broker was still sending after the time limit, so some may be missing.
    pub complete: bool,
}

impl RetainedDiscovery {
    /// Logs a warning when configs are missing: Hearth does not know the whole home.
    pub fn warn_if_incomplete(&self) {
        warn_if_incomplete(self.messages.len(), self.dropped, self.complete);
    }
}

/// The warning for a discovery read that missed configs: `read` were read, `dropped` were lost
/// for want of buffer space, `complete` is false when the time limit cut the reading short.
pub fn warn_if_incomplete(read: usize, dropped: u64, complete: bool) {
    if dropped > 0 {
        tracing::warn!(
            read,
            missed = dropped,
            "{dropped} Home Assistant discovery configs arrived faster than Hearth could read them and were \
             lost: those devices are unknown until they are announced again"
        );
    }
    if !complete {
        tracing::warn!(
            read,
            "the broker was still sending discovery configs after {} s; devices announced later are read as they come",
            DISCOVERY_LIMIT.as_secs()
        );
    }
}

/// The fate of one published command: await it (or [`Delivery::wait_blocking`] outside async
/// code) to learn whether the broker acknowledged it. Dropping it does not cancel the command.
#[derive(Debug)]
pub struct Delivery {
    /// Answered by the bridge task exactly once.
    rx: oneshot::Receiver<Outcome>,
}

impl Delivery {
    fn settled(outcome: Outcome) -> Delivery {
        let (tx, rx) = oneshot::channel();
        let _ = tx.send(outcome);
        Delivery { rx }
    }

    /// Blocks the thread until the outcome is known. Not for use inside an async task.
    pub fn wait_blocking(self) -> Outcome {
        self.rx.blocking_recv().unwrap_or(Outcome::Dropped(DropReason::Shutdown))
    }
}

impl Future for Delivery {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        Pin::new(&mut self.rx).poll(cx).map(|r| r.unwrap_or(Outcome::Dropped(DropReason::Shutdown)))
    }
}

/// What a handle asks of the bridge task.
enum Request {
    /// Publish a command (QoS 1, not retained), queueing it during outages.
    Publish(Command),
    /// Deliver messages matching any of `filters` (subscribed at `qos`) to `tx`.
    Subscribe { filters: Vec<String>, qos: QoS, tx: mpsc::Sender<Message>, dropped: Arc<AtomicU64> },
    /// Update the Listening binary sensor.
    Listening(bool),
    /// Update the Privacy diagnostic sensor (JSON, no speech content).
    Privacy(String),
    /// Update the retained timer list (JSON).
    Timers(String),
    /// Shut down.
    Shutdown,
}

/// What the connection task reports.
enum ConnEvent {
    /// CONNACK accepted: a new session.
    Connected,
    /// Any other event of the session.
    Mqtt(Event),
    /// Connecting failed or the connection was lost. The bridge answers on the sender once it
    /// has stopped submitting to the old session.
    Down(MqttError, oneshot::Sender<()>),
}

/// Handle to the MQTT bridge; clone it freely. See the module documentation.
#[derive(Clone)]
pub struct MqttBridge {
    /// Requests to the bridge task.
    requests: mpsc::Sender<Request>,
    /// Connection state, for [`MqttBridge::wait_connected`] and status displays.
    link: watch::Receiver<LinkState>,
    /// The Microphone switch.
    mic: watch::Receiver<MicState>,
    /// Becomes true once the bridge task has finished shutting down.
    stopped: watch::Receiver<bool>,
    /// The satellite's topics.
    topics: Arc<SiteTopics>,
    /// `host:port` of the broker, for messages.
    broker: Arc<str>,
    /// Age limit of commands published without an explicit one.
    max_age: Duration,
}

impl std::fmt::Debug for MqttBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttBridge").field("broker", &self.broker).field("site", &self.topics.site).finish()
    }
}

impl MqttBridge {
    /// Starts the bridge for `settings` (embedded broker and all) with default options and the
    /// site's id and area. Must be called inside a tokio runtime.
    pub async fn from_settings(settings: &Settings) -> Result<MqttBridge, MqttError> {
        let options = BridgeOptions { area: settings.site_area.clone(), ..BridgeOptions::default() };
        MqttBridge::start(&settings.mqtt, &settings.site_id, options).await
    }

    /// Starts the bridge: the embedded broker first when `settings.host` is `None`, then the
    /// client tasks. Returns at once, without waiting for the connection (see
    /// [`MqttBridge::wait_connected`]); errors here are configuration problems (unreadable
    /// password or TLS files) and an embedded broker that cannot start. Must be called inside a
    /// tokio runtime.
    pub async fn start(
        settings: &MqttSettings,
        site_id: &str,
        options: BridgeOptions,
    ) -> Result<MqttBridge, MqttError> {
        let topics = Arc::new(SiteTopics::new(site_id, &settings.discovery_prefix));
        let host = match &settings.host {
            Some(host) => host.clone(),
            None => EmbeddedBroker::start(settings.port).await?.addr().ip().to_string(),
        };
        let broker: Arc<str> = if host.contains(':') {
            format!("[{host}]:{}", settings.port).into()
        } else {
            format!("{host}:{}", settings.port).into()
        };
        let mqtt_options = connect::mqtt_options(settings, &host, &topics)?;
        let (client, mut eventloop) = AsyncClient::new(mqtt_options, CLIENT_CAPACITY);
        let mut network = NetworkOptions::new();
        network.set_connection_timeout(CONNECT_TIMEOUT_SECS);
        eventloop.set_network_options(network);

        let (request_tx, request_rx) = mpsc::channel(REQUEST_CAPACITY);
        let (event_tx, event_rx) = mpsc::channel(EVENT_CAPACITY);
        let (link_tx, link_rx) = watch::channel(LinkState::Connecting);
        let (mic_tx, mic_rx) = watch::channel(MicState::Unknown);
        let (stopped_tx, stopped_rx) = watch::channel(false);
        let (stop_conn_tx, stop_conn_rx) = watch::channel(false);

        let conn = tokio::spawn(run_connection(
            eventloop,
            event_tx,
            stop_conn_rx,
            options.backoff_min,
            options.backoff_max,
            broker.clone(),
        ));
        let now = Instant::now();
        let max_age = options.max_age;
        let bridge = Bridge {
            client,
            topics: topics.clone(),
            broker: broker.clone(),
            outbox: Outbox::new(options.queue_capacity, options.window),
            next_id: 0,
            connected: false,
            subs: Vec::new(),
            mic: MicState::Unknown,
            mic_tx,
            restore: Restore::Waiting,
            assume_on_at: Some(now + options.restore_timeout),
            listening: false,
            privacy: None,
            timers: None,
            link_tx,
            last_error: None,
            options,
        };
        tokio::spawn(bridge.run(request_rx, event_rx, conn, stop_conn_tx, stopped_tx));
        tracing::info!(broker = %broker, client_id = %settings.client_id, "MQTT bridge started");

        Ok(MqttBridge {
            requests: request_tx,
            link: link_rx,
            mic: mic_rx,
            stopped: stopped_rx,
            topics,
            broker,
            max_age,
        })
    }

    /// Publishes a command (QoS 1, not retained) with the default age limit. During an outage it
    /// is queued and sent after reconnecting, unless it is older than the limit by then.
    pub fn publish(&self, topic: impl Into<String>, payload: impl Into<Vec<u8>>) -> Delivery {
        self.publish_with_max_age(topic, payload, self.max_age)
    }

    /// Like [`MqttBridge::publish`] with its own age limit (e.g. short for "unlock the door").
    pub fn publish_with_max_age(
        &self,
        topic: impl Into<String>,
        payload: impl Into<Vec<u8>>,
        max_age: Duration,
    ) -> Delivery {
        let topic = topic.into();
        let payload = payload.into();
        // A topic the broker refuses would cost the connection, and every other command with it.
        if let Err(why) = topic::check_publish(&topic) {
            tracing::warn!(topic = %topic::shown(&topic), "MQTT command dropped: {why}");
            return Delivery::settled(Outcome::Dropped(DropReason::InvalidTopic(why)));
        }
        if payload.len() + topic.len() + 16 > MAX_PACKET_SIZE {
            tracing::warn!(%topic, bytes = payload.len(), "MQTT command dropped: payload too large");
            return Delivery::settled(Outcome::Dropped(DropReason::TooLarge));
        }
        let (tx, rx) = oneshot::channel();
        let command = Command { id: 0, topic, payload, created: Instant::now().into_std(), max_age, reply: Some(tx) };
        match self.requests.try_send(Request::Publish(command)) {
            Ok(()) => Delivery { rx },
            Err(mpsc::error::TrySendError::Full(Request::Publish(c))) => {
                tracing::warn!(topic = %c.topic, "MQTT command dropped: bridge overloaded");
                Delivery::settled(Outcome::Dropped(DropReason::Overloaded))
            }
            Err(_) => {
                tracing::warn!("MQTT command dropped: the bridge has stopped");
                Delivery::settled(Outcome::Dropped(DropReason::Shutdown))
            }
        }
    }

    /// Publishes a recognised intent as a "Voice command" event on `hearth/<site>/intent`;
    /// `text` only if the retention policy allows it.
    pub fn publish_intent_event(
        &self,
        intent: &str,
        slots: &Map<String, Value>,
        text: Option<&str>,
        response: Option<&str>,
    ) -> Delivery {
        let payload =
            announce::intent_event_payload(&self.topics.site, intent, slots, SystemTime::now(), text, response);
        self.publish(self.topics.intent.clone(), payload)
    }

    /// Delivers every message matching the MQTT topic filter `filter` (wildcards `+`, `#`) on
    /// the returned [`Subscription`] (QoS 1), including retained ones, from now on and after
    /// every reconnect.
    pub fn subscribe(&self, filter: impl Into<String>) -> Result<Subscription, MqttError> {
        self.subscribe_to(vec![filter.into()], QoS::AtLeastOnce, SUBSCRIPTION_CAPACITY)
    }

    /// Every Home Assistant discovery config under `prefix` (`<prefix>/+/+/config` and
    /// `<prefix>/+/+/+/config`, which includes device-based `<prefix>/device/<id>/config`) on
    /// one [`Subscription`]: the retained ones at once, later changes as they come.
    ///
    /// QoS 0, because a config is state, not a command: the broker sends the retained ones
    /// without limit, whereas at QoS 1 mosquitto queues at most `max_queued_messages` (1,000 by
    /// default) for a client and silently drops the rest of a large home's configs. The buffer
    /// is `DISCOVERY_CAPACITY` (65,536); [`Subscription::dropped`] counts what did not fit.
    pub fn subscribe_discovery(&self, prefix: &str) -> Result<Subscription, MqttError> {
        let filters = vec![format!("{prefix}/+/+/config"), format!("{prefix}/+/+/+/config")];
        self.subscribe_to(filters, QoS::AtMostOnce, DISCOVERY_CAPACITY)
    }

    fn subscribe_to(&self, filters: Vec<String>, qos: QoS, capacity: usize) -> Result<Subscription, MqttError> {
        for filter in &filters {
            topic::check_filter(filter).map_err(|why| MqttError::InvalidTopic { filter: topic::shown(filter), why })?;
        }
        let (tx, rx) = mpsc::channel(capacity);
        let dropped = Arc::new(AtomicU64::new(0));
        let request = Request::Subscribe { filters, qos, tx, dropped: Arc::clone(&dropped) };
        self.requests.try_send(request).map_err(|_| MqttError::Stopped)?;
        Ok(Subscription { rx, dropped })
    }

    /// The Home Assistant discovery configs (discovery prefix `prefix`) the broker holds now
    /// ([`MqttBridge::subscribe_discovery`]), without Hearth's own announcement. Returns once the
    /// broker has been quiet for `quiet`, or after `limit`; configs that could not be read
    /// are counted in the result, never silently left out. A connection lost while reading
    /// (such as a retained message larger than Hearth accepts, [`MqttError::Oversized`]) is
    /// that error: what arrived before it is not the whole home.
    pub async fn retained_discovery(
        &self,
        prefix: &str,
        quiet: Duration,
        limit: Duration,
    ) -> Result<RetainedDiscovery, MqttError> {
        let mut link = self.link_state();
        link.mark_unchanged();
        let mut subscription = self.subscribe_discovery(prefix)?;
        let deadline = Instant::now() + limit;
        let mut messages = Vec::new();
        let mut complete = true;
        loop {
            let message = tokio::select! {
                message = tokio::time::timeout(quiet, subscription.recv()) => message,
                changed = link.changed() => {
                    match (changed, link.borrow_and_update().clone()) {
                        (Err(_), _) | (_, LinkState::Stopped) => return Err(MqttError::Stopped),
                        (_, LinkState::Down(error)) => return Err(error),
                        _ => continue,
                    }
                }
            };
            let Ok(Some(message)) = message else { break };
            if message.topic != self.topics.device_config {
                messages.push(message);
            }
            if Instant::now() > deadline {
                complete = false;
                break;
            }
        }
        Ok(RetainedDiscovery { messages, dropped: subscription.dropped(), complete })
    }

    /// Adds the devices Home Assistant discovery announces on the broker now (its retained
    /// configs, see [`MqttBridge::retained_discovery`]) to `registry`; malformed configs are
    /// logged and skipped.
    pub async fn load_discovery(
        &self,
        registry: &mut crate::home::EntityRegistry,
        prefix: &str,
    ) -> Result<(), MqttError> {
        let found = self.retained_discovery(prefix, DISCOVERY_QUIET, DISCOVERY_LIMIT).await?;
        let mut topics = crate::home::DiscoveredTopics::default();
        let messages = found.messages.iter().map(|m| (m.topic.as_str(), m.payload.as_slice()));
        for why in topics.ingest(registry, prefix, messages) {
            tracing::warn!("skipping a discovery config: {why}");
        }
        found.warn_if_incomplete();
        Ok(())
    }

    /// Sets the Listening binary sensor (on while an utterance is being captured).
    pub fn set_listening(&self, listening: bool) {
        if self.requests.try_send(Request::Listening(listening)).is_err() {
            tracing::debug!("listening state not sent: bridge stopped or busy");
        }
    }

    /// Sets the Privacy diagnostic sensor (`privacy::diagnostic_summary`, no speech content);
    /// retained, and published again whenever the satellite announces itself.
    pub fn set_privacy(&self, summary: &serde_json::Value) {
        if self.requests.try_send(Request::Privacy(summary.to_string())).is_err() {
            tracing::debug!("privacy state not sent: bridge stopped or busy");
        }
    }

    /// Sets the retained timer list on `hearth/<site>/timers` (published again on every
    /// connection, like the Privacy sensor).
    pub fn set_timers(&self, list: &serde_json::Value) {
        if self.requests.try_send(Request::Timers(list.to_string())).is_err() {
            tracing::debug!("timer list not sent: bridge stopped or busy");
        }
    }

    /// The Microphone switch; capture only while [`MicState::capturing`].
    pub fn mic_state(&self) -> watch::Receiver<MicState> {
        self.mic.clone()
    }

    /// The connection state.
    pub fn link_state(&self) -> watch::Receiver<LinkState> {
        self.link.clone()
    }

    /// Waits until connected. Fails with the reason of the first failed attempt (wrong password,
    /// nothing listening, TLS trouble, ...) or [`MqttError::Timeout`] after `timeout`; the bridge
    /// keeps retrying in the background either way.
    pub async fn wait_connected(&self, timeout: Duration) -> Result<(), MqttError> {
        let mut link = self.link.clone();
        let wait = async {
            loop {
                match &*link.borrow_and_update() {
                    LinkState::Connected => return Ok(()),
                    LinkState::Down(e) => return Err(e.clone()),
                    LinkState::Stopped => return Err(MqttError::Stopped),
                    LinkState::Connecting => {}
                }
                if link.changed().await.is_err() {
                    return Err(MqttError::Stopped);
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .unwrap_or_else(|_| Err(MqttError::Timeout { broker: self.broker.to_string() }))
    }

    /// The satellite's topics.
    pub fn topics(&self) -> &SiteTopics {
        &self.topics
    }

    /// `host:port` of the broker.
    pub fn broker(&self) -> &str {
        &self.broker
    }

    /// Shuts the bridge down and waits until it has: commands still queued are dropped (each
    /// reported), `offline` is published and the connection closed. Await the [`Delivery`] of
    /// commands that must go out before calling this.
    pub async fn shutdown(&self) {
        let _ = self.requests.send(Request::Shutdown).await;
        let mut stopped = self.stopped.clone();
        let _ = stopped.wait_for(|s| *s).await;
    }
}

/// Reading the retained microphone state at the start of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Restore {
    /// Not read yet; subscribe at the next CONNACK.
    Waiting,
    /// Subscribed to the state topic; waiting for SUBACK until the deadline.
    AwaitSubAck(Instant),
    /// SUBACK seen; a retained state, if any, arrives before the deadline.
    Grace(Instant),
    /// Read (or there was none): the bridge owns the state from now on.
    Done,
}

/// One subscriber.
struct Sub {
    /// Its topic filters.
    filters: Vec<String>,
    /// The QoS they are subscribed at.
    qos: QoS,
    /// Where its messages go.
    tx: mpsc::Sender<Message>,
    /// Messages dropped because the subscriber did not keep up (shared with the [`Subscription`]).
    dropped: Arc<AtomicU64>,
}

/// The bridge task's state.
struct Bridge {
    /// Submits requests to rumqttc (only while connected).
    client: AsyncClient,
    /// The satellite's topics.
    topics: Arc<SiteTopics>,
    /// `host:port`, for messages.
    broker: Arc<str>,
    /// Tuning.
    options: BridgeOptions,
    /// Commands and their acknowledgements.
    outbox: Outbox,
    /// Id of the next command (submission order).
    next_id: u64,
    /// True between CONNACK and the next failure.
    connected: bool,
    /// Subscribers of [`MqttBridge::subscribe`].
    subs: Vec<Sub>,
    /// The Microphone switch as the bridge knows it.
    mic: MicState,
    /// Publishes `mic` to handles.
    mic_tx: watch::Sender<MicState>,
    /// Progress of reading the retained microphone state.
    restore: Restore,
    /// When to assume the microphone is on if the broker has not been reached yet.
    assume_on_at: Option<Instant>,
    /// The Listening binary sensor.
    listening: bool,
    /// The Privacy sensor's state (retained; sent again with every announcement).
    privacy: Option<String>,
    /// The last timer list, published retained on every connection.
    timers: Option<String>,
    /// Publishes the connection state to handles.
    link_tx: watch::Sender<LinkState>,
    /// The last connection error, to log repeated failures quietly.
    last_error: Option<MqttError>,
}

impl Bridge {
    async fn run(
        mut self,
        mut requests: mpsc::Receiver<Request>,
        mut events: mpsc::Receiver<ConnEvent>,
        conn: JoinHandle<()>,
        stop_conn: watch::Sender<bool>,
        stopped: watch::Sender<bool>,
    ) {
        loop {
            let timer = self.next_timer();
            let sleep = tokio::time::sleep_until(timer.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600)));
            tokio::select! {
                request = requests.recv() => match request {
                    Some(Request::Shutdown) | None => break,
                    Some(request) => self.on_request(request),
                },
                event = events.recv() => match event {
                    Some(event) => self.on_conn_event(event),
                    None => break,
                },
                () = sleep, if timer.is_some() => self.on_timer(),
            }
            self.pump();
        }

        // Shutdown. Commands already written get a little time for their PUBACK, so their
        // outcome is the true one; everything else still here is dropped.
        if self.connected && self.outbox.unacknowledged() > 0 {
            let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
                while self.connected && self.outbox.unacknowledged() > 0 {
                    match events.recv().await {
                        Some(event) => self.on_conn_event(event),
                        None => break,
                    }
                }
            })
            .await;
        }
        for settled in self.outbox.drain(DropReason::Shutdown) {
            self.report(settled);
        }
        requests.close();
        while let Ok(request) = requests.try_recv() {
            if let Request::Publish(command) = request {
                self.report(Settled { command, outcome: Outcome::Dropped(DropReason::Shutdown) });
            }
        }
        if self.connected {
            let offline = self.client.try_publish(&self.topics.status, QoS::AtLeastOnce, true, OFFLINE);
            if offline.is_ok() && self.client.try_disconnect().is_ok() {
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
                    while let Some(event) = events.recv().await {
                        match event {
                            ConnEvent::Mqtt(Event::Outgoing(Outgoing::Disconnect)) => break,
                            ConnEvent::Down(..) => break,
                            _ => {}
                        }
                    }
                })
                .await;
            }
        }
        let _ = stop_conn.send(true);
        drop(events);
        let _ = conn.await;
        self.link_tx.send_replace(LinkState::Stopped);
        tracing::info!(broker = %self.broker, "MQTT bridge stopped");
        let _ = stopped.send(true);
    }

    fn on_request(&mut self, request: Request) {
        match request {
            Request::Publish(mut command) => {
                command.id = self.next_id;
                self.next_id += 1;
                if !self.connected {
                    tracing::info!(topic = %command.topic, "MQTT broker unreachable: command queued");
                }
                for settled in self.outbox.push(command) {
                    self.report(settled);
                }
            }
            Request::Subscribe { filters, qos, tx, dropped } => {
                if self.connected {
                    let many = filters.iter().map(|f| SubscribeFilter::new(f.clone(), qos));
                    if let Err(e) = self.client.try_subscribe_many(many) {
                        tracing::warn!(error = %e, "MQTT subscription not sent");
                    }
                }
                self.subs.push(Sub { filters, qos, tx, dropped });
            }
            Request::Listening(listening) => {
                self.listening = listening;
                if self.connected {
                    self.publish_listening();
                }
            }
            Request::Privacy(summary) => {
                self.privacy = Some(summary);
                self.publish_privacy();
                self.publish_timers();
            }
            Request::Timers(list) => {
                self.timers = Some(list);
                self.publish_timers();
            }
            Request::Shutdown => {}
        }
    }

    fn on_conn_event(&mut self, event: ConnEvent) {
        match event {
            ConnEvent::Connected => self.on_connected(),
            ConnEvent::Down(error, ack) => {
                self.on_down(error);
                let _ = ack.send(());
            }
            ConnEvent::Mqtt(Event::Outgoing(Outgoing::Publish(pkid))) => self.outbox.on_outgoing_publish(pkid),
            ConnEvent::Mqtt(Event::Outgoing(Outgoing::AwaitAck(pkid))) => self.outbox.on_await_ack(pkid),
            ConnEvent::Mqtt(Event::Incoming(Incoming::PubAck(ack))) => {
                if let Some(settled) = self.outbox.on_puback(ack.pkid) {
                    self.report(settled);
                }
            }
            ConnEvent::Mqtt(Event::Incoming(Incoming::SubAck(_))) => {
                if let Restore::AwaitSubAck(_) = self.restore {
                    self.restore = Restore::Grace(Instant::now() + self.options.retained_grace);
                }
            }
            ConnEvent::Mqtt(Event::Incoming(Incoming::Publish(publish))) => self.on_message(publish),
            ConnEvent::Mqtt(_) => {}
        }
    }

    fn on_connected(&mut self) {
        self.connected = true;
        self.last_error = None;
        self.link_tx.send_replace(LinkState::Connected);
        tracing::info!(broker = %self.broker, "connected to the MQTT broker");

        // The retained microphone state must be asked for first: the first SUBACK is its own.
        if self.restore != Restore::Done {
            self.restore = Restore::AwaitSubAck(Instant::now() + self.options.retained_wait);
            self.subscribe(&self.topics.mic_state.clone());
        }
        self.announce();
        let own = [&self.topics.ha_status, &self.topics.mic_set, &self.topics.status];
        let mut filters: Vec<SubscribeFilter> =
            own.into_iter().map(|f| SubscribeFilter::new(f.clone(), QoS::AtLeastOnce)).collect();
        for sub in &self.subs {
            filters.extend(sub.filters.iter().map(|f| SubscribeFilter::new(f.clone(), sub.qos)));
        }
        if let Err(e) = self.client.try_subscribe_many(filters) {
            tracing::warn!(error = %e, "MQTT subscriptions not sent");
        }
    }

    fn on_down(&mut self, error: MqttError) {
        let was_connected = std::mem::replace(&mut self.connected, false);
        if self.last_error.as_ref() != Some(&error) || was_connected {
            tracing::warn!(broker = %self.broker, "{error}");
        } else {
            tracing::debug!(broker = %self.broker, "{error}");
        }
        self.last_error = Some(error.clone());
        self.link_tx.send_replace(LinkState::Down(error));
        if matches!(self.restore, Restore::AwaitSubAck(_) | Restore::Grace(_)) {
            self.restore = Restore::Waiting;
        }
        for settled in self.outbox.on_disconnect() {
            self.report(settled);
        }
        if self.outbox.queued() > 0 {
            tracing::info!(queued = self.outbox.queued(), "MQTT commands queued until the broker is back");
        }
    }

    /// Publishes everything Home Assistant should know about the satellite: availability, the
    /// discovery config and the current switch and sensor states.
    fn announce(&mut self) {
        let status = self.topics.status.clone();
        let config_topic = self.topics.device_config.clone();
        let config = announce::device_config(&self.topics, self.options.area.as_deref());
        self.publish_internal(&status, ONLINE, true);
        self.publish_internal(&config_topic, &config, true);
        if self.restore == Restore::Done {
            self.publish_mic_state();
        }
        self.publish_listening();
        self.publish_privacy();
    }

    fn on_message(&mut self, publish: Publish) {
        let topic = publish.topic.as_str();
        if topic == self.topics.ha_status {
            if publish.payload.as_ref() == ONLINE.as_bytes() {
                tracing::info!("Home Assistant is online: announcing the satellite again");
                self.announce();
            }
        } else if topic == self.topics.mic_set {
            match MicState::parse(&publish.payload) {
                Some(state) => {
                    tracing::info!(microphone = ?state, "Microphone switch set");
                    self.finish_restore();
                    self.set_mic(state);
                    self.publish_mic_state();
                }
                None => tracing::warn!(topic, "ignoring Microphone command: payload is neither ON nor OFF"),
            }
        } else if topic == self.topics.mic_state
            && matches!(self.restore, Restore::AwaitSubAck(_) | Restore::Grace(_))
            && let Some(state) = MicState::parse(&publish.payload)
        {
            tracing::info!(microphone = ?state, "Microphone state restored from the broker");
            self.set_mic(state);
            self.finish_restore();
        } else if topic == self.topics.status && publish.payload.as_ref() == OFFLINE.as_bytes() && self.connected {
            // A stale last will of an earlier connection: we are here.
            self.publish_internal(&self.topics.status.clone(), ONLINE, true);
        }
        self.deliver(publish);
    }

    fn deliver(&mut self, publish: Publish) {
        let mut closed = false;
        for sub in &mut self.subs {
            if !sub.filters.iter().any(|filter| rumqttc::matches(&publish.topic, filter)) {
                continue;
            }
            let message =
                Message { topic: publish.topic.clone(), payload: publish.payload.to_vec(), retained: publish.retain };
            match sub.tx.try_send(message) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    let dropped = sub.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                    if dropped.is_power_of_two() {
                        let filters = sub.filters.join(" ");
                        tracing::warn!(%filters, dropped, "MQTT subscriber too slow: messages dropped");
                    }
                }
                Err(mpsc::error::TrySendError::Closed(_)) => closed = true,
            }
        }
        if closed {
            self.subs.retain(|sub| !sub.tx.is_closed());
        }
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        match self.restore {
            Restore::AwaitSubAck(deadline) | Restore::Grace(deadline) if now >= deadline => {
                if self.mic == MicState::Unknown {
                    tracing::info!("no Microphone state on the broker: microphone on");
                    self.set_mic(MicState::On);
                }
                self.finish_restore();
                self.publish_mic_state();
            }
            _ => {}
        }
        if self.assume_on_at.is_some_and(|at| now >= at) {
            self.assume_on_at = None;
            if self.mic == MicState::Unknown {
                tracing::warn!(broker = %self.broker, "MQTT broker not reached yet: microphone assumed on");
                self.set_mic(MicState::On);
            }
        }
        // Expiry of queued commands happens in `pump`.
    }

    fn next_timer(&self) -> Option<Instant> {
        let restore = match self.restore {
            Restore::AwaitSubAck(at) | Restore::Grace(at) => Some(at),
            _ => None,
        };
        let expiry = self.outbox.next_deadline().map(Instant::from_std);
        [restore, expiry, self.assume_on_at].into_iter().flatten().min()
    }

    /// Expires stale commands and hands ready ones to the client while connected.
    fn pump(&mut self) {
        let now = Instant::now().into_std();
        for settled in self.outbox.expire(now) {
            self.report(settled);
        }
        if !self.connected {
            return;
        }
        while let Some(command) = self.outbox.next_ready(now) {
            match self.client.try_publish(&command.topic, QoS::AtLeastOnce, false, command.payload.clone()) {
                Ok(()) => self.outbox.submitted(command),
                Err(e) => {
                    tracing::debug!(error = %e, "MQTT client busy; command stays queued");
                    self.outbox.unsubmit(command);
                    break;
                }
            }
        }
    }

    fn report(&self, settled: Settled) {
        let Settled { command, outcome } = settled;
        match &outcome {
            Outcome::Published => tracing::debug!(topic = %command.topic, "MQTT command published"),
            other => tracing::warn!(topic = %command.topic, "MQTT command {other}"),
        }
        if let Some(reply) = command.reply {
            let _ = reply.send(outcome);
        }
    }

    fn finish_restore(&mut self) {
        if matches!(self.restore, Restore::AwaitSubAck(_) | Restore::Grace(_))
            && self.connected
            && let Err(e) = self.client.try_unsubscribe(&self.topics.mic_state)
        {
            tracing::debug!(error = %e, "unsubscribe from the Microphone state not sent");
        }
        self.restore = Restore::Done;
        self.assume_on_at = None;
    }

    fn set_mic(&mut self, state: MicState) {
        self.mic = state;
        self.mic_tx.send_replace(state);
    }

    fn publish_mic_state(&mut self) {
        if let Some(payload) = self.mic.payload() {
            self.publish_internal(&self.topics.mic_state.clone(), payload, true);
        }
    }

    fn publish_timers(&mut self) {
        if let Some(list) = self.timers.clone() {
            self.publish_internal(&self.topics.timers.clone(), &list, true);
        }
    }

    fn publish_privacy(&mut self) {
        if let Some(summary) = self.privacy.clone() {
            self.publish_internal(&self.topics.privacy.clone(), &summary, true);
        }
    }

    fn publish_listening(&mut self) {
        let payload = if self.listening { ON } else { OFF };
        self.publish_internal(&self.topics.listening.clone(), payload, false);
    }

    fn subscribe(&mut self, filter: &str) {
        if let Err(e) = self.client.try_subscribe(filter, QoS::AtLeastOnce) {
            tracing::warn!(filter, error = %e, "MQTT subscription not sent");
        }
    }

    /// Publishes one of the bridge's own messages (QoS 1) if connected; they are not queued:
    /// every new connection publishes them again.
    fn publish_internal(&mut self, topic: &str, payload: &str, retain: bool) {
        if !self.connected {
            return;
        }
        match self.client.try_publish(topic, QoS::AtLeastOnce, retain, payload.as_bytes().to_vec()) {
            Ok(()) => self.outbox.submitted_internal(),
            Err(e) => tracing::warn!(topic, error = %e, "MQTT publish not sent"),
        }
    }
}

/// The connection task: polls the event loop forever, reconnecting with backoff.
async fn run_connection(
    mut eventloop: EventLoop,
    events: mpsc::Sender<ConnEvent>,
    mut stop: watch::Receiver<bool>,
    backoff_min: Duration,
    backoff_max: Duration,
    broker: Arc<str>,
) {
    let mut backoff = backoff_min;
    loop {
        let polled = tokio::select! {
            biased;
            _ = stop.changed() => return,
            polled = eventloop.poll() => polled,
        };
        let event = match polled {
            Ok(Event::Incoming(Incoming::ConnAck(_))) => {
                backoff = backoff_min;
                ConnEvent::Connected
            }
            Ok(event) => ConnEvent::Mqtt(event),
            Err(error) => {
                // Events rumqttc read or wrote before failing still count (PUBACKs, packet ids).
                let buffered: Vec<Event> = eventloop.state.events.drain(..).collect();
                for event in buffered {
                    if events.send(ConnEvent::Mqtt(event)).await.is_err() {
                        return;
                    }
                }
                let (ack_tx, ack_rx) = oneshot::channel();
                let down = ConnEvent::Down(connect::classify(&error, &broker), ack_tx);
                if events.send(down).await.is_err() {
                    return;
                }
                // Once the bridge has acknowledged, it submits nothing more until the next
                // CONNACK: drop what the old session still holds; the outbox re-sends commands.
                let _ = ack_rx.await;
                eventloop.clean();
                eventloop.pending.clear();
                eventloop.state.collision = None;
                tokio::select! {
                    _ = stop.changed() => return,
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(backoff_max);
                continue;
            }
        };
        if events.send(event).await.is_err() {
            return;
        }
    }
}
