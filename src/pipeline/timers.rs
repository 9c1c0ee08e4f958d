//! The timers of the running assistant: the pure [`crate::timer::Timers`] behind a lock, its
//! events published on MQTT, and the ringer thread that finds timers that ran out and rings
//! them on the speaker (a chime, then "pizza timer is done") until "stop" or the ring limit.
//!
//! While a timer rings, every gap between two rings is a chance to say "stop" without the wake
//! word: the ringer sets [`Ring::ear`] once its sound (and the echo) is over, the DSP thread
//! then captures one utterance without waiting for the wake word, and the handler stops the
//! ringing when it hears a stop word (or any timer-cancelling intent). The next ring waits
//! until that utterance has been handled, so the ring itself is never taken for speech.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::answer::{Answers, duration_text};
use crate::feedback::{Feedback, Sound, Tone, synthesize};
use crate::intent::Language;
use crate::mqtt::MqttBridge;
use crate::timer::{Applied, EventKind, TimerError, TimerEvent, TimerInfo, TimerRequest, TimerState, Timers};
use crate::voice::Voice;

/// Pause between the end of one ring and the next, when nobody speaks.
const RING_GAP: Duration = Duration::from_millis(2500);
/// Echo after the ring before the microphone listens for "stop".
const RING_ECHO: Duration = Duration::from_millis(200);

/// Words that stop a ringing timer, said alone (after the wake word or without it).
const STOP_WORDS: [&str; 12] =
    ["stop", "stopp", "halt", "cancel", "enough", "ok", "okay", "aus", "ruhe", "genug", "danke", "thanks"];

/// True when `text` is a stop word on its own ("Stop.", "stop it", "Stopp!").
pub fn is_stop(text: &str) -> bool {
    let words: Vec<String> = text.split_whitespace().map(super::act::bare).filter(|w| !w.is_empty()).collect();
    !words.is_empty()
        && words.len() <= 3
        && words.iter().any(|w| STOP_WORDS.contains(&w.as_str()))
        && words.iter().all(|w| {
            STOP_WORDS.contains(&w.as_str()) || ["it", "now", "please", "bitte", "jetzt"].contains(&w.as_str())
        })
}

/// What the ringer and the DSP thread share about the ringing.
#[derive(Debug, Default)]
pub struct Ring {
    /// Set by the ringer: listen for "stop" now (no wake word). The DSP thread clears it when it
    /// starts the capture.
    pub ear: AtomicBool,
    /// Set by the DSP thread while a capture without the wake word is on its way (captured,
    /// transcribed, handled); the handler clears it.
    pub hearing: AtomicBool,
}

/// The timers, the voice to answer and ring with, and where their events go.
pub struct TimerService {
    timers: Mutex<Timers>,
    bridge: MqttBridge,
    /// Shared with the DSP thread.
    pub ring: Arc<Ring>,
}

/// A timer request's outcome as an answer: the template to render and its context.
pub struct TimerAnswer {
    /// Intent answer (`None`) or error key.
    pub error: Option<&'static str>,
    /// The template context.
    pub context: Value,
}

impl TimerService {
    /// No timers yet; rings for at most `ring_limit`.
    pub fn new(bridge: MqttBridge, ring_limit: Duration) -> TimerService {
        TimerService { timers: Mutex::new(Timers::new(ring_limit)), bridge, ring: Arc::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timers> {
        self.timers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Carries out `request`, publishes what changed, and says what to answer. `slots` are the
    /// match's slots as the templates see them.
    pub fn apply(
        &self,
        request: &TimerRequest,
        slots: serde_json::Map<String, Value>,
        language: Language,
    ) -> TimerAnswer {
        let now = Instant::now();
        let result = self.lock().apply(request, now);
        let mut slots = slots;
        let requested = match request {
            TimerRequest::Start { duration, .. }
            | TimerRequest::Increase(_, duration)
            | TimerRequest::Decrease(_, duration) => Some(*duration),
            _ => None,
        };
        if let Some(d) = requested {
            slots.insert("duration_text".into(), Value::from(duration_text(d.as_secs(), language)));
        }
        match result {
            Ok(Applied::Changed(events)) => {
                let cancelled = events.iter().filter(|e| e.kind == EventKind::Cancelled).count();
                slots.insert("canceled".into(), Value::from(cancelled));
                self.publish(&events, now);
                TimerAnswer { error: None, context: json!({ "slots": slots }) }
            }
            Ok(Applied::Status(infos)) => {
                let timers: Vec<Value> = infos.iter().map(|t| status_json(t, language)).collect();
                slots.insert("timers".into(), Value::from(timers));
                TimerAnswer { error: None, context: json!({ "slots": slots }) }
            }
            Err(e) => {
                let (key, state) = match &e {
                    TimerError::NotFound(_) => ("timer_not_found", ""),
                    TimerError::Ambiguous { .. } => ("multiple_timers_matched", ""),
                    TimerError::BadDuration => ("timer_bad_duration", ""),
                    TimerError::TooMany => ("too_many_timers", ""),
                    TimerError::Already(state) => ("timer_already", *state),
                };
                // The reason may hold a timer's name as said: not at the default level.
                tracing::info!(reason = key, "timer request not carried out");
                tracing::debug!("timer request not carried out: {e}");
                TimerAnswer { error: Some(key), context: json!({ "slots": slots, "state": state }) }
            }
        }
    }

    /// Stops every ringing timer; true if one rang.
    pub fn stop_ringing(&self) -> bool {
        let now = Instant::now();
        let events = self.lock().stop_ringing(now);
        self.publish(&events, now);
        !events.is_empty()
    }

    /// Whether a timer rings now.
    pub fn ringing(&self) -> bool {
        self.lock().ringing()
    }

    /// Each event on `hearth/<site>/timer` (QoS 1, queued through outages), then the list on
    /// the retained `hearth/<site>/timers`.
    fn publish(&self, events: &[TimerEvent], now: Instant) {
        if events.is_empty() {
            return;
        }
        let topic = self.bridge.topics().timer.clone();
        for event in events {
            tracing::info!(event = event.kind.as_str(), id = event.timer.id, "timer");
            // Not awaited: the broker's acknowledgement is the outbox's business.
            drop(self.bridge.publish(topic.clone(), event.to_json().to_string()));
        }
        let list: Vec<Value> = self.lock().list(now).iter().map(TimerInfo::to_json).collect();
        self.bridge.set_timers(&Value::from(list));
    }

    /// The ringer: until `stop` is set, finds timers that ran out, publishes them and rings.
    pub fn run_ringer(
        &self,
        stop: &AtomicBool,
        output: &Feedback,
        voice: Option<&Voice>,
        answers: &Answers,
        language: Language,
    ) {
        let mut next_ring = Instant::now();
        let mut was_ringing = false;
        while !stop.load(Ordering::Acquire) {
            let now = Instant::now();
            let (events, ringing, deadline) = {
                let mut timers = self.lock();
                let events = timers.tick(now);
                (events, timers.ringing(), timers.next_deadline())
            };
            self.publish(&events, now);
            if ringing && !was_ringing {
                next_ring = now;
            }
            was_ringing = ringing;
            if !ringing {
                self.ring.ear.store(false, Ordering::Release);
            }
            let busy = self.ring.hearing.load(Ordering::Acquire) || output.sounding(RING_ECHO);
            // Without a speaker there is no ring to hear and no pause to say "stop" in: the
            // events still go out, and the ring limit ends the ringing.
            if ringing && output.is_audible() && !busy && now >= next_ring && !self.ring.ear.load(Ordering::Acquire) {
                let name =
                    self.lock().list(now).into_iter().filter(|t| t.state == TimerState::Ringing).find_map(|t| t.name);
                let text = answers.error(language, "timer_finished", &json!({ "name": name })).unwrap_or_default();
                output.queue(ring_sound(voice, &text, language));
                // Once it has been heard, the microphone listens for "stop".
                let until = Instant::now() + Duration::from_secs(20);
                while !output.sounding(Duration::ZERO) && Instant::now() < until && output.is_audible() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                while output.sounding(RING_ECHO) && Instant::now() < until && !stop.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                self.ring.ear.store(true, Ordering::Release);
                next_ring = Instant::now() + RING_GAP;
            }
            let wait = deadline
                .map(|d| d.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_millis(100))
                .min(Duration::from_millis(50));
            std::thread::sleep(wait);
        }
    }
}

/// A ring: the done chime twice, then the spoken text.
fn ring_sound(voice: Option<&Voice>, text: &str, language: Language) -> Sound {
    let speech = voice.and_then(|v| match v.speak(text, language) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("the ringing timer is not spoken: {e}");
            None
        }
    });
    let rate = speech.as_ref().map_or(22_050, |s| s.rate);
    let chime = synthesize(Tone::Done, rate);
    let gap = vec![0.0; rate as usize / 8];
    let mut head: Vec<f32> = chime.iter().chain(&gap).chain(&chime).chain(&gap).copied().collect();
    head.extend(std::iter::repeat_n(0.0, rate as usize / 8));
    Sound::join(&head, rate, speech.as_ref().map_or(&[][..], |s| &s.samples[..]))
}

/// A timer as Home Assistant's status template sees it (and Hearth's own: `left_text`).
fn status_json(t: &TimerInfo, language: Language) -> Value {
    let left = t.left.as_secs() + u64::from(t.left.subsec_nanos() > 0);
    let start = t.started_with.as_secs();
    let rounded = if left >= 3600 { left.div_ceil(60) * 60 } else { left };
    json!({
        "name": t.name.clone().unwrap_or_default(),
        "is_active": t.state != TimerState::Paused,
        "total_seconds_left": left,
        "rounded_hours_left": rounded / 3600,
        "rounded_minutes_left": rounded / 60 % 60,
        "rounded_seconds_left": rounded % 60,
        "start_hours": start / 3600,
        "start_minutes": start / 60 % 60,
        "start_seconds": start % 60,
        "left_text": duration_text(left, language),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_alone_stop_and_commands_do_not() {
        for yes in ["Stop.", "stop it", "Stopp!", "OK, stop", "Halt", "aus", "stop please"] {
            assert!(is_stop(yes), "{yes}");
        }
        for no in ["", "stop the music in the kitchen", "turn off the light", "what", "bus stop ahead"] {
            assert!(!is_stop(no), "{no}");
        }
    }

    #[test]
    fn status_of_a_timer_for_the_templates() {
        let info = TimerInfo {
            id: 1,
            name: Some("pizza".into()),
            total: Duration::from_secs(300),
            started_with: Duration::from_secs(300),
            left: Duration::from_millis(199_500),
            state: TimerState::Running,
        };
        let v = status_json(&info, Language::De);
        assert_eq!((v["rounded_minutes_left"].as_u64(), v["rounded_seconds_left"].as_u64()), (Some(3), Some(20)));
        assert_eq!(v["left_text"], "3 Minuten und 20 Sekunden");
        assert_eq!(v["start_minutes"], 5);
    }
}
