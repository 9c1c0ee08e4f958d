//! Logging to stderr (journald picks it up), level from `RUST_LOG`.
//!
//! whisper.cpp's and the embedded broker's chatter is kept at warnings unless asked for, and one
//! harmless rumqttd ERROR is dropped: when a client sends DISCONNECT and then closes its socket
//! (as Hearth's own bridge, Home Assistant and `mosquitto_sub` do), rumqttd's router sees the
//! disconnection twice and logs "no-connection id N is already gone" for the second one. Its
//! own source says so; an ERROR at every clean disconnect would only teach users to ignore errors.

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
        // Colours only on a terminal: journald and pipes get plain lines, not escape codes.
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal()))
        .try_init();
}

/// Drops the broker messages [`is_harmless_broker_message`] names.
struct BrokerQuirks;

impl<S: Subscriber> Layer<S> for BrokerQuirks {
    fn event_enabled(&self, event: &Event<'_>, _ctx: Context<'_, S>) -> bool {
        let target = event.metadata().target();
        if !target.starts_with("rumqttd") {
            return true;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        !is_harmless_broker_message(target, &message.0)
    }
}

/// Whether a rumqttd log message is its double-disconnect report (see the module documentation).
fn is_harmless_broker_message(target: &str, message: &str) -> bool {
    target == "rumqttd::router::routing"
        && message
            .strip_prefix("no-connection id ")
            .and_then(|rest| rest.strip_suffix(" is already gone"))
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// An event's `message` field as text.
struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            value.clone_into(&mut self.0);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_double_disconnect_report_is_dropped() {
        assert!(is_harmless_broker_message("rumqttd::router::routing", "no-connection id 0 is already gone"));
        assert!(is_harmless_broker_message("rumqttd::router::routing", "no-connection id 17 is already gone"));
        assert!(!is_harmless_broker_message("rumqttd::router::routing", "no space for new connection"));
        assert!(!is_harmless_broker_message("rumqttd::router::routing", "no-connection id  is already gone"));
        assert!(!is_harmless_broker_message("rumqttd::server::broker", "no-connection id 0 is already gone"));
    }

    #[test]
    fn the_message_is_read_from_formatted_events() {
        use std::sync::{Arc, Mutex};

        struct Record(Arc<Mutex<Vec<String>>>);
        impl<S: Subscriber> Layer<S> for Record {
            fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
                let mut message = Message(String::new());
                event.record(&mut message);
                self.0.lock().unwrap().push(message.0);
            }
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        let subscriber = tracing_subscriber::registry().with(BrokerQuirks).with(Record(Arc::clone(&seen)));
        tracing::subscriber::with_default(subscriber, || {
            tracing::error!(target: "rumqttd::router::routing", "no-connection id {} is already gone", 3);
            tracing::error!(target: "rumqttd::router::routing", "no space for new connection");
            tracing::info!("no-connection id {} is already gone", 3);
        });
        assert_eq!(
            *seen.lock().unwrap(),
            ["no space for new connection", "no-connection id 3 is already gone"],
            "the broker's double-disconnect report is dropped, everything else is kept"
        );
    }
}
