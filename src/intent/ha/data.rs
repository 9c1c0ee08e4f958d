//! Reading Home Assistant's sentence data: a `home-assistant-intents` wheel (a zip holding
//! `home_assistant_intents/data/<lang>.json`) or a folder of `<lang>.json` files. The data is
//! fetched by `scripts/setup-test-env` (pinned, SHA-256 checked) and never kept in this
//! repository; its licence is CC-BY-4.0 (see the README).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Where the language files sit inside the wheel.
const WHEEL_DIR: &str = "home_assistant_intents/data/";

/// Largest language file accepted (the biggest in 2026.10.27 is well under 2 MB).
const MAX_FILE: u64 = 64 * 1024 * 1024;

/// Why sentence data cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The path is neither a wheel nor a folder.
    #[error(
        "[intent] data = {}: no such file or folder; run scripts/setup-test-env to fetch the \
         home-assistant-intents wheel, or point [intent] data at a wheel or a folder of <lang>.json files",
        path.display()
    )]
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// The file or folder cannot be read.
    #[error("[intent] data = {}: cannot read it", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The wheel is not a zip archive, or damaged.
    #[error(
        "[intent] data = {}: not a readable wheel (zip); delete it and run scripts/setup-test-env again",
        path.display()
    )]
    Zip {
        /// The wheel.
        path: PathBuf,
        /// The cause.
        #[source]
        source: zip::result::ZipError,
    },
    /// The data has no file for the language.
    #[error(
        "[intent] data = {} has no sentences for language {language:?}; it has: {available}",
        path.display()
    )]
    Language {
        /// The data.
        path: PathBuf,
        /// The language asked for.
        language: String,
        /// The languages it has.
        available: String,
    },
    /// A language file is not JSON.
    #[error("{}: {name} is not valid JSON", path.display())]
    Json {
        /// The data.
        path: PathBuf,
        /// The file inside it.
        name: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A language file is too large to be sentence data.
    #[error("{}: {name} is {size} bytes, more than sentence data has (at most {MAX_FILE})", path.display())]
    TooLarge {
        /// The data.
        path: PathBuf,
        /// The file inside it.
        name: String,
        /// Its size.
        size: u64,
    },
}

/// A source of language files.
#[derive(Debug, Clone)]
pub struct DataSource {
    path: PathBuf,
}

impl DataSource {
    /// The wheel or folder at `path`.
    pub fn new(path: &Path) -> DataSource {
        DataSource { path: path.to_owned() }
    }

    fn is_wheel(&self) -> bool {
        self.path.is_file()
    }

    fn io(&self, source: std::io::Error) -> LoadError {
        LoadError::Io { path: self.path.clone(), source }
    }

    fn zip(&self) -> Result<zip::ZipArchive<std::fs::File>, LoadError> {
        let file = std::fs::File::open(&self.path).map_err(|e| self.io(e))?;
        zip::ZipArchive::new(file).map_err(|source| LoadError::Zip { path: self.path.clone(), source })
    }

    /// The language codes the data has, sorted.
    pub fn languages(&self) -> Result<Vec<String>, LoadError> {
        Ok(self.open()?.1)
    }

    /// The wheel opened (`None` for a folder) and the language codes it has, sorted.
    fn open(&self) -> Result<(Option<zip::ZipArchive<std::fs::File>>, Vec<String>), LoadError> {
        if !self.path.exists() {
            return Err(LoadError::Missing { path: self.path.clone() });
        }
        let (zip, mut names): (_, Vec<String>) = if self.is_wheel() {
            let zip = self.zip()?;
            let names = zip
                .file_names()
                .filter_map(|n| {
                    let n = n.ok()?;
                    let code = n.strip_prefix(WHEEL_DIR)?.strip_suffix(".json")?;
                    (!code.contains('/')).then(|| code.to_string())
                })
                .collect();
            (Some(zip), names)
        } else {
            let names = std::fs::read_dir(&self.path)
                .map_err(|e| self.io(e))?
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_string))
                .collect();
            (None, names)
        };
        names.sort();
        Ok((zip, names))
    }

    /// The language file for `language` (`en`, `de`, `pt-BR`, ...), parsed.
    pub fn load(&self, language: &str) -> Result<Value, LoadError> {
        let (zip, available) = self.open()?;
        let Some(code) = available.iter().find(|c| c.eq_ignore_ascii_case(language)) else {
            return Err(LoadError::Language {
                path: self.path.clone(),
                language: language.to_string(),
                available: available.join(", "),
            });
        };
        let name = format!("{code}.json");
        let mut text = String::new();
        let too_large = |size| LoadError::TooLarge { path: self.path.clone(), name: name.clone(), size };
        if let Some(mut zip) = zip {
            let entry = zip
                .by_name(&format!("{WHEEL_DIR}{name}"))
                .map_err(|source| LoadError::Zip { path: self.path.clone(), source })?;
            if entry.size() > MAX_FILE {
                return Err(too_large(entry.size()));
            }
            entry.take(MAX_FILE).read_to_string(&mut text).map_err(|e| self.io(e))?;
        } else {
            let file = self.path.join(&name);
            let size = std::fs::metadata(&file).map_err(|e| self.io(e))?.len();
            if size > MAX_FILE {
                return Err(too_large(size));
            }
            text = std::fs::read_to_string(&file).map_err(|e| self.io(e))?;
        }
        serde_json::from_str(&text).map_err(|source| LoadError::Json { path: self.path.clone(), name, source })
    }
}
