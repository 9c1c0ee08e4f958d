//! Logging to stderr (journald picks it up), level from `RUST_LOG`; ANSI colours only when
//! stderr is a terminal (`NO_COLOR` turns them off there too), so the journal, a file or a pipe
//! get plain text.
//!
//! whisper.cpp's and the embedded broker's chatter is kept at warnings unless asked for, and two
//! harmless rumqttd ERRORs are dropped. When a client sends DISCONNECT and then closes its socket
//! (as Hearth's own bridge, Home Assistant and `mosquitto_sub` do), rumqttd sees the one clean
//! disconnection twice, and which side reports it depends on a race between its threads:
//! - the router, which logs "no-connection id N is already gone" for the second report;
//! - the connection's link task, which finds the router already removed the connection after the
//!   DISCONNECT packet and logs "router-drop" with `error=Recv(Disconnected)`.
//!
//! An ERROR at every clean disconnect would only teach users to ignore errors.

use std::fmt::Debug;
use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

/// The filter used when `RUST_LOG` is not set.
const DEFAULT_FILTER: &str = "info,whisper_rs=warn,rumqttd=warn";

/// Installs the logger (once; later calls do nothing).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_FILTER));
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(BrokerQuirks)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        )))
        .try_init();
}

/// Whether log lines carry colour codes: only on a terminal, and not when `NO_COLOR` is set
/// (<https://no-color.org>).
fn colour(terminal: bool, no_color: bool) -> bool {
    terminal && !no_color
}

/// Drops the broker messages [`is_harmless_broker_message`] names.
struct BrokerQuirks;

impl<S: Subscriber> Layer<S> for BrokerQuirks {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let target = event.metadata().target();
        if !target.starts_with("rumqttd") {
            return true;
        }
        let mut message = Message::default();
        event.record(&mut message);
        !is_harmless_broker_message(target, &message.text, &message.error)
    }
}

/// Whether a rumqttd log message (its text and its `error` field, empty when it has none) is
/// one of the double-disconnect reports in the module documentation.
fn is_harmless_broker_message(target: &str, message: &str, error: &str) -> bool {
    let router_report = target == "rumqttd::router::routing"
        && message
            .strip_prefix("no-connection id ")
            .and_then(|rest| rest.strip_suffix(" is already gone"))
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
    let link_report = target == "rumqttd::server::broker" && message == "router-drop" && error == "Recv(Disconnected)";
    router_report || link_report
}

/// An event's `message` and `error` fields as text.
#[derive(Default)]
struct Message {
    text: String,
    error: String,
}

impl Message {
    fn field(&mut self, field: &Field) -> Option<&mut String> {
        match field.name() {
            "message" => Some(&mut self.text),
            "error" => Some(&mut self.error),
            _ => None,
        }
    }
}

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if let Some(slot) = self.field(field) {
            value.clone_into(slot);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if let Some(slot) = self.field(field) {
            *slot = format!("{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_double_disconnect_reports_are_dropped() {
        let routing = "rumqttd::router::routing";
        let link = "rumqttd::server::broker";
        assert!(is_harmless_broker_message(routing, "no-connection id 0 is already gone", ""));
        assert!(is_harmless_broker_message(routing, "no-connection id 17 is already gone", ""));
        assert!(!is_harmless_broker_message(routing, "no space for new connection", ""));
        assert!(!is_harmless_broker_message(routing, "no-connection id  is already gone", ""));
        assert!(!is_harmless_broker_message(link, "no-connection id 0 is already gone", ""));
        assert!(is_harmless_broker_message(link, "router-drop", "Recv(Disconnected)"));
        assert!(!is_harmless_broker_message(link, "router-drop", "Send(Disconnected)"));
        assert!(!is_harmless_broker_message(link, "disconnected", "Recv(Disconnected)"));
        assert!(!is_harmless_broker_message(routing, "router-drop", "Recv(Disconnected)"));
    }

    #[test]
    fn the_message_is_read_from_formatted_events() {
        use std::sync::{Arc, Mutex};

        /// Debug-formats like rumqttd's `link::remote::Error::Recv(flume::RecvError::Disconnected)`.
        #[derive(Debug)]
        enum LinkError {
            Recv(RecvError),
        }
        #[derive(Debug)]
        enum RecvError {
            Disconnected,
        }

        struct Record(Arc<Mutex<Vec<String>>>);
        impl<S: Subscriber> Layer<S> for Record {
            fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
                let mut message = Message::default();
                event.record(&mut message);
                self.0.lock().unwrap().push(message.text);
            }
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(BrokerQuirks).with(Record(Arc::clone(&seen)));
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "rumqttd::router::routing", "no-connection id {} is already gone", 3);
            tracing::error!(target: "rumqttd::router::routing", "no space for new connection");
            tracing::info!("no-connection id {} is already gone", 3);
            tracing::error!(target: "rumqttd::server::broker", error = ?LinkError::Recv(RecvError::Disconnected), "router-drop");
            tracing::error!(target: "rumqttd::server::broker", error = ?"timeout", "router-drop");
        });
        assert_eq!(
            *seen.lock().unwrap(),
            ["no space for new connection", "no-connection id 3 is already gone", "router-drop"],
            "the broker's double-disconnect report is dropped, everything else is kept"
        );
    }
}
