//! The layers: the compiled-in defaults, a TOML file, `HERALD_<SECTION>__<KEY>`
//! environment variables and command-line flags, merged with figment into
//! the raw form, each value remembering where it came from. Also what must
//! never be merged into that printable data: secrets, read here from the
//! environment or from the files the configuration names. This module turns
//! figment's errors into Herald's wording; it validates nothing beyond the
//! shape of the raw structs (that is the sections' job).

use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use secrecy::SecretString;

use super::raw::RawConfig;
use super::{ConfigError, ConfigFile, DEFAULTS_TOML, FileOrigin, Overrides};

/// Environment variables that hold secrets: read directly into
/// [`SecretString`]s, never merged into the layered (printable) data.
const SECRET_ENV: &[(&str, &str)] = &[
    ("HERALD_MAIL__SMTP_PASSWORD", "mail.smtp_password"),
    ("HERALD_HTTP__API_TOKEN", "http.api_token"),
    super::webhooks::SECRET_ENV[0],
    super::webhooks::SECRET_ENV[1],
    ("HERALD_BOUNCES__IMAP_PASSWORD", "bounces.imap_password"),
];

/// The merged layers.
pub(super) struct Layers {
    pub figment: Figment,
    pub raw: RawConfig,
    /// Which file, if any, was layered over the defaults, and why that one.
    pub file: Option<ConfigFile>,
}

/// Merges the layers in order and extracts the raw form.
pub(super) fn load(overrides: &Overrides, env: &[(String, String)]) -> Result<Layers, ConfigError> {
    let file = config_file(overrides, env, &super::search_paths());
    let mut figment = Figment::new().merge(Toml::string(DEFAULTS_TOML));
    if let Some(ConfigFile { path, .. }) = &file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
        check_no_inline_secrets(path, &text)?;
        // `Toml::file` would skip a missing file silently; reading it
        // ourselves makes a typo in --config an error. Naming the file
        // keeps its path in error messages.
        figment = figment.merge(Toml::file_exact(path));
    }
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("HERALD_") else {
            continue;
        };
        if !rest.contains("__") || SECRET_ENV.iter().any(|(secret, _)| secret == name) {
            continue;
        }
        let key = rest.to_ascii_lowercase().replace("__", ".");
        figment = figment.merge(Layer::new(
            format!("environment variable {name}"),
            &key,
            value.parse().expect("infallible"),
        ));
    }
    if let Some(url) = &overrides.database_url {
        figment = figment.merge(Layer::new(
            "--database-url flag".into(),
            "database.url",
            url.as_str().into(),
        ));
    }
    let raw: RawConfig = figment
        .extract()
        .map_err(|e| ConfigError(describe_figment_error(e)))?;
    Ok(Layers { figment, raw, file })
}

/// `--config`, else `$HERALD_CONFIG`, else the first of `search` (the
/// working directory's `config/herald.toml`, then `/etc/herald/herald.toml`)
/// that exists. A file named by the flag or the variable must exist; the
/// searched ones are optional.
fn config_file(
    overrides: &Overrides,
    env: &[(String, String)],
    search: &[(PathBuf, FileOrigin)],
) -> Option<ConfigFile> {
    match (&overrides.config_path, env_var(env, "HERALD_CONFIG")) {
        (Some(path), _) => Some(ConfigFile {
            path: path.clone(),
            origin: FileOrigin::Flag,
        }),
        (None, Some(path)) if !path.is_empty() => Some(ConfigFile {
            path: PathBuf::from(path),
            origin: FileOrigin::Env,
        }),
        _ => search
            .iter()
            .find(|(p, _)| p.is_file())
            .map(|(path, origin)| ConfigFile {
                path: path.clone(),
                origin: *origin,
            }),
    }
}

pub(super) fn env_var(env: &[(String, String)], name: &str) -> Option<String> {
    env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// ` (from LAYER)` for the layer that set `key`, or nothing for a key no
/// layer holds.
pub(super) fn origin(figment: &Figment, key: &str) -> String {
    figment
        .find_metadata(key)
        .map(|m| match &m.source {
            Some(src) => format!(" (from {src})"),
            None => format!(" (from {})", m.name),
        })
        .unwrap_or_default()
}

/// A secret from the environment variable `env_name` when it is set and not
/// empty, else from the systemd credential named after its key (e.g.
/// `mail.smtp_password` in `$CREDENTIALS_DIRECTORY`, from
/// `LoadCredential=mail.smtp_password:/etc/herald/smtp-password`), else from
/// the first line of `file`, else none.
pub(super) fn secret(
    env: &[(String, String)],
    env_name: &str,
    file: Option<&Path>,
) -> Result<Option<SecretString>, String> {
    let credential = env_var(env, "CREDENTIALS_DIRECTORY")
        .filter(|dir| !dir.is_empty())
        .and_then(|dir| {
            let (_, key) = SECRET_ENV.iter().find(|(name, _)| *name == env_name)?;
            Some(Path::new(&dir).join(key))
        })
        .filter(|path| path.is_file());
    match (env_var(env, env_name), credential, file) {
        (Some(value), _, _) if !value.is_empty() => Ok(Some(SecretString::from(value))),
        (_, Some(path), _) => read_secret_file(&path).map(Some),
        (_, None, Some(path)) => read_secret_file(path).map(Some),
        _ => Ok(None),
    }
}

fn read_secret_file(path: &Path) -> Result<SecretString, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if first.is_empty() {
        return Err(format!(
            "{} is empty; expected the secret on its first line",
            path.display()
        ));
    }
    Ok(SecretString::from(first.to_owned()))
}

/// A secret written straight into the file gets a precise message instead of
/// a generic "unknown key".
fn check_no_inline_secrets(path: &Path, text: &str) -> Result<(), ConfigError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigError(format!(
            "config file {}: {}",
            path.display(),
            e.to_string().trim_end()
        ))
    })?;
    for (env, key) in SECRET_ENV {
        let (section, field) = key.split_once('.').expect("secret keys are section.key");
        if table.get(section).and_then(|s| s.get(field)).is_some() {
            return Err(ConfigError(format!(
                "config file {}: key {key} holds a secret and is not allowed in a file; set {env} or {key}_file",
                path.display()
            )));
        }
    }
    Ok(())
}

/// One value from the environment or the command line, named after where it
/// came from so that an error can point at it.
struct Layer {
    name: String,
    dict: Dict,
}

impl Layer {
    fn new(name: String, dotted_key: &str, value: Value) -> Self {
        let mut value = value;
        for part in dotted_key.rsplit('.') {
            let mut dict = Dict::new();
            dict.insert(part.to_owned(), value);
            value = Value::from(dict);
        }
        let dict = value.into_dict().expect("built as a dict");
        Layer { name, dict }
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

fn describe_figment_error(e: figment::Error) -> String {
    let mut out = Vec::new();
    for err in e {
        let key = if err.path.is_empty() {
            String::new()
        } else {
            format!("config key {}: ", err.path.join("."))
        };
        let source = match &err.metadata {
            Some(m) => match &m.source {
                Some(src) => format!(" (in {src})"),
                None => format!(" (in {})", m.name),
            },
            None => String::new(),
        };
        let what = match &err.kind {
            figment::error::Kind::UnknownField(field, expected) => {
                format!("unknown key {field:?}; expected one of: {}", expected.join(", "))
            }
            other => other.to_string(),
        };
        out.push(format!("{key}{what}{source}"));
    }
    out.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(dir: &Path) -> Vec<(PathBuf, FileOrigin)> {
        vec![
            (dir.join("local/config/herald.toml"), FileOrigin::WorkingDir),
            (dir.join("etc/herald/herald.toml"), FileOrigin::System),
        ]
    }

    fn found(overrides: &Overrides, env: &[(String, String)], dir: &Path) -> Option<(PathBuf, FileOrigin)> {
        config_file(overrides, env, &search(dir)).map(|f| (f.path, f.origin))
    }

    #[test]
    fn the_file_is_the_flag_then_the_variable_then_the_first_found() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let none = Overrides::default();
        assert_eq!(found(&none, &[], d), None, "nothing to find");
        let [local, system] = [0, 1].map(|i| search(d)[i].0.clone());
        std::fs::create_dir_all(system.parent().unwrap()).unwrap();
        std::fs::write(&system, "").unwrap();
        assert_eq!(found(&none, &[], d), Some((system.clone(), FileOrigin::System)));
        std::fs::create_dir_all(local.parent().unwrap()).unwrap();
        std::fs::write(&local, "").unwrap();
        assert_eq!(
            found(&none, &[], d),
            Some((local.clone(), FileOrigin::WorkingDir))
        );
        let env = [("HERALD_CONFIG".to_owned(), "/nowhere/env.toml".to_owned())];
        assert_eq!(
            found(&none, &env, d),
            Some((PathBuf::from("/nowhere/env.toml"), FileOrigin::Env)),
            "a named file need not exist to be chosen (reading it then fails)"
        );
        let flag = Overrides {
            config_path: Some(PathBuf::from("/nowhere/flag.toml")),
            ..Overrides::default()
        };
        assert_eq!(
            found(&flag, &env, d),
            Some((PathBuf::from("/nowhere/flag.toml"), FileOrigin::Flag))
        );
        let empty = [("HERALD_CONFIG".to_owned(), String::new())];
        assert_eq!(found(&none, &empty, d), Some((local, FileOrigin::WorkingDir)));
    }

    #[test]
    fn secrets_come_from_the_environment_then_credentials_then_files() {
        use secrecy::ExposeSecret as _;
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("creds");
        std::fs::create_dir(&creds).unwrap();
        std::fs::write(creds.join("mail.smtp_password"), "from-credential\n").unwrap();
        let file = dir.path().join("password");
        std::fs::write(&file, "from-file\n").unwrap();
        let name = "HERALD_MAIL__SMTP_PASSWORD";
        let get = |env: &[(String, String)], file: Option<&Path>| {
            secret(env, name, file)
                .unwrap()
                .map(|s| s.expose_secret().to_owned())
        };
        let cred_env = ("CREDENTIALS_DIRECTORY".to_owned(), creds.display().to_string());
        assert_eq!(get(&[], Some(&file)).as_deref(), Some("from-file"));
        assert_eq!(
            get(std::slice::from_ref(&cred_env), Some(&file)).as_deref(),
            Some("from-credential")
        );
        assert_eq!(
            get(std::slice::from_ref(&cred_env), None).as_deref(),
            Some("from-credential")
        );
        let both = [cred_env.clone(), (name.to_owned(), "from-env".to_owned())];
        assert_eq!(get(&both, Some(&file)).as_deref(), Some("from-env"));
        // Another secret's credential is not this one's.
        assert_eq!(
            secret(&[cred_env], "HERALD_HTTP__API_TOKEN", None)
                .unwrap()
                .map(|_| ()),
            None
        );
    }
}
