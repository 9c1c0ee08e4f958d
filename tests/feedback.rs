//! Feedback tones through cpal for real: ALSA's `null` output device where it exists, a device
//! that does not exist, feedback switched off, and the one log line a silent `Feedback` leaves.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hearth::config::FeedbackSettings;
use hearth::feedback::{Feedback, FeedbackError, Tone, check_output, list_output_devices};
use tracing_subscriber::layer::{Context, SubscriberExt};

/// Log events seen on this thread: (level, message and fields).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<(tracing::Level, String)>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={value:?}", field.name()));
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push((*event.metadata().level(), fields.0));
    }
}

/// Runs `f` with this thread's log events captured.
fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, Vec<(tracing::Level, String)>) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::registry().with(captured.clone());
    let result = tracing::subscriber::with_default(subscriber, f);
    let events = captured.0.lock().unwrap().clone();
    (result, events)
}

fn settings(enabled: bool, device: &str) -> FeedbackSettings {
    FeedbackSettings { enabled, device: device.to_owned() }
}

fn has_null_device() -> bool {
    let devices = list_output_devices();
    if devices.iter().any(|d| d == "null") {
        true
    } else {
        eprintln!("SKIPPED: no `null` output device (devices: {devices:?})");
        false
    }
}

#[test]
fn null_device_passes_the_doctor_check() {
    if !has_null_device() {
        return;
    }
    let description = check_output("null").expect("the null device opens");
    eprintln!("check_output(\"null\") = {description}");
    assert!(description.starts_with("\"null\""), "{description}");
    assert!(description.contains(" Hz, "), "{description}");
}

#[test]
fn null_device_plays_every_tone() {
    if !has_null_device() {
        return;
    }
    let (feedback, logs) = capture_logs(|| Feedback::open(&settings(true, "null")));
    eprintln!("Feedback::open(null): logs {logs:?}");
    assert!(feedback.is_audible());
    for tone in Tone::ALL {
        feedback.play(tone);
        std::thread::sleep(tone.duration() + Duration::from_millis(100));
        assert!(feedback.is_audible(), "{tone:?} failed to play");
    }
    // A device that took no audio would be reported (and turn inaudible) within ~2 s.
    std::thread::sleep(Duration::from_secs(2));
    assert!(feedback.is_audible(), "the null device stalled");
    // A burst of requests, each cutting the last: play never waits, the player keeps up.
    let started = Instant::now();
    for i in 0..1_000 {
        feedback.play(Tone::ALL[i % 3]);
    }
    assert!(started.elapsed() < Duration::from_millis(100), "play blocked: {:?}", started.elapsed());
    std::thread::sleep(Duration::from_millis(400));
    assert!(feedback.is_audible());
    // Dropping while a tone plays ends the player promptly.
    feedback.play(Tone::Error);
    let started = Instant::now();
    drop(feedback);
    assert!(started.elapsed() < Duration::from_secs(2), "drop took {:?}", started.elapsed());
}

#[test]
fn feedback_can_be_shared_between_threads() {
    if !has_null_device() {
        return;
    }
    let feedback = Arc::new(Feedback::open(&settings(true, "null")));
    let workers: Vec<_> = (0..4)
        .map(|i| {
            let feedback = Arc::clone(&feedback);
            std::thread::spawn(move || {
                for _ in 0..50 {
                    feedback.play(Tone::ALL[i % 3]);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(feedback.is_audible());
}

#[test]
fn unknown_device_is_silent_with_one_warning() {
    let (feedback, logs) = capture_logs(|| Feedback::open(&settings(true, "no-such-speaker-xyz")));
    eprintln!("Feedback::open(no-such-speaker-xyz): logs {logs:?}");
    assert!(!feedback.is_audible());
    feedback.play(Tone::Wake);
    feedback.play(Tone::Error);
    assert_eq!(logs.len(), 1, "{logs:?}");
    let (level, text) = &logs[0];
    assert_eq!(*level, tracing::Level::WARN, "{text}");
    assert!(text.contains("no-such-speaker-xyz"), "{text}");
    assert!(text.contains("[feedback] device = "), "{text}");
    assert!(text.contains("[feedback] enabled = false"), "{text}");

    let err = check_output("no-such-speaker-xyz").unwrap_err();
    assert!(matches!(err, FeedbackError::UnknownDevice { .. }), "{err}");
    assert!(err.to_string().contains("Available output devices"), "{err}");
}

#[test]
fn disabled_is_silent_with_one_info_line() {
    let (feedback, logs) = capture_logs(|| Feedback::open(&settings(false, "null")));
    assert!(!feedback.is_audible());
    feedback.play(Tone::Done);
    assert_eq!(logs.len(), 1, "{logs:?}");
    let (level, text) = &logs[0];
    assert_eq!(*level, tracing::Level::INFO, "{text}");
    assert!(text.contains("[feedback] enabled = false"), "{text}");
    assert!(text.contains("null"), "the device is named: {text}");
}

/// Works with or without a sound card: the default output device either plays, or stays
/// silent with one warning that explains what to do.
#[test]
fn default_device_plays_or_explains() {
    match check_output("default") {
        Ok(description) => assert!(description.starts_with("\"default\""), "{description}"),
        Err(e) => {
            let text = e.to_string();
            assert!(matches!(e, FeedbackError::NoOutputDevice { .. } | FeedbackError::DeviceOpen { .. }), "{text}");
            assert!(text.contains("[feedback] device = "), "{text}");
        }
    }
    let (feedback, logs) = capture_logs(|| Feedback::open(&settings(true, "default")));
    eprintln!("Feedback::open(default): audible {}, logs {logs:?}", feedback.is_audible());
    if feedback.is_audible() {
        feedback.play(Tone::Wake);
    } else {
        assert_eq!(logs.len(), 1, "{logs:?}");
        assert_eq!(logs[0].0, tracing::Level::WARN, "{logs:?}");
        assert!(logs[0].1.contains("default"), "{logs:?}");
    }
}
