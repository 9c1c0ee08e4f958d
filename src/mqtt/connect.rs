//! From `[mqtt]` settings to rumqttc's connection options (credentials, TLS, last will), and
//! from rumqttc's connection errors to [`MqttError`]s that say what to fix.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{ConnectReturnCode, ConnectionError, LastWill, MqttOptions, QoS, TlsConfiguration, Transport};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::announce::{OFFLINE, SiteTopics};
use super::{MAX_INCOMING_PACKET_SIZE, MAX_PACKET_SIZE, MqttError};
use crate::config::MqttSettings;

/// Keep-alive interval: the broker declares Hearth gone (and publishes the last will) after 1.5×.
pub const KEEP_ALIVE: Duration = Duration::from_secs(30);

/// rumqttc options for connecting to `host:port` as described by `settings`.
///
/// Clean session: the outbox sends commands that were queued or not yet written itself after
/// every reconnect and never writes one twice, so nothing depends on the broker keeping a
/// session (many brokers, and the embedded one, lose sessions on restart anyway), and no stale
/// session can replay old commands.
pub fn mqtt_options(settings: &MqttSettings, host: &str, topics: &SiteTopics) -> Result<MqttOptions, MqttError> {
    let mut options = MqttOptions::new(settings.client_id.clone(), host, settings.port);
    options
        .set_keep_alive(KEEP_ALIVE)
        .set_clean_session(true)
        .set_max_packet_size(MAX_INCOMING_PACKET_SIZE, MAX_PACKET_SIZE)
        .set_last_will(LastWill::new(&topics.status, OFFLINE, QoS::AtLeastOnce, true));

    match (&settings.username, &settings.password_file) {
        (Some(user), Some(file)) => {
            options.set_credentials(user, read_password(file)?);
        }
        (Some(user), None) => {
            options.set_credentials(user, "");
        }
        (None, Some(_)) => return Err(MqttError::PasswordWithoutUsername),
        (None, None) => {}
    }

    if settings.tls_ca.is_some() || settings.tls_cert.is_some() || settings.tls_key.is_some() {
        let config = tls_config(settings)?;
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(config))));
    }
    Ok(options)
}

/// The password in `path`, without the trailing newline editors and `echo` add.
pub fn read_password(path: &Path) -> Result<String, MqttError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| MqttError::PasswordFile { path: path.to_owned(), reason: e.to_string() })?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

/// A rustls client config trusting `tls_ca` (or the system's roots without one) and presenting
/// `tls_cert` + `tls_key` when both are set.
fn tls_config(settings: &MqttSettings) -> Result<rustls::ClientConfig, MqttError> {
    let mut roots = RootCertStore::empty();
    match &settings.tls_ca {
        Some(path) => {
            for cert in read_certs("tls_ca", path)? {
                roots.add(cert).map_err(|e| MqttError::TlsFile {
                    key: "tls_ca",
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // Unparseable system certificates are skipped, as every TLS client does.
                let _ = roots.add(cert);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MqttError::Tls { broker: "(configuring TLS)".into(), reason: e.to_string() })?
        .with_root_certificates(roots);
    match (&settings.tls_cert, &settings.tls_key) {
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(cert), Some(key)) => {
            let chain = read_certs("tls_cert", cert)?;
            let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| MqttError::TlsFile {
                key: "tls_key",
                path: key.clone(),
                reason: e.to_string(),
            })?;
            builder.with_client_auth_cert(chain, key_der).map_err(|e| MqttError::ClientAuth { reason: e.to_string() })
        }
        (Some(_), None) => Err(MqttError::ClientAuth { reason: "tls_cert is set but tls_key is not".into() }),
        (None, Some(_)) => Err(MqttError::ClientAuth { reason: "tls_key is set but tls_cert is not".into() }),
    }
}

fn read_certs(key: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, MqttError> {
    let bad = |reason: String| MqttError::TlsFile { key, path: path.to_owned(), reason };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no certificate found in it".into()));
    }
    Ok(certs)
}

/// What a failed or lost connection to `broker` (`host:port`) means for the user.
pub fn classify(error: &ConnectionError, broker: &str) -> MqttError {
    let broker = broker.to_owned();
    match error {
        ConnectionError::ConnectionRefused(code) => refused(*code, broker),
        ConnectionError::Io(e) if e.kind() == io::ErrorKind::ConnectionRefused => MqttError::Unreachable { broker },
        ConnectionError::Tls(rumqttc::TlsError::Io(e)) if e.kind() == io::ErrorKind::ConnectionRefused => {
            MqttError::Unreachable { broker }
        }
        ConnectionError::Tls(e) => MqttError::Tls { broker, reason: tls_reason(e) },
        ConnectionError::NetworkTimeout | ConnectionError::FlushTimeout => MqttError::Timeout { broker },
        ConnectionError::Io(e) if e.kind() == io::ErrorKind::TimedOut => MqttError::Timeout { broker },
        ConnectionError::MqttState(rumqttc::StateError::Deserialization(rumqttc::Error::PayloadSizeLimitExceeded(
            bytes,
        ))) => MqttError::Oversized { broker, bytes: *bytes, limit: MAX_INCOMING_PACKET_SIZE },
        other => MqttError::Network { broker, reason: other.to_string() },
    }
}

fn refused(code: ConnectReturnCode, broker: String) -> MqttError {
    match code {
        ConnectReturnCode::BadUserNamePassword => {
            MqttError::NotAuthorized { broker, reason: "bad user name or password".into() }
        }
        ConnectReturnCode::NotAuthorized => MqttError::NotAuthorized { broker, reason: "not authorized".into() },
        ConnectReturnCode::BadClientId => MqttError::Refused {
            broker,
            reason: "client id rejected".into(),
            fix: "set [mqtt] client_id to a short name of letters, digits and dashes",
        },
        ConnectReturnCode::RefusedProtocolVersion => MqttError::Refused {
            broker,
            reason: "MQTT 3.1.1 not supported".into(),
            fix: "enable MQTT 3.1.1 on the broker",
        },
        ConnectReturnCode::ServiceUnavailable | ConnectReturnCode::Success => MqttError::Refused {
            broker,
            reason: "service unavailable".into(),
            fix: "check the broker's log; Hearth keeps retrying",
        },
    }
}

/// The innermost message of a TLS error (rustls's reason, not "I/O: ...").
fn tls_reason(error: &rumqttc::TlsError) -> String {
    match error {
        rumqttc::TlsError::Io(e) => match e.get_ref() {
            Some(inner) => inner.to_string(),
            None => e.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> MqttSettings {
        MqttSettings {
            host: Some("broker.lan".into()),
            port: 1883,
            username: None,
            password_file: None,
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            client_id: "hearth-kitchen".into(),
            discovery_prefix: "homeassistant".into(),
        }
    }

    #[test]
    fn options_carry_will_keepalive_and_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let mut s = settings();
        s.username = Some("hearth".into());
        s.password_file = Some(pw);
        let topics = SiteTopics::new("kitchen", "homeassistant");
        let o = mqtt_options(&s, "broker.lan", &topics).unwrap();
        assert_eq!(o.broker_address(), ("broker.lan".to_string(), 1883));
        assert_eq!(o.keep_alive(), KEEP_ALIVE);
        assert!(o.clean_session());
        assert_eq!(o.max_packet_size(), MAX_INCOMING_PACKET_SIZE);
        let login = o.credentials().unwrap();
        assert_eq!((login.username.as_str(), login.password.as_str()), ("hearth", "s3cret"));
        let will = o.last_will().unwrap();
        assert_eq!(
            (will.topic.as_str(), &will.message[..], will.retain),
            ("hearth/kitchen/status", &b"offline"[..], true)
        );
    }

    #[test]
    fn password_file_problems_are_named() {
        let mut s = settings();
        s.password_file = Some("/nonexistent/pw".into());
        let topics = SiteTopics::new("kitchen", "homeassistant");
        assert_eq!(mqtt_options(&s, "h", &topics).unwrap_err(), MqttError::PasswordWithoutUsername);
        s.username = Some("u".into());
        let err = mqtt_options(&s, "h", &topics).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/pw") && err.contains("password_file"), "{err}");
    }

    #[test]
    fn half_a_client_certificate_is_refused() {
        let mut s = settings();
        s.tls_key = Some("/k.pem".into());
        let topics = SiteTopics::new("kitchen", "homeassistant");
        let err = mqtt_options(&s, "h", &topics).unwrap_err().to_string();
        assert!(err.contains("tls_key is set but tls_cert is not"), "{err}");
    }

    #[test]
    fn refusals_name_the_broker_and_the_fix() {
        let e = classify(&ConnectionError::ConnectionRefused(ConnectReturnCode::NotAuthorized), "b:1883");
        let text = e.to_string();
        assert!(text.contains("b:1883") && text.contains("check [mqtt] username and password_file"), "{text}");
        let big = ConnectionError::MqttState(rumqttc::StateError::Deserialization(
            rumqttc::Error::PayloadSizeLimitExceeded(20_000_000),
        ));
        let text = classify(&big, "b:1883").to_string();
        assert!(text.contains("20000000 bytes") && text.contains("mosquitto_pub -r -n -t"), "{text}");
        let io = ConnectionError::Io(io::Error::from(io::ErrorKind::ConnectionRefused));
        let text = classify(&io, "b:1883").to_string();
        assert!(text.contains("b:1883") && text.contains("is the broker running?"), "{text}");
    }
}
