//! The one error type of the wake-word stage.

use std::path::PathBuf;

/// The models this build knows by name, as `[wake] model` accepts them.
pub(super) const KNOWN_MODELS: &[&str] = &["hey_jarvis", "alexa", "hey_mycroft"];

/// How to get openWakeWord's ONNX files, for messages about a missing or damaged one.
fn fetch_hint(dir: &std::path::Path) -> String {
    format!(
        "run scripts/setup-test-env, or `pip download openwakeword==0.5.1 --no-deps` and extract \
         openwakeword/resources/models/*.onnx from the wheel into {}",
        dir.display()
    )
}

/// Everything that can go wrong while loading a wake-word detector.
///
/// Every message names the file or setting concerned and how to fix it. Running a loaded
/// detector cannot fail from the caller's point of view (see [`super::WakeDetector::process`]).
#[derive(Debug, thiserror::Error)]
pub enum WakeError {
    /// `[wake] model` is neither a known name nor a path to an `.onnx` file.
    #[error(
        "[wake] model = {value:?} is not a wake word this build knows: [wake] model must be \
         hey_jarvis, alexa, hey_mycroft or a path to an .onnx file"
    )]
    UnknownModel {
        /// The value as configured.
        value: String,
    },

    /// One of openWakeWord's model files is not there.
    #[error("{role} {} is missing: {}", path.display(), missing_fix(path, *custom))]
    MissingFile {
        /// What the file is for ("mel-spectrogram model", "wake-word model", …).
        role: &'static str,
        /// Where it was looked for.
        path: PathBuf,
        /// Whether the path came from the user (`[wake] model = "….onnx"`) rather than from
        /// `[wake] models_dir` and a known name.
        custom: bool,
    },

    /// The file exists but is not an ONNX model tract can load and optimise.
    #[error(
        "{role} {} cannot be loaded: the file is damaged or not an ONNX model; {}",
        path.display(),
        broken_fix(path, *custom)
    )]
    Broken {
        /// What the file is for.
        role: &'static str,
        /// The file.
        path: PathBuf,
        /// What tract reported.
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
        /// Whether the path came from the user rather than from a known name.
        custom: bool,
    },

    /// The file loads, but its inputs or outputs are not those of openWakeWord's models.
    #[error("{} is not an openWakeWord {role}: {detail}; {}", path.display(), shape_fix(role))]
    WrongShape {
        /// What the file should have been.
        role: &'static str,
        /// The file.
        path: PathBuf,
        /// What does not fit.
        detail: String,
    },
}

fn missing_fix(path: &std::path::Path, custom: bool) -> String {
    if custom {
        "check [wake] model in the config (a relative path is looked up in [wake] models_dir)".to_owned()
    } else {
        fetch_hint(path.parent().unwrap_or(std::path::Path::new(".")))
    }
}

fn shape_fix(role: &str) -> String {
    if role == "wake-word model" {
        "[wake] model must be one of openWakeWord's single-word classifiers (input [1, frames, 96], \
         output [1, 1]), e.g. hey_jarvis"
            .to_owned()
    } else {
        format!("replace it with openWakeWord's original {role} (scripts/setup-test-env fetches it)")
    }
}

fn broken_fix(path: &std::path::Path, custom: bool) -> String {
    if custom {
        "export the wake-word model to ONNX again, or set [wake] model to hey_jarvis".to_owned()
    } else {
        let dir = path.parent().unwrap_or(std::path::Path::new("."));
        format!("delete it and {}", fetch_hint(dir))
    }
}
