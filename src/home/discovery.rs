//! Home Assistant MQTT discovery payloads as the command builder needs them: abbreviated keys
//! spelled out (`cmd_t` → `command_topic`, also inside `device`), and the `~` base topic
//! expanded in every `*_topic` key. Pure functions over JSON.

use serde_json::{Map, Value};

/// Abbreviations of the discovery keys Hearth reads (a subset of Home Assistant's table:
/// the keys that name, place, or command an entity).
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("avty_t", "availability_topic"),
    ("bri_cmd_t", "brightness_command_topic"),
    ("bri_cmd_tpl", "brightness_command_template"),
    ("bri_scl", "brightness_scale"),
    ("bri_stat_t", "brightness_state_topic"),
    ("clrm", "color_mode"),
    ("cmd_t", "command_topic"),
    ("cmd_tpl", "command_template"),
    ("dev", "device"),
    ("dev_cla", "device_class"),
    ("json_attr_t", "json_attributes_topic"),
    ("max_temp", "max_temp"),
    ("min_temp", "min_temp"),
    ("mode_cmd_t", "mode_command_topic"),
    ("mode_cmd_tpl", "mode_command_template"),
    ("mode_stat_t", "mode_state_topic"),
    ("modes", "modes"),
    ("name", "name"),
    ("obj_id", "object_id"),
    ("on_cmd_type", "on_command_type"),
    ("pct_cmd_t", "percentage_command_topic"),
    ("pct_cmd_tpl", "percentage_command_template"),
    ("pct_stat_t", "percentage_state_topic"),
    ("pl_cls", "payload_close"),
    ("pl_lock", "payload_lock"),
    ("pl_off", "payload_off"),
    ("pl_on", "payload_on"),
    ("pl_open", "payload_open"),
    ("pl_prs", "payload_press"),
    ("pl_stop", "payload_stop"),
    ("pl_unlk", "payload_unlock"),
    ("pos_clsd", "position_closed"),
    ("pos_open", "position_open"),
    ("pos_t", "position_topic"),
    ("pow_cmd_t", "power_command_topic"),
    ("pow_cmd_tpl", "power_command_template"),
    ("rgb_cmd_t", "rgb_command_topic"),
    ("set_pos_t", "set_position_topic"),
    ("set_pos_tpl", "set_position_template"),
    ("spd_rng_max", "speed_range_max"),
    ("spd_rng_min", "speed_range_min"),
    ("stat_t", "state_topic"),
    ("sup_clrm", "supported_color_modes"),
    ("temp_cmd_t", "temperature_command_topic"),
    ("temp_cmd_tpl", "temperature_command_template"),
    ("temp_stat_t", "temperature_state_topic"),
    ("uniq_id", "unique_id"),
];

/// Abbreviations inside the `device` object.
const DEVICE_ABBREVIATIONS: &[(&str, &str)] = &[
    ("cns", "connections"),
    ("ids", "identifiers"),
    ("mdl", "model"),
    ("mf", "manufacturer"),
    ("name", "name"),
    ("sa", "suggested_area"),
    ("sw", "sw_version"),
];

/// Spells out one key, or returns it unchanged.
fn expand_key(key: &str, table: &[(&str, &'static str)]) -> String {
    table.iter().find(|(short, _)| *short == key).map_or_else(|| key.to_string(), |(_, long)| (*long).to_string())
}

/// A discovery payload with abbreviations spelled out and the `~` base topic expanded.
/// A key given both abbreviated and in full keeps the full form's value.
pub fn normalize(payload: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, value) in payload {
        let long = expand_key(key, ABBREVIATIONS);
        if long != *key && payload.contains_key(&long) {
            continue;
        }
        let value = match (long.as_str(), value) {
            ("device", Value::Object(device)) => {
                let mut d = Map::new();
                for (k, v) in device {
                    d.insert(expand_key(k, DEVICE_ABBREVIATIONS), v.clone());
                }
                Value::Object(d)
            }
            _ => value.clone(),
        };
        out.insert(long, value);
    }
    if let Some(Value::String(base)) = out.remove("~") {
        for (key, value) in out.iter_mut() {
            if !key.ends_with("topic") {
                continue;
            }
            if let Value::String(topic) = value {
                if let Some(rest) = topic.strip_prefix('~') {
                    *topic = format!("{base}{rest}");
                } else if let Some(rest) = topic.strip_suffix('~') {
                    *topic = format!("{rest}{base}");
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn abbreviations_and_base_topic() {
        let payload = json!({
            "~": "zigbee2mqtt/Desk Lamp",
            "cmd_t": "~/set",
            "stat_t": "~",
            "bri_scl": 254,
            "pl_on": "1",
            "dev": {"ids": ["0x1"], "name": "Desk Lamp", "sa": "Office"},
            "avty_t": "bridge/~",
        });
        let out = normalize(payload.as_object().unwrap());
        assert_eq!(out["command_topic"], "zigbee2mqtt/Desk Lamp/set");
        assert_eq!(out["state_topic"], "zigbee2mqtt/Desk Lamp");
        assert_eq!(out["availability_topic"], "bridge/zigbee2mqtt/Desk Lamp");
        assert_eq!(out["brightness_scale"], 254);
        assert_eq!(out["payload_on"], "1");
        assert_eq!(out["device"]["suggested_area"], "Office");
        assert!(!out.contains_key("~") && !out.contains_key("cmd_t"));
    }

    #[test]
    fn full_key_wins_over_abbreviation() {
        let out = normalize(json!({"cmd_t": "a", "command_topic": "b"}).as_object().unwrap());
        assert_eq!(out["command_topic"], "b");
    }
}

/// What one message on a discovery topic means for the registry.
#[derive(Debug)]
pub enum DiscoveryUpdate {
    /// The entities now configured at this topic (replacing whatever it held before).
    Set(Vec<super::Entity>),
    /// The topic was cleared (empty retained payload): its entities are gone.
    Remove,
    /// Not a config topic Hearth reads, or a component it does not control.
    Ignore,
}

/// A discovery message Hearth cannot read; the caller logs it and skips the message.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {problem}", super::Escaped(.topic), .component.as_deref().map(|c| format!(" ({})", super::Escaped(c))).unwrap_or_default())]
pub struct DiscoveryError {
    /// The message's topic.
    pub topic: String,
    /// In a device-based config, the component (its key in `cmps`) at fault.
    pub component: Option<String>,
    /// What is wrong.
    #[source]
    pub problem: DiscoveryProblem,
}

/// What is wrong with a discovery message ([`DiscoveryError`]).
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryProblem {
    /// The payload is not JSON.
    #[error("not JSON ({0})")]
    NotJson(#[source] serde_json::Error),
    /// A device-based config that is not a JSON object.
    #[error("not a JSON object")]
    NotAnObject,
    /// A device-based config without components.
    #[error("device-based config without `cmps`")]
    NoComponents,
    /// The entity it describes is not usable (no name, a value out of range, ...); boxed, as
    /// the largest of these.
    #[error(transparent)]
    Entity(Box<super::EntityError>),
}

impl From<super::EntityError> for DiscoveryProblem {
    fn from(e: super::EntityError) -> Self {
        DiscoveryProblem::Entity(Box::new(e))
    }
}

/// Reads one message from `<prefix>/<component>/[<node_id>/]<object_id>/config` or the
/// device-based `<prefix>/device/<id>/config` (components in `cmps`, each with its platform in
/// `p`, sharing the device's other keys). Pure: the caller keeps which topic held which entities.
/// Malformed JSON, and an entity with a value out of range (`home::limits`), is a
/// [`DiscoveryError`] naming the topic (escaped, [`super::Escaped`]) for the caller to log and skip.
pub fn parse_discovery(prefix: &str, topic: &str, payload: &[u8]) -> Result<DiscoveryUpdate, DiscoveryError> {
    let fail = |component: Option<&str>, problem: DiscoveryProblem| DiscoveryError {
        topic: topic.to_string(),
        component: component.map(str::to_string),
        problem,
    };
    let Some(rest) = topic.strip_prefix(prefix).and_then(|r| r.strip_prefix('/')) else {
        return Ok(DiscoveryUpdate::Ignore);
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let (component, object_id) = match parts.as_slice() {
        [component, object_id, "config"] | [component, _, object_id, "config"] => (*component, *object_id),
        _ => return Ok(DiscoveryUpdate::Ignore),
    };
    if payload.iter().all(u8::is_ascii_whitespace) {
        return Ok(DiscoveryUpdate::Remove);
    }
    let value: Value = serde_json::from_slice(payload).map_err(|e| fail(None, DiscoveryProblem::NotJson(e)))?;
    if component != "device" {
        return match super::Entity::from_discovery(component, object_id, &value) {
            Ok(entity) => Ok(DiscoveryUpdate::Set(vec![entity])),
            Err(super::EntityError::UnknownKind { .. }) => Ok(DiscoveryUpdate::Ignore),
            Err(e) => Err(fail(None, e.into())),
        };
    }
    let object = value.as_object().ok_or_else(|| fail(None, DiscoveryProblem::NotAnObject))?;
    let components = object
        .get("cmps")
        .or_else(|| object.get("components"))
        .and_then(Value::as_object)
        .ok_or_else(|| fail(None, DiscoveryProblem::NoComponents))?;
    let shared: Map<String, Value> = object
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "cmps" | "components"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut entities = Vec::new();
    for (object_id, component) in components {
        let Some(own) = component.as_object() else { continue };
        let Some(platform) = own.get("p").or_else(|| own.get("platform")).and_then(Value::as_str) else { continue };
        // A component reduced to its platform is HA's way of removing it from the device.
        if own.len() == 1 {
            continue;
        }
        let mut merged = shared.clone();
        merged.extend(
            own.iter().filter(|(k, _)| !matches!(k.as_str(), "p" | "platform")).map(|(k, v)| (k.clone(), v.clone())),
        );
        match super::Entity::from_discovery(platform, object_id, &Value::Object(merged)) {
            Ok(entity) => entities.push(entity),
            Err(super::EntityError::UnknownKind { .. }) => {}
            Err(e) => return Err(fail(Some(object_id), e.into())),
        }
    }
    Ok(DiscoveryUpdate::Set(entities))
}

#[cfg(test)]
mod topic_tests {
    use super::*;

    fn set(update: Result<DiscoveryUpdate, DiscoveryError>) -> Vec<super::super::Entity> {
        match update {
            Ok(DiscoveryUpdate::Set(entities)) => entities,
            other => panic!("expected entities, got {other:?}"),
        }
    }

    #[test]
    fn zigbee2mqtt_light_with_node_id() {
        let payload = br#"{"name":null,"unique_id":"0x00158d_light","schema":"json","brightness":true,
            "brightness_scale":254,"command_topic":"zigbee2mqtt/Kitchen Light/set",
            "device":{"name":"Kitchen Light","suggested_area":"Kitchen"}}"#;
        let e = set(parse_discovery("homeassistant", "homeassistant/light/0x00158d/light/config", payload));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].name, "Kitchen Light");
        assert_eq!(e[0].area.as_deref(), Some("Kitchen"));
        assert_eq!(e[0].id, "0x00158d_light");
    }

    #[test]
    fn device_based_config_shares_device_keys() {
        let payload = br#"{"dev":{"ids":["plug1"],"name":"Desk Plug","sa":"Office"},"o":{"name":"tasmota"},
            "~":"tasmota/plug1/","cmps":{"relay":{"p":"switch","name":null,"cmd_t":"~cmnd/POWER","uniq_id":"plug1_relay"},
            "gone":{"p":"sensor"},"temp":{"p":"weather","name":"x"}}}"#;
        let e = set(parse_discovery("homeassistant", "homeassistant/device/plug1/config", payload));
        assert_eq!(e.len(), 1, "removed and unsupported components are skipped: {e:?}");
        assert_eq!(e[0].name, "Desk Plug");
        assert_eq!(e[0].area.as_deref(), Some("Office"));
        assert_eq!(e[0].config["command_topic"], "tasmota/plug1/cmnd/POWER");
    }

    #[test]
    fn a_topic_replaces_and_removes_only_its_own_entities() {
        use super::super::{DiscoveredTopics, EntityRegistry};
        let mut registry = EntityRegistry::new();
        let mut topics = DiscoveredTopics::default();
        let light = |name: &str| {
            format!(r#"{{"name":"{name}","uniq_id":"{name}","cmd_t":"z2m/{name}/set","schema":"json"}}"#).into_bytes()
        };
        let (a, b) = ("homeassistant/light/a/config", "homeassistant/light/b/config");
        assert_eq!(topics.apply(&mut registry, a, parse_discovery("homeassistant", a, &light("Lamp")).unwrap()), 1);
        assert_eq!(topics.apply(&mut registry, b, parse_discovery("homeassistant", b, &light("Desk")).unwrap()), 1);
        // A new config on the same topic replaces the old entity.
        topics.apply(&mut registry, a, parse_discovery("homeassistant", a, &light("Sofa")).unwrap());
        let names: Vec<&str> = registry.iter().map(|e| e.name.as_str()).collect();
        assert!(names.contains(&"Sofa") && names.contains(&"Desk") && !names.contains(&"Lamp"), "{names:?}");
        // An empty payload removes that topic's entity only.
        assert_eq!(topics.apply(&mut registry, a, parse_discovery("homeassistant", a, b"").unwrap()), 0);
        let names: Vec<&str> = registry.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["Desk"]);
    }

    #[test]
    fn removal_malformed_and_foreign_topics() {
        assert!(matches!(
            parse_discovery("homeassistant", "homeassistant/switch/x/config", b""),
            Ok(DiscoveryUpdate::Remove)
        ));
        let err = parse_discovery("homeassistant", "homeassistant/switch/x/config", b"{oops").unwrap_err().to_string();
        assert!(err.contains("homeassistant/switch/x/config") && err.contains("not JSON"), "{err}");
        assert!(matches!(
            parse_discovery("homeassistant", "homeassistant/status", b"online"),
            Ok(DiscoveryUpdate::Ignore)
        ));
        assert!(matches!(
            parse_discovery("homeassistant", "homeassistant/camera/x/config", br#"{"name":"Cam"}"#),
            Ok(DiscoveryUpdate::Ignore)
        ));
    }
}
