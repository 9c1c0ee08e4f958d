//! Hearth: a voice assistant for the home that never sends a word out of the house.
//!
//! # Layout
//! One module per pipeline stage; dependencies point one way and nothing imports the wiring.
//!
//! - [`config`]: `config.toml` parsed (unknown keys rejected) and validated into [`config::Settings`].
//! - [`audio`]: capture sources (microphone, WAV file, raw stdin), downmix and resampling to
//!   16 kHz mono `f32`.
//! - [`endpoint`]: after the wake word, when the spoken command is over (pure: blocks in,
//!   decisions out).
//! - [`stt`]: speech-to-text with whisper.cpp, tuned for short voice commands.
//! - [`model`]: whisper model files: listing, fetching, and importing faster-whisper models.
//! - [`bench`](mod@bench): `hearth bench`, speed and accuracy measurements.
//! - [`home`]: the entity registry (names, areas, kinds, command topics) and the MQTT commands
//!   each kind of device takes.
//! - [`intent`]: sentence templates and matching: transcript in, Home Assistant intent out.
//! - [`mqtt`]: the broker connection (or the embedded broker), commands that survive outages,
//!   subscriptions, and the satellite's own announcement and Microphone switch.
//! - [`feedback`]: chimes on the speaker (wake, done, error); silent without one.
//! - [`wake`]: wake-word detection (openWakeWord models on tract), block by block.
//! - [`privacy`]: memory locking, the privacy report and its checks, systemd notifications.
//! - [`doctor`]: `hearth doctor`, one check per dependency with the fix for each problem.
//! - [`pipeline`]: `hearth run`, the wiring of every stage (nothing imports it).
//! - [`cli`]: the `hearth` command line; the only place that turns errors into exit codes.

pub mod audio;
pub mod bench;
pub mod cli;
pub mod config;
pub mod doctor;
pub mod endpoint;
pub mod feedback;
pub mod home;
pub mod intent;
pub mod logging;
pub mod model;
pub mod mqtt;
pub mod pipeline;
pub mod privacy;
pub mod stt;
pub mod wake;
