//! The command outbox: recognised commands waiting for the broker, and the bookkeeping that
//! ties each one to its PUBACK. Like rumqttc's `state.rs` it does no I/O, so every rule is
//! unit-tested without a network.
//!
//! Rules:
//! - A command waits in a bounded queue ([`Outbox::new`]'s `capacity`) while there is no
//!   connection; when a new one arrives and the queue is full, the *oldest* is dropped
//!   ([`DropReason::QueueFull`]): the newest command is the one the person just said.
//! - A command older than its age limit is never handed to the client: it is [`Outcome::Expired`]
//!   (a stale "unlock the door" must not fire minutes later).
//! - A command handed to the client is matched to the packet id rumqttc gives it
//!   (`Outgoing::Publish(pkid)`, in submission order) and is [`Outcome::Published`] on its PUBACK.
//! - A command is written to the broker at most once. When the connection drops, a command
//!   already written (its `Outgoing::Publish` seen) and not acknowledged is *not* sent again:
//!   the broker may well have it, and a second "toggle" or "open" must never follow the first.
//!   It is [`Outcome::Unconfirmed`]. Commands handed to the client but not written yet go back
//!   to the front of the queue in their original order and are sent after reconnecting.
//! - Every command leaves with exactly one [`Outcome`], returned as a [`Settled`] to the caller.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use super::topic::TopicError;

/// What became of one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The broker acknowledged it (PUBACK). Written once, so the broker has it once.
    Published,
    /// Written to the broker once, but the connection dropped before its acknowledgement came;
    /// the broker may or may not have it. Not written again, so it can never run twice.
    Unconfirmed,
    /// Not sent: the broker was unreachable for longer than the command's age limit.
    Expired {
        /// How long it had waited when it was given up.
        waited: Duration,
    },
    /// Not sent, for the reason given.
    Dropped(DropReason),
}

/// Why a command was dropped unsent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The outage queue was full and a newer command took its place.
    QueueFull,
    /// The bridge shut down (or had stopped) before the command could be sent.
    Shutdown,
    /// The broker would refuse the topic (and drop the connection for it), for this reason.
    InvalidTopic(TopicError),
    /// The payload is larger than [`super::MAX_PACKET_SIZE`].
    TooLarge,
    /// The bridge's request channel was full (the bridge task is not keeping up).
    Overloaded,
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DropReason::QueueFull => f.write_str("the outage queue was full and newer commands replaced it"),
            DropReason::Shutdown => f.write_str("the MQTT bridge shut down"),
            DropReason::InvalidTopic(why) => write!(f, "the broker would refuse its topic: {why}"),
            DropReason::TooLarge => f.write_str("its payload is too large"),
            DropReason::Overloaded => f.write_str("the MQTT bridge is overloaded"),
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Published => f.write_str("published"),
            Outcome::Unconfirmed => f.write_str(
                "sent, but the broker connection dropped before the broker confirmed it; not sent again, so it cannot run twice",
            ),
            Outcome::Expired { waited } => {
                write!(f, "expired unsent after {:.1} s without a broker connection", waited.as_secs_f32())
            }
            Outcome::Dropped(reason) => write!(f, "dropped unsent: {reason}"),
        }
    }
}

/// One command to publish (QoS 1, not retained).
#[derive(Debug)]
pub struct Command {
    /// Submission order; restores the original order after a disconnect.
    pub id: u64,
    /// Topic to publish to.
    pub topic: String,
    /// Payload bytes.
    pub payload: Vec<u8>,
    /// When the command was handed to the bridge; the age limit counts from here.
    pub created: Instant,
    /// The command is given up once `created + max_age` has passed unsent.
    pub max_age: Duration,
    /// Where the outcome goes (`None` in unit tests or when nobody listens).
    pub reply: Option<oneshot::Sender<Outcome>>,
}

impl Command {
    /// The instant after which the command may no longer be sent.
    pub fn deadline(&self) -> Instant {
        self.created + self.max_age
    }
}

/// A command that has left the outbox, and how.
#[derive(Debug)]
pub struct Settled {
    /// The command.
    pub command: Command,
    /// What became of it.
    pub outcome: Outcome,
}

/// Something handed to the MQTT client and not yet given a packet id.
#[derive(Debug)]
enum Submitted {
    /// A tracked command.
    Command(Command),
    /// The bridge's own retained messages (status, config, microphone state): not tracked, they
    /// are published again on every connection anyway.
    Internal,
}

/// The outbox; see the module documentation for its rules.
#[derive(Debug)]
pub struct Outbox {
    /// Most commands waiting in `queue` at once.
    capacity: usize,
    /// Most commands handed to the client and not yet acknowledged, so rumqttc's own in-flight
    /// limit (100) is never reached and packet ids never collide in practice.
    window: usize,
    /// Commands waiting to be handed to the client, oldest first.
    queue: VecDeque<Command>,
    /// Publishes handed to the client, waiting for their `Outgoing::Publish(pkid)`, in order.
    submitted: VecDeque<Submitted>,
    /// Commands written to the broker, by packet id, waiting for their PUBACK.
    inflight: HashMap<u16, Command>,
    /// A publish rumqttc is holding back because its packet id was still in use
    /// (`Outgoing::AwaitAck`); it is written when that id is acknowledged.
    collided: Option<(u16, Submitted)>,
}

impl Outbox {
    /// An outbox queueing at most `capacity` commands during an outage and keeping at most
    /// `window` commands unacknowledged at once.
    pub fn new(capacity: usize, window: usize) -> Outbox {
        Outbox {
            capacity: capacity.max(1),
            window: window.max(1),
            queue: VecDeque::new(),
            submitted: VecDeque::new(),
            inflight: HashMap::new(),
            collided: None,
        }
    }

    /// Queues `command`; when the queue is full the oldest waiting command is dropped and
    /// returned.
    pub fn push(&mut self, command: Command) -> Vec<Settled> {
        self.queue.push_back(command);
        self.enforce_capacity()
    }

    /// Removes every waiting command whose age limit has passed at `now`.
    pub fn expire(&mut self, now: Instant) -> Vec<Settled> {
        let mut settled = Vec::new();
        let mut kept = VecDeque::with_capacity(self.queue.len());
        for command in self.queue.drain(..) {
            if now >= command.deadline() {
                let waited = now.saturating_duration_since(command.created);
                settled.push(Settled { command, outcome: Outcome::Expired { waited } });
            } else {
                kept.push_back(command);
            }
        }
        self.queue = kept;
        settled
    }

    /// The next command to hand to the client, if the window allows one and one is waiting and
    /// still young enough at `now` (call [`Outbox::expire`] first). The caller must follow up with
    /// [`Outbox::submitted`] or, if the client would not take it, [`Outbox::unsubmit`].
    pub fn next_ready(&mut self, now: Instant) -> Option<Command> {
        if self.unacknowledged() >= self.window {
            return None;
        }
        let front = self.queue.front()?;
        if now >= front.deadline() {
            return None;
        }
        self.queue.pop_front()
    }

    /// Records that `command` was handed to the client.
    pub fn submitted(&mut self, command: Command) {
        self.submitted.push_back(Submitted::Command(command));
    }

    /// Records that an untracked publish of the bridge's own was handed to the client.
    pub fn submitted_internal(&mut self) {
        self.submitted.push_back(Submitted::Internal);
    }

    /// Puts back a command the client would not take (its request channel was full).
    pub fn unsubmit(&mut self, command: Command) {
        self.queue.push_front(command);
    }

    /// rumqttc wrote the next submitted publish with packet id `pkid`.
    pub fn on_outgoing_publish(&mut self, pkid: u16) {
        let item = match self.collided.take() {
            Some((id, item)) if id == pkid => Some(item),
            other => {
                self.collided = other;
                self.submitted.pop_front()
            }
        };
        if let Some(Submitted::Command(command)) = item {
            self.inflight.insert(pkid, command);
        }
    }

    /// rumqttc is holding the next submitted publish back until `pkid` is acknowledged.
    pub fn on_await_ack(&mut self, pkid: u16) {
        if let Some(item) = self.submitted.pop_front() {
            self.collided = Some((pkid, item));
        }
    }

    /// The broker acknowledged packet `pkid`.
    pub fn on_puback(&mut self, pkid: u16) -> Option<Settled> {
        self.inflight.remove(&pkid).map(|command| Settled { command, outcome: Outcome::Published })
    }

    /// The connection dropped: every command written and not acknowledged is settled
    /// [`Outcome::Unconfirmed`] (never written twice); commands handed to the client but not
    /// written yet go back to the front of the queue in their original order (the queue bound
    /// then drops the oldest, if need be).
    pub fn on_disconnect(&mut self) -> Vec<Settled> {
        let mut written: Vec<Command> = self.inflight.drain().map(|(_, command)| command).collect();
        written.sort_by_key(|command| command.id);
        let mut settled: Vec<Settled> =
            written.into_iter().map(|command| Settled { command, outcome: Outcome::Unconfirmed }).collect();
        let collided = self.collided.take().map(|(_, item)| item);
        let mut back: Vec<Command> = Vec::new();
        for item in self.submitted.drain(..).chain(collided) {
            if let Submitted::Command(command) = item {
                back.push(command);
            }
        }
        back.sort_by_key(|command| command.id);
        for command in back.into_iter().rev() {
            self.queue.push_front(command);
        }
        settled.extend(self.enforce_capacity());
        settled
    }

    /// Empties the outbox at shutdown: every command not written is dropped for `reason`, and
    /// every one written and not acknowledged is [`Outcome::Unconfirmed`].
    pub fn drain(&mut self, reason: DropReason) -> Vec<Settled> {
        let mut settled = self.on_disconnect();
        settled.extend(self.queue.drain(..).map(|command| Settled { command, outcome: Outcome::Dropped(reason) }));
        settled
    }

    /// The earliest age-limit deadline among waiting commands.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.queue.iter().map(Command::deadline).min()
    }

    /// Commands waiting in the queue.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Commands handed to the client and not yet acknowledged.
    pub fn unacknowledged(&self) -> usize {
        let submitted = self.submitted.iter().filter(|s| matches!(s, Submitted::Command(_))).count();
        let collided = usize::from(matches!(self.collided, Some((_, Submitted::Command(_)))));
        self.inflight.len() + submitted + collided
    }

    /// True when no command is waiting or unacknowledged.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.unacknowledged() == 0
    }

    fn enforce_capacity(&mut self) -> Vec<Settled> {
        let mut settled = Vec::new();
        while self.queue.len() > self.capacity {
            if let Some(command) = self.queue.pop_front() {
                settled.push(Settled { command, outcome: Outcome::Dropped(DropReason::QueueFull) });
            }
        }
        settled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The next ready command, handed to the client (not yet written).
    fn hand_over(outbox: &mut Outbox, now: Instant) {
        let command = outbox.next_ready(now).expect("a command is ready");
        outbox.submitted(command);
    }

    fn command(id: u64, created: Instant, max_age: Duration) -> Command {
        Command { id, topic: format!("t/{id}"), payload: id.to_string().into_bytes(), created, max_age, reply: None }
    }

    fn ids(settled: &[Settled]) -> Vec<u64> {
        settled.iter().map(|s| s.command.id).collect()
    }

    const AGE: Duration = Duration::from_secs(30);

    #[test]
    fn full_queue_drops_the_oldest() {
        let now = Instant::now();
        let mut outbox = Outbox::new(2, 4);
        assert!(outbox.push(command(1, now, AGE)).is_empty());
        assert!(outbox.push(command(2, now, AGE)).is_empty());
        let dropped = outbox.push(command(3, now, AGE));
        assert_eq!(ids(&dropped), [1]);
        assert_eq!(dropped[0].outcome, Outcome::Dropped(DropReason::QueueFull));
        assert_eq!(outbox.next_ready(now).unwrap().id, 2);
        assert_eq!(outbox.next_ready(now).unwrap().id, 3);
    }

    #[test]
    fn stale_commands_expire_and_are_never_ready() {
        let start = Instant::now();
        let mut outbox = Outbox::new(8, 4);
        outbox.push(command(1, start, Duration::from_secs(1)));
        outbox.push(command(2, start, Duration::from_secs(60)));
        assert_eq!(outbox.next_deadline(), Some(start + Duration::from_secs(1)));
        let later = start + Duration::from_secs(2);
        // Not expired yet by the caller: the stale head is still not handed out.
        assert!(outbox.next_ready(later).is_none());
        let expired = outbox.expire(later);
        assert_eq!(ids(&expired), [1]);
        assert_eq!(expired[0].outcome, Outcome::Expired { waited: Duration::from_secs(2) });
        assert_eq!(outbox.next_ready(later).unwrap().id, 2);
    }

    #[test]
    fn puback_settles_the_command_with_that_packet_id() {
        let now = Instant::now();
        let mut outbox = Outbox::new(8, 4);
        outbox.push(command(1, now, AGE));
        outbox.push(command(2, now, AGE));
        hand_over(&mut outbox, now);
        outbox.submitted_internal();
        hand_over(&mut outbox, now);
        outbox.on_outgoing_publish(7);
        outbox.on_outgoing_publish(8); // the internal publish
        outbox.on_outgoing_publish(9);
        assert!(outbox.on_puback(8).is_none());
        let s = outbox.on_puback(9).unwrap();
        assert_eq!((s.command.id, s.outcome), (2, Outcome::Published));
        let s = outbox.on_puback(7).unwrap();
        assert_eq!(s.command.id, 1);
        assert!(outbox.is_empty());
    }

    #[test]
    fn disconnect_requeues_unwritten_commands_in_order() {
        let now = Instant::now();
        let mut outbox = Outbox::new(8, 8);
        for id in 1..=4 {
            outbox.push(command(id, now, AGE));
        }
        for _ in 0..3 {
            hand_over(&mut outbox, now);
        }
        outbox.on_outgoing_publish(1); // command 1 written, 2 and 3 only handed to the client
        assert_eq!(outbox.unacknowledged(), 3);
        let settled = outbox.on_disconnect();
        assert_eq!(ids(&settled), [1]);
        assert_eq!(outbox.unacknowledged(), 0);
        let order: Vec<u64> = std::iter::from_fn(|| outbox.next_ready(now)).map(|c| c.id).collect();
        assert_eq!(order, [2, 3, 4]);
    }

    /// Issue #18: a connection that kept dropping made one command reach the device 59 times.
    #[test]
    fn a_written_command_is_never_written_again() {
        let now = Instant::now();
        let mut outbox = Outbox::new(8, 8);
        outbox.push(command(1, now, AGE));
        outbox.push(command(2, now, AGE));
        hand_over(&mut outbox, now);
        outbox.on_outgoing_publish(7);
        hand_over(&mut outbox, now);
        outbox.on_outgoing_publish(8);
        assert_eq!(outbox.on_puback(8).map(|s| s.outcome), Some(Outcome::Published));
        let settled = outbox.on_disconnect();
        assert_eq!(ids(&settled), [1]);
        assert_eq!(settled[0].outcome, Outcome::Unconfirmed);
        assert!(outbox.next_ready(now).is_none(), "nothing left to send again");
        assert!(outbox.is_empty());
        // A late PUBACK for the old session's packet id settles nothing twice.
        assert!(outbox.on_puback(7).is_none());
    }

    #[test]
    fn shutdown_drops_the_unsent_and_reports_the_unconfirmed() {
        let now = Instant::now();
        let mut outbox = Outbox::new(8, 8);
        outbox.push(command(1, now, AGE));
        outbox.push(command(2, now, AGE));
        hand_over(&mut outbox, now);
        outbox.on_outgoing_publish(1);
        let settled = outbox.drain(DropReason::Shutdown);
        let outcomes: Vec<(u64, Outcome)> = settled.into_iter().map(|s| (s.command.id, s.outcome)).collect();
        assert_eq!(outcomes, [(1, Outcome::Unconfirmed), (2, Outcome::Dropped(DropReason::Shutdown))]);
    }

    #[test]
    fn window_limits_unacknowledged_commands() {
        let now = Instant::now();
        let mut outbox = Outbox::new(8, 2);
        for id in 1..=3 {
            outbox.push(command(id, now, AGE));
        }
        hand_over(&mut outbox, now);
        hand_over(&mut outbox, now);
        assert!(outbox.next_ready(now).is_none());
        outbox.on_outgoing_publish(1);
        outbox.on_puback(1).unwrap();
        assert_eq!(outbox.next_ready(now).unwrap().id, 3);
    }

    #[test]
    fn collision_is_matched_when_the_packet_id_frees_up() {
        let now = Instant::now();
        let mut outbox = Outbox::new(8, 8);
        outbox.push(command(1, now, AGE));
        outbox.push(command(2, now, AGE));
        hand_over(&mut outbox, now);
        outbox.on_outgoing_publish(5);
        hand_over(&mut outbox, now);
        outbox.on_await_ack(5); // command 2 wants pkid 5 too
        assert_eq!(outbox.on_puback(5).unwrap().command.id, 1);
        outbox.on_outgoing_publish(5);
        assert_eq!(outbox.on_puback(5).unwrap().command.id, 2);
    }

    #[test]
    fn requeue_after_disconnect_respects_capacity() {
        let now = Instant::now();
        let mut outbox = Outbox::new(2, 8);
        outbox.push(command(1, now, AGE));
        hand_over(&mut outbox, now);
        outbox.push(command(2, now, AGE));
        outbox.push(command(3, now, AGE));
        let dropped = outbox.on_disconnect();
        assert_eq!(ids(&dropped), [1]);
        let drained = outbox.drain(DropReason::Shutdown);
        assert_eq!(ids(&drained), [2, 3]);
        assert!(drained.iter().all(|s| s.outcome == Outcome::Dropped(DropReason::Shutdown)));
    }
}
