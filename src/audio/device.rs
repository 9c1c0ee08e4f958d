//! What microphone capture ([`super::mic`]) and the speaker ([`crate::feedback`]) share about
//! audio devices: the host, device names, the listing (without duplicates), finding one by
//! name or description, and building a stream for whichever sample format the device has.

use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{FromSample, SampleFormat, SizedSample};

/// An audio device as the audio system lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The name to put in `[audio] device` or `[feedback] device` (for ALSA, the PCM name
    /// such as `plughw:CARD=Device,DEV=0`).
    pub name: String,
    /// A human-readable description, e.g. the card's product name.
    pub description: String,
}

/// Why there is no audio system to ask.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The platform has no audio host at all.
    #[error("no audio host is available on this system")]
    None,
    /// The host exists but cannot be used.
    #[error("audio host {host} is unavailable: {source}")]
    Unavailable {
        /// Its name ("ALSA").
        host: &'static str,
        /// What cpal said.
        #[source]
        source: cpal::Error,
    },
}

/// The platform's audio host. Uses the first available host (ALSA on Linux) and, unlike
/// `cpal::default_host`, reports failure instead of panicking. Every use of the audio system
/// starts here, so this is also where alsa-lib is kept from printing to stderr.
pub(crate) fn host() -> Result<cpal::Host, HostError> {
    silence_alsa_errors();
    let mut last = HostError::None;
    for id in cpal::available_hosts() {
        match cpal::host_from_id(id) {
            Ok(host) => return Ok(host),
            Err(source) => last = HostError::Unavailable { host: id.name(), source },
        }
    }
    Err(last)
}

/// Stops alsa-lib from printing its own messages on stderr (a machine without a sound card
/// gets a screen of `ALSA lib pcm.c:…` lines while devices are listed); Hearth's own error,
/// with the fix, is what the user sees. alsa-lib's handler is per thread, so this runs on every
/// thread that reaches [`host`]; the messages go to a buffer that each call replaces, so a
/// microphone reopened every second for days holds only the last attempt's.
fn silence_alsa_errors() {
    #[cfg(target_os = "linux")]
    if let Err(e) = alsa::Output::local_error_handler() {
        tracing::debug!("alsa-lib keeps printing its errors: {e}");
    }
}

/// A device's name as ALSA knows it (what `[audio] device` and `[feedback] device` take).
pub(crate) fn device_name(device: &cpal::Device) -> String {
    match device.id() {
        Ok(id) => id.id().to_owned(),
        Err(_) => device.to_string(),
    }
}

/// `devices` with their names and descriptions, each name once.
fn distinct(devices: impl IntoIterator<Item = cpal::Device>) -> Vec<(cpal::Device, DeviceInfo)> {
    let mut found: Vec<(cpal::Device, DeviceInfo)> = Vec::new();
    for device in devices {
        let name = device_name(&device);
        if found.iter().any(|(_, info)| info.name == name) {
            continue;
        }
        let description = device.description().map(|d| d.name().to_owned()).unwrap_or_default();
        found.push((device, DeviceInfo { name, description }));
    }
    found
}

/// The input (`input`) or output devices of `host`, each name once; empty when the host lists none.
pub(crate) fn list(host: &cpal::Host, input: bool) -> Vec<(cpal::Device, DeviceInfo)> {
    let devices =
        if input { host.input_devices().map(|d| d.collect()) } else { host.output_devices().map(|d| d.collect()) };
    distinct(devices.unwrap_or_else(|_| Vec::<cpal::Device>::new()))
}

/// The device called `name`, or else the one whose description is `name` (any case).
pub(crate) fn find<'a>(
    devices: &'a [(cpal::Device, DeviceInfo)],
    name: &str,
) -> Option<&'a (cpal::Device, DeviceInfo)> {
    devices
        .iter()
        .find(|(_, info)| info.name == name)
        .or_else(|| devices.iter().find(|(_, info)| info.description.eq_ignore_ascii_case(name)))
}

/// True when `name` is a device the audio system provides in software rather than a sound card
/// (ALSA's `default`, `null`, `pulse`, …). Hardware PCMs name a card.
pub(crate) fn is_virtual(name: &str) -> bool {
    !(name.contains("CARD=") || name.starts_with("hw:") || name.starts_with("plughw:"))
}

/// Builds a cpal stream for sample type `T`: what capture and playback do once the device's
/// sample format is known ([`build_stream`] picks `T`).
pub(crate) trait StreamBuilder {
    /// Builds the stream with samples of type `T`.
    fn build<T>(self) -> Result<cpal::Stream, cpal::Error>
    where
        T: SizedSample + FromSample<f32> + Send + 'static,
        f32: FromSample<T>;
}

/// Runs `builder` with the sample type of `format`; `None` for a format cpal added after
/// this was written.
pub(crate) fn build_stream<B: StreamBuilder>(
    format: SampleFormat,
    builder: B,
) -> Option<Result<cpal::Stream, cpal::Error>> {
    Some(match format {
        SampleFormat::I8 => builder.build::<i8>(),
        SampleFormat::I16 => builder.build::<i16>(),
        SampleFormat::I24 => builder.build::<cpal::I24>(),
        SampleFormat::I32 => builder.build::<i32>(),
        SampleFormat::U8 => builder.build::<u8>(),
        SampleFormat::U16 => builder.build::<u16>(),
        SampleFormat::U32 => builder.build::<u32>(),
        SampleFormat::F32 => builder.build::<f32>(),
        SampleFormat::F64 => builder.build::<f64>(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_devices_are_recognised() {
        assert!(is_virtual("default"));
        assert!(is_virtual("null"));
        assert!(is_virtual("pulse"));
        assert!(!is_virtual("plughw:CARD=Device,DEV=0"));
        assert!(!is_virtual("hw:1,0"));
        assert!(!is_virtual("sysdefault:CARD=Device"));
    }
}
