//! Issue 18, cases 4, 5, 6 and 8, against the built binary: bad numbers in the config and on the
//! command line are usage errors (exit 2) naming the key or flag, files that are not whisper
//! models never reach whisper.cpp (which aborted the process on them), whisper never gets more
//! threads than cores, and what discovery announces is range-checked and printed safely.

#[path = "support/mosquitto.rs"]
mod mosquitto;
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mosquitto::{Mosquitto, Observer};

fn hearth(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hearth"))
        .args(args)
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .expect("run hearth")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes `text` as `config.toml` in `dir`.
fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// Exit code 2, no panic, and the key named on stderr.
fn assert_usage_error(out: &Output, key: &str, also: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "expected exit 2 for {key}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains(key), "stderr does not name {key}: {err}");
    for a in also {
        assert!(err.contains(a), "stderr lacks {a:?}: {err}");
    }
}

/// A 0.3 s tone at 16 kHz.
fn short_wav(dir: &Path) -> PathBuf {
    let samples: Vec<f32> = (0..4_800).map(|i| (i as f32 * 0.05).sin() * 0.3).collect();
    support::write_wav(&dir.join("short.wav"), &samples, 16_000, 1)
}

// ---- case 4: durations and every other number of the config ----

#[test]
fn issue18_case4_huge_durations_are_config_errors_naming_the_key() {
    let dir = support::tempdir();
    let wav = short_wav(dir.path());
    for (section, key) in [
        ("wake", "refractory"),
        ("endpoint", "end_silence"),
        ("endpoint", "max_command"),
        ("endpoint", "no_speech_timeout"),
        ("privacy", "keep_for"),
    ] {
        let config = write_config(dir.path(), &format!("[{section}]\n{key} = \"100000000000000000000s\"\n"));
        let out = hearth(&["run", "--config", config.to_str().unwrap(), "--input", wav.to_str().unwrap()]);
        assert_usage_error(&out, &format!("{section}.{key}"), &["100000000000000000000s", "write a duration from"]);
    }
}

#[test]
fn issue18_case4_every_numeric_key_is_range_checked() {
    let dir = support::tempdir();
    for (text, key, also) in [
        ("[wake]\nrefractory = \"2h\"\n", "wake.refractory", "0s to 1m"),
        ("[privacy]\nkeep_for = \"8d\"\n", "privacy.keep_for", "0s to 7d"),
        ("[privacy]\nkeep_for = \"1e400s\"\n", "privacy.keep_for", "0s to 7d"),
        ("[endpoint]\nmax_command = \"-1s\"\n", "endpoint.max_command", "1s to 30s"),
        ("[stt]\nthreads = 1000\n", "stt.threads", "1 to 64"),
        ("[stt]\nthreads = 0\n", "stt.threads", "1 to 64"),
        ("[stt]\nthreads = 5000000000\n", "threads", ""),
        ("[audio]\ngain = 1e308\n", "audio.gain", "at most 100"),
        ("[audio]\ngain = nan\n", "audio.gain", ""),
        ("[wake]\nthreshold = -0.5\n", "wake.threshold", "between 0 and 1"),
        ("[mqtt]\nport = 0\n", "mqtt.port", ""),
        ("[mqtt]\nport = 70000\n", "port", ""),
        ("[site]\nid = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n", "site.id", "up to 64"),
        ("[mqtt]\nclient_id = \"\"\n", "mqtt.client_id", ""),
    ] {
        let config = write_config(dir.path(), text);
        let out = hearth(&["intent", "--config", config.to_str().unwrap(), "turn on the light"]);
        assert_usage_error(&out, key, &[also]);
    }
}

// ---- case 5: files that are not whisper models ----

/// A config using `model` for speech-to-text and the repository's wake-word models.
fn model_config(dir: &Path, model: &Path, broker_port: u16) -> PathBuf {
    write_config(
        dir,
        &format!(
            "[stt]\nmodel = {:?}\n[wake]\nmodels_dir = {:?}\n[mqtt]\nhost = \"127.0.0.1\"\nport = {broker_port}\n[feedback]\nenabled = false\n",
            model.display().to_string(),
            support::models_dir().display().to_string()
        ),
    )
}

/// `model`'s problem as `hearth model list` reports it: "not a whisper.cpp model: …".
fn listed_problem(model: &Path) -> String {
    let out = hearth(&["model", "list", "--dir", model.parent().unwrap().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = stdout(&out);
    let name = model.file_name().unwrap().to_str().unwrap();
    let line = listing.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} not listed: {listing}"));
    let problem = line.split("  ").last().unwrap().to_string();
    assert!(problem.starts_with("not a whisper.cpp model: "), "{line}");
    problem
}

/// Doctor fails the model with `problem`; transcribe and run stop at start with it (exit 1, not
/// an abort), and whisper.cpp's "assuming empty model" is never reached.
fn assert_refused_everywhere(model: &Path, problem: &str) {
    let dir = support::tempdir();
    let wav = short_wav(dir.path());
    let broker = Mosquitto::start();
    let config = model_config(dir.path(), model, broker.port());

    let out = hearth(&["doctor", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report = stdout(&out);
    let expected = format!("FAIL  speech-to-text model: {} does not load: {problem}\n", model.display());
    assert!(report.contains(&expected), "expected {expected:?} in:\n{report}");

    for args in [
        vec!["transcribe", "--model", model.to_str().unwrap(), wav.to_str().unwrap()],
        vec!["run", "--config", config.to_str().unwrap(), "--input", wav.to_str().unwrap()],
    ] {
        let out = hearth(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?} must fail cleanly (not abort): {err}");
        assert!(err.contains(&format!("whisper model {} is {problem}", model.display())), "{args:?}: {err}");
        assert!(err.contains("hearth model import"), "{err}");
        assert!(!err.contains("assuming empty model"), "whisper.cpp was given the file: {err}");
    }
}

#[test]
fn issue18_case5_four_byte_fake_model_fails_in_doctor_and_at_start() {
    let dir = support::tempdir();
    let fake = dir.path().join("ggml-fake.bin");
    std::fs::write(&fake, b"lmgg").unwrap();
    let problem = listed_problem(&fake);
    assert_eq!(problem, "not a whisper.cpp model: shorter than a ggml header (48 bytes)");
    assert_refused_everywhere(&fake, &problem);
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn issue18_case5_truncated_real_model_fails_in_doctor_and_at_start() {
    let tiny = support::model("ggml-tiny.en.bin");
    let dir = support::tempdir();
    let bytes = std::fs::read(&tiny).unwrap();
    let half = dir.path().join("ggml-half.bin");
    std::fs::write(&half, &bytes[..bytes.len() / 2]).unwrap();
    let problem = listed_problem(&half);
    assert!(problem.starts_with("not a whisper.cpp model: truncated: tensor "), "{problem}");
    assert!(problem.contains(&format!("the file ends at {}", bytes.len() / 2)), "{problem}");
    assert_refused_everywhere(&half, &problem);

    // The same file with bytes after its last tensor is no model either.
    let padded = dir.path().join("ggml-padded.bin");
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 7]);
    std::fs::write(&padded, longer).unwrap();
    assert_eq!(
        listed_problem(&padded),
        format!(
            "not a whisper.cpp model: 7 bytes follow the last tensor (at offset {}); the file is damaged or not a ggml model",
            bytes.len()
        )
    );
    // And the real one passes.
    let out = hearth(&["model", "list", "--dir", support::models_dir().to_str().unwrap()]);
    let listing = stdout(&out);
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("ggml-tiny.en.bin ")
                && l.ends_with("tiny, English-only, f16, 51864 tokens, 4+4 layers")),
        "{listing}"
    );
}

// ---- case 6: --threads ----

#[test]
fn issue18_case6_threads_flag_is_bounded_like_the_config() {
    let dir = support::tempdir();
    let wav = short_wav(dir.path());
    for bad in ["1000", "0", "65", "lots"] {
        let out = hearth(&["transcribe", "--threads", bad, wav.to_str().unwrap()]);
        assert_usage_error(&out, "--threads", &[bad, "1 to 64"]);
        let out = hearth(&["bench", "stt", "--threads", bad, wav.to_str().unwrap()]);
        assert_usage_error(&out, "--threads", &["1 to 64"]);
    }
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn issue18_case6_threads_above_the_cores_are_capped_and_the_job_finishes() {
    let tiny = support::model("ggml-tiny.en.bin");
    let dir = support::tempdir();
    let wav = short_wav(dir.path());
    let cores = std::thread::available_parallelism().unwrap().get();
    let started = std::time::Instant::now();
    let out = hearth(&["transcribe", "--model", tiny.to_str().unwrap(), "--threads", "64", wav.to_str().unwrap()]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("whisper threads = 64 but this machine has {cores} core(s) available; using {cores}")),
        "{err}"
    );
    assert!(started.elapsed().as_secs() < 60, "a 0.3 s clip took {:?}", started.elapsed());
}

// ---- case 8: discovery values, printing, prefixes, WAV rates ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue18_case8_devices_escapes_names_checks_ranges_and_lists_numeric_topics() {
    let broker = Mosquitto::start();
    let mut publisher = Observer::connect(broker.port(), &[]).await;
    let retained = [
        ("homeassistant/switch/tab/config", r#"{"name":"Tab\tLamp\nFAKE\tLINE","cmd_t":"t/set"}"#),
        ("homeassistant/switch/esc/config", r#"{"name":"\u001b[2J\u001b]0;owned\u0007Plug","cmd_t":"e/set"}"#),
        ("homeassistant/switch/num/config", r#"{"name":"Number Topic","cmd_t":12345}"#),
        ("homeassistant/light/zero/config", r#"{"name":"Zero Scale","cmd_t":"z/set","schema":"json","bri_scl":0}"#),
        ("homeassistant/light/neg/config", r#"{"name":"Negative Scale","cmd_t":"n/set","brightness_scale":-5}"#),
        ("homeassistant/light/huge/config", r#"{"name":"Huge Scale","cmd_t":"h/set","brightness_scale":1e308}"#),
        (
            "homeassistant/fan/fan/config",
            r#"{"name":"Upside Fan","cmd_t":"f/set","pct_cmd_t":"f/p","spd_rng_min":5,"spd_rng_max":2}"#,
        ),
        ("homeassistant/climate/trv/config", r#"{"name":"Odd TRV","temp_cmd_t":"c/t","min_temp":30,"max_temp":10}"#),
        ("homeassistant/switch/list/config", r#"{"name":"List Topic","cmd_t":["a","b"]}"#),
        ("homeassistant/light/ok/config", r#"{"name":"Good Light","cmd_t":"g/set","schema":"json","bri_scl":254}"#),
    ];
    for (topic, payload) in retained {
        publisher.publish(topic, payload, true).await;
    }
    let dir = support::tempdir();
    let config = write_config(dir.path(), &format!("[mqtt]\nhost = \"127.0.0.1\"\nport = {}\n", broker.port()));
    let out =
        tokio::task::spawn_blocking(move || hearth(&["devices", "--config", config.to_str().unwrap()])).await.unwrap();
    let (listing, err) = (stdout(&out), stderr(&out));
    assert!(out.status.success(), "{err}");
    let mut lines: Vec<&str> = listing.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "Good Light\t-\tlight\tg/set",
            "Number Topic\t-\tswitch\t12345",
            "Tab\\tLamp\\nFAKE\\tLINE\t-\tswitch\tt/set",
            "\\u{1b}[2J\\u{1b}]0;owned\\u{7}Plug\t-\tswitch\te/set",
        ],
        "{listing}"
    );
    assert!(!listing.contains('\u{1b}') && !err.contains('\u{1b}'), "an escape sequence reached the terminal");
    for (topic, key) in [
        ("homeassistant/light/zero/config", "`brightness_scale` = 0 is not allowed"),
        ("homeassistant/light/neg/config", "`brightness_scale` = -5 is not allowed"),
        ("homeassistant/light/huge/config", "`brightness_scale` = 1e+308 is not allowed"),
        ("homeassistant/fan/fan/config", "`speed_range_max` = 2 is not allowed"),
        ("homeassistant/climate/trv/config", "`max_temp` = 10 is not allowed"),
        ("homeassistant/switch/list/config", "`command_topic` = [\"a\",\"b\"] is not allowed"),
    ] {
        let line = err.lines().find(|l| l.contains(topic)).unwrap_or_else(|| panic!("no warning for {topic}: {err}"));
        assert!(line.contains("WARN") && line.contains("skipping a discovery config") && line.contains(key), "{line}");
    }
}

#[test]
fn issue18_case8_topic_prefixes_are_config_errors() {
    let dir = support::tempdir();
    for (text, key, also) in [
        ("[mqtt]\ndiscovery_prefix = \"#\"\n", "mqtt.discovery_prefix", "wildcard"),
        ("[mqtt]\ndiscovery_prefix = \"home/+\"\n", "mqtt.discovery_prefix", "wildcard"),
        ("[mqtt]\ndiscovery_prefix = \"\"\n", "mqtt.discovery_prefix", "empty"),
        ("[mqtt]\ndiscovery_prefix = \"ha\\u0000\"\n", "mqtt.discovery_prefix", "control character"),
        ("[mqtt]\ndiscovery_prefix = \"homeassistant/\"\n", "mqtt.discovery_prefix", "ends with '/'"),
        (
            "[[intent.custom]]\nname = \"Bed\"\nsentences = [\"bed time\"]\ntopic = \"home/#\"\n",
            "intent.custom.topic",
            "wildcard",
        ),
        ("[[entity]]\nname = \"Lamp\"\nkind = \"light\"\ncommand_topic = \"\"\n", "entity.command_topic", "empty"),
    ] {
        let config = write_config(dir.path(), text);
        // `devices` fails before it connects anywhere.
        let out = hearth(&["devices", "--config", config.to_str().unwrap()]);
        assert_usage_error(&out, key, &[also]);
    }
}

#[test]
fn issue18_case8_entity_values_from_the_config_are_range_checked() {
    let dir = support::tempdir();
    for (extra, key) in [
        ("brightness_scale = 0", "`brightness_scale` = 0"),
        ("brightness_scale = -3", "`brightness_scale` = -3"),
        ("brightness_scale = 1e308", "`brightness_scale` = 1e+308"),
        ("bri_scl = nan", "`brightness_scale` = null"),
    ] {
        let config = write_config(
            dir.path(),
            &format!("[[entity]]\nname = \"Kitchen Light\"\nkind = \"light\"\ncommand_topic = \"k/set\"\n{extra}\n"),
        );
        let out = hearth(&["intent", "--config", config.to_str().unwrap(), "turn on the kitchen light"]);
        assert_usage_error(&out, key, &["Kitchen Light", "1 to 65535"]);
    }
}

#[test]
#[ignore = "needs the test environment (models, Piper): run scripts/test"]
fn issue18_case8_one_hertz_wav_is_refused() {
    let tiny = support::model("ggml-tiny.en.bin");
    let dir = support::tempdir();
    // 200 samples at 1 Hz: "200 s of audio" in 444 bytes.
    let wav = support::write_wav(&dir.path().join("one-hertz.wav"), &[0.1; 200], 1, 1);
    let out = hearth(&["transcribe", "--model", tiny.to_str().unwrap(), wav.to_str().unwrap()]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{} has a sample rate of 1 Hz; Hearth reads WAV files of 8000 to 192000 Hz",
            wav.display()
        )),
        "{err}"
    );
    assert!(err.contains("sox in.wav -r 16000"), "{err}");
}
