//! MQTT commands for an action on one entity, following Home Assistant's MQTT integration:
//! the same topics, payloads, scaling, rounding and defaults Home Assistant uses when a key is
//! absent, so a device behaves as it does when commanded from Home Assistant.
//!
//! Only the simplest command templates (`{{ value }}`, `{{ value | int }}`) can be rendered
//! without Jinja; an entity with any other template for the needed command is reported as
//! unsupported rather than sent a guess.
//!
//! The guard lives here too. Unlocking a lock and opening a garage door or gate (the guarded
//! actions) are judged by the action asked for, never by payload text: they are built only with
//! a [`Permit`] for that one entity, which only the registry issues. And every other command to
//! a guarded entity is checked for the guarded effect: a "lock" whose payload is the unlock
//! payload (or spelled "UNLOCK"), a "close" that publishes "OPEN", a "closed" position that is
//! the open one, is refused ([`Danger`]).

use serde_json::Value;

use super::names::Escaped;
use super::{Entity, Kind};

/// What to do with an entity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Action {
    /// Turn on (lights, switches, fans, media players, climate).
    TurnOn,
    /// Turn off.
    TurnOff,
    /// Light brightness in percent, 0–100 (0 turns the light off, as in Home Assistant).
    Brightness(u8),
    /// Cover or valve position in percent, 0 (closed) – 100 (open).
    Position(u8),
    /// Climate target temperature in degrees.
    Temperature(f64),
    /// Fan speed in percent, 0–100 (0 turns the fan off).
    Percentage(u8),
    /// Lock a lock.
    Lock,
    /// Unlock a lock (refused unless the entity allows it).
    Unlock,
    /// Open a cover or valve (garage doors and gates refused unless allowed).
    Open,
    /// Close a cover or valve.
    Close,
    /// Stop a moving cover or valve.
    Stop,
    /// Activate a scene.
    Activate,
    /// Press a button.
    Press,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Action::TurnOn => f.write_str("turn on"),
            Action::TurnOff => f.write_str("turn off"),
            Action::Brightness(p) => write!(f, "set brightness to {p}%"),
            Action::Position(p) => write!(f, "set position to {p}%"),
            Action::Temperature(t) => write!(f, "set temperature to {t}°"),
            Action::Percentage(p) => write!(f, "set speed to {p}%"),
            Action::Lock => f.write_str("lock"),
            Action::Unlock => f.write_str("unlock"),
            Action::Open => f.write_str("open"),
            Action::Close => f.write_str("close"),
            Action::Stop => f.write_str("stop"),
            Action::Activate => f.write_str("activate"),
            Action::Press => f.write_str("press"),
        }
    }
}

/// One MQTT message to publish (QoS 1, not retained: CONTRACTS.md §3).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MqttCommand {
    /// Topic.
    pub topic: String,
    /// Payload text.
    pub payload: String,
}

impl MqttCommand {
    fn new(topic: impl Into<String>, payload: impl Into<String>) -> MqttCommand {
        MqttCommand { topic: topic.into(), payload: payload.into() }
    }
}

/// Why no command was built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// A guarded action the user has not allowed for this entity.
    #[error("{reason}")]
    Refused {
        /// What was refused and how to allow it.
        reason: String,
    },
    /// The entity cannot do this (kind, or a missing discovery key).
    #[error("{} cannot {action}: {why}", Escaped(.entity))]
    Unsupported {
        /// Entity name.
        entity: String,
        /// The action.
        action: String,
        /// What is missing.
        why: String,
    },
}

impl CommandError {
    fn unsupported(entity: &Entity, action: Action, why: impl Into<String>) -> CommandError {
        CommandError::Unsupported { entity: entity.name.clone(), action: action.to_string(), why: why.into() }
    }
}

/// Whether the guarded action of one entity (unlock a lock, open a garage door or gate) may be
/// done by voice. Issued by the registry ([`super::EntityRegistry::commands`]), which alone
/// sees every entity and the allow-lists; nothing else can build commands.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Permit {
    /// Allowed for this entity.
    Allowed,
    /// Not allowed: what to say, naming the entity, why, and how to allow it.
    Refused(String),
}

/// The MQTT messages Home Assistant would publish for `action` on `entity`, in order; the
/// guarded action only with `permit` [`Permit::Allowed`].
pub(super) fn commands(entity: &Entity, action: Action, permit: &Permit) -> Result<Vec<MqttCommand>, CommandError> {
    let b = Builder { e: entity, action, permit };
    let messages = b.build()?;
    b.check_effect(&messages)?;
    Ok(messages)
}

/// The guarded effect of an entity, as messages: what its guarded action publishes, which no
/// other command may publish. Locks (unlock, and "open" when it has `payload_open`) and garage
/// doors and gates (open, and positions other than closed).
#[derive(Debug, Clone)]
pub(super) struct Danger {
    /// The guarded action's own messages, rendered as they would be published.
    messages: Vec<MqttCommand>,
    /// Topics on which a payload spelled like the guarded action's default reads as it.
    word_topics: Vec<String>,
    /// Those default words, upper case: "UNLOCK" and "OPEN" for locks, "OPEN" for covers.
    words: &'static [&'static str],
    /// `set_position_topic` and the payload of the closed position, when positions are sent as
    /// bare numbers (no template, or `{{ value }}`): any other number there opens.
    closed_position: Option<(String, String)>,
    /// What the guarded action is called ("unlock", "open").
    action: &'static str,
}

impl Danger {
    /// The guarded effect of `entity`, or `None` if it has none (not a lock, garage door or gate).
    pub(super) fn of(entity: &Entity) -> Option<Danger> {
        let permit = Permit::Allowed;
        match entity.kind {
            Kind::Lock => {
                let b = Builder { e: entity, action: Action::Unlock, permit: &permit };
                let mut messages: Vec<MqttCommand> = b.lock_message("payload_unlock", "UNLOCK").into_iter().collect();
                if entity.config.get("payload_open").is_some_and(|v| !v.is_null()) {
                    messages.extend(b.lock_message("payload_open", "OPEN"));
                }
                let word_topics = b.topic("command_topic").into_iter().collect();
                Some(Danger {
                    messages,
                    word_topics,
                    words: &["UNLOCK", "OPEN"],
                    closed_position: None,
                    action: "unlock",
                })
            }
            _ if entity.is_guarded_opening() => {
                let b = Builder { e: entity, action: Action::Open, permit: &permit };
                let mut messages: Vec<MqttCommand> = b.command("payload_open", "OPEN", None).into_iter().collect();
                let mut word_topics: Vec<String> = b.topic("command_topic").into_iter().collect();
                let mut closed_position = None;
                if let Ok(topic) = b.topic("set_position_topic") {
                    let template = entity.config.get("set_position_template").filter(|v| !v.is_null());
                    let open = b.ranged_position(100).to_string();
                    if let Some(payload) = render(template, &open) {
                        messages.push(MqttCommand::new(topic.clone(), payload));
                    }
                    if render(template, "7").as_deref() == Some("7") {
                        closed_position = Some((topic.clone(), b.ranged_position(0).to_string()));
                    }
                    word_topics.push(topic);
                }
                Some(Danger { messages, word_topics, words: &["OPEN"], closed_position, action: "open" })
            }
            _ => None,
        }
    }

    /// Why `message`, sent by another entity, would do this entity's guarded action: it is one
    /// of its messages, its default word ("UNLOCK", any case) on its topic, or a position other
    /// than closed on its position topic. `None` if it would not.
    pub(super) fn threat_from_other(&self, message: &MqttCommand) -> Option<String> {
        if self.messages.contains(message) {
            return Some(format!("is its {} message", self.action));
        }
        let payload = message.payload.trim();
        if self.word_topics.contains(&message.topic) && self.words.iter().any(|w| payload.eq_ignore_ascii_case(w)) {
            return Some(format!("reads as \"{}\" there", self.action));
        }
        if let Some((topic, closed)) = &self.closed_position
            && *topic == message.topic
            && payload.parse::<f64>().is_ok()
            && payload.parse::<f64>().ok() != closed.parse::<f64>().ok()
        {
            return Some("is a position other than closed".to_string());
        }
        None
    }

    /// Why `message`, sent by the entity itself for another action, would do its guarded
    /// action: it is one of the guarded action's messages, or — unless the guarded action is
    /// allowed — it holds the default word ("UNLOCK", "OPEN", any case) on its topic.
    fn threat_from_self(&self, message: &MqttCommand, allowed: bool) -> Option<String> {
        if self.messages.contains(message) {
            return Some(format!("is also its {} message", self.action));
        }
        let spelled = message
            .payload
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|token| self.words.iter().any(|w| token.eq_ignore_ascii_case(w)));
        if !allowed && spelled && self.word_topics.contains(&message.topic) {
            return Some(format!("reads as \"{}\"", self.words.join("\" or \"")));
        }
        None
    }
}

/// Python's `round()`: halves to even. Home Assistant's scaling uses it, so must we.
fn py_round(x: f64) -> i64 {
    x.round_ties_even() as i64
}

/// Formats a float as Python's `str(float)` does for the values that occur here ("21.0", "21.5").
fn py_float(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{x:.1}") } else { format!("{x}") }
}

/// Renders a command template: absent → the value itself; `{{ value }}` (optionally piped
/// through `int`, `float` or `string`) → substituted; anything else → `None` (needs Jinja).
fn render(template: Option<&Value>, value: &str) -> Option<String> {
    let Some(template) = template else { return Some(value.to_string()) };
    let template = template.as_str()?;
    if template.contains("{%") {
        return None;
    }
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}")? + start;
        let expr: String = rest[start + 2..end].chars().filter(|c| !c.is_whitespace()).collect();
        match expr.as_str() {
            "value" | "value|string" => out.push_str(value),
            "value|int" => out.push_str(&value.parse::<f64>().ok()?.trunc().to_string()),
            "value|float" => out.push_str(&py_float(value.parse().ok()?)),
            _ => return None,
        }
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    Some(out)
}

/// Builds the messages for one entity and action.
struct Builder<'a> {
    /// The entity.
    e: &'a Entity,
    /// The action asked for.
    action: Action,
    /// Whether the entity's guarded action is allowed.
    permit: &'a Permit,
}

impl Builder<'_> {
    fn unsupported(&self, why: impl Into<String>) -> CommandError {
        CommandError::unsupported(self.e, self.action, why)
    }

    fn build(&self) -> Result<Vec<MqttCommand>, CommandError> {
        let b = self;
        match self.e.kind {
            Kind::Light => b.light(),
            Kind::Switch | Kind::MediaPlayer => b.switch(),
            Kind::Fan => b.fan(),
            Kind::Cover => b.cover(),
            Kind::Climate => b.climate(),
            Kind::Lock => b.lock(),
            Kind::Scene => match self.action {
                Action::Activate | Action::TurnOn => Ok(vec![b.command("payload_on", "ON", None)?]),
                _ => Err(b.unsupported("scenes can only be activated")),
            },
            Kind::Button => match self.action {
                Action::Press | Action::TurnOn => {
                    Ok(vec![b.command("payload_press", "PRESS", Some("command_template"))?])
                }
                _ => Err(b.unsupported("buttons can only be pressed")),
            },
            Kind::Valve => b.valve(),
            Kind::Sensor | Kind::BinarySensor => Err(b.unsupported("sensors report, they take no commands")),
        }
    }

    /// Whether this command is the entity's guarded action itself (already judged by the
    /// permit, so not checked again for its effect).
    fn is_guarded_action(&self) -> bool {
        match self.e.kind {
            Kind::Lock => matches!(self.action, Action::Unlock | Action::TurnOff),
            Kind::Cover if self.e.is_guarded_opening() => {
                matches!(self.action, Action::Open | Action::TurnOn | Action::Position(1..))
            }
            _ => false,
        }
    }

    /// Refuses messages of any other action that would do the entity's guarded action.
    fn check_effect(&self, messages: &[MqttCommand]) -> Result<(), CommandError> {
        if self.is_guarded_action() {
            return Ok(());
        }
        let Some(danger) = Danger::of(self.e) else { return Ok(()) };
        let allowed = *self.permit == Permit::Allowed;
        for m in messages {
            if let Some(why) = danger.threat_from_self(m, allowed) {
                return Err(CommandError::Refused {
                    reason: format!(
                        "{} (id {:?}): \"{}\" would publish {:?} to {}, which {why}, so Hearth does not send it; fix the payloads in its discovery config",
                        Escaped(&self.e.name),
                        self.e.id,
                        self.action,
                        m.payload,
                        Escaped(&m.topic),
                    ),
                });
            }
        }
        Ok(())
    }

    /// Refuses the guarded action unless the permit allows it.
    fn guard(&self) -> Result<(), CommandError> {
        match self.permit {
            Permit::Allowed => Ok(()),
            Permit::Refused(reason) => Err(CommandError::Refused { reason: reason.clone() }),
        }
    }

    /// A lock message: the payload at `key` (default `default`) through `command_template`.
    fn lock_message(&self, key: &str, default: &str) -> Result<MqttCommand, CommandError> {
        self.command(key, default, Some("command_template"))
    }

    /// A topic key's value, or "unsupported" naming the key.
    fn topic(&self, key: &str) -> Result<String, CommandError> {
        self.e.key(key).filter(|t| !t.is_empty()).ok_or_else(|| self.unsupported(format!("it has no `{key}`")))
    }

    /// A payload key: its value, the default when absent, unsupported when set to null.
    fn payload(&self, key: &str, default: &str) -> Result<String, CommandError> {
        match self.e.config.get(key) {
            None => Ok(default.to_string()),
            Some(Value::Null) => Err(self.unsupported(format!("its `{key}` is null"))),
            Some(_) => Ok(self.e.key(key).unwrap_or_default()),
        }
    }

    /// Publishes `payload` (rendered through `template_key`) to `topic_key`.
    fn publish(&self, topic_key: &str, payload: &str, template_key: Option<&str>) -> Result<MqttCommand, CommandError> {
        let topic = self.topic(topic_key)?;
        let template = template_key.and_then(|k| self.e.config.get(k)).filter(|v| !v.is_null());
        let payload = render(template, payload).ok_or_else(|| {
            self.unsupported(format!("its `{}` needs Home Assistant's template engine", template_key.unwrap_or("")))
        })?;
        Ok(MqttCommand::new(topic, payload))
    }

    /// The payload at `payload_key` (default `default`) to `command_topic`.
    fn command(
        &self,
        payload_key: &str,
        default: &str,
        template_key: Option<&str>,
    ) -> Result<MqttCommand, CommandError> {
        let payload = self.payload(payload_key, default)?;
        self.publish("command_topic", &payload, template_key)
    }

    fn number(&self, key: &str, default: f64) -> f64 {
        match self.e.config.get(key) {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(default),
            Some(Value::String(s)) => s.trim().parse().unwrap_or(default),
            _ => default,
        }
    }

    fn flag(&self, key: &str) -> Option<bool> {
        match self.e.config.get(key)? {
            Value::Bool(b) => Some(*b),
            Value::String(s) => Some(matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "on" | "1")),
            _ => None,
        }
    }

    /// Home Assistant's 0–255 brightness for a percentage (`brightness_pct`).
    fn brightness_255(pct: u8) -> f64 {
        py_round(f64::from(pct) * 255.0 / 100.0) as f64
    }

    fn light(&self) -> Result<Vec<MqttCommand>, CommandError> {
        let schema = self.e.key("schema").unwrap_or_else(|| "default".into()).to_ascii_lowercase();
        match schema.as_str() {
            "json" => self.light_json(),
            "default" | "basic" => self.light_basic(),
            other => Err(self.unsupported(format!("light schema `{other}` needs Home Assistant's template engine"))),
        }
    }

    /// Default ("basic") schema: `payload_on`/`payload_off` on `command_topic`, brightness on
    /// `brightness_command_topic` scaled to `brightness_scale`, ordered by `on_command_type`.
    fn light_basic(&self) -> Result<Vec<MqttCommand>, CommandError> {
        let on_type = self.e.key("on_command_type").unwrap_or_else(|| "last".into());
        let scale = self.number("brightness_scale", 255.0);
        let brightness = |b255: f64| -> Result<MqttCommand, CommandError> {
            let device = py_round(b255 / 255.0 * scale).min(scale as i64).max(1);
            self.publish("brightness_command_topic", &device.to_string(), Some("brightness_command_template"))
        };
        let on = || self.command("payload_on", "ON", None);
        match self.action {
            Action::TurnOff | Action::Brightness(0) => Ok(vec![self.command("payload_off", "OFF", None)?]),
            Action::TurnOn if on_type == "brightness" => Ok(vec![brightness(255.0)?]),
            Action::TurnOn => Ok(vec![on()?]),
            Action::Brightness(pct) => {
                if self.e.key("brightness_command_topic").is_none() {
                    return Err(self.unsupported("it has no `brightness_command_topic` (not dimmable)"));
                }
                let bri = brightness(Self::brightness_255(pct))?;
                Ok(match on_type.as_str() {
                    "first" => vec![on()?, bri],
                    "brightness" => vec![bri],
                    _ => vec![bri, on()?],
                })
            }
            _ => Err(self.unsupported("lights turn on, off, or to a brightness")),
        }
    }

    /// JSON schema: `{"state":"ON","brightness":N}` on `command_topic`, N scaled to
    /// `brightness_scale`. Dimmable unless `brightness = false` or only the `onoff` colour mode.
    fn light_json(&self) -> Result<Vec<MqttCommand>, CommandError> {
        match self.action {
            Action::TurnOff | Action::Brightness(0) => {
                Ok(vec![self.publish("command_topic", r#"{"state":"OFF"}"#, None)?])
            }
            Action::TurnOn => Ok(vec![self.publish("command_topic", r#"{"state":"ON"}"#, None)?]),
            Action::Brightness(pct) => {
                let only_onoff = match self.e.config.get("supported_color_modes") {
                    Some(Value::Array(modes)) => modes.iter().all(|m| m.as_str() == Some("onoff")),
                    _ => false,
                };
                if self.flag("brightness") == Some(false) || only_onoff {
                    return Err(self.unsupported("it is not dimmable"));
                }
                let scale = self.number("brightness_scale", 255.0);
                let device = py_round(Self::brightness_255(pct) * scale / 255.0).max(1);
                let payload = format!(r#"{{"state":"ON","brightness":{device}}}"#);
                Ok(vec![self.publish("command_topic", &payload, None)?])
            }
            _ => Err(self.unsupported("lights turn on, off, or to a brightness")),
        }
    }

    fn switch(&self) -> Result<Vec<MqttCommand>, CommandError> {
        match self.action {
            Action::TurnOn => Ok(vec![self.command("payload_on", "ON", Some("command_template"))?]),
            Action::TurnOff => Ok(vec![self.command("payload_off", "OFF", Some("command_template"))?]),
            _ => Err(self.unsupported("it only turns on and off")),
        }
    }

    /// Fan: `payload_on`/`payload_off`; speed on `percentage_command_topic`, mapped onto
    /// `speed_range_min`..`speed_range_max` (default 1..100) rounding up, as Home Assistant does.
    fn fan(&self) -> Result<Vec<MqttCommand>, CommandError> {
        match self.action {
            Action::TurnOn => Ok(vec![self.command("payload_on", "ON", Some("command_template"))?]),
            Action::TurnOff | Action::Percentage(0) => {
                Ok(vec![self.command("payload_off", "OFF", Some("command_template"))?])
            }
            Action::Percentage(pct) => {
                let min = self.number("speed_range_min", 1.0);
                let max = self.number("speed_range_max", 100.0);
                let value = ((max - min + 1.0) * f64::from(pct) / 100.0).ceil() as i64;
                Ok(vec![self.publish(
                    "percentage_command_topic",
                    &value.to_string(),
                    Some("percentage_command_template"),
                )?])
            }
            _ => Err(self.unsupported("fans turn on, off, or to a speed")),
        }
    }

    /// Position in a device range: `round((open - closed) * pct / 100) + closed`.
    fn ranged_position(&self, pct: u8) -> i64 {
        let open = self.number("position_open", 100.0);
        let closed = self.number("position_closed", 0.0);
        py_round((open - closed) * f64::from(pct) / 100.0) + closed as i64
    }

    /// Refuses opening a garage door or gate unless the permit allows it.
    fn guard_open(&self) -> Result<(), CommandError> {
        if self.e.is_guarded_opening() { self.guard() } else { Ok(()) }
    }

    /// Cover: `payload_open`/`payload_close`/`payload_stop` (OPEN/CLOSE/STOP) on
    /// `command_topic`; position on `set_position_topic` through `set_position_template`.
    fn cover(&self) -> Result<Vec<MqttCommand>, CommandError> {
        match self.action {
            Action::Open | Action::TurnOn => {
                self.guard_open()?;
                Ok(vec![self.command("payload_open", "OPEN", None)?])
            }
            Action::Close | Action::TurnOff => Ok(vec![self.command("payload_close", "CLOSE", None)?]),
            Action::Stop => Ok(vec![self.command("payload_stop", "STOP", None)?]),
            Action::Position(pct) => {
                if pct > 0 {
                    self.guard_open()?;
                }
                let position = self.ranged_position(pct);
                Ok(vec![self.publish("set_position_topic", &position.to_string(), Some("set_position_template"))?])
            }
            _ => Err(self.unsupported("covers open, close, stop, or move to a position")),
        }
    }

    /// Valve: with `reports_position` the position (default open 100, closed 0) is the payload
    /// on `command_topic`; without, `payload_open`/`payload_close` (OPEN/CLOSE) and
    /// `payload_stop` (no default).
    fn valve(&self) -> Result<Vec<MqttCommand>, CommandError> {
        let positional = self.flag("reports_position").unwrap_or(false);
        let tpl = Some("command_template");
        match (self.action, positional) {
            (Action::Open | Action::TurnOn, true) => {
                Ok(vec![self.publish("command_topic", &self.ranged_position(100).to_string(), tpl)?])
            }
            (Action::Close | Action::TurnOff, true) => {
                Ok(vec![self.publish("command_topic", &self.ranged_position(0).to_string(), tpl)?])
            }
            (Action::Position(pct), true) => {
                Ok(vec![self.publish("command_topic", &self.ranged_position(pct).to_string(), tpl)?])
            }
            (Action::Position(_), false) => Err(self.unsupported("it does not report a position (`reports_position`)")),
            (Action::Open | Action::TurnOn, false) => Ok(vec![self.command("payload_open", "OPEN", tpl)?]),
            (Action::Close | Action::TurnOff, false) => Ok(vec![self.command("payload_close", "CLOSE", tpl)?]),
            (Action::Stop, _) => match self.e.key("payload_stop") {
                Some(stop) => Ok(vec![self.publish("command_topic", &stop, tpl)?]),
                None => Err(self.unsupported("it has no `payload_stop`")),
            },
            _ => Err(self.unsupported("valves open, close, stop, or move to a position")),
        }
    }

    /// Climate: target temperature on `temperature_command_topic` (within `min_temp`..`max_temp`,
    /// default 7..35); on/off through `power_command_topic`, else `mode_command_topic`
    /// ("heat"/"off").
    fn climate(&self) -> Result<Vec<MqttCommand>, CommandError> {
        match self.action {
            Action::Temperature(t) => {
                let (min, max) = (self.number("min_temp", 7.0), self.number("max_temp", 35.0));
                if !(min..=max).contains(&t) {
                    return Err(self.unsupported(format!(
                        "{} is outside its range {}–{}",
                        py_float(t),
                        py_float(min),
                        py_float(max)
                    )));
                }
                Ok(vec![self.publish(
                    "temperature_command_topic",
                    &py_float(t),
                    Some("temperature_command_template"),
                )?])
            }
            Action::TurnOn | Action::TurnOff => {
                let on = self.action == Action::TurnOn;
                if self.e.key("power_command_topic").is_some() {
                    let payload =
                        if on { self.payload("payload_on", "ON")? } else { self.payload("payload_off", "OFF")? };
                    return Ok(vec![self.publish("power_command_topic", &payload, Some("power_command_template"))?]);
                }
                let mode = if on { "heat" } else { "off" };
                let modes_ok = match self.e.config.get("modes") {
                    Some(Value::Array(modes)) => modes.iter().any(|m| m.as_str() == Some(mode)),
                    _ => true,
                };
                if !modes_ok {
                    return Err(self.unsupported(format!("its `modes` do not include \"{mode}\"")));
                }
                Ok(vec![self.publish("mode_command_topic", mode, Some("mode_command_template"))?])
            }
            _ => Err(self.unsupported("thermostats take a temperature, or turn on and off")),
        }
    }

    /// Lock: `payload_lock`/`payload_unlock` (LOCK/UNLOCK) on `command_topic`.
    fn lock(&self) -> Result<Vec<MqttCommand>, CommandError> {
        match self.action {
            Action::Lock | Action::TurnOn => Ok(vec![self.lock_message("payload_lock", "LOCK")?]),
            Action::Unlock | Action::TurnOff => {
                self.guard()?;
                let unlock = self.lock_message("payload_unlock", "UNLOCK")?;
                if self.lock_message("payload_lock", "LOCK").is_ok_and(|lock| lock == unlock) {
                    return Err(CommandError::Refused {
                        reason: format!(
                            "{} (id {:?}): its unlock message {:?} is also its lock message, so Hearth cannot tell them apart and sends neither; fix payload_lock/payload_unlock in its discovery config",
                            Escaped(&self.e.name),
                            self.e.id,
                            unlock.payload
                        ),
                    });
                }
                Ok(vec![unlock])
            }
            _ => Err(self.unsupported("locks lock and unlock")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entity(kind: Kind, config: Value) -> Entity {
        let mut e = Entity::new("x", "Thing", kind);
        e.config = super::super::normalize_discovery(config.as_object().unwrap());
        e
    }

    /// Not allowed to unlock or open.
    fn off() -> Permit {
        Permit::Refused("off".into())
    }

    fn commands(e: &Entity, a: Action) -> Result<Vec<MqttCommand>, CommandError> {
        super::commands(e, a, &off())
    }

    fn cmds(e: &Entity, a: Action) -> Vec<(String, String)> {
        commands(e, a).unwrap().into_iter().map(|c| (c.topic, c.payload)).collect()
    }

    fn allowed(e: &Entity, a: Action) -> Result<Vec<(String, String)>, CommandError> {
        Ok(super::commands(e, a, &Permit::Allowed)?.into_iter().map(|c| (c.topic, c.payload)).collect())
    }

    fn refused(result: Result<Vec<MqttCommand>, CommandError>) -> String {
        match result {
            Err(CommandError::Refused { reason }) => reason,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn one(topic: &str, payload: &str) -> Vec<(String, String)> {
        vec![(topic.to_string(), payload.to_string())]
    }

    #[test]
    fn python_rounding_and_floats() {
        assert_eq!(py_round(76.5), 76);
        assert_eq!(py_round(127.5), 128);
        assert_eq!(py_round(2.5), 2);
        assert_eq!(py_float(21.0), "21.0");
        assert_eq!(py_float(21.5), "21.5");
    }

    #[test]
    fn templates() {
        assert_eq!(render(None, "5").as_deref(), Some("5"));
        assert_eq!(render(Some(&json!("{{ value }}")), "5").as_deref(), Some("5"));
        assert_eq!(render(Some(&json!("{\"pos\": {{value|int}} }")), "50").as_deref(), Some("{\"pos\": 50 }"));
        assert_eq!(render(Some(&json!("{{ value * 2 }}")), "5"), None);
        assert_eq!(render(Some(&json!("{% if value %}1{% endif %}")), "5"), None);
    }

    #[test]
    fn light_default_schema() {
        let plain = entity(Kind::Light, json!({"cmd_t": "l/set"}));
        assert_eq!(cmds(&plain, Action::TurnOn), one("l/set", "ON"));
        assert_eq!(cmds(&plain, Action::TurnOff), one("l/set", "OFF"));
        assert!(matches!(commands(&plain, Action::Brightness(50)), Err(CommandError::Unsupported { .. })));

        let dim = entity(Kind::Light, json!({"cmd_t": "l/set", "bri_cmd_t": "l/bri", "pl_on": "1", "pl_off": "0"}));
        assert_eq!(
            cmds(&dim, Action::Brightness(50)),
            vec![("l/bri".into(), "128".into()), ("l/set".into(), "1".into())]
        );
        assert_eq!(
            cmds(&dim, Action::Brightness(30)),
            vec![("l/bri".into(), "76".into()), ("l/set".into(), "1".into())]
        );
        assert_eq!(cmds(&dim, Action::Brightness(0)), one("l/set", "0"));

        let scaled = entity(
            Kind::Light,
            json!({"command_topic": "l/set", "brightness_command_topic": "l/bri", "brightness_scale": 100, "on_command_type": "first"}),
        );
        assert_eq!(
            cmds(&scaled, Action::Brightness(50)),
            vec![("l/set".into(), "ON".into()), ("l/bri".into(), "50".into())]
        );
        assert_eq!(
            cmds(&scaled, Action::Brightness(1)),
            vec![("l/set".into(), "ON".into()), ("l/bri".into(), "1".into())]
        );

        let bri_only = entity(
            Kind::Light,
            json!({"command_topic": "l/set", "brightness_command_topic": "l/bri", "on_command_type": "brightness"}),
        );
        assert_eq!(cmds(&bri_only, Action::TurnOn), one("l/bri", "255"));
        assert_eq!(cmds(&bri_only, Action::Brightness(100)), one("l/bri", "255"));
        assert_eq!(cmds(&bri_only, Action::TurnOff), one("l/set", "OFF"));

        let template = entity(
            Kind::Light,
            json!({"command_topic": "l/set", "brightness_command_topic": "l/bri", "brightness_command_template": "{{ value | int }}"}),
        );
        assert_eq!(cmds(&template, Action::Brightness(100))[0].1, "255");
        let jinja = entity(Kind::Light, json!({"command_topic": "t", "schema": "template"}));
        assert!(commands(&jinja, Action::TurnOn).is_err());
        assert!(commands(&plain, Action::Open).is_err());
    }

    #[test]
    fn light_json_schema() {
        let z2m =
            entity(Kind::Light, json!({"schema": "json", "cmd_t": "z2m/k/set", "bri_scl": 254, "brightness": true}));
        assert_eq!(cmds(&z2m, Action::TurnOn), one("z2m/k/set", r#"{"state":"ON"}"#));
        assert_eq!(cmds(&z2m, Action::TurnOff), one("z2m/k/set", r#"{"state":"OFF"}"#));
        assert_eq!(cmds(&z2m, Action::Brightness(50)), one("z2m/k/set", r#"{"state":"ON","brightness":127}"#));
        assert_eq!(cmds(&z2m, Action::Brightness(100)), one("z2m/k/set", r#"{"state":"ON","brightness":254}"#));
        assert_eq!(cmds(&z2m, Action::Brightness(1)), one("z2m/k/set", r#"{"state":"ON","brightness":3}"#));
        assert_eq!(cmds(&z2m, Action::Brightness(0)), one("z2m/k/set", r#"{"state":"OFF"}"#));
        let default_scale = entity(Kind::Light, json!({"schema": "json", "command_topic": "j"}));
        assert_eq!(cmds(&default_scale, Action::Brightness(50)), one("j", r#"{"state":"ON","brightness":128}"#));
        let onoff =
            entity(Kind::Light, json!({"schema": "json", "command_topic": "j", "supported_color_modes": ["onoff"]}));
        assert!(commands(&onoff, Action::Brightness(50)).is_err());
        let no_bri = entity(Kind::Light, json!({"schema": "json", "command_topic": "j", "brightness": false}));
        assert!(commands(&no_bri, Action::Brightness(50)).is_err());
    }

    #[test]
    fn switch_and_media_player() {
        let tasmota = entity(Kind::Switch, json!({"cmd_t": "cmnd/plug/POWER", "pl_on": "ON", "pl_off": "OFF"}));
        assert_eq!(cmds(&tasmota, Action::TurnOn), one("cmnd/plug/POWER", "ON"));
        let custom = entity(Kind::Switch, json!({"command_topic": "s", "payload_on": 1, "payload_off": 0}));
        assert_eq!(cmds(&custom, Action::TurnOff), one("s", "0"));
        let tv = entity(Kind::MediaPlayer, json!({"command_topic": "tv/power"}));
        assert_eq!(cmds(&tv, Action::TurnOn), one("tv/power", "ON"));
        assert!(commands(&tv, Action::Brightness(3)).is_err());
        let no_topic = entity(Kind::Switch, json!({}));
        let err = commands(&no_topic, Action::TurnOn).unwrap_err().to_string();
        assert!(err.contains("command_topic"), "{err}");
    }

    #[test]
    fn fan() {
        let fan = entity(Kind::Fan, json!({"cmd_t": "f/set", "pct_cmd_t": "f/pct"}));
        assert_eq!(cmds(&fan, Action::TurnOn), one("f/set", "ON"));
        assert_eq!(cmds(&fan, Action::Percentage(40)), one("f/pct", "40"));
        assert_eq!(cmds(&fan, Action::Percentage(0)), one("f/set", "OFF"));
        let three =
            entity(Kind::Fan, json!({"cmd_t": "f/set", "pct_cmd_t": "f/spd", "spd_rng_min": 1, "spd_rng_max": 3}));
        assert_eq!(cmds(&three, Action::Percentage(50)), one("f/spd", "2"));
        assert_eq!(cmds(&three, Action::Percentage(10)), one("f/spd", "1"));
        assert_eq!(cmds(&three, Action::Percentage(100)), one("f/spd", "3"));
        let on_off = entity(Kind::Fan, json!({"cmd_t": "f/set"}));
        assert!(commands(&on_off, Action::Percentage(50)).is_err());
    }

    #[test]
    fn cover() {
        let blind = entity(Kind::Cover, json!({"cmd_t": "b/set", "set_pos_t": "b/pos", "dev_cla": "blind"}));
        assert_eq!(cmds(&blind, Action::Open), one("b/set", "OPEN"));
        assert_eq!(cmds(&blind, Action::Close), one("b/set", "CLOSE"));
        assert_eq!(cmds(&blind, Action::Stop), one("b/set", "STOP"));
        assert_eq!(cmds(&blind, Action::Position(40)), one("b/pos", "40"));
        let inverted = entity(
            Kind::Cover,
            json!({"command_topic": "s/set", "payload_open": "UP", "payload_close": "DOWN", "payload_stop": null,
                   "set_position_topic": "s/pos", "position_open": 0, "position_closed": 255}),
        );
        assert_eq!(cmds(&inverted, Action::Open), one("s/set", "UP"));
        assert_eq!(cmds(&inverted, Action::Position(50)), one("s/pos", "127"));
        assert!(commands(&inverted, Action::Stop).is_err(), "payload_stop: null means no stop");
        let no_pos = entity(Kind::Cover, json!({"command_topic": "c"}));
        assert!(commands(&no_pos, Action::Position(50)).is_err());
    }

    #[test]
    fn garage_door_needs_permission() {
        let garage = entity(
            Kind::Cover,
            json!({"command_topic": "g/set", "device_class": "garage", "set_position_topic": "g/pos"}),
        );
        assert!(matches!(commands(&garage, Action::Open), Err(CommandError::Refused { .. })));
        assert!(matches!(commands(&garage, Action::Position(20)), Err(CommandError::Refused { .. })));
        assert_eq!(cmds(&garage, Action::Close), one("g/set", "CLOSE"));
        assert_eq!(cmds(&garage, Action::Position(0)), one("g/pos", "0"));
        assert_eq!(cmds(&garage, Action::Stop), one("g/set", "STOP"));
        assert_eq!(allowed(&garage, Action::Open).unwrap(), one("g/set", "OPEN"));
        assert_eq!(allowed(&garage, Action::Position(20)).unwrap(), one("g/pos", "20"));
        for class in ["gate", "Garage", " GATE "] {
            let gate = entity(Kind::Cover, json!({"command_topic": "g/set", "device_class": class}));
            assert_eq!(refused(commands(&gate, Action::Open)), "off", "{class:?}");
        }
    }

    /// Issue 18, case 7: "close the gate" must not open a gate whose close payload is "OPEN".
    #[test]
    fn issue_18_close_that_opens_is_refused() {
        let swapped = entity(Kind::Cover, json!({"cmd_t": "gate/set", "dev_cla": "gate", "pl_cls": "OPEN"}));
        let why = refused(commands(&swapped, Action::Close));
        assert!(why.contains("\"OPEN\"") && why.contains("gate/set") && why.contains("open message"), "{why}");
        assert!(allowed(&swapped, Action::Close).is_err(), "equal to its open payload: refused even when allowed");
        assert!(commands(&swapped, Action::TurnOff).is_err());
        // Both swapped: "close" spelled OPEN reads as open; allowed covers may be wired inverted.
        let both =
            entity(Kind::Cover, json!({"cmd_t": "g/set", "dev_cla": "garage", "pl_open": "CLOSE", "pl_cls": "open"}));
        assert!(refused(commands(&both, Action::Close)).contains("reads as"));
        assert_eq!(allowed(&both, Action::Close).unwrap(), one("g/set", "open"));
        let json_swap = entity(
            Kind::Cover,
            json!({"cmd_t": "g/set", "dev_cla": "garage", "pl_open": "{\"state\":\"CLOSE\"}", "pl_cls": "{\"state\":\"OPEN\"}"}),
        );
        assert!(commands(&json_swap, Action::Close).is_err());
        // Stop that opens.
        let stop = entity(Kind::Cover, json!({"cmd_t": "g/set", "dev_cla": "garage", "pl_stop": "OPEN"}));
        assert!(commands(&stop, Action::Stop).is_err());
        // A closed position that is the open one (range of nothing, or a template that ignores it).
        let flat = entity(
            Kind::Cover,
            json!({"cmd_t": "g/set", "dev_cla": "garage", "set_pos_t": "g/pos", "pos_open": 100, "pos_clsd": 100}),
        );
        assert!(refused(commands(&flat, Action::Position(0))).contains("g/pos"));
        let fixed = entity(
            Kind::Cover,
            json!({"cmd_t": "g/set", "dev_cla": "garage", "set_pos_t": "g/pos", "set_pos_tpl": "{\"position\": 100}"}),
        );
        assert!(commands(&fixed, Action::Position(0)).is_err());
        // Inverted but honest ranges close fine.
        let inverted = entity(
            Kind::Cover,
            json!({"cmd_t": "g/set", "dev_cla": "garage", "set_pos_t": "g/pos", "pos_open": 0, "pos_clsd": 255}),
        );
        assert_eq!(cmds(&inverted, Action::Position(0)), one("g/pos", "255"));
        assert_eq!(cmds(&inverted, Action::Close), one("g/set", "CLOSE"));
        // Blinds are not guarded: their payloads are theirs to choose.
        let blind = entity(Kind::Cover, json!({"cmd_t": "b/set", "pl_cls": "OPEN"}));
        assert_eq!(cmds(&blind, Action::Close), one("b/set", "OPEN"));
    }

    #[test]
    fn climate() {
        let trv =
            entity(Kind::Climate, json!({"temp_cmd_t": "c/temp", "mode_cmd_t": "c/mode", "modes": ["off", "heat"]}));
        assert_eq!(cmds(&trv, Action::Temperature(21.0)), one("c/temp", "21.0"));
        assert_eq!(cmds(&trv, Action::Temperature(21.5)), one("c/temp", "21.5"));
        assert_eq!(cmds(&trv, Action::TurnOn), one("c/mode", "heat"));
        assert_eq!(cmds(&trv, Action::TurnOff), one("c/mode", "off"));
        assert!(commands(&trv, Action::Temperature(40.0)).is_err());
        let ranged = entity(
            Kind::Climate,
            json!({"temp_cmd_t": "c/temp", "min_temp": 16, "max_temp": 30, "pow_cmd_t": "c/power"}),
        );
        assert!(commands(&ranged, Action::Temperature(12.0)).is_err());
        assert_eq!(cmds(&ranged, Action::TurnOff), one("c/power", "OFF"));
        let cool_only = entity(Kind::Climate, json!({"mode_cmd_t": "c/mode", "modes": ["off", "cool"]}));
        assert!(commands(&cool_only, Action::TurnOn).is_err());
    }

    #[test]
    fn lock_needs_permission_to_unlock() {
        let mut lock = entity(Kind::Lock, json!({"cmd_t": "door/set"}));
        assert_eq!(cmds(&lock, Action::Lock), one("door/set", "LOCK"));
        assert_eq!(refused(commands(&lock, Action::Unlock)), "off");
        assert_eq!(refused(commands(&lock, Action::TurnOff)), "off");
        lock.allow_unlock = true;
        assert_eq!(refused(commands(&lock, Action::Unlock)), "off", "only the registry's permit allows");
        assert_eq!(allowed(&lock, Action::Unlock).unwrap(), one("door/set", "UNLOCK"));
        let custom = entity(Kind::Lock, json!({"cmd_t": "d", "pl_lock": "1", "pl_unlk": "0"}));
        assert_eq!(cmds(&custom, Action::Lock), one("d", "1"));
        let z2m = entity(
            Kind::Lock,
            json!({"cmd_t": "z/set", "pl_lock": "{\"state\":\"LOCK\"}", "pl_unlk": "{\"state\":\"UNLOCK\"}"}),
        );
        assert_eq!(cmds(&z2m, Action::Lock), one("z/set", r#"{"state":"LOCK"}"#));
    }

    /// Issue 18, case 7: "lock the back door" must not unlock a lock whose lock payload is "UNLOCK".
    #[test]
    fn issue_18_lock_that_unlocks_is_refused() {
        let swapped = entity(Kind::Lock, json!({"cmd_t": "door/back/set", "pl_lock": "UNLOCK"}));
        let why = refused(commands(&swapped, Action::Lock));
        assert!(why.contains("\"UNLOCK\"") && why.contains("door/back/set"), "{why}");
        assert!(allowed(&swapped, Action::Lock).is_err(), "equal to its unlock payload: refused even when allowed");
        assert!(commands(&swapped, Action::TurnOn).is_err());
        let equal = entity(Kind::Lock, json!({"cmd_t": "d", "pl_lock": "X", "pl_unlk": "X"}));
        assert!(commands(&equal, Action::Lock).is_err());
        assert!(allowed(&equal, Action::Unlock).is_err(), "unlock that cannot be told from lock");
        let both = entity(Kind::Lock, json!({"cmd_t": "d", "pl_lock": "unlock", "pl_unlk": "LOCK"}));
        assert!(refused(commands(&both, Action::Lock)).contains("reads as"));
        let opens = entity(Kind::Lock, json!({"cmd_t": "d", "pl_lock": "OPEN", "pl_unlk": "U"}));
        assert!(commands(&opens, Action::Lock).is_err(), "OPEN unlatches a lock");
        let template = entity(Kind::Lock, json!({"cmd_t": "d", "cmd_tpl": "UNLOCK"}));
        assert!(commands(&template, Action::Lock).is_err(), "a template that ignores the value");
        let json_swap = entity(Kind::Lock, json!({"cmd_t": "z/set", "pl_lock": "{\"state\":\"UNLOCK\"}"}));
        assert!(commands(&json_swap, Action::Lock).is_err());
    }

    #[test]
    fn danger_from_other_entities() {
        let lock = entity(Kind::Lock, json!({"cmd_t": "door/set", "pl_unlk": "U"}));
        let danger = Danger::of(&lock).unwrap();
        let threat = |topic: &str, payload: &str| danger.threat_from_other(&MqttCommand::new(topic, payload));
        assert!(threat("door/set", "U").is_some());
        assert!(threat("door/set", "unlock").is_some());
        assert!(threat("door/set", "LOCK").is_none());
        assert!(threat("other/set", "U").is_none());
        let garage = entity(Kind::Cover, json!({"cmd_t": "g/set", "dev_cla": "garage", "set_pos_t": "g/pos"}));
        let danger = Danger::of(&garage).unwrap();
        let threat = |topic: &str, payload: &str| danger.threat_from_other(&MqttCommand::new(topic, payload));
        assert!(threat("g/set", "OPEN").is_some());
        assert!(threat("g/pos", "40").is_some());
        assert!(threat("g/pos", "0").is_none());
        assert!(threat("g/set", "{\"light\":\"ON\"}").is_none());
        assert!(Danger::of(&entity(Kind::Cover, json!({"cmd_t": "b"}))).is_none());
        assert!(Danger::of(&entity(Kind::Switch, json!({"cmd_t": "s"}))).is_none());
    }

    #[test]
    fn scene_button_valve_sensor() {
        let scene = entity(Kind::Scene, json!({"cmd_t": "scene/movie"}));
        assert_eq!(cmds(&scene, Action::Activate), one("scene/movie", "ON"));
        assert!(commands(&scene, Action::TurnOff).is_err());
        let button = entity(Kind::Button, json!({"cmd_t": "btn/doorbell"}));
        assert_eq!(cmds(&button, Action::Press), one("btn/doorbell", "PRESS"));
        let valve = entity(Kind::Valve, json!({"cmd_t": "v/set"}));
        assert_eq!(cmds(&valve, Action::Open), one("v/set", "OPEN"));
        assert_eq!(cmds(&valve, Action::Close), one("v/set", "CLOSE"));
        assert!(commands(&valve, Action::Stop).is_err());
        assert!(commands(&valve, Action::Position(50)).is_err());
        let pos_valve = entity(Kind::Valve, json!({"cmd_t": "v/set", "reports_position": true, "pl_stop": "HALT"}));
        assert_eq!(cmds(&pos_valve, Action::Open), one("v/set", "100"));
        assert_eq!(cmds(&pos_valve, Action::Position(30)), one("v/set", "30"));
        assert_eq!(cmds(&pos_valve, Action::Stop), one("v/set", "HALT"));
        let sensor = entity(Kind::Sensor, json!({"stat_t": "s"}));
        assert!(commands(&sensor, Action::TurnOn).is_err());
    }
}
