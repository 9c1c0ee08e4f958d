//! What Hearth says about itself over MQTT: the topics of one satellite ([`SiteTopics`]), the
//! Home Assistant device-based discovery config ([`device_config`]) and the intent event
//! ([`intent_event_payload`]). Pure functions; the bridge publishes what they build.
//!
//! Discovery keys follow Home Assistant's MQTT discovery documentation: device-based discovery
//! (`<prefix>/device/<id>/config`) with `dev`, `o` (origin), shared availability `avty_t` and the
//! components in `cmps`, each with its platform `p` and a `uniq_id`. The `event` entity takes a
//! JSON object whose `event_type` is one of its `evt_typ`; the other keys become the event's
//! attributes, so automations can read `intent.name` and `intent.slots`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// Payload of the availability topic while Hearth is connected.
pub const ONLINE: &str = "online";
/// Payload of the availability topic once Hearth is gone (also the last will).
pub const OFFLINE: &str = "offline";
/// Switch and binary sensor payload for "on".
pub const ON: &str = "ON";
/// Switch and binary sensor payload for "off".
pub const OFF: &str = "OFF";
/// The one event type of the "Voice command" event entity.
pub const INTENT_EVENT_TYPE: &str = "intent";

/// Every topic one satellite uses, derived once from the site id and the discovery prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteTopics {
    /// Site id as in `[site] id`, used in every topic.
    pub site: String,
    /// Availability: `hearth/<site>/status`, `online`/`offline`, retained, also the last will.
    pub status: String,
    /// Microphone switch commands from Home Assistant: `hearth/<site>/mic/set`.
    pub mic_set: String,
    /// Microphone switch state, retained so it survives restarts: `hearth/<site>/mic/state`.
    pub mic_state: String,
    /// Listening binary sensor: `hearth/<site>/listening`.
    pub listening: String,
    /// Voice command events: `hearth/<site>/intent`.
    pub intent: String,
    /// Timer events (started, finished, …; JSON, not retained): `hearth/<site>/timer`.
    pub timer: String,
    /// The timers there are (JSON list, retained): `hearth/<site>/timers`.
    pub timers: String,
    /// Text to speak (plain, or JSON `{"text", "language"}`): `hearth/<site>/say`.
    pub say: String,
    /// Privacy diagnostics ([`crate::privacy::diagnostic_summary`], JSON, retained):
    /// `hearth/<site>/privacy`.
    pub privacy: String,
    /// Hearth's own device-based discovery config: `<prefix>/device/hearth_<site>/config`.
    pub device_config: String,
    /// Home Assistant's birth/will topic: `<prefix>/status`; `online` means "announce again".
    pub ha_status: String,
}

impl SiteTopics {
    /// The topics of site `site` with Home Assistant discovery prefix `prefix`.
    pub fn new(site: &str, prefix: &str) -> SiteTopics {
        let base = format!("hearth/{site}");
        SiteTopics {
            site: site.to_owned(),
            status: format!("{base}/status"),
            mic_set: format!("{base}/mic/set"),
            mic_state: format!("{base}/mic/state"),
            listening: format!("{base}/listening"),
            intent: format!("{base}/intent"),
            timer: format!("{base}/timer"),
            timers: format!("{base}/timers"),
            say: format!("{base}/say"),
            privacy: format!("{base}/privacy"),
            device_config: format!("{prefix}/device/{}/config", device_id(site)),
            ha_status: format!("{prefix}/status"),
        }
    }
}

/// Home Assistant device identifier of the satellite: `hearth_<site>`.
pub fn device_id(site: &str) -> String {
    format!("hearth_{site}")
}

/// The retained device-based discovery config announcing the satellite: a `switch`
/// "Microphone" (off = muted), a `binary_sensor` "Listening", an `event` "Voice command" and a
/// diagnostic `sensor` "Privacy" (state `status` of the privacy summary, the rest of it as
/// attributes), all available while `hearth/<site>/status` is `online`. `area` becomes the device's
/// suggested area.
pub fn device_config(topics: &SiteTopics, area: Option<&str>) -> String {
    let id = device_id(&topics.site);
    let version = env!("CARGO_PKG_VERSION");
    let mut dev = json!({
        "ids": [id],
        "name": format!("Hearth {}", topics.site),
        "mf": "Hearth",
        "mdl": "Hearth voice satellite",
        "sw": version,
    });
    if let Some(area) = area {
        dev["sa"] = Value::from(area);
    }
    let config = json!({
        "dev": dev,
        "o": { "name": "Hearth", "sw": version },
        "avty_t": topics.status,
        "pl_avail": ONLINE,
        "pl_not_avail": OFFLINE,
        "qos": 1,
        "cmps": {
            "microphone": {
                "p": "switch",
                "name": "Microphone",
                "uniq_id": format!("{id}_microphone"),
                "cmd_t": topics.mic_set,
                "stat_t": topics.mic_state,
                "pl_on": ON,
                "pl_off": OFF,
                "ic": "mdi:microphone",
            },
            "listening": {
                "p": "binary_sensor",
                "name": "Listening",
                "uniq_id": format!("{id}_listening"),
                "stat_t": topics.listening,
                "pl_on": ON,
                "pl_off": OFF,
                "ic": "mdi:account-voice",
            },
            "voice_command": {
                "p": "event",
                "name": "Voice command",
                "uniq_id": format!("{id}_voice_command"),
                "stat_t": topics.intent,
                "evt_typ": [INTENT_EVENT_TYPE],
                "ic": "mdi:comment-processing",
            },
            "privacy": {
                "p": "sensor",
                "name": "Privacy",
                "uniq_id": format!("{id}_privacy"),
                "stat_t": topics.privacy,
                "val_tpl": "{{ value_json.status }}",
                "json_attr_t": topics.privacy,
                "ent_cat": "diagnostic",
                "ic": "mdi:shield-lock",
            },
        },
    });
    config.to_string()
}

/// The payload published to `hearth/<site>/intent` for one recognised command:
/// `{"event_type":"intent","intent":{"name":…,"slots":{…}},"site":…,"time":…,"text":…}`.
///
/// `time` is RFC 3339 UTC with milliseconds. `text` is included only when the caller passes it
/// (the privacy policy decides; this function does not).
pub fn intent_event_payload(
    site: &str,
    intent: &str,
    slots: &Map<String, Value>,
    time: SystemTime,
    text: Option<&str>,
    response: Option<&str>,
) -> String {
    let mut event = json!({
        "event_type": INTENT_EVENT_TYPE,
        "intent": { "name": intent, "slots": slots },
        "site": site,
        "time": rfc3339_utc(time),
    });
    if let Some(text) = text {
        event["text"] = Value::from(text);
    }
    if let Some(response) = response {
        event["response"] = Value::from(response);
    }
    event.to_string()
}

/// `time` as `YYYY-MM-DDTHH:MM:SS.mmmZ` (times before 1970 clamp to the epoch).
pub fn rfc3339_utc(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Proleptic Gregorian date of `days` since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn topics_follow_the_contract() {
        let t = SiteTopics::new("kitchen", "homeassistant");
        assert_eq!(t.status, "hearth/kitchen/status");
        assert_eq!(t.mic_set, "hearth/kitchen/mic/set");
        assert_eq!(t.mic_state, "hearth/kitchen/mic/state");
        assert_eq!(t.listening, "hearth/kitchen/listening");
        assert_eq!(t.intent, "hearth/kitchen/intent");
        assert_eq!(t.privacy, "hearth/kitchen/privacy");
        assert_eq!(t.device_config, "homeassistant/device/hearth_kitchen/config");
        assert_eq!(t.ha_status, "homeassistant/status");
    }

    #[test]
    fn device_config_announces_its_components() {
        let t = SiteTopics::new("kitchen", "ha");
        let v: Value = serde_json::from_str(&device_config(&t, Some("Kitchen"))).unwrap();
        assert_eq!(v["dev"]["ids"], json!(["hearth_kitchen"]));
        assert_eq!(v["dev"]["mf"], "Hearth");
        assert_eq!(v["dev"]["sa"], "Kitchen");
        assert_eq!(v["dev"]["sw"], env!("CARGO_PKG_VERSION"));
        assert_eq!(v["o"]["name"], "Hearth");
        assert_eq!(v["avty_t"], "hearth/kitchen/status");
        let cmps = v["cmps"].as_object().unwrap();
        assert_eq!(cmps.len(), 4);
        let mic = &cmps["microphone"];
        assert_eq!(mic["p"], "switch");
        assert_eq!(mic["name"], "Microphone");
        assert_eq!(mic["cmd_t"], "hearth/kitchen/mic/set");
        assert_eq!(mic["stat_t"], "hearth/kitchen/mic/state");
        assert_eq!((mic["pl_on"].as_str(), mic["pl_off"].as_str()), (Some("ON"), Some("OFF")));
        assert_eq!(cmps["listening"]["p"], "binary_sensor");
        assert_eq!(cmps["listening"]["stat_t"], "hearth/kitchen/listening");
        assert_eq!(cmps["voice_command"]["p"], "event");
        assert_eq!(cmps["voice_command"]["stat_t"], "hearth/kitchen/intent");
        assert_eq!(cmps["voice_command"]["evt_typ"], json!(["intent"]));
        let mut ids: Vec<&str> = cmps.values().map(|c| c["uniq_id"].as_str().unwrap()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 4, "unique ids must differ per component");
        let without_area: Value = serde_json::from_str(&device_config(&t, None)).unwrap();
        assert!(without_area["dev"].get("sa").is_none());
    }

    #[test]
    fn privacy_sensor_is_diagnostic_with_json_attributes() {
        let t = SiteTopics::new("kitchen", "homeassistant");
        let v: Value = serde_json::from_str(&device_config(&t, None)).unwrap();
        let privacy = &v["cmps"]["privacy"];
        assert_eq!(privacy["p"], "sensor");
        assert_eq!(privacy["name"], "Privacy");
        assert_eq!(privacy["uniq_id"], "hearth_kitchen_privacy");
        assert_eq!(privacy["ent_cat"], "diagnostic");
        assert_eq!(privacy["stat_t"], "hearth/kitchen/privacy");
        assert_eq!(privacy["json_attr_t"], "hearth/kitchen/privacy");
        assert_eq!(privacy["val_tpl"], "{{ value_json.status }}");
    }

    #[test]
    fn intent_event_has_event_type_and_text_only_when_given() {
        let mut slots = Map::new();
        slots.insert("name".into(), json!("Kitchen Light"));
        let time = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let v: Value =
            serde_json::from_str(&intent_event_payload("kitchen", "HassTurnOn", &slots, time, None, None)).unwrap();
        assert_eq!(
            v,
            json!({
                "event_type": "intent",
                "intent": {"name": "HassTurnOn", "slots": {"name": "Kitchen Light"}},
                "site": "kitchen",
                "time": "2023-11-14T22:13:20.123Z",
            })
        );
        let with_text: Value = serde_json::from_str(&intent_event_payload(
            "kitchen",
            "HassTurnOn",
            &slots,
            time,
            Some("turn on the kitchen light"),
            Some("Turned on the light"),
        ))
        .unwrap();
        assert_eq!(with_text["text"], "turn on the kitchen light");
        assert_eq!(with_text["response"], "Turned on the light");
    }

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339_utc(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (leap day) 12:34:56
        assert_eq!(rfc3339_utc(UNIX_EPOCH + Duration::from_secs(951_827_696)), "2000-02-29T12:34:56.000Z");
        assert_eq!(rfc3339_utc(UNIX_EPOCH + Duration::from_secs(4_102_444_799)), "2099-12-31T23:59:59.000Z");
    }
}
