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
//! - [`measure`]: edit distance, word error rate and percentiles, for benchmarks, tests and the
//!   assistant's own summary.
//! - [`home`]: the entity registry (names, areas, kinds, command topics) and the MQTT commands
//!   each kind of device takes.
//! - [`intent`]: sentence templates and matching: transcript in, Home Assistant intent out.
//! - [`mqtt`]: the broker connection (or the embedded broker), commands that survive outages,
//!   subscriptions, and the satellite's own announcement and Microphone switch.
//! - [`timer`]: timers held by Hearth (pure: requests and the clock in, events out).
//! - [`answer`]: what Hearth says back: Home Assistant's response templates (and its own) rendered.
//! - [`voice`]: answers spoken: text → audio in memory with espeak-ng.
//! - [`feedback`]: the speaker: chimes (wake, done, error) and speech; silent without one.
//! - [`wake`]: wake-word detection (openWakeWord models on tract), block by block.
//! - [`privacy`]: memory locking, the privacy report and its checks, systemd notifications.
//! - [`doctor`]: the checks behind `hearth doctor`, one per dependency, each with its fix.
//! - [`pipeline`]: the application layer: the assistant ([`pipeline::Assistant`]) and the MQTT
//!   [`pipeline::session::Session`] every command uses; the only module that wires stages
//!   together, and no stage imports it.
//!
//! The command line is the `hearth` binary's (`src/bin/hearth/`): argument parsing, printing and
//! exit codes live there, not here.

// A panic in the assistant is a lost command: outside tests, `unwrap`/`expect` are refused
// unless the line says why the value is always there.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod answer;
pub mod audio;
pub mod config;
pub mod doctor;
pub mod endpoint;
pub mod feedback;
pub mod home;
pub mod intent;
pub mod measure;
pub mod model;
pub mod mqtt;
pub mod pipeline;
pub mod privacy;
pub mod stt;
pub mod timer;
pub mod voice;
pub mod wake;
