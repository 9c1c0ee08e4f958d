//! Timers held by Hearth: started, paused, changed and cancelled by voice, ringing when they
//! run out. Like [`crate::mqtt::outbox`] this does no I/O and reads no clock: every call takes
//! `now`, so every rule is unit-tested without waiting.
//!
//! Rules (Home Assistant's timer intents, as Assist on a satellite handles them):
//! - [`Timers::apply`] carries out one [`TimerRequest`], built from a recognised intent by
//!   [`TimerRequest::from_intent`]: `HassStartTimer` (with or without a name),
//!   `HassCancelTimer`, `HassCancelAllTimers`, `HassTimerStatus`, `HassPauseTimer`,
//!   `HassUnpauseTimer`, `HassIncreaseTimer`, `HassDecreaseTimer`.
//! - A request for one timer says which by its name ("the pizza timer") and/or the length
//!   it was started with ("the 5 minute timer"). With neither, it means the only timer there
//!   is. When several fit, nothing is done: [`TimerError::Ambiguous`] (a wrong timer
//!   cancelled is worse than a question). A status request reports every timer that fits.
//! - A timer that runs out (found by [`Timers::tick`]) rings until [`Timers::stop_ringing`]
//!   ("stop") or for at most the ring limit given to [`Timers::new`]; then it is gone.
//! - At most [`MAX_TIMERS`] at once, each at most [`MAX_DURATION`] long, so a misheard
//!   "set a timer for 9000 hours" cannot grow the list without bound.
//! - Every change gives [`TimerEvent`]s, in order, for `hearth/<site>/timer`;
//!   [`Timers::list`] is the state for the retained `hearth/<site>/timers`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::home::fold;
use crate::intent::SlotValue;

/// Most timers at once.
pub const MAX_TIMERS: usize = 20;
/// Longest timer (a day).
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// Which timer a request means: by name and/or by the length it was started with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    /// The timer's name as said ("pizza").
    pub name: Option<String>,
    /// The length it was started with ("the 5 minute timer").
    pub started: Option<Duration>,
}

impl Selector {
    fn is_empty(&self) -> bool {
        self.name.is_none() && self.started.is_none()
    }

    fn fits(&self, timer: &Timer) -> bool {
        self.name.as_ref().is_none_or(|n| timer.name.as_deref().is_some_and(|t| fold(t) == fold(n)))
            && self.started.is_none_or(|d| d == timer.total_at_start)
    }
}

/// What to do with the timers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerRequest {
    /// Start a timer of this length, maybe named.
    Start {
        /// Its name, if one was said.
        name: Option<String>,
        /// How long it runs.
        duration: Duration,
    },
    /// Cancel one timer.
    Cancel(Selector),
    /// Cancel every timer.
    CancelAll,
    /// How long is left on the timers that fit.
    Status(Selector),
    /// Pause one timer.
    Pause(Selector),
    /// Let a paused timer run on.
    Unpause(Selector),
    /// Add time to one timer.
    Increase(Selector, Duration),
    /// Take time off one timer (to zero at most: it then rings).
    Decrease(Selector, Duration),
}

/// Slots `hours`, `minutes`, `seconds` (or with `prefix`, `start_hours`, ...) as a length.
fn duration_of(slots: &BTreeMap<String, SlotValue>, prefix: &str) -> Option<Duration> {
    let mut seconds = 0.0;
    let mut any = false;
    for (slot, factor) in [("hours", 3600.0), ("minutes", 60.0), ("seconds", 1.0)] {
        if let Some(n) = slots.get(&format!("{prefix}{slot}")).and_then(SlotValue::as_number) {
            seconds += n * factor;
            any = true;
        }
    }
    (any && seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds.min(1e9)))
}

impl TimerRequest {
    /// The request a recognised timer intent makes, with Home Assistant's slot names; `None`
    /// for other intents and for a start or change without a length.
    pub fn from_intent(intent: &str, slots: &BTreeMap<String, SlotValue>) -> Option<TimerRequest> {
        let selector = || Selector {
            name: match slots.get("name") {
                Some(SlotValue::Text(t)) if !t.trim().is_empty() => Some(t.trim().to_string()),
                _ => None,
            },
            started: duration_of(slots, "start_"),
        };
        Some(match intent {
            "HassStartTimer" => TimerRequest::Start { name: selector().name, duration: duration_of(slots, "")? },
            "HassCancelTimer" => TimerRequest::Cancel(selector()),
            "HassCancelAllTimers" => TimerRequest::CancelAll,
            "HassTimerStatus" => TimerRequest::Status(selector()),
            "HassPauseTimer" => TimerRequest::Pause(selector()),
            "HassUnpauseTimer" => TimerRequest::Unpause(selector()),
            "HassIncreaseTimer" => TimerRequest::Increase(selector(), duration_of(slots, "")?),
            "HassDecreaseTimer" => TimerRequest::Decrease(selector(), duration_of(slots, "")?),
            _ => return None,
        })
    }
}

/// Why a request did nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimerError {
    /// No timer fits the request.
    #[error("no timer {}", describe(.0))]
    NotFound(Selector),
    /// Several timers fit and the request is for one.
    #[error("{count} timers fit {}; say which one by its name or length", describe(.selector))]
    Ambiguous {
        /// What was said.
        selector: Selector,
        /// How many fit.
        count: usize,
    },
    /// A timer of no length, or longer than [`MAX_DURATION`].
    #[error("a timer must run between one second and {} hours", MAX_DURATION.as_secs() / 3600)]
    BadDuration,
    /// [`MAX_TIMERS`] are running already.
    #[error("{MAX_TIMERS} timers are set already; cancel one first")]
    TooMany,
    /// Pausing a paused timer, or letting a running one run on.
    #[error("the timer is already {0}")]
    Already(&'static str),
}

fn describe(selector: &Selector) -> String {
    match (&selector.name, selector.started) {
        (None, None) => "is set".into(),
        (Some(n), None) => format!("named {n:?}"),
        (None, Some(d)) => format!("of {}", crate::config::show_duration(d)),
        (Some(n), Some(d)) => format!("named {n:?} of {}", crate::config::show_duration(d)),
    }
}

/// Where a timer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerState {
    /// Counting down.
    Running,
    /// Stopped with time left.
    Paused,
    /// Ran out, ringing.
    Ringing,
}

impl TimerState {
    /// As in the MQTT state: `running`, `paused`, `ringing`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerState::Running => "running",
            TimerState::Paused => "paused",
            TimerState::Ringing => "ringing",
        }
    }
}

#[derive(Debug, Clone)]
enum Clock {
    /// Runs out at this instant.
    Running { ends: Instant },
    /// This much was left when it was paused.
    Paused { left: Duration },
    /// Ran out at this instant.
    Ringing { since: Instant },
}

#[derive(Debug, Clone)]
struct Timer {
    id: u64,
    name: Option<String>,
    /// The length it was started with (what "the 5 minute timer" means).
    total_at_start: Duration,
    /// The length with every change added.
    total: Duration,
    clock: Clock,
}

impl Timer {
    fn left(&self, now: Instant) -> Duration {
        match self.clock {
            Clock::Running { ends } => ends.saturating_duration_since(now),
            Clock::Paused { left } => left,
            Clock::Ringing { .. } => Duration::ZERO,
        }
    }

    fn state(&self) -> TimerState {
        match self.clock {
            Clock::Running { .. } => TimerState::Running,
            Clock::Paused { .. } => TimerState::Paused,
            Clock::Ringing { .. } => TimerState::Ringing,
        }
    }

    fn info(&self, now: Instant) -> TimerInfo {
        TimerInfo {
            id: self.id,
            name: self.name.clone(),
            total: self.total,
            started_with: self.total_at_start,
            left: self.left(now),
            state: self.state(),
        }
    }
}

/// One timer as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerInfo {
    /// Unique while Hearth runs.
    pub id: u64,
    /// Its name, if one was said.
    pub name: Option<String>,
    /// Its whole length, changes included.
    pub total: Duration,
    /// The length it was started with.
    pub started_with: Duration,
    /// Time left.
    pub left: Duration,
    /// Running, paused or ringing.
    pub state: TimerState,
}

/// Whole seconds, rounded up: a timer with 0.2 s left still has a second left.
fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl TimerInfo {
    /// `{"id", "name", "seconds_total", "seconds_left", "state"}`, an entry of the retained
    /// `hearth/<site>/timers` list.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "seconds_total": whole_seconds(self.total),
            "seconds_left": whole_seconds(self.left),
            "state": self.state.as_str(),
        })
    }
}

/// What happened to a timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Started.
    Started,
    /// Ran out (it rings now).
    Finished,
    /// Cancelled, or stopped ringing.
    Cancelled,
    /// Paused.
    Paused,
    /// Runs on after a pause.
    Resumed,
    /// Time added or taken off.
    Changed,
}

impl EventKind {
    /// The `event` value on `hearth/<site>/timer`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Started => "started",
            EventKind::Finished => "finished",
            EventKind::Cancelled => "cancelled",
            EventKind::Paused => "paused",
            EventKind::Resumed => "resumed",
            EventKind::Changed => "changed",
        }
    }
}

/// One change, with the timer as it is after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerEvent {
    /// What happened.
    pub kind: EventKind,
    /// The timer.
    pub timer: TimerInfo,
}

impl TimerEvent {
    /// `{"event", "id", "name", "seconds_total", "seconds_left"}` for `hearth/<site>/timer`.
    pub fn to_json(&self) -> Value {
        json!({
            "event": self.kind.as_str(),
            "id": self.timer.id,
            "name": self.timer.name,
            "seconds_total": whole_seconds(self.timer.total),
            "seconds_left": whole_seconds(self.timer.left),
        })
    }
}

/// What a request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Timers changed; the events say how.
    Changed(Vec<TimerEvent>),
    /// The timers a status request asked about (none: there are none that fit).
    Status(Vec<TimerInfo>),
}

/// The timers of one satellite.
#[derive(Debug, Clone)]
pub struct Timers {
    timers: Vec<Timer>,
    next_id: u64,
    ring_limit: Duration,
}

impl Timers {
    /// No timers; a timer that runs out rings for at most `ring_limit` unless stopped.
    pub fn new(ring_limit: Duration) -> Timers {
        Timers { timers: Vec::new(), next_id: 1, ring_limit }
    }

    /// Every timer, in the order they were started.
    pub fn list(&self, now: Instant) -> Vec<TimerInfo> {
        self.timers.iter().map(|t| t.info(now)).collect()
    }

    /// Whether some timer is ringing (then a "stop" without the wake word is listened for).
    pub fn ringing(&self) -> bool {
        self.timers.iter().any(|t| matches!(t.clock, Clock::Ringing { .. }))
    }

    /// When [`Timers::tick`] next has something to do: a timer running out, or a ringing one
    /// reaching the ring limit.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.timers
            .iter()
            .filter_map(|t| match t.clock {
                Clock::Running { ends } => Some(ends),
                Clock::Ringing { since } => Some(since + self.ring_limit),
                Clock::Paused { .. } => None,
            })
            .min()
    }

    /// Timers that ran out by `now` start ringing ([`EventKind::Finished`]); those that rang
    /// for the ring limit are removed ([`EventKind::Cancelled`]).
    pub fn tick(&mut self, now: Instant) -> Vec<TimerEvent> {
        let mut events = Vec::new();
        for t in &mut self.timers {
            if let Clock::Running { ends } = t.clock
                && ends <= now
            {
                t.clock = Clock::Ringing { since: ends };
                events.push(TimerEvent { kind: EventKind::Finished, timer: t.info(now) });
            }
        }
        let limit = self.ring_limit;
        let (done, kept): (Vec<Timer>, Vec<Timer>) = std::mem::take(&mut self.timers)
            .into_iter()
            .partition(|t| matches!(t.clock, Clock::Ringing { since } if since + limit <= now));
        self.timers = kept;
        events.extend(done.iter().map(|t| TimerEvent { kind: EventKind::Cancelled, timer: t.info(now) }));
        events
    }

    /// "Stop": every ringing timer is removed.
    pub fn stop_ringing(&mut self, now: Instant) -> Vec<TimerEvent> {
        let (done, kept): (Vec<Timer>, Vec<Timer>) =
            std::mem::take(&mut self.timers).into_iter().partition(|t| matches!(t.clock, Clock::Ringing { .. }));
        self.timers = kept;
        done.iter().map(|t| TimerEvent { kind: EventKind::Cancelled, timer: t.info(now) }).collect()
    }

    /// The one timer `selector` means (ringing ones are not counted: "stop" is for them).
    fn one(&self, selector: &Selector) -> Result<usize, TimerError> {
        let fits: Vec<usize> = (0..self.timers.len())
            .filter(|&i| !matches!(self.timers[i].clock, Clock::Ringing { .. }) && selector.fits(&self.timers[i]))
            .collect();
        match fits.len() {
            0 => Err(TimerError::NotFound(selector.clone())),
            1 => Ok(fits[0]),
            count => Err(TimerError::Ambiguous { selector: selector.clone(), count }),
        }
    }

    /// Carries out `request` at `now`.
    pub fn apply(&mut self, request: &TimerRequest, now: Instant) -> Result<Applied, TimerError> {
        let event = |kind, t: &Timer| Applied::Changed(vec![TimerEvent { kind, timer: t.info(now) }]);
        match request {
            TimerRequest::Start { name, duration } => {
                if duration.is_zero() || *duration > MAX_DURATION {
                    return Err(TimerError::BadDuration);
                }
                if self.timers.len() >= MAX_TIMERS {
                    return Err(TimerError::TooMany);
                }
                let timer = Timer {
                    id: self.next_id,
                    name: name.clone(),
                    total_at_start: *duration,
                    total: *duration,
                    clock: Clock::Running { ends: now + *duration },
                };
                self.next_id += 1;
                let applied = event(EventKind::Started, &timer);
                self.timers.push(timer);
                Ok(applied)
            }
            TimerRequest::Cancel(selector) => {
                let i = self.one(selector)?;
                let timer = self.timers.remove(i);
                Ok(event(EventKind::Cancelled, &timer))
            }
            TimerRequest::CancelAll => {
                let all = std::mem::take(&mut self.timers);
                Ok(Applied::Changed(
                    all.iter().map(|t| TimerEvent { kind: EventKind::Cancelled, timer: t.info(now) }).collect(),
                ))
            }
            TimerRequest::Status(selector) => {
                let fits = self.timers.iter().filter(|t| selector.is_empty() || selector.fits(t));
                Ok(Applied::Status(fits.map(|t| t.info(now)).collect()))
            }
            TimerRequest::Pause(selector) => {
                let i = self.one(selector)?;
                let t = &mut self.timers[i];
                let Clock::Running { ends } = t.clock else { return Err(TimerError::Already("paused")) };
                t.clock = Clock::Paused { left: ends.saturating_duration_since(now) };
                Ok(event(EventKind::Paused, t))
            }
            TimerRequest::Unpause(selector) => {
                let i = self.one(selector)?;
                let t = &mut self.timers[i];
                let Clock::Paused { left } = t.clock else { return Err(TimerError::Already("running")) };
                t.clock = Clock::Running { ends: now + left };
                Ok(event(EventKind::Resumed, t))
            }
            TimerRequest::Increase(selector, by) | TimerRequest::Decrease(selector, by) => {
                let add = matches!(request, TimerRequest::Increase(..));
                let i = self.one(selector)?;
                let t = &mut self.timers[i];
                let left = t.left(now);
                let new_left = if add { left + *by } else { left.saturating_sub(*by) };
                if add && t.total + *by > MAX_DURATION {
                    return Err(TimerError::BadDuration);
                }
                t.total = if add { t.total + *by } else { t.total.saturating_sub(left - new_left) };
                t.clock = match t.clock {
                    // Taken down to nothing it rings at the next tick, paused or not.
                    Clock::Paused { .. } if !new_left.is_zero() => Clock::Paused { left: new_left },
                    _ => Clock::Running { ends: now + new_left },
                };
                Ok(event(EventKind::Changed, t))
            }
        }
    }
}

#[cfg(test)]
mod tests;
