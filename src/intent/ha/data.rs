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

/// Why custom sentences cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CustomError {
    /// The folder is not there.
    #[error(
        "[intent] custom_sentences = {}: no such folder; create it with one folder per language \
         (e.g. en/, de/) holding Home Assistant custom sentence files (*.yaml), or remove the key",
        path.display()
    )]
    Missing {
        /// The folder.
        path: PathBuf,
    },
    /// A folder or file cannot be read.
    #[error("{}: cannot read it", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not YAML, or uses what sentence files never need.
    #[error("{}: {problem}; fix the file (it is Home Assistant custom sentence YAML)", path.display())]
    Yaml {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        problem: String,
    },
    /// A file says it is in another language than its folder.
    #[error(
        "{}: says language {said:?} but sits in the folder for {folder:?}; move it or fix its language",
        path.display()
    )]
    WrongLanguage {
        /// The file.
        path: PathBuf,
        /// Its `language:`.
        said: String,
        /// The folder's language.
        folder: String,
    },
}

/// Home Assistant custom sentence files of `language` under `dir`, in the layout Home
/// Assistant uses (`<dir>/<language>/*.yaml`), each parsed into the shape of a language file,
/// in file-name order. A language without a folder has none.
pub fn custom_sentences(dir: &Path, language: &str) -> Result<Vec<Value>, CustomError> {
    if !dir.is_dir() {
        return Err(CustomError::Missing { path: dir.to_owned() });
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| CustomError::Io { path, source }
    };
    // Folders may say `pt-BR`, `pt_BR` or `pt-br`.
    let same = |a: &str, b: &str| a.replace('_', "-").eq_ignore_ascii_case(&b.replace('_', "-"));
    let mut folders: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if entry.file_name().to_str().is_some_and(|n| same(n, language)) && entry.path().is_dir() {
            folders.push(entry.path());
        }
    }
    let mut files: Vec<PathBuf> = Vec::new();
    for folder in &folders {
        for entry in std::fs::read_dir(folder).map_err(io(folder))? {
            let path = entry.map_err(io(folder))?.path();
            if path.is_file() && path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut out = Vec::with_capacity(files.len());
    for path in files {
        let size = std::fs::metadata(&path).map_err(io(&path))?.len();
        if size > MAX_FILE {
            return Err(CustomError::Yaml { path, problem: format!("{size} bytes, more than sentence data has") });
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let value = yaml_to_json(&text).map_err(|problem| CustomError::Yaml { path: path.clone(), problem })?;
        if !value.is_object() && !value.is_null() {
            return Err(CustomError::Yaml {
                path,
                problem: "the file is not a mapping (language:, intents:, ...)".into(),
            });
        }
        if let Some(said) = value.get("language").and_then(Value::as_str)
            && !same(said, language)
        {
            return Err(CustomError::WrongLanguage { path, said: said.to_string(), folder: language.to_string() });
        }
        out.push(value);
    }
    Ok(out)
}

/// One YAML document as JSON values (aliases resolved). Several documents, and keys that are
/// not scalars, are refused: sentence files have none.
pub fn yaml_to_json(text: &str) -> Result<Value, String> {
    use yaml_rust2::{Yaml, YamlLoader};
    fn convert(y: Yaml) -> Result<Value, String> {
        Ok(match y {
            Yaml::Null => Value::Null,
            Yaml::Boolean(b) => Value::Bool(b),
            Yaml::Integer(i) => Value::from(i),
            Yaml::Real(r) => match r.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                Some(n) => Value::Number(n),
                None => Value::String(r),
            },
            Yaml::String(s) => Value::String(s),
            Yaml::Array(items) => Value::Array(items.into_iter().map(convert).collect::<Result<_, _>>()?),
            Yaml::Hash(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    let key = match k {
                        Yaml::String(s) | Yaml::Real(s) => s,
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        _ => return Err("a key that is not a word or number".into()),
                    };
                    out.insert(key, convert(v)?);
                }
                Value::Object(out)
            }
            Yaml::Alias(_) => return Err("an alias (*name) to nothing before it".into()),
            Yaml::BadValue => return Err("a value that cannot be read".into()),
        })
    }
    let mut docs = YamlLoader::load_from_str(text).map_err(|e| {
        format!("not valid YAML at line {} column {}: {}", e.marker().line(), e.marker().col(), e.info())
    })?;
    match docs.len() {
        0 => Ok(Value::Null),
        1 => convert(docs.remove(0)),
        n => Err(format!("{n} YAML documents (---); a sentence file holds one")),
    }
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
