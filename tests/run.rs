//! `hearth run --input` end to end: synthesised "hey jarvis, <command>" recordings go through
//! the real pipeline (wake word, endpointing, whisper tiny.en, intents) and the commands reach a
//! real mosquitto on a free loopback port with exactly the expected topics and payloads. Speech
//! without the wake word, and noise, publish nothing.

#[path = "support/mosquitto.rs"]
mod mosquitto;
mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use mosquitto::{Mosquitto, Observer, TASMOTA_DESK_PLUG, Z2M_SOFA_LAMP, retain};
use rumqttc::Publish;
use serde_json::{Value, json};
use support::{Noise, concat, espeak, noise_samples, piper, read_wav, rms, silence, tempdir, write_wav};

const KITCHEN: &str = "zigbee2mqtt/Kitchen Light/set";
const SOFA: &str = "zigbee2mqtt/Sofa Lamp/set";
const DESK: &str = "tasmota/plug1/cmnd/POWER";
const INTENT: &str = "hearth/kitchen/intent";
/// What the observer listens to: every device topic and Hearth's own.
const FILTERS: &[&str] = &["zigbee2mqtt/#", "tasmota/#", "hearth/#"];

/// The English whisper model from scripts/setup-test-env.
fn stt_model() -> PathBuf {
    support::model("ggml-tiny.en.bin")
}

fn config(dir: &Path, port: Option<u16>, model: &Path) -> PathBuf {
    let mqtt = match port {
        Some(port) => format!("[mqtt]\nhost = \"127.0.0.1\"\nport = {port}\n"),
        None => String::new(),
    };
    let text = format!(
        r#"
[stt]
model = "{model}"
threads = 2
[wake]
models_dir = "{models}"
[intent]
data = "{data}"
[feedback]
enabled = false
[site]
id = "kitchen"
area = "Kitchen"
{mqtt}
[[entity]]
name = "Kitchen Light"
area = "Kitchen"
kind = "light"
command_topic = "{KITCHEN}"
schema = "json"
brightness_scale = 254
"#,
        model = model.display(),
        models = support::models_dir().display(),
        data = support::intents_data().display(),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn hearth_run(config: &Path, input: &Path) -> Output {
    hearth_run_with(config, input, &[])
}

/// [`hearth_run`] with extra environment variables.
fn hearth_run_with(config: &Path, input: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["run", "--config", config.to_str().unwrap(), "--input", input.to_str().unwrap()])
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .output()
        .expect("run hearth")
}

/// "hey jarvis" + `pause` s + the command, from one espeak-ng voice, with 0.7 s of silence
/// before and 1.5 s after. A zero pause says it all in one breath.
fn espeak_command(dir: &Path, voice: &str, command: &str, pause: f64, name: &str) -> PathBuf {
    if pause == 0.0 {
        let speech = espeak(&format!("hey jarvis {command}"), voice, 160, &dir.join(format!("{name}-s.wav")));
        return pad(dir, &[&speech], 0.0, name);
    }
    let wake = espeak("hey jarvis", voice, 160, &dir.join(format!("{name}-w.wav")));
    let cmd = espeak(command, voice, 160, &dir.join(format!("{name}-c.wav")));
    pad(dir, &[&wake, &cmd], pause, name)
}

/// The same with the Piper voice.
fn piper_command(dir: &Path, command: &str, pause: f64, name: &str) -> PathBuf {
    let wake = piper("Hey Jarvis.", &dir.join(format!("{name}-w.wav")));
    let cmd = piper(command, &dir.join(format!("{name}-c.wav")));
    let wake16 = support::sox_convert(&wake, &dir.join(format!("{name}-w16.wav")), 16_000, 1, 16);
    let cmd16 = support::sox_convert(&cmd, &dir.join(format!("{name}-c16.wav")), 16_000, 1, 16);
    pad(dir, &[&wake16, &cmd16], pause, name)
}

/// Silence, the parts separated by `gap` s, silence.
fn pad(dir: &Path, parts: &[&Path], gap: f64, name: &str) -> PathBuf {
    let inner = concat(parts, gap, &dir.join(format!("{name}-inner.wav")));
    let lead = silence(0.7, &dir.join(format!("{name}-lead.wav")));
    let trail = silence(1.5, &dir.join(format!("{name}-trail.wav")));
    concat(&[&lead, &inner, &trail], 0.0, &dir.join(format!("{name}.wav")))
}

/// Adds pink noise to the whole of `file` (silences too: the room is never quiet) at `snr_db`
/// below the RMS of the speech alone (`speech_rms`, measured on the clean speech).
fn with_noise(file: &Path, speech_rms: f64, snr_db: f64, seed: u64, out: &Path) -> PathBuf {
    let (spec, s) = read_wav(file);
    let noise = noise_samples(Noise::Pink, s.len(), speech_rms / 10f64.powf(snr_db / 20.0), seed);
    let mix: Vec<f32> = s.iter().zip(&noise).map(|(a, b)| (a + b).clamp(-1.0, 1.0)).collect();
    write_wav(out, &mix, spec.sample_rate, spec.channels)
}

/// RMS of the voiced part of a file (samples above a small floor).
fn speech_rms(file: &Path) -> f64 {
    let (_, s) = read_wav(file);
    let voiced: Vec<f32> = s.into_iter().filter(|x| x.abs() > 0.01).collect();
    rms(&voiced)
}

/// Publishes the retained discovery configs of the Sofa Lamp and the Desk Plug.
async fn announce_devices(observer: &mut Observer) {
    observer.publish("homeassistant/light/0x0017/light/config", Z2M_SOFA_LAMP, true).await;
    observer.publish("homeassistant/device/plug1/config", TASMOTA_DESK_PLUG, true).await;
}

/// Runs hearth on `input` and returns (its output, every message the broker delivered to the
/// observer meanwhile on device topics and the intent topic, in order).
async fn run_and_collect(observer: &mut Observer, config: &Path, input: &Path) -> (Output, Vec<Publish>) {
    let (config, input) = (config.to_path_buf(), input.to_path_buf());
    let out = tokio::task::spawn_blocking(move || hearth_run(&config, &input)).await.unwrap();
    let delivered = observer.fence("hearth/test/fence").await;
    let commands = delivered
        .into_iter()
        .filter(|p| p.topic == INTENT || p.topic.starts_with("zigbee2mqtt/") || p.topic.starts_with("tasmota/"))
        .collect();
    (out, commands)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json_of(p: &Publish) -> Value {
    serde_json::from_slice(&p.payload).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&p.payload).into()))
}

/// The device commands among `messages` as (topic, payload), intent events left out.
fn device_commands(messages: &[Publish]) -> Vec<(String, Value)> {
    messages.iter().filter(|p| p.topic != INTENT).map(|p| (p.topic.to_string(), json_of(p))).collect()
}

/// Issue 12: a panic in the handler thread (injected with HEARTH_FAILPOINT) makes `hearth run`
/// fail with a message naming the thread, instead of exiting 0 with the command unhandled; and
/// nothing is published for the command it held.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
async fn a_dead_handler_thread_fails_the_run() {
    let model = stt_model();
    let dir = tempdir();
    let broker = Mosquitto::start();
    let mut observer = Observer::connect(broker.port(), FILTERS).await;
    let config = config(dir.path(), Some(broker.port()), &model);
    let file = espeak_command(dir.path(), "en-us", "turn on the kitchen light", 0.6, "dead");
    let out =
        tokio::task::spawn_blocking(move || hearth_run_with(&config, &file, &[("HEARTH_FAILPOINT", "handler-panic")]))
            .await
            .unwrap();
    let log = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "a dead handler must fail the run:\n{log}");
    assert!(log.contains("the handler thread died"), "the error names the thread:\n{log}");
    let delivered = observer.fence("hearth/test/fence").await;
    assert!(
        delivered.iter().all(|p| !p.topic.starts_with("zigbee2mqtt/")),
        "nothing may be published for a command the handler never handled: {delivered:?}"
    );
}

/// Issue 18, case 3: with 5,000 retained discovery configs on a default mosquitto (whose
/// `max_queued_messages` of 1,000 cut a QoS 1 subscription short), `run` knows every one of
/// them and the spoken command still goes out once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
async fn five_thousand_discovered_devices_are_all_known() {
    let model = stt_model();
    let dir = tempdir();
    let broker = Mosquitto::start();
    let mut observer = Observer::connect(broker.port(), FILTERS).await;
    let plugs: Vec<(String, String)> = (0..5_000)
        .map(|n| {
            let config =
                json!({"name": format!("Plug {n}"), "uniq_id": format!("plug{n}"), "cmd_t": format!("plugs/{n}/set")});
            (format!("homeassistant/switch/plug{n}/config"), config.to_string())
        })
        .collect();
    retain(broker.port(), &plugs).await;
    let config = config(dir.path(), Some(broker.port()), &model);
    let file = espeak_command(dir.path(), "en-us", "turn on the kitchen light", 0.6, "many");
    let (out, messages) = run_and_collect(&mut observer, &config, &file).await;
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    // The 5,000 plugs and the configured kitchen light.
    assert!(log.contains("devices known entities=5001"), "{log}");
    assert_eq!(device_commands(&messages), [(KITCHEN.to_string(), json!({"state": "ON"}))], "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
async fn wake_word_then_command_publishes_exactly_the_command() {
    let model = stt_model();
    let dir = tempdir();
    let broker = Mosquitto::start();
    let mut observer = Observer::connect(broker.port(), FILTERS).await;
    let config = config(dir.path(), Some(broker.port()), &model);

    // espeak-ng voices with a pause after the wake word and in one breath, and Piper.
    let mut cases: Vec<(String, PathBuf)> = Vec::new();
    for (i, voice) in ["en-us", "en-gb", "en-us+m3"].iter().enumerate() {
        let name = format!("pause{i}");
        cases.push((
            format!("{voice}, pause"),
            espeak_command(dir.path(), voice, "turn on the kitchen light", 0.6, &name),
        ));
    }
    // A short pause, as in "Hey Jarvis, turn on …". Said in one breath with no pause at all,
    // hey_jarvis v0.1 peaks at 0.28–0.43 on these voices, below the 0.5 threshold: see the
    // closing note of issue #5; the pipeline itself handles it (listen.rs, act.rs tests).
    cases.push((
        "en-us, short pause".into(),
        espeak_command(dir.path(), "en-us", "turn on the kitchen light", 0.25, "short"),
    ));
    cases.push(("piper, pause".into(), piper_command(dir.path(), "Turn on the kitchen light.", 0.5, "piper")));

    let mut failures = Vec::new();
    for (what, file) in &cases {
        let (out, messages) = run_and_collect(&mut observer, &config, file).await;
        assert!(out.status.success(), "{what}: hearth run failed:\n{}", stderr(&out));
        let commands = device_commands(&messages);
        if commands != [(KITCHEN.to_string(), json!({"state": "ON"}))] {
            failures.push(format!("{what}: published {commands:?}\n{}", stderr(&out)));
            continue;
        }
        let event = messages.iter().find(|p| p.topic == INTENT).map(json_of);
        let event = event.unwrap_or_else(|| panic!("{what}: no intent event"));
        assert_eq!(event["intent"]["name"], "HassTurnOn", "{what}: {event}");
        assert_eq!(event["site"], "kitchen");
        assert!(event.get("text").is_none(), "transcripts are discarded by default: {event}");
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
async fn several_commands_in_noise_reach_discovered_devices_in_order() {
    let model = stt_model();
    let dir = tempdir();
    let broker = Mosquitto::start();
    let mut observer = Observer::connect(broker.port(), FILTERS).await;
    announce_devices(&mut observer).await;
    let config = config(dir.path(), Some(broker.port()), &model);

    let a = espeak_command(dir.path(), "en-us", "turn on the kitchen light", 0.5, "a");
    // tiny.en mishears espeak-ng's "sofa" and "desk" in noise more often than not; Piper's are clear.
    let b = piper_command(dir.path(), "Set the sofa lamp to fifty percent.", 0.5, "b");
    let c = piper_command(dir.path(), "Turn off the desk plug.", 0.4, "c");
    let clean = concat(&[&a, &b, &c], 2.0, &dir.path().join("three.wav"));
    let level = [&a, &b, &c].iter().map(|f| speech_rms(f)).sum::<f64>() / 3.0;

    let expected = [
        (KITCHEN.to_string(), json!({"state": "ON"})),
        (SOFA.to_string(), json!({"state": "ON", "brightness": 127})),
        (DESK.to_string(), json!("OFF")),
    ];
    for (snr, seed) in [(20.0, 1), (15.0, 2), (10.0, 3)] {
        let noisy = with_noise(&clean, level, snr, seed, &dir.path().join(format!("three-{snr}.wav")));
        let (out, messages) = run_and_collect(&mut observer, &config, &noisy).await;
        assert!(out.status.success(), "{snr} dB: hearth run failed:\n{}", stderr(&out));
        let published = device_commands(&messages);
        if snr >= 15.0 {
            assert_eq!(published, expected, "{snr} dB SNR:\n{}", stderr(&out));
            assert_eq!(messages.iter().filter(|p| p.topic == INTENT).count(), 3);
        } else {
            // At 10 dB whisper tiny.en mishears some commands (they are then not understood,
            // with the error tone); what is published must still be right and in order.
            let mut rest = expected.iter();
            for command in &published {
                assert!(rest.any(|e| e == command), "{snr} dB: unexpected or out of order {command:?}");
            }
            assert!(!published.is_empty(), "{snr} dB: nothing understood\n{}", stderr(&out));
            eprintln!("{snr} dB SNR: {} of 3 commands understood", published.len());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
async fn speech_without_the_wake_word_and_noise_publish_nothing() {
    let model = stt_model();
    let dir = tempdir();
    let broker = Mosquitto::start();
    let mut observer = Observer::connect(broker.port(), FILTERS).await;
    let config = config(dir.path(), Some(broker.port()), &model);

    let mut speech = Vec::new();
    for (i, (voice, text)) in [
        ("en-us", "turn on the kitchen light"),
        ("en-gb", "hey, could you pass me the salt please"),
        ("en-us+f3", "jars of jam are on the shelf by the kitchen light"),
        ("en-us+m3", "turn off the kitchen light and then hey let us go"),
    ]
    .iter()
    .enumerate()
    {
        speech.push(espeak(text, voice, 160, &dir.path().join(format!("s{i}.wav"))));
    }
    let parts: Vec<&Path> = speech.iter().map(PathBuf::as_path).collect();
    let talk = concat(&parts, 1.0, &dir.path().join("talk.wav"));
    let level = speech_rms(&talk);
    let noisy_talk = with_noise(&talk, level, 15.0, 7, &dir.path().join("talk-noisy.wav"));
    let noise = with_noise(&silence(20.0, &dir.path().join("quiet.wav")), 0.05, 0.0, 9, &dir.path().join("noise.wav"));

    for file in [&talk, &noisy_talk, &noise] {
        let (out, messages) = run_and_collect(&mut observer, &config, file).await;
        assert!(out.status.success(), "{}: hearth run failed:\n{}", file.display(), stderr(&out));
        assert!(
            messages.is_empty(),
            "{}: published {:?}\n{}",
            file.display(),
            device_commands(&messages),
            stderr(&out)
        );
    }
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn logs_at_the_default_level_never_contain_what_was_said() {
    let model = stt_model();
    let dir = tempdir();
    let broker = Mosquitto::start();
    let config = config(dir.path(), Some(broker.port()), &model);
    let file = espeak_command(dir.path(), "en-us", "turn on the kitchen light", 0.5, "said");
    let out = hearth_run(&config, &file);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("command handled"), "the command must have been recognised:\n{log}");
    // "kitchen" is also the site id and "hey jarvis" the wake-word model, so they are in the
    // log as configuration; the rest of the command must not be.
    for word in ["turn", "light"] {
        let hit = log.split(|c: char| !c.is_alphanumeric()).any(|w| w.eq_ignore_ascii_case(word));
        assert!(!hit, "the log contains the spoken word {word:?}:\n{log}");
    }
}

/// With no `[mqtt]` section hearth starts its own broker on 127.0.0.1:1883; an MQTT client
/// connected to it sees the command. The audio comes on stdin (raw s16le) so the client can
/// subscribe before any audio arrives. Starting the broker logs no error (its readiness probe
/// is a whole MQTT handshake, which rumqttd does not complain about).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
async fn embedded_broker_on_1883_by_default() {
    let model = stt_model();
    assert!(
        std::net::TcpStream::connect("127.0.0.1:1883").is_err(),
        "something already listens on 127.0.0.1:1883, where this test starts the embedded broker: stop it and rerun"
    );
    let dir = tempdir();
    let config = config(dir.path(), None, &model);
    let file = espeak_command(dir.path(), "en-us", "turn on the kitchen light", 0.5, "embedded");

    let (mut child, lines) = start_on_stdin(&config);
    let (mut log, lines) =
        tokio::task::spawn_blocking(move || (wait_for_line(&lines, "embedded MQTT broker listening"), lines))
            .await
            .unwrap();
    let mut observer = Observer::connect(1883, &[KITCHEN]).await;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&raw_s16le(&file)).unwrap();
    drop(stdin);
    let message = observer.next_on(KITCHEN).await;
    assert_eq!(json_of(&message), json!({"state": "ON"}));
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    log.extend(lines.iter());
    let log = log.join("\n");
    assert!(status.success(), "{log}");
    assert!(!log.contains("ERROR"), "starting and using the embedded broker logged an error:\n{log}");
    // stderr is a pipe here: plain text, no colour codes.
    assert!(!log.contains('\u{1b}'), "log lines carry ANSI escape codes on a pipe:\n{log}");
}

/// Starts `hearth run --input -` and returns once it listens (its stderr says so), with the
/// child's stderr lines collected by a thread.
fn start_on_stdin(config: &Path) -> (std::process::Child, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(["run", "--config", config.to_str().unwrap(), "--input", "-"])
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hearth");
    let lines = support::stderr_lines(&mut child);
    (child, lines)
}

/// Waits for a stderr line containing `needle`; returns every line seen so far.
fn wait_for_line(lines: &std::sync::mpsc::Receiver<String>, needle: &str) -> Vec<String> {
    support::wait_for_line(lines, needle, mosquitto::WAIT)
}

fn raw_s16le(file: &Path) -> Vec<u8> {
    let (spec, samples) = read_wav(file);
    assert_eq!((spec.sample_rate, spec.channels), (16_000, 1));
    samples.iter().flat_map(|s| ((s * 32767.0).round() as i16).to_le_bytes()).collect()
}

/// A device announced while hearth is running is controllable at once; the Listening sensor
/// goes on for the command and off after it; SIGTERM ends the run cleanly with `offline`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
async fn live_discovery_listening_sensor_and_sigterm() {
    let model = stt_model();
    let dir = tempdir();
    let broker = Mosquitto::start();
    let mut observer =
        Observer::connect(broker.port(), &["fan/#", "hearth/kitchen/listening", "hearth/kitchen/status"]).await;
    let config = config(dir.path(), Some(broker.port()), &model);
    let file = espeak_command(dir.path(), "en-gb", "turn on the ceiling fan", 0.5, "fan");

    let (mut child, lines) = start_on_stdin(&config);
    let _ = tokio::task::spawn_blocking(move || (wait_for_line(&lines, "listening"), lines)).await.unwrap();
    // Announced after hearth has read the retained configs: only the live subscription sees it.
    let fan = r#"{"name":"Ceiling Fan","uniq_id":"fan1","cmd_t":"fan/ceiling/set","pct_cmd_t":"fan/ceiling/pct"}"#;
    observer.publish("homeassistant/fan/fan1/config", fan, true).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&raw_s16le(&file)).unwrap();
    stdin.flush().unwrap();

    let mut seen = Vec::new();
    loop {
        let p = observer.next().await;
        if p.topic == "fan/ceiling/set" {
            assert_eq!(String::from_utf8_lossy(&p.payload), "ON");
            break;
        }
        seen.push(p);
    }
    // hearth is still running, waiting for more audio on stdin: stop it.
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output()).await.unwrap().unwrap();
    drop(stdin);
    assert!(out.status.success(), "SIGTERM must end hearth cleanly: {:?}", out.status);

    seen.extend(observer.fence("hearth/kitchen/status").await);
    let states: Vec<(String, String)> = seen
        .iter()
        .filter(|p| !p.retain)
        .map(|p| (p.topic.to_string(), String::from_utf8_lossy(&p.payload).into_owned()))
        .collect();
    let listening: Vec<&str> =
        states.iter().filter(|(t, _)| t == "hearth/kitchen/listening").map(|(_, p)| p.as_str()).collect();
    assert!(listening.windows(2).any(|w| w == ["ON", "OFF"]), "Listening sensor went {listening:?}");
    assert_eq!(
        states.iter().filter(|(t, _)| t == "hearth/kitchen/status").map(|(_, p)| p.as_str()).next_back(),
        Some("offline"),
        "{states:?}"
    );
}

/// With the Microphone switch off (its retained state, as Home Assistant leaves it), nothing is
/// heard: the file's command publishes nothing; switched on, the same file works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
async fn muted_microphone_hears_nothing() {
    let model = stt_model();
    let dir = tempdir();
    let broker = Mosquitto::start();
    let mut observer = Observer::connect(broker.port(), FILTERS).await;
    let config = config(dir.path(), Some(broker.port()), &model);
    let file = espeak_command(dir.path(), "en-us", "turn on the kitchen light", 0.5, "muted");

    observer.publish("hearth/kitchen/mic/state", "OFF", true).await;
    let (out, messages) = run_and_collect(&mut observer, &config, &file).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(messages.is_empty(), "muted, yet published {:?}", device_commands(&messages));
    assert!(stderr(&out).contains("Microphone switch is off"), "{}", stderr(&out));

    observer.publish("hearth/kitchen/mic/state", "ON", true).await;
    let (out, messages) = run_and_collect(&mut observer, &config, &file).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(device_commands(&messages), [(KITCHEN.to_string(), json!({"state": "ON"}))], "{}", stderr(&out));
}

/// The microphone path for real: `hearth run --input mic` captures through cpal from an ALSA
/// device the test feeds in real time (tests/support/alsa.rs), hears "hey jarvis", and the
/// command reaches the broker; SIGTERM then ends it cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
async fn microphone_capture_through_cpal_end_to_end() {
    let model = stt_model();
    let dir = tempdir();
    let broker = Mosquitto::start();
    let mut observer = Observer::connect(broker.port(), &[KITCHEN, "hearth/kitchen/status"]).await;
    let config = config(dir.path(), Some(broker.port()), &model);
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("[audio]\ndevice = \"{}\"\n{text}", support::alsa::DEVICE)).unwrap();
    let file = espeak_command(dir.path(), "en-us", "turn on the kitchen light", 0.5, "mic");

    let mic = support::alsa::FakeMic::new(dir.path());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearth"));
    cmd.args(["run", "--config", config.to_str().unwrap(), "--input", "mic"])
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped());
    mic.attach(&mut cmd);
    let mut child = cmd.spawn().expect("start hearth");
    let lines = support::stderr_lines(&mut child);
    let (seen, lines) = tokio::task::spawn_blocking(move || (wait_for_line(&lines, "listening"), lines)).await.unwrap();
    assert!(seen.iter().any(|l| l.contains("hearth_test_mic")), "{}", seen.join("\n"));

    mic.play(&file);
    let command = tokio::time::timeout(Duration::from_secs(25), observer.next_on(KITCHEN)).await;
    let Ok(command) = command else {
        let _ = child.kill();
        let log: Vec<String> = lines.try_iter().collect();
        panic!("no command from the microphone; hearth said:\n{}", log.join("\n"));
    };
    assert_eq!(json_of(&command), json!({"state": "ON"}));

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    let rest: Vec<String> = lines.try_iter().collect();
    assert!(status.success(), "SIGTERM must end hearth cleanly: {status:?}\n{}", rest.join("\n"));
    let offline = observer.next_on("hearth/kitchen/status").await;
    assert_eq!(&offline.payload[..], b"offline");
    drop(mic);
}
