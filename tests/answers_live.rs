//! Hearth answers, for real: the fake microphone (tests/support/alsa.rs) speaks to `hearth run`,
//! the fake speaker (tests/support/speaker.rs) hears what it plays, and a real mosquitto sees the
//! timer events. A 2-second timer is started by voice, is answered, rings, and stops on a
//! spoken "stop" said without the wake word; then an announcement on `hearth/<site>/say` is
//! played.

#[path = "support/mosquitto.rs"]
mod mosquitto;
mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mosquitto::{Mosquitto, Observer};
use serde_json::Value;
use support::speaker::{self, FakeSpeaker};

const TIMER: &str = "hearth/kitchen/timer";
const INTENT: &str = "hearth/kitchen/intent";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the test environment (models, intents data): run scripts/test"]
async fn a_spoken_timer_is_answered_rings_and_stops_on_stop_without_the_wake_word() {
    let dir = support::tempdir();
    let broker = Mosquitto::start();
    let mut observer = Observer::connect(broker.port(), &[TIMER, INTENT]).await;
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[audio]\ndevice = \"{mic}\"\n[stt]\nmodel = \"{model}\"\nthreads = 2\n[wake]\nmodels_dir = \"{models}\"\n\
             [intent]\ndata = \"{data}\"\n[feedback]\ndevice = \"{speaker}\"\n[voice]\nring_limit = \"40s\"\n\
             [site]\nid = \"kitchen\"\n[mqtt]\nhost = \"127.0.0.1\"\nport = {port}\n",
            mic = support::alsa::DEVICE,
            model = support::model("ggml-tiny.en.bin").display(),
            models = support::models_dir().display(),
            data = support::intents_data().display(),
            speaker = speaker::DEVICE,
            port = broker.port(),
        ),
    )
    .unwrap();
    let mic = support::alsa::FakeMic::new(dir.path());
    let fake_speaker = FakeSpeaker::new(dir.path());
    mic.add_speaker(&fake_speaker);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hearth"));
    cmd.args(["run", "--config", config.to_str().unwrap(), "--input", "mic"])
        .env_remove("HEARTH_CONFIG")
        .env_remove("RUST_LOG")
        .stderr(Stdio::piped());
    mic.attach(&mut cmd);
    let mut child = cmd.spawn().expect("start hearth");
    let lines = support::stderr_lines(&mut child);
    let (seen, lines) = tokio::task::spawn_blocking(move || {
        (support::wait_for_line(&lines, "listening", Duration::from_secs(60)), lines)
    })
    .await
    .unwrap();
    assert!(seen.iter().any(|l| l.contains("speaker open")), "{}", seen.join("\n"));

    let command = support::espeak("hey jarvis, set a timer for two seconds", "en-us", 150, &dir.path().join("c.wav"));
    let padded =
        support::concat(&[&command, &support::silence(1.5, &dir.path().join("s.wav"))], 0.0, &dir.path().join("p.wav"));
    mic.play(&padded);

    let fail = |child: &mut std::process::Child, lines: &std::sync::mpsc::Receiver<String>, why: &str| -> ! {
        let _ = child.kill();
        let log: Vec<String> = lines.try_iter().collect();
        panic!("{why}; hearth said:\n{}", log.join("\n"));
    };
    let event = |p: &rumqttc::Publish| serde_json::from_slice::<Value>(&p.payload).unwrap();
    let Ok(started) = tokio::time::timeout(Duration::from_secs(30), observer.next_on(TIMER)).await else {
        fail(&mut child, &lines, "no timer started")
    };
    let started = event(&started);
    assert_eq!((started["event"].as_str(), started["seconds_total"].as_u64()), (Some("started"), Some(2)), "{started}");
    let intent = event(&observer.next_on(INTENT).await);
    assert_eq!(intent["intent"]["name"], "HassStartTimer");
    assert_eq!(intent["response"], "Timer set for 2 seconds", "{intent}");

    let Ok(finished) = tokio::time::timeout(Duration::from_secs(10), observer.next_on(TIMER)).await else {
        fail(&mut child, &lines, "the timer never finished")
    };
    assert_eq!(event(&finished)["event"], "finished");
    // Wake chime, the spoken answer, then the first ring.
    let heard_at = Instant::now();
    let sounds = fake_speaker.wait_sounds(3, Duration::from_secs(15));
    if sounds.len() < 3 {
        fail(&mut child, &lines, &format!("{} sounds played, not 3", sounds.len()));
    }
    let answer = speaker::secs(&sounds[1]);
    assert!((0.8..4.0).contains(&answer), "the answer lasted {answer:.2} s");
    let ring = speaker::secs(&sounds[2]);
    assert!(ring > 1.0, "the ring lasted {ring:.2} s");
    eprintln!(
        "answer {answer:.2} s, ring {ring:.2} s, heard {:.1} s after finishing",
        heard_at.elapsed().as_secs_f64()
    );

    // "stop", without the wake word, in the pause after a ring.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let stop = support::espeak("stop", "en-us", 150, &dir.path().join("stop.wav"));
    mic.play(&stop);
    let Ok(cancelled) = tokio::time::timeout(Duration::from_secs(20), observer.next_on(TIMER)).await else {
        fail(&mut child, &lines, "the ringing was not stopped")
    };
    assert_eq!(event(&cancelled)["event"], "cancelled", "{}", event(&cancelled));
    let rings_then = fake_speaker.sounds().len();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(fake_speaker.sounds().len(), rings_then, "it rang on after stop");

    // An announcement from an automation is spoken.
    observer.publish("hearth/kitchen/say", r#"{"text": "The washing machine is done", "language": "en"}"#, false).await;
    let sounds = fake_speaker.wait_sounds(rings_then + 1, Duration::from_secs(10));
    if sounds.len() <= rings_then {
        fail(&mut child, &lines, "the announcement was not played")
    }
    let said = speaker::secs(&sounds[rings_then]);
    assert!((1.0..4.0).contains(&said), "the announcement lasted {said:.2} s");

    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::task::spawn_blocking(move || child.wait()).await.unwrap().unwrap();
    let rest: Vec<String> = lines.try_iter().collect();
    assert!(status.success(), "{status:?}\n{}", rest.join("\n"));
    // The default log carries no answer text.
    assert!(!rest.iter().chain(&seen).any(|l| l.contains("Timer set for")), "{}", rest.join("\n"));
    drop(mic);
}
