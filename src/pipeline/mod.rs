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
//! - **Ringer thread** ([`timers::TimerService::run_ringer`]): ticks the timers, publishes their
//!   events, rings finished ones and then asks the DSP thread for one utterance without the wake
//!   word ("stop").
//! - **tokio runtime** (one worker): the MQTT bridge, the live discovery follower, the signal
//!   handler and the announcements on `hearth/<site>/say`.
//!
//! Shutdown: SIGTERM or SIGINT (or the end of a file) stops the DSP loop; the command being
//! captured is finished, queued commands are transcribed and published, then the bridge
//! publishes `offline` and disconnects. Every audio buffer is a [`Samples`] and is wiped on
//! the way.

pub mod act;
pub mod announce;
pub mod listen;
pub mod session;
pub mod timers;

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::oneshot;
use zeroize::Zeroizing;

use crate::answer::Answers;
use crate::audio::{BLOCK_SAMPLES, RawS16leSource, Samples, Source, WavSource};
use crate::config::{AnswerMode, ConfigError, Settings, SttLanguage};
use crate::endpoint::{EndpointOptions, Endpointer};
use crate::feedback::{Feedback, Tone};
use crate::home::{DiscoveredTopics, EntityRegistry, parse_discovery};
use crate::intent::{Context, Language, Recognizer};
use crate::mqtt::{DISCOVERY_LIMIT, DISCOVERY_QUIET, MicState, MqttBridge, MqttError};
use crate::stt::{Decoding, Pending, SttOptions, SttWorker, Transcriber};
use crate::voice::Voice;
use crate::wake::{WakeDetector, WakeOptions};

use act::{Actor, Handled, Latency};
use listen::{Heard, Listener};
use session::Session;

/// Commands waiting for the handler thread (each already queued at or done by the STT worker).
pub const JOB_CAPACITY: usize = 4;

/// Environment variable for fault injection in tests: `handler-panic` makes the handler thread
/// panic at its first command, so the integration tests can prove a dead thread fails the run.
pub const FAILPOINT: &str = "HEARTH_FAILPOINT";

/// How long to wait for the broker at start before running on (commands are queued meanwhile).
const CONNECT_WAIT: Duration = Duration::from_secs(10);
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
pub struct Listened {
    /// Wake-word detections.
    wakes: usize,
    /// Commands handed to the STT worker.
    commands: usize,
    /// Wakes followed by no speech.
    no_speech: usize,
    /// Commands refused because the STT queue was full.
    busy: usize,
    /// Commands that could not be handled because the handler thread was gone.
    lost: usize,
}

/// Why the assistant stopped early or could not finish its work (exit code 1).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A thread of the assistant panicked or ended before its work was done.
    #[error("the {thread} thread died ({reason}); commands it held were not handled — please report this as a bug")]
    ThreadDied {
        /// Which one (`handler`, ...).
        thread: &'static str,
        /// The panic message, when there was one.
        reason: String,
    },
    /// Commands were recognised but the broker did not acknowledge them.
    #[error("{0} command(s) were not delivered to the MQTT broker (see the warnings above)")]
    Undelivered(usize),
}

/// A stop request shared by the signal handler, the stdin reader and the DSP loop (after
/// mini-redis's `Shutdown`): set once, read everywhere, never cleared.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    /// Set by [`Shutdown::request`].
    requested: Arc<AtomicBool>,
}

impl Shutdown {
    /// Asks every part of the assistant to stop after the command in hand.
    pub fn request(&self) {
        self.requested.store(true, Ordering::Relaxed);
    }

    /// Whether a stop has been requested.
    pub fn requested(&self) -> bool {
        self.requested.load(Ordering::Relaxed)
    }
}

/// Runs the assistant until SIGTERM/SIGINT (microphone) or the end of the input (file, stdin).
pub fn run(options: RunOptions) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(options.config.as_deref())?;
    let assistant = Assistant::load(settings, options.config.as_deref())?;
    let mut running = assistant.start(&options.input)?;
    let listened = running.listen();
    running.shutdown(listened)?;
    Ok(ExitCode::SUCCESS)
}

/// The `[[entity]]` devices and the sentence templates (built-in and `[[intent.custom]]`) of
/// `settings`; a mistake in either is a config error naming its key (exit 2). `config` is the
/// `--config` given, for the message. Used by the assistant and by `hearth intent`.
pub fn load_home(
    settings: &Settings,
    config: Option<&std::path::Path>,
) -> Result<(EntityRegistry, Recognizer), ConfigError> {
    let config_error = |key: &'static str, e: &dyn std::fmt::Display| ConfigError::Unusable {
        path: Settings::path_for_messages(config),
        key,
        problem: e.to_string(),
    };
    let registry = EntityRegistry::from_settings(settings).map_err(|e| config_error("entity", &e))?;
    let mut recognizer = Recognizer::from_settings(settings).map_err(|e| config_error("intent.custom", &e))?;
    let (data, explicit) = &settings.intent_data;
    let language = settings.intent_language;
    let needs_data = if settings.intent_custom_sentences.is_some() {
        Some("intent.custom_sentences")
    } else if !language.has_own_sentences() {
        Some("intent.language")
    } else {
        None
    };
    if data.exists() || *explicit {
        let mut languages = vec![language];
        if settings.stt.language == SttLanguage::Auto {
            // Whisper tells which it heard; Hearth understands English and German, and the
            // intent language.
            languages.extend([Language::En, Language::De].into_iter().filter(|l| *l != language));
        }
        let assist =
            crate::intent::ha::assist::Assist::load(data, &languages, settings.intent_custom_sentences.as_deref())
                .map_err(|e| {
                    let key = match e {
                        crate::intent::ha::assist::AssistError::Custom(_) => "intent.custom_sentences",
                        _ => "intent.data",
                    };
                    config_error(key, &format!("{:#}", anyhow::Error::new(e)))
                })?;
        recognizer = recognizer.with_assist(assist);
    } else if let Some(key) = needs_data {
        return Err(config_error(
            key,
            &format!(
                "needs Home Assistant's sentence data, which is not at {}; run scripts/setup-test-env \
                 to fetch it, or point [intent] data at a home-assistant-intents wheel or folder",
                data.display()
            ),
        ));
    } else {
        tracing::warn!(
            data = %data.display(),
            "Home Assistant's sentence data is not there (scripts/setup-test-env fetches it); \
             only Hearth's own sentences are understood"
        );
    }
    Ok((registry, recognizer))
}

/// Everything the assistant needs before it starts: models, devices, sentences. Loading fails
/// on bad files and bad config (exit 2 for config mistakes), before anything runs or listens.
pub struct Assistant {
    /// The validated config.
    settings: Settings,
    /// The wake-word detector, models loaded.
    wake: WakeDetector,
    /// whisper, model loaded.
    transcriber: Transcriber,
    /// `[[entity]]` devices; discovery adds the rest once connected.
    registry: EntityRegistry,
    /// Sentence templates.
    recognizer: Recognizer,
    /// The outcome of locking memory, for the Privacy sensor.
    memory: crate::privacy::MemoryLock,
}

impl Assistant {
    /// Locks memory (before anything holds audio, so audio can never be swapped out) and
    /// loads every model and table. `config` is the `--config` given, for messages.
    pub fn load(settings: Settings, config: Option<&std::path::Path>) -> anyhow::Result<Assistant> {
        let memory = crate::privacy::lock_memory();
        let config_path = Settings::path_for_messages(config);
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
        let (registry, recognizer) = load_home(&settings, config)?;
        Ok(Assistant { settings, wake, transcriber, registry, recognizer, memory })
    }

    /// Opens the input, connects to the broker (waiting up to `CONNECT_WAIT`; a refused
    /// login is fatal, an unreachable broker is not: commands queue), reads the devices Home
    /// Assistant announces, and starts the STT worker, the handler thread and the signal
    /// handler. The caller's thread then becomes the DSP thread: [`Running::listen`].
    pub fn start(self, input: &Input) -> anyhow::Result<Running> {
        let Assistant { settings, wake, transcriber, registry, recognizer, memory } = self;
        let shutdown = Shutdown::default();
        let source = open_source(input, &settings, &shutdown)?;
        let live = *input == Input::Mic;

        let session = Session::start(&settings)?;
        match session.wait_connected(CONNECT_WAIT) {
            Ok(()) => {}
            Err(e @ (MqttError::NotAuthorized { .. } | MqttError::Refused { .. } | MqttError::Tls { .. })) => {
                session.shutdown();
                return Err(e.into());
            }
            Err(e) => tracing::warn!("{e}; listening anyway, commands are queued until the broker is reached"),
        }
        let bridge = session.bridge().clone();
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
        session.handle().spawn(follow_discovery(
            bridge.clone(),
            registry.clone(),
            settings.mqtt.discovery_prefix.clone(),
            synced_tx,
        ));
        let _ = session.block_on(async { tokio::time::timeout(DISCOVERY_LIMIT + DISCOVERY_QUIET, synced_rx).await });
        tracing::info!(entities = registry.read().map(|r| r.len()).unwrap_or(0), "devices known");

        session.handle().spawn(stop_on_signal(shutdown.clone()));

        let output = Arc::new(Feedback::open(&settings.feedback));
        let worker = SttWorker::spawn(transcriber)?;
        let answers = Arc::new(Answers::new(recognizer.responses()));
        let timers = Arc::new(timers::TimerService::new(bridge.clone(), settings.voice.ring_limit));
        let voice = (settings.voice.answers == AnswerMode::Speak).then(|| Voice::from_settings(&settings.voice));
        let respond = Respond {
            feedback: output.clone(),
            voice: voice.clone(),
            mode: settings.voice.answers,
            answers: answers.clone(),
        };
        let ringer_stop = Arc::new(AtomicBool::new(false));
        let ringer = {
            let (timers, output, answers, stop) =
                (timers.clone(), output.clone(), answers.clone(), ringer_stop.clone());
            let language = settings.intent_language;
            std::thread::Builder::new()
                .name("ringer".into())
                .spawn(move || timers.run_ringer(&stop, &output, voice.as_ref(), &answers, language))
                .context("starting the timer thread")?
        };
        let ring = timers.ring.clone();
        if let Some(voice) = respond.voice.clone() {
            session.handle().spawn(announce::speak_announcements(
                bridge.clone(),
                voice,
                output.clone(),
                settings.intent_language,
            ));
        }
        let actor = Actor {
            recognizer,
            registry,
            context: Context { language: settings.intent_language, area: settings.site_area.clone() },
            bridge,
            runtime: session.handle().clone(),
            policy: settings.privacy.transcripts,
            wake: act::wake_words(&settings.wake.model),
            answers,
            timers,
        };
        let auto_language = settings.stt.language == SttLanguage::Auto;
        let (jobs_tx, jobs_rx) = sync_channel::<Job>(JOB_CAPACITY);
        let (handled_tx, handled_rx) = sync_channel::<()>(JOB_CAPACITY);
        let handler = {
            std::thread::Builder::new()
                .name("handler".into())
                .spawn(move || handle_jobs(jobs_rx, &actor, &respond, auto_language, &handled_tx))
                .context("starting the handler thread")?
        };

        let endpointer = Endpointer::new(EndpointOptions::from(&settings.endpoint));
        // The wake chime comes back through the microphone: not speech.
        let echo = if live && output.is_audible() { Tone::Wake.duration() + ECHO } else { Duration::ZERO };
        let listener = Listener::new(wake, endpointer, listen::samples_in(echo));
        Ok(Running {
            settings,
            input: input.clone(),
            source: Some(source),
            listener,
            session,
            shutdown,
            output,
            worker,
            jobs: Some(jobs_tx),
            handled: handled_rx,
            handler,
            live,
            ringer: Some((ringer, ringer_stop)),
            ring,
        })
    }
}

/// How the handler answers: tones, speech, or nothing after the command (`[voice] answers`).
struct Respond {
    /// The speaker.
    feedback: Arc<Feedback>,
    /// The voice, when answers are spoken.
    voice: Option<Voice>,
    /// `[voice] answers`.
    mode: AnswerMode,
    /// Response templates.
    answers: Arc<Answers>,
}

impl Respond {
    /// Answers with `text` in `language` when answers are spoken and there is something to say
    /// (and the voice works); otherwise with `tone`. Returns true when something was spoken.
    fn answer(&self, text: Option<&str>, language: Language, tone: Tone) -> bool {
        match self.mode {
            AnswerMode::Off => return false,
            AnswerMode::Chime => {}
            AnswerMode::Speak => {
                let text = text.filter(|t| !t.trim().is_empty() && self.feedback.is_audible());
                if let (Some(voice), Some(text)) = (&self.voice, text) {
                    match voice.speak(text, language) {
                        Ok(speech) => {
                            self.feedback.say(&speech);
                            return true;
                        }
                        Err(e) => tracing::warn!("the answer is not spoken: {e}"),
                    }
                }
            }
        }
        self.feedback.play(tone);
        false
    }

    /// The error answer `key`, spoken or as the error tone.
    fn error(&self, key: &str, language: Language) {
        let text = self.answers.error(language, key, &serde_json::json!({}));
        self.answer(text.as_deref(), language, Tone::Error);
    }
}

/// The assistant while it runs: every context of the module documentation, owned here, and
/// stopped in order by [`Running::shutdown`]. The speaker (`output`) carries tones and speech;
/// the ringer thread rings timers; announcements are a task on the session's runtime.
pub struct Running {
    /// The validated config (the microphone is reopened from it after a mute).
    settings: Settings,
    /// Where the audio comes from.
    input: Input,
    /// The open capture source; `None` once read to its end or while the microphone is muted.
    source: Option<Box<dyn Source>>,
    /// Pre-roll, wake word, endpointing.
    listener: Listener<WakeDetector>,
    /// The MQTT bridge and the runtime with the discovery follower and the signal handler.
    session: Session,
    /// Set by SIGTERM/SIGINT.
    shutdown: Shutdown,
    /// The speaker: chimes now.
    output: Arc<Feedback>,
    /// Transcribes commands.
    worker: SttWorker,
    /// To the handler thread; dropped to tell it no more commands come.
    jobs: Option<SyncSender<Job>>,
    /// One message per command the handler has finished with.
    handled: Receiver<()>,
    /// The handler thread, with its counts once it ends.
    handler: std::thread::JoinHandle<Outcomes>,
    /// Microphone (never wait on the STT worker) or file/stdin (wait for room).
    live: bool,
    /// The timer thread and its stop flag.
    ringer: Option<(std::thread::JoinHandle<()>, Arc<AtomicBool>)>,
    /// Shared with the timer thread: listen for "stop" without the wake word.
    ring: Arc<timers::Ring>,
}

impl Running {
    /// Runs the DSP loop on the caller's thread until the input ends or a stop is requested.
    /// Returns what it heard, or why it could not go on (the source failed, the handler died).
    pub fn listen(&mut self) -> anyhow::Result<Listened> {
        let Some(source) = self.source.take() else { return Ok(Listened::default()) };
        let jobs = self.jobs.clone().context("the assistant has already listened")?;
        let mut dsp = Dsp {
            bridge: self.session.bridge(),
            runtime: self.session.handle(),
            worker: &self.worker,
            jobs,
            handled: &self.handled,
            output: &self.output,
            shutdown: &self.shutdown,
            live: self.live,
            gain: self.settings.audio.gain,
            listened: Listened::default(),
            ring: &self.ring,
        };
        tracing::info!(input = %source.describe(), wake = %self.settings.wake.model, "listening");
        crate::privacy::notify_ready();
        let result = dsp.listen(source, &mut self.listener, &self.input, &self.settings);
        result.map(|()| dsp.listened)
    }

    /// Stops in order: no more commands; the handler finishes the queued ones (transcribed,
    /// published, acknowledged); the STT worker ends; the bridge publishes `offline` and
    /// disconnects. Then logs the totals. Errors when listening failed, the handler died or a
    /// command was not delivered.
    pub fn shutdown(mut self, listened: anyhow::Result<Listened>) -> anyhow::Result<()> {
        crate::privacy::notify_stopping();
        self.jobs = None;
        let outcomes = join_thread("handler", self.handler);
        if let Some((ringer, stop)) = self.ringer.take() {
            stop.store(true, Ordering::Release);
            join_thread("ringer", ringer)?;
        }
        drop(self.worker);
        self.session.bridge().set_listening(false);
        self.session.shutdown();
        // A dead thread is the cause of anything that went wrong after it; report it first.
        let outcomes = outcomes?;
        let listened = listened?;
        summarize(&listened, &outcomes, self.listener.position());
        if outcomes.failed > 0 {
            return Err(RunError::Undelivered(outcomes.failed).into());
        }
        Ok(())
    }
}

/// Waits for a thread; a panic becomes [`RunError::ThreadDied`] with its message.
fn join_thread<T>(thread: &'static str, handle: std::thread::JoinHandle<T>) -> Result<T, RunError> {
    handle.join().map_err(|panic| {
        let reason = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panicked".to_owned());
        tracing::error!(thread, %reason, "thread died");
        RunError::ThreadDied { thread, reason }
    })
}

/// Opens the capture source. Standard input is read by a thread of its own, so a stop request
/// is noticed even while no audio arrives.
fn open_source(input: &Input, settings: &Settings, shutdown: &Shutdown) -> anyhow::Result<Box<dyn Source>> {
    Ok(match input {
        Input::Mic => Box::new(crate::audio::LiveMicrophone::open(&settings.audio.device)?),
        Input::File(path) => Box::new(WavSource::open(path)?),
        Input::Stdin => Box::new(RawS16leSource::new(StdinPump::start(shutdown.clone())?)),
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
    shutdown: Shutdown,
}

impl StdinPump {
    /// Bytes per chunk: 128 ms of 16 kHz s16le.
    const CHUNK: usize = 4_096;

    fn start(shutdown: Shutdown) -> anyhow::Result<StdinPump> {
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
        Ok(StdinPump { chunks, current: (Zeroizing::new(Vec::new()), 0), shutdown })
    }
}

impl Read for StdinPump {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.1 == self.current.0.len() {
            if self.shutdown.requested() {
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
    runtime: &'a tokio::runtime::Handle,
    /// Transcribes commands.
    worker: &'a SttWorker,
    /// To the handler thread.
    jobs: SyncSender<Job>,
    /// One message per command the handler has finished with.
    handled: &'a Receiver<()>,
    /// The speaker: tones.
    output: &'a Feedback,
    /// Set by SIGTERM/SIGINT.
    shutdown: &'a Shutdown,
    /// Microphone (never wait on the STT worker) or file/stdin (wait for room).
    live: bool,
    /// `[audio] gain`.
    gain: f32,
    /// Counters.
    listened: Listened,
    /// A ringing timer listens for "stop".
    ring: &'a timers::Ring,
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
            if self.shutdown.requested() {
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
                match open_source(input, settings, &Shutdown::default()) {
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
            if self.live && self.ring.ear.swap(false, Ordering::AcqRel) && listener.listen_now() {
                // A timer rings: one utterance without the wake word, for "stop".
                self.ring.hearing.store(true, Ordering::Release);
                self.bridge.set_listening(true);
            }
            // Hearth's own voice is not listened to (no wake on its own answers).
            let heard =
                if self.live && self.output.sounding(ECHO) { listener.hold(&block) } else { listener.push(&block) };
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

    /// The handler thread is gone, so this command (and any later one) cannot be handled:
    /// say so with the error tone and a log line, and stop listening.
    fn handler_gone(&mut self) -> anyhow::Error {
        self.listened.lost += 1;
        tracing::error!("the command handler has stopped: this command cannot be handled; hearth stops");
        self.output.play(Tone::Error);
        anyhow::anyhow!("the command handler stopped while commands were still coming")
    }

    /// Acts on what one block brought.
    fn on_heard(&mut self, heard: Heard) -> anyhow::Result<()> {
        match heard {
            Heard::Nothing => {}
            Heard::Wake(score) => {
                self.listened.wakes += 1;
                tracing::info!(score = format_args!("{score:.2}"), "wake word");
                self.bridge.set_listening(true);
                self.output.play(Tone::Wake);
            }
            Heard::NoSpeech => {
                self.ring.hearing.store(false, Ordering::Release);
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
                            self.output.play(Tone::Error);
                            return Ok(());
                        }
                    }
                } else {
                    self.worker.submit(command.audio)?
                };
                self.listened.commands += 1;
                let job = Job { pending, decided, silence: command.silence_waited };
                if self.live {
                    match self.jobs.try_send(job) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_)) => {
                            self.listened.busy += 1;
                            tracing::warn!("too many commands waiting: this one is dropped");
                            self.output.play(Tone::Error);
                        }
                        Err(TrySendError::Disconnected(_)) => return Err(self.handler_gone()),
                    }
                } else {
                    // A file is read faster than it was spoken: handle each command before
                    // reading on, as a person would wait for the light to come on. Otherwise the
                    // next command would queue behind this one, which never happens live.
                    if self.jobs.send(job).is_err() || self.handled.recv().is_err() {
                        return Err(self.handler_gone());
                    }
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
    feedback: &Respond,
    auto_language: bool,
    handled: &SyncSender<()>,
) -> Outcomes {
    let mut outcomes = Outcomes::default();
    let fail = std::env::var_os(FAILPOINT).is_some_and(|v| v == "handler-panic");
    for job in jobs {
        // Proof that a dead handler stops `hearth run` with an error (tests/run.rs).
        assert!(!fail, "{FAILPOINT}=handler-panic");
        handle_job(job, actor, feedback, auto_language, &mut outcomes);
        // A capture without the wake word (for a ringing timer's "stop") has been handled.
        actor.timers.ring.hearing.store(false, Ordering::Release);
        let _ = handled.try_send(());
    }
    outcomes
}

/// One command: transcript → intent → MQTT → tone.
fn handle_job(job: Job, actor: &Actor, respond: &Respond, auto_language: bool, outcomes: &mut Outcomes) {
    let feedback = &respond.feedback;
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
                if actor.timers.ring.hearing.load(Ordering::Acquire) {
                    // Not "stop" while a timer rings: the ring goes on, no lecture.
                    return;
                }
                respond.error("no_intent", language.unwrap_or(actor.context.language));
            }
            Handled::StoppedRinging => {
                outcomes.done += 1;
                tracing::info!("the ringing timer was stopped");
            }
            Handled::Done { intent, published, failed, refused, answer, language } => {
                if let Some(why) = &refused {
                    tracing::warn!(%intent, "refused: {}", crate::home::Escaped(why));
                }
                let tone = if failed > 0 || refused.is_some() { Tone::Error } else { Tone::Done };
                if failed > 0 {
                    outcomes.failed += 1;
                } else {
                    outcomes.done += 1;
                    outcomes.latencies.push(latency);
                }
                // A refused action is not answered as if it had been done: the error tone.
                let answer = if refused.is_some() && failed == 0 { None } else { answer };
                let spoken = respond.answer(answer.as_deref(), language, tone);
                tracing::info!(
                    %intent,
                    published,
                    failed,
                    latency_ms = latency.total().as_millis() as u64,
                    silence_ms = latency.silence.as_millis() as u64,
                    stt_ms = latency.stt.as_millis() as u64,
                    after_decision_ms = latency.after_decision.as_millis() as u64,
                    spoken,
                    "command handled"
                );
            }
        }
    }
}

/// Logs the run's totals (the benchmark reads this line).
fn summarize(listened: &Listened, outcomes: &Outcomes, audio: Duration) {
    let totals: Vec<f64> = outcomes.latencies.iter().map(|l| l.total().as_secs_f64() * 1000.0).collect();
    let median = crate::measure::median(&totals).round() as u64;
    let worst = crate::measure::percentile(&totals, 100.0).round() as u64;
    tracing::info!(
        audio_s = format_args!("{:.1}", audio.as_secs_f64()),
        wakes = listened.wakes,
        commands = listened.commands,
        no_speech = listened.no_speech,
        busy = listened.busy,
        lost = listened.lost,
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
    let mut subscription = match bridge.subscribe_discovery(&prefix) {
        Ok(subscription) => subscription,
        Err(e) => {
            tracing::warn!("cannot follow Home Assistant discovery: {e}");
            let _ = synced.send(());
            return;
        }
    };
    let own = bridge.topics().device_config.clone();
    let mut topics = DiscoveredTopics::default();
    let mut synced = Some(synced);
    let started = tokio::time::Instant::now();
    let mut read = 0;
    // Reports the retained configs as read (and what was missed) once, when they are over.
    let sync = |synced: &mut Option<oneshot::Sender<()>>, read: usize, dropped: u64, complete: bool| {
        if let Some(synced) = synced.take() {
            crate::mqtt::warn_if_incomplete(read, dropped, complete);
            let _ = synced.send(());
        }
    };
    loop {
        let message = tokio::select! {
            m = subscription.recv() => m,
            () = tokio::time::sleep(DISCOVERY_QUIET), if synced.is_some() => {
                sync(&mut synced, read, subscription.dropped(), true);
                continue;
            }
        };
        let Some(message) = message else { return };
        read += 1;
        if synced.is_some() && started.elapsed() > DISCOVERY_LIMIT {
            sync(&mut synced, read, subscription.dropped(), false);
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

/// Requests a shutdown on SIGTERM or SIGINT.
async fn stop_on_signal(shutdown: Shutdown) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::warn!("cannot install the SIGTERM handler; stop hearth with SIGKILL");
        return;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    shutdown.request();
}
