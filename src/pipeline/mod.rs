//! `hearth run`: the wiring of every stage into the always-listening assistant. Nothing imports
//! this module; it imports the stages.
//!
//! # Execution contexts
//!
//! - **DSP thread** (the caller's thread): pulls 80 ms blocks from the source (microphone, WAV
//!   file or stdin), applies the gain, and runs the [`listen::Listener`] (pre-roll, wake word,
//!   endpointing). A finished command goes to the STT worker; the DSP thread never waits for
//!   whisper or MQTT while listening to a microphone (a command arriving while one is still
//!   queued is refused with the error tone and a warning). Files and stdin are read as fast as
//!   they are processed, so there the DSP thread waits for room in the STT queue instead.
//! - **STT worker** ([`SttWorker`]): owns whisper; queue of one clip.
//! - **Handler thread**: waits for each transcript, recognises the intent, publishes through
//!   the bridge and waits for the acknowledgements, plays the done or error tone. Queue of
//!   [`JOB_CAPACITY`] commands.
//! - **tokio runtime** (one worker): the MQTT bridge, the live discovery follower and the
//!   signal handler.
//!
//! Shutdown: SIGTERM or SIGINT (or the end of a file) stops the DSP loop; the command being
//! captured is finished, queued commands are transcribed and published, then the bridge
//! publishes `offline` and disconnects. Every audio buffer is a [`Samples`] and is wiped on
//! the way.

pub mod act;
pub mod listen;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use crate::audio::{BLOCK_SAMPLES, RawS16leSource, Samples, Source, WavSource};
use crate::config::{ConfigError, Settings, SttLanguage};
use crate::endpoint::{EndpointOptions, Endpointer};
use crate::feedback::{Feedback, Tone};
use crate::home::{DiscoveredTopics, EntityRegistry, parse_discovery};
use crate::intent::{Context, Language, Recognizer};
use crate::mqtt::{MicState, MqttBridge, MqttError};
use crate::stt::{Decoding, Pending, SttOptions, SttWorker, Transcriber};
use crate::wake::{WakeDetector, WakeOptions};

use act::{Actor, Handled, Latency};
use listen::{Heard, Listener};

/// Commands waiting for the handler thread (each already queued at or done by the STT worker).
pub const JOB_CAPACITY: usize = 4;

/// How long to wait for the broker at start before running on (commands are queued meanwhile).
const CONNECT_WAIT: Duration = Duration::from_secs(10);
/// The broker sends retained discovery configs right after subscribing; this much silence ends them.
const DISCOVERY_QUIET: Duration = Duration::from_millis(700);
/// However many there are, start listening after this long.
const DISCOVERY_LIMIT: Duration = Duration::from_secs(10);
/// Output latency and room echo after a tone, on top of its length.
const ECHO: Duration = Duration::from_millis(150);

/// Where `hearth run` gets its audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The `[audio] device` microphone.
    Mic,
    /// A WAV file, any rate and channel count.
    File(PathBuf),
    /// Raw s16le 16 kHz mono on standard input.
    Stdin,
}

impl Input {
    /// Parses `--input`: `mic`, `-`, or a path.
    pub fn parse(text: &str) -> Input {
        match text {
            "mic" => Input::Mic,
            "-" => Input::Stdin,
            path => Input::File(PathBuf::from(path)),
        }
    }
}

/// What `hearth run` was asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--input`.
    pub input: Input,
}

/// One command on its way from the DSP thread to the handler.
struct Job {
    /// Its transcript, coming from the STT worker.
    pending: Pending,
    /// When the endpointer decided the command was over.
    decided: Instant,
    /// Trailing silence waited for before that decision (audio time).
    silence: Duration,
}

/// What the handler thread did, for the final summary and the exit code.
#[derive(Debug, Default)]
struct Outcomes {
    /// Commands recognised and published.
    done: usize,
    /// Commands whose messages were not all acknowledged.
    failed: usize,
    /// Speech that matched no sentence.
    not_understood: usize,
    /// Clips in which whisper heard nothing.
    nothing_said: usize,
    /// Transcription errors.
    stt_errors: usize,
    /// End of speech → published, per recognised command.
    latencies: Vec<Latency>,
}

/// What the DSP thread saw.
#[derive(Debug, Default)]
struct Listened {
    /// Wake-word detections.
    wakes: usize,
    /// Commands handed to the STT worker.
    commands: usize,
    /// Wakes followed by no speech.
    no_speech: usize,
    /// Commands refused because the STT queue was full.
    busy: usize,
}

/// Runs the assistant until SIGTERM/SIGINT (microphone) or the end of the input (file, stdin).
pub fn run(options: RunOptions) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(options.config.as_deref())?;
    // Before anything holds audio: lock memory so audio can never be swapped out.
    let memory = crate::privacy::lock_memory();
    let config_path = Settings::path_for_messages(options.config.as_deref());

    // Everything that can fail on bad files fails here, before anything starts.
    let wake = WakeDetector::load(&WakeOptions::from(&settings.wake)).map_err(|e| match e {
        // A name that is no model is a config mistake (exit code 2), not a runtime failure.
        crate::wake::WakeError::UnknownModel { value } => anyhow::Error::new(ConfigError::Value {
            path: config_path.clone(),
            key: "wake.model",
            value: format!("{value:?}"),
            fix: "use \"hey_jarvis\", \"alexa\", \"hey_mycroft\" or the path of an openWakeWord .onnx file".into(),
        }),
        other => other.into(),
    })?;
    let transcriber = Transcriber::load(&SttOptions {
        model: settings.stt.model.clone(),
        language: settings.stt.language,
        threads: settings.stt.threads,
        decoding: Decoding::Tuned,
    })?;
    let registry = EntityRegistry::from_settings(&settings).map_err(|e| ConfigError::Value {
        path: config_path.clone(),
        key: "entity",
        value: String::new(),
        fix: e.to_string(),
    })?;
    let recognizer = Recognizer::from_settings(&settings).map_err(|e| ConfigError::Value {
        path: config_path.clone(),
        key: "intent.custom",
        value: String::new(),
        fix: e.to_string(),
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let source = open_source(&options.input, &settings, &stop)?;
    let live = options.input == Input::Mic;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("hearth-io")
        .enable_all()
        .build()
        .context("starting the I/O runtime")?;
    let bridge = runtime.block_on(MqttBridge::from_settings(&settings))?;
    match runtime.block_on(bridge.wait_connected(CONNECT_WAIT)) {
        Ok(()) => {}
        Err(e @ (MqttError::NotAuthorized { .. } | MqttError::Refused { .. } | MqttError::Tls { .. })) => {
            runtime.block_on(bridge.shutdown());
            return Err(e.into());
        }
        Err(e) => tracing::warn!("{e}; listening anyway, commands are queued until the broker is reached"),
    }
    let audio_files = match crate::privacy::scan_dir(&crate::privacy::state_dir()) {
        Ok(scan) => scan.audio.len(),
        Err(e) => {
            tracing::warn!("{e}");
            0
        }
    };
    if audio_files > 0 {
        tracing::warn!(audio_files, "audio files found in the state directory; see `hearth privacy`");
    }
    bridge.set_privacy(&crate::privacy::diagnostic_summary(&settings.privacy, audio_files, &memory));
    let registry = Arc::new(RwLock::new(registry));
    let (synced_tx, synced_rx) = oneshot::channel();
    runtime.spawn(follow_discovery(
        bridge.clone(),
        registry.clone(),
        settings.mqtt.discovery_prefix.clone(),
        synced_tx,
    ));
    let _ = runtime.block_on(async { tokio::time::timeout(DISCOVERY_LIMIT + DISCOVERY_QUIET, synced_rx).await });
    tracing::info!(entities = registry.read().map(|r| r.len()).unwrap_or(0), "devices known");

    runtime.spawn(stop_on_signal(stop.clone()));

    let feedback = Arc::new(Feedback::open(&settings.feedback));
    let worker = SttWorker::spawn(transcriber)?;
    let actor = Actor {
        recognizer,
        registry,
        context: Context {
            language: Language::from_stt(settings.intent_language).unwrap_or(Language::En),
            area: settings.site_area.clone(),
        },
        bridge: bridge.clone(),
        runtime: runtime.handle().clone(),
        policy: settings.privacy.transcripts,
        wake: act::wake_words(&settings.wake.model),
    };
    let auto_language = settings.stt.language == SttLanguage::Auto;
    let (jobs_tx, jobs_rx) = sync_channel::<Job>(JOB_CAPACITY);
    let (handled_tx, handled_rx) = sync_channel::<()>(JOB_CAPACITY);
    let handler = {
        let feedback = feedback.clone();
        std::thread::Builder::new()
            .name("handler".into())
            .spawn(move || handle_jobs(jobs_rx, &actor, &feedback, auto_language, &handled_tx))
            .context("starting the handler thread")?
    };

    let endpointer = Endpointer::new(EndpointOptions::from(&settings.endpoint));
    // The wake chime comes back through the microphone: not speech.
    let echo = if live && feedback.is_audible() { Tone::Wake.duration() + ECHO } else { Duration::ZERO };
    let mut listener = Listener::new(wake, endpointer, listen::samples_in(echo));
    let mut dsp = Dsp {
        bridge: &bridge,
        runtime: &runtime,
        worker: &worker,
        jobs: jobs_tx,
        handled: handled_rx,
        feedback: &feedback,
        stop: &stop,
        live,
        gain: settings.audio.gain,
        listened: Listened::default(),
    };
    tracing::info!(input = %source.describe(), wake = %settings.wake.model, "listening");
    crate::privacy::notify_ready();
    let result = dsp.listen(source, &mut listener, &options.input, &settings);
    let listened = std::mem::take(&mut dsp.listened);
    drop(dsp);
    crate::privacy::notify_stopping();
    let outcomes = handler.join().unwrap_or_default();
    drop(worker);
    bridge.set_listening(false);
    runtime.block_on(bridge.shutdown());
    result?;

    summarize(&listened, &outcomes, listener.position());
    if outcomes.failed > 0 {
        bail!("{} command(s) were not delivered to the MQTT broker (see the warnings above)", outcomes.failed);
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens the capture source. Standard input is read by a thread of its own, so a stop request
/// is noticed even while no audio arrives.
fn open_source(input: &Input, settings: &Settings, stop: &Arc<AtomicBool>) -> anyhow::Result<Box<dyn Source>> {
    Ok(match input {
        Input::Mic => Box::new(crate::audio::LiveMicrophone::open(&settings.audio.device)?),
        Input::File(path) => Box::new(WavSource::open(path)?),
        Input::Stdin => Box::new(RawS16leSource::new(StdinPump::start(stop.clone())?)),
    })
}

/// Standard input, read by a thread in chunks and handed over through a small queue; reads
/// end (as at end of input) when a stop is requested. Chunks are wiped once consumed.
struct StdinPump {
    /// Chunks from the reader thread; closed at end of input.
    chunks: Receiver<Zeroizing<Vec<u8>>>,
    /// The chunk being consumed and how far.
    current: (Zeroizing<Vec<u8>>, usize),
    /// Set on SIGTERM/SIGINT.
    stop: Arc<AtomicBool>,
}

impl StdinPump {
    /// Bytes per chunk: 128 ms of 16 kHz s16le.
    const CHUNK: usize = 4_096;

    fn start(stop: Arc<AtomicBool>) -> anyhow::Result<StdinPump> {
        let (tx, chunks) = sync_channel::<Zeroizing<Vec<u8>>>(8);
        std::thread::Builder::new()
            .name("stdin".into())
            .spawn(move || {
                let mut stdin = std::io::stdin().lock();
                loop {
                    let mut chunk = Zeroizing::new(vec![0u8; Self::CHUNK]);
                    match stdin.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => {
                            chunk.truncate(n);
                            if tx.send(chunk).is_err() {
                                return;
                            }
                        }
                    }
                }
            })
            .context("starting the stdin reader")?;
        Ok(StdinPump { chunks, current: (Zeroizing::new(Vec::new()), 0), stop })
    }
}

impl Read for StdinPump {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.1 == self.current.0.len() {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(0);
            }
            match self.chunks.recv_timeout(Duration::from_millis(100)) {
                Ok(chunk) => self.current = (chunk, 0),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let (chunk, at) = &mut self.current;
        let n = buf.len().min(chunk.len() - *at);
        buf[..n].copy_from_slice(&chunk[*at..*at + n]);
        *at += n;
        Ok(n)
    }
}

/// The DSP thread's loop and what it needs.
struct Dsp<'a> {
    /// For the Listening sensor and the Microphone switch.
    bridge: &'a MqttBridge,
    /// To wait on the Microphone switch.
    runtime: &'a tokio::runtime::Runtime,
    /// Transcribes commands.
    worker: &'a SttWorker,
    /// To the handler thread.
    jobs: SyncSender<Job>,
    /// One message per command the handler has finished with.
    handled: Receiver<()>,
    /// Tones.
    feedback: &'a Feedback,
    /// Set by SIGTERM/SIGINT.
    stop: &'a AtomicBool,
    /// Microphone (never wait on the STT worker) or file/stdin (wait for room).
    live: bool,
    /// `[audio] gain`.
    gain: f32,
    /// Counters.
    listened: Listened,
}

impl Dsp<'_> {
    /// Reads the source until it ends or a stop is requested, honouring the Microphone switch.
    fn listen<W: listen::WakeWord>(
        &mut self,
        source: Box<dyn Source>,
        listener: &mut Listener<W>,
        input: &Input,
        settings: &Settings,
    ) -> anyhow::Result<()> {
        let mut mic = self.bridge.mic_state();
        let mut block = Samples::zeros(BLOCK_SAMPLES);
        let mut muted_logged = false;
        let watchdog = crate::privacy::watchdog_interval().map(|d| d / 2);
        let mut last_ping = Instant::now();
        // The switch is unknown until its retained state is read (at most a few seconds).
        let _ = self.runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(10), mic.wait_for(|s| *s != MicState::Unknown)).await
        });
        let mut source = Some(source);
        loop {
            if self.stop.load(Ordering::Relaxed) {
                tracing::info!("stopping");
                break;
            }
            // The watchdog hears from the loop itself: a stuck DSP thread gets the service restarted.
            if watchdog.is_some_and(|every| last_ping.elapsed() >= every) {
                crate::privacy::notify_watchdog();
                last_ping = Instant::now();
            }
            if !mic.borrow().capturing() {
                if listener.capturing() {
                    listener.abort();
                    self.bridge.set_listening(false);
                }
                if self.live {
                    // Muted: the device is closed, nothing is captured.
                    if source.take().is_some() {
                        tracing::info!("microphone muted: capture stopped");
                    }
                    let _ = self
                        .runtime
                        .block_on(async { tokio::time::timeout(Duration::from_millis(250), mic.changed()).await });
                    continue;
                }
                if !muted_logged {
                    tracing::warn!("the Microphone switch is off: audio from the input is discarded while it is");
                    muted_logged = true;
                }
            } else if source.is_none() {
                match open_source(input, settings, &Arc::new(AtomicBool::new(false))) {
                    Ok(s) => {
                        tracing::info!("microphone on: capturing");
                        source = Some(s);
                    }
                    Err(e) => {
                        tracing::warn!("{e:#}; retrying in 1 s");
                        std::thread::sleep(Duration::from_secs(1));
                        continue;
                    }
                }
            }
            let Some(src) = source.as_mut() else { continue };
            let n = src.read(&mut block)?;
            if n < block.len() {
                block[n..].fill(0.0);
            }
            if n == 0 {
                break;
            }
            if self.gain != 1.0 {
                for s in block.iter_mut() {
                    *s = (*s * self.gain).clamp(-1.0, 1.0);
                }
            }
            if !mic.borrow().capturing() {
                continue;
            }
            let heard = listener.push(&block);
            self.on_heard(heard)?;
            if n < block.len() {
                break;
            }
        }
        block.fill(0.0);
        if let Some(command) = listener.end_of_stream() {
            self.on_heard(Heard::Command(command))?;
        }
        Ok(())
    }

    /// Acts on what one block brought.
    fn on_heard(&mut self, heard: Heard) -> anyhow::Result<()> {
        match heard {
            Heard::Nothing => {}
            Heard::Wake(score) => {
                self.listened.wakes += 1;
                tracing::info!(score = format_args!("{score:.2}"), "wake word");
                self.bridge.set_listening(true);
                self.feedback.play(Tone::Wake);
            }
            Heard::NoSpeech => {
                self.listened.no_speech += 1;
                tracing::info!("nothing said after the wake word");
                self.bridge.set_listening(false);
            }
            Heard::Command(command) => {
                self.bridge.set_listening(false);
                let decided = Instant::now();
                tracing::debug!(
                    audio_ms = command.audio.duration().as_millis() as u64,
                    reason = ?command.reason,
                    silence_ms = command.silence_waited.as_millis() as u64,
                    "command captured"
                );
                let pending = if self.live {
                    match self.worker.try_submit(command.audio)? {
                        Some(p) => p,
                        None => {
                            self.listened.busy += 1;
                            tracing::warn!("still transcribing the previous command: this one is dropped");
                            self.feedback.play(Tone::Error);
                            return Ok(());
                        }
                    }
                } else {
                    self.worker.submit(command.audio)?
                };
                self.listened.commands += 1;
                let job = Job { pending, decided, silence: command.silence_waited };
                if self.live {
                    if let Err(TrySendError::Full(_)) = self.jobs.try_send(job) {
                        self.listened.busy += 1;
                        tracing::warn!("too many commands waiting: this one is dropped");
                        self.feedback.play(Tone::Error);
                    }
                } else {
                    // A file is read faster than it was spoken: handle each command before
                    // reading on, as a person would wait for the light to come on. Otherwise the
                    // next command would queue behind this one, which never happens live.
                    self.jobs.send(job).map_err(|_| anyhow::anyhow!("the command handler stopped"))?;
                    let _ = self.handled.recv();
                }
            }
        }
        Ok(())
    }
}

/// The handler thread: transcript → intent → MQTT → tone, one command at a time.
fn handle_jobs(
    jobs: Receiver<Job>,
    actor: &Actor,
    feedback: &Feedback,
    auto_language: bool,
    handled: &SyncSender<()>,
) -> Outcomes {
    let mut outcomes = Outcomes::default();
    for job in jobs {
        handle_job(job, actor, feedback, auto_language, &mut outcomes);
        let _ = handled.try_send(());
    }
    outcomes
}

/// One command: transcript → intent → MQTT → tone.
fn handle_job(job: Job, actor: &Actor, feedback: &Feedback, auto_language: bool, outcomes: &mut Outcomes) {
    {
        let transcript = match job.pending.wait() {
            Ok(t) => t,
            Err(e) => {
                outcomes.stt_errors += 1;
                tracing::warn!("transcription failed: {e}");
                feedback.play(Tone::Error);
                return;
            }
        };
        let stt = Duration::from_millis(transcript.stt_ms);
        let language = if auto_language { Language::parse(&transcript.language) } else { None };
        let handled = actor.act(transcript.text, language);
        let latency = Latency::since(job.decided, job.silence, stt);
        match handled {
            Handled::NothingSaid => {
                outcomes.nothing_said += 1;
                tracing::info!(stt_ms = transcript.stt_ms, "nothing understood in the command");
                feedback.play(Tone::Error);
            }
            Handled::NotUnderstood => {
                outcomes.not_understood += 1;
                tracing::info!(stt_ms = transcript.stt_ms, "no sentence matches the command");
                feedback.play(Tone::Error);
            }
            Handled::Done { intent, published, failed, refused } => {
                if let Some(why) = &refused {
                    tracing::warn!(%intent, "refused: {}", crate::home::printable(why));
                }
                if failed > 0 {
                    outcomes.failed += 1;
                    feedback.play(Tone::Error);
                } else {
                    outcomes.done += 1;
                    outcomes.latencies.push(latency);
                    feedback.play(if refused.is_some() { Tone::Error } else { Tone::Done });
                }
                tracing::info!(
                    %intent,
                    published,
                    failed,
                    latency_ms = latency.total().as_millis() as u64,
                    silence_ms = latency.silence.as_millis() as u64,
                    stt_ms = latency.stt.as_millis() as u64,
                    after_decision_ms = latency.after_decision.as_millis() as u64,
                    "command handled"
                );
            }
        }
    }
}

/// Logs the run's totals (the benchmark reads this line).
fn summarize(listened: &Listened, outcomes: &Outcomes, audio: Duration) {
    let mut totals: Vec<u64> = outcomes.latencies.iter().map(|l| l.total().as_millis() as u64).collect();
    totals.sort_unstable();
    let median = totals.get(totals.len() / 2).copied().unwrap_or(0);
    let worst = totals.last().copied().unwrap_or(0);
    tracing::info!(
        audio_s = format_args!("{:.1}", audio.as_secs_f64()),
        wakes = listened.wakes,
        commands = listened.commands,
        no_speech = listened.no_speech,
        busy = listened.busy,
        done = outcomes.done,
        not_understood = outcomes.not_understood,
        nothing_said = outcomes.nothing_said,
        failed = outcomes.failed,
        stt_errors = outcomes.stt_errors,
        latency_median_ms = median,
        latency_worst_ms = worst,
        "finished"
    );
}

/// Keeps the registry in step with Home Assistant discovery while the assistant runs: retained
/// configs at start, then every config published, changed or removed later. Signals `synced`
/// once the retained configs have arrived (the broker fell quiet).
async fn follow_discovery(
    bridge: MqttBridge,
    registry: Arc<RwLock<EntityRegistry>>,
    prefix: String,
    synced: oneshot::Sender<()>,
) {
    let subscribe = |filter: String| {
        bridge.subscribe(filter).map_err(|e| tracing::warn!("cannot follow Home Assistant discovery: {e}")).ok()
    };
    let (Some(mut a), Some(mut b)) =
        (subscribe(format!("{prefix}/+/+/config")), subscribe(format!("{prefix}/+/+/+/config")))
    else {
        let _ = synced.send(());
        return;
    };
    let own = bridge.topics().device_config.clone();
    let mut topics = DiscoveredTopics::default();
    let mut synced = Some(synced);
    let started = tokio::time::Instant::now();
    loop {
        let message = tokio::select! {
            m = a.recv() => m,
            m = b.recv() => m,
            () = tokio::time::sleep(DISCOVERY_QUIET), if synced.is_some() => {
                let _ = synced.take().map(|s| s.send(()));
                continue;
            }
        };
        let Some(message) = message else { return };
        if synced.is_some() && started.elapsed() > DISCOVERY_LIMIT {
            let _ = synced.take().map(|s| s.send(()));
        }
        if message.topic == own {
            continue;
        }
        match parse_discovery(&prefix, &message.topic, &message.payload) {
            Ok(update) => {
                let mut registry = registry.write().unwrap_or_else(|e| e.into_inner());
                let count = topics.apply(&mut registry, &message.topic, update);
                tracing::debug!(topic = %message.topic, entities = count, "discovery config");
            }
            Err(why) => tracing::warn!("skipping a discovery config: {why}"),
        }
    }
}

/// Sets `stop` on SIGTERM or SIGINT.
async fn stop_on_signal(stop: Arc<AtomicBool>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::warn!("cannot install the SIGTERM handler; stop hearth with SIGKILL");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    stop.store(true, Ordering::Relaxed);
}
