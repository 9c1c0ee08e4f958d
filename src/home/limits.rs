//! Range checks for the discovery keys the command builder computes with, applied when an entity
//! is built (from discovery or `[[entity]]`), so an entity with a value no device has —
//! `brightness_scale` 0, negative or 1e308, a fan speed range upside down, a thermostat whose
//! minimum is above its maximum — is skipped with a warning instead of being sent nonsense.
//!
//! Topic keys must be text. Home Assistant's `cv.string` turns a number or boolean into its text
//! (`cmd_t: 12345` is the topic `12345`), so Hearth does the same everywhere ([`Entity::key`]);
//! a list or object where a topic belongs is refused, as Home Assistant refuses it.
//!
//! [`Entity::key`]: super::Entity::key

use serde_json::{Map, Value};

use super::Kind;

/// A discovery key whose value is out of its range: which key, what it holds, what is allowed.
#[derive(Debug, Clone, PartialEq)]
pub struct OutOfRange {
    /// The key, spelled out.
    pub key: String,
    /// Its value as JSON text.
    pub value: String,
    /// What the key allows.
    pub allowed: String,
}

/// Largest device-side value of a scale or range (16 bits: every real device fits).
const MAX_DEVICE_VALUE: f64 = 65_535.0;

/// A number as Home Assistant coerces it: a JSON number, or text that parses as one.
fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|n| n.is_finite())
}

/// Checks `config` (spelled-out keys) of an entity of `kind`.
pub fn check(kind: Kind, config: &Map<String, Value>) -> Result<(), OutOfRange> {
    let fail = |key: &str, allowed: &str| OutOfRange {
        key: key.to_string(),
        value: config.get(key).map_or_else(String::new, Value::to_string),
        allowed: allowed.to_string(),
    };
    for (key, value) in config {
        if key.ends_with("topic") && matches!(value, Value::Array(_) | Value::Object(_)) {
            return Err(fail(key, "an MQTT topic (text)"));
        }
    }
    // `Some(n)` for a present key within [min, max] (whole when asked), `None` when absent.
    let ranged = |key: &str, min: f64, max: f64, whole: bool, allowed: &str| -> Result<Option<f64>, OutOfRange> {
        let Some(value) = config.get(key) else { return Ok(None) };
        match number(value) {
            Some(n) if (min..=max).contains(&n) && (!whole || n.fract() == 0.0) => Ok(Some(n)),
            _ => Err(fail(key, allowed)),
        }
    };
    match kind {
        Kind::Light => {
            ranged("brightness_scale", 1.0, MAX_DEVICE_VALUE, true, "a whole number from 1 to 65535 (usually 255)")?;
        }
        Kind::Fan => {
            let min = ranged("speed_range_min", 1.0, MAX_DEVICE_VALUE, true, "a whole number from 1 to 65535")?;
            let max = ranged("speed_range_max", 1.0, MAX_DEVICE_VALUE, true, "a whole number from 1 to 65535")?;
            if min.unwrap_or(1.0) >= max.unwrap_or(100.0) {
                return Err(fail(
                    if max.is_some() { "speed_range_max" } else { "speed_range_min" },
                    "speed_range_max above speed_range_min (defaults 1 and 100)",
                ));
            }
        }
        Kind::Cover | Kind::Valve => {
            let allowed = "a whole number from 0 to 65535";
            let open = ranged("position_open", 0.0, MAX_DEVICE_VALUE, true, allowed)?;
            let closed = ranged("position_closed", 0.0, MAX_DEVICE_VALUE, true, allowed)?;
            if open.unwrap_or(100.0) == closed.unwrap_or(0.0) {
                return Err(fail(
                    if open.is_some() { "position_open" } else { "position_closed" },
                    "position_open different from position_closed (defaults 100 and 0)",
                ));
            }
        }
        Kind::Climate => {
            let allowed = "a temperature from -273 to 1000";
            let min = ranged("min_temp", -273.0, 1000.0, false, allowed)?;
            let max = ranged("max_temp", -273.0, 1000.0, false, allowed)?;
            if min.unwrap_or(7.0) >= max.unwrap_or(35.0) {
                return Err(fail(
                    if max.is_some() { "max_temp" } else { "min_temp" },
                    "max_temp above min_temp (defaults 7 and 35)",
                ));
            }
            if let Some(step) = config.get("temp_step")
                && !number(step).is_some_and(|s| s > 0.0 && s <= 100.0)
            {
                return Err(fail("temp_step", "a step above 0 and at most 100 (e.g. 0.5)"));
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check_json(kind: Kind, config: Value) -> Result<(), OutOfRange> {
        check(kind, config.as_object().unwrap())
    }

    #[test]
    fn brightness_scale_is_bounded() {
        assert!(check_json(Kind::Light, json!({"brightness_scale": 254})).is_ok());
        assert!(check_json(Kind::Light, json!({"brightness_scale": "100"})).is_ok());
        assert!(check_json(Kind::Light, json!({})).is_ok());
        for bad in [json!(0), json!(-5), json!(1e308), json!(2.5), json!("lots"), json!(null), json!(true)] {
            let err = check_json(Kind::Light, json!({ "brightness_scale": bad.clone() })).unwrap_err();
            assert_eq!(err.key, "brightness_scale");
            assert_eq!(err.value, bad.to_string());
            assert!(err.allowed.contains("1 to 65535"), "{err:?}");
        }
        // Only lights compute with it.
        assert!(check_json(Kind::Switch, json!({"brightness_scale": 0})).is_ok());
    }

    #[test]
    fn ranges_must_be_ordered() {
        assert!(check_json(Kind::Fan, json!({"speed_range_min": 1, "speed_range_max": 3})).is_ok());
        assert_eq!(check_json(Kind::Fan, json!({"speed_range_max": 1})).unwrap_err().key, "speed_range_max");
        assert_eq!(check_json(Kind::Fan, json!({"speed_range_min": 0})).unwrap_err().key, "speed_range_min");
        assert!(check_json(Kind::Cover, json!({"position_open": 0, "position_closed": 255})).is_ok());
        assert_eq!(check_json(Kind::Cover, json!({"position_open": 0})).unwrap_err().key, "position_open");
        assert_eq!(check_json(Kind::Valve, json!({"position_open": -1})).unwrap_err().key, "position_open");
        assert!(check_json(Kind::Climate, json!({"min_temp": 45, "max_temp": 95, "temp_step": 0.5})).is_ok());
        assert_eq!(check_json(Kind::Climate, json!({"min_temp": 40})).unwrap_err().key, "min_temp");
        assert_eq!(check_json(Kind::Climate, json!({"max_temp": 1e308})).unwrap_err().key, "max_temp");
        assert_eq!(check_json(Kind::Climate, json!({"temp_step": 0})).unwrap_err().key, "temp_step");
    }

    #[test]
    fn topics_are_text() {
        assert!(check_json(Kind::Switch, json!({"command_topic": 12345, "state_topic": true})).is_ok());
        let err = check_json(Kind::Switch, json!({"command_topic": ["a", "b"]})).unwrap_err();
        assert_eq!((err.key.as_str(), err.value.as_str()), ("command_topic", r#"["a","b"]"#));
    }
}
