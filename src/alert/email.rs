//! `kind = "email"`: SMTP through lettre over rustls (STARTTLS that must succeed, TLS from
//! the first byte, or plain for a local relay), a text and an HTML part.

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls as SmtpTls, TlsParameters};
use lettre::{Message as Mail, SmtpTransport, Transport};

use super::{AlertError, Channel, Message};
use crate::config::{AlertConfig, AlertKind, Tls};

pub struct Email {
    name: String,
    host: String,
    port: u16,
    tls: Tls,
    login: Option<(String, String)>,
    ca: Option<Certificate>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

impl Email {
    pub fn new(
        name: &str,
        a: &AlertConfig,
        password: Option<String>,
        ca_pem: Option<Vec<u8>>,
    ) -> Result<Self, AlertError> {
        let setup = |message: String| AlertError::Setup {
            channel: name.into(),
            message,
        };
        let parse = |s: &str| {
            s.parse::<Mailbox>()
                .map_err(|e| setup(format!("`{s}` is not a mail address: {e}")))
        };
        let ca = ca_pem
            .map(|pem| {
                Certificate::from_pem(&pem)
                    .map_err(|e| setup(format!("ca-file holds no usable PEM certificate: {e}")))
            })
            .transpose()?;
        Ok(Self {
            name: name.into(),
            host: a.host.clone().ok_or_else(|| setup("has no host".into()))?,
            port: a.port(),
            tls: a.tls(),
            login: a.user.clone().zip(password),
            ca,
            from: parse(a.from.as_deref().unwrap_or_default())?,
            to: a
                .to
                .iter()
                .flatten()
                .map(|t| parse(t))
                .collect::<Result<_, _>>()?,
        })
    }

    fn transport(&self, timeout: Duration) -> Result<SmtpTransport, AlertError> {
        let err = |e: lettre::transport::smtp::Error| self.error(e);
        let params = || {
            let mut b = TlsParameters::builder(self.host.clone());
            if let Some(c) = &self.ca {
                b = b.add_root_certificate(c.clone());
            }
            b.build_rustls().map_err(err)
        };
        let tls = match self.tls {
            Tls::None => SmtpTls::None,
            Tls::Starttls => SmtpTls::Required(params()?),
            Tls::Tls => SmtpTls::Wrapper(params()?),
        };
        let mut t = SmtpTransport::builder_dangerous(self.host.clone())
            .port(self.port)
            .tls(tls)
            .timeout(Some(timeout));
        if let Some((user, pw)) = &self.login {
            t = t.credentials(Credentials::new(user.clone(), pw.clone()));
        }
        Ok(t.build())
    }

    /// lettre's error, which names the server's answer but never the password.
    fn error(&self, e: lettre::transport::smtp::Error) -> AlertError {
        let mut message = format!("SMTP {}:{}: {e}", self.host, self.port);
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            message += &format!(": {s}");
            src = s.source();
        }
        AlertError::Send {
            channel: self.name.clone(),
            message,
        }
    }
}

impl Channel for Email {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> AlertKind {
        AlertKind::Email
    }

    fn send(&self, m: &Message, timeout: Duration) -> Result<(), AlertError> {
        let mut b = Mail::builder()
            .from(self.from.clone())
            .subject(m.title.clone());
        for t in &self.to {
            b = b.to(t.clone());
        }
        let mail = b
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(m.text()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(m.html()),
                    ),
            )
            .map_err(|e| AlertError::Setup {
                channel: self.name.clone(),
                message: format!("cannot build the mail: {e}"),
            })?;
        self.transport(timeout)?
            .send(&mail)
            .map(drop)
            .map_err(|e| self.error(e))
    }
}
