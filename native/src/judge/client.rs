//! One request to an OpenAI-compatible chat-completions server: the prompt goes out as a single
//! user message; the answer's text, why it stopped and the server's token counts come back.
//! Whether a failed request is worth another try is decided here, from the kind of failure.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::retry::parse_retry_after;
use crate::cli::JudgeArgs;

/// A judge served over HTTP. The API key, when there is one, is held here only: this type has
/// no `Debug` and nothing writes the key anywhere.
pub struct ChatClient {
    agent: ureq::Agent,
    endpoint: String,
    api_key: Option<String>,
    sampling: Sampling,
    timeout: Duration,
}

/// What identifies an answer besides the prompt: the judge model and how it samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// The model name the server knows the judge by.
    pub model: String,
    /// Sampling temperature.
    pub temperature: f64,
    /// Nucleus sampling's top_p.
    pub top_p: f64,
    /// Most tokens generated per answer.
    pub max_tokens: usize,
}

/// The judge's answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The answer's text.
    pub content: String,
    /// True when generation stopped at the token limit (`finish_reason` "length").
    pub truncated: bool,
    /// Prompt tokens, as the server's `usage` counts them.
    pub prompt_tokens: Option<u64>,
    /// Generated tokens, as the server's `usage` counts them.
    pub completion_tokens: Option<u64>,
    /// Time from sending the request to reading the whole answer.
    pub latency: Duration,
}

/// Why a request gave no answer: what kind of failure it met, which decides whether another
/// try may succeed, and what went wrong, for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestError {
    /// What kind of failure it was.
    pub kind: FailureKind,
    /// What went wrong, naming the endpoint.
    pub message: String,
    /// The wait the server asked for, if it named one.
    pub retry_after: Option<Duration>,
}

impl RequestError {
    /// A failure of `kind` that names no wait.
    fn new(kind: FailureKind, message: String) -> Self {
        Self {
            kind,
            message,
            retry_after: None,
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The kinds of failure that leave a trajectory without an answer, named in label.json's counts
/// of failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// No connection could be made: nothing listens there, or the host is unknown.
    Unreachable,
    /// No whole reply came within `--judge-timeout`.
    Timeout,
    /// The connection broke before the whole reply was read.
    ConnectionLost,
    /// Any other failure below HTTP.
    Transport,
    /// The request could not be made at all.
    InvalidRequest,
    /// The server answered with this status rather than success.
    Status(u16),
    /// A successful reply whose body is not the API's JSON (an HTML page, say).
    InvalidJson,
    /// A reply holding no choice.
    NoChoice,
    /// The answer came but could not be written to the ledger.
    NotRecorded,
}

impl FailureKind {
    /// The failure's name in counts of failures by reason: `unreachable`, `http_500`, ….
    pub fn name(self) -> String {
        match self {
            FailureKind::Unreachable => "unreachable".to_string(),
            FailureKind::Timeout => "timeout".to_string(),
            FailureKind::ConnectionLost => "connection_lost".to_string(),
            FailureKind::Transport => "transport".to_string(),
            FailureKind::InvalidRequest => "invalid_request".to_string(),
            FailureKind::Status(status) => format!("http_{status}"),
            FailureKind::InvalidJson => "invalid_json".to_string(),
            FailureKind::NoChoice => "no_choice".to_string(),
            FailureKind::NotRecorded => "not_recorded".to_string(),
        }
    }

    /// Whether another try may succeed: true for timeouts, lost or refused connections, 408,
    /// 429 and 5xx statuses and replies that are not the API's; false for any other status (a
    /// wrong key, model or URL) and for requests that cannot be made, which every later
    /// request would meet too.
    pub fn is_transient(self) -> bool {
        match self {
            FailureKind::Status(status) => matches!(status, 408 | 429 | 500..=599),
            FailureKind::InvalidRequest | FailureKind::NotRecorded => false,
            FailureKind::Unreachable
            | FailureKind::Timeout
            | FailureKind::ConnectionLost
            | FailureKind::Transport
            | FailureKind::InvalidJson
            | FailureKind::NoChoice => true,
        }
    }

    /// What to check when every request failed this way, if anything obvious.
    pub fn advice(self) -> Option<&'static str> {
        match self {
            FailureKind::Unreachable => {
                Some("Is the judge's server running, and is --judge-url its address?")
            }
            FailureKind::Timeout => {
                Some("Is the server overloaded, or --judge-timeout too short for its answers?")
            }
            FailureKind::Status(401 | 403) => Some(
                "Is the API key in $OPENAI_API_KEY (or the variable --judge-api-key-env names) \
                 right?",
            ),
            FailureKind::Status(404) => Some(
                "Is --judge-url the API's base URL (such as http://localhost:8000/v1), and \
                 --judge-model a model the server knows?",
            ),
            FailureKind::Status(500..=599) => Some("The server's log says why it failed."),
            FailureKind::InvalidJson => Some(
                "Is --judge-url the base URL of an OpenAI-compatible API (such as \
                 http://localhost:8000/v1)?",
            ),
            _ => None,
        }
    }
}

impl ChatClient {
    /// A client for the judge `args` describe, with the API key read from the environment
    /// variable they name (none when it is unset or empty).
    pub fn new(args: &JudgeArgs) -> Result<Self> {
        let (url, model) = args
            .served()
            .context("a served judge needs --judge-url and --judge-model")?;
        let base = url.trim_end_matches('/');
        let endpoint = if base.ends_with("/chat/completions") {
            base.to_string()
        } else {
            format!("{base}/chat/completions")
        };
        endpoint
            .parse::<ureq::http::Uri>()
            .with_context(|| format!("--judge-url {url:?} is not a URL"))?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(args.judge_timeout))
            .build()
            .into();
        let api_key = std::env::var(&args.judge_api_key_env)
            .ok()
            .filter(|key| !key.is_empty());
        Ok(Self {
            agent,
            endpoint,
            api_key,
            sampling: Sampling {
                model: model.to_string(),
                temperature: args.judge_temperature,
                top_p: args.judge_top_p,
                max_tokens: args.judge_max_tokens,
            },
            timeout: args.judge_timeout,
        })
    }

    /// The full URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The model and sampling settings every request carries.
    pub fn sampling(&self) -> &Sampling {
        &self.sampling
    }

    /// Sends `prompt` once.
    pub fn ask(&self, prompt: &str) -> Result<Answer, RequestError> {
        let body = ChatRequest {
            model: &self.sampling.model,
            messages: [Message {
                role: "user",
                content: prompt,
            }],
            temperature: self.sampling.temperature,
            top_p: self.sampling.top_p,
            max_tokens: self.sampling.max_tokens,
            stream: false,
        };
        let started = Instant::now();
        let mut request = self.agent.post(&self.endpoint);
        if let Some(key) = &self.api_key {
            request = request.header("Authorization", format!("Bearer {key}"));
        }
        let mut response = request
            .send_json(&body)
            .map_err(|error| self.transport_error(error))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|error| self.transport_error(error))?;
        let latency = started.elapsed();
        let endpoint = &self.endpoint;
        if !(200..300).contains(&status) {
            return Err(RequestError {
                kind: FailureKind::Status(status),
                message: format!("HTTP {status} from {endpoint}: {}", snippet(&text)),
                retry_after,
            });
        }
        let reply: ChatReply = serde_json::from_str(&text).map_err(|error| {
            RequestError::new(
                FailureKind::InvalidJson,
                format!(
                    "the reply from {endpoint} is not the API's JSON ({error}): {}",
                    snippet(&text)
                ),
            )
        })?;
        let choice = reply.choices.into_iter().next().ok_or_else(|| {
            RequestError::new(
                FailureKind::NoChoice,
                format!("the reply from {endpoint} holds no choice"),
            )
        })?;
        Ok(Answer {
            content: choice.message.content.unwrap_or_default(),
            truncated: choice.finish_reason.as_deref() == Some("length"),
            prompt_tokens: reply.usage.as_ref().and_then(|usage| usage.prompt_tokens),
            completion_tokens: reply.usage.and_then(|usage| usage.completion_tokens),
            latency,
        })
    }

    /// A failure below HTTP, by its kind.
    fn transport_error(&self, error: ureq::Error) -> RequestError {
        let endpoint = &self.endpoint;
        let kind = match &error {
            ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => FailureKind::Unreachable,
            ureq::Error::Timeout(_) => FailureKind::Timeout,
            ureq::Error::Io(io) => io_failure_kind(io),
            ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_) | ureq::Error::Json(_) => {
                FailureKind::InvalidRequest
            }
            _ => FailureKind::Transport,
        };
        let message = match kind {
            FailureKind::Unreachable => format!("could not connect to {endpoint}: {error}"),
            FailureKind::Timeout => format!(
                "no reply from {endpoint} within --judge-timeout {}",
                humantime::format_duration(self.timeout)
            ),
            FailureKind::ConnectionLost => {
                format!("the connection to {endpoint} broke before the reply ended: {error}")
            }
            FailureKind::InvalidRequest => {
                format!("a request to {endpoint} could not be made: {error}")
            }
            _ => format!("requesting {endpoint} failed: {error}"),
        };
        RequestError::new(kind, message)
    }
}

/// The kind of an I/O failure on the way to the server or back.
fn io_failure_kind(error: &std::io::Error) -> FailureKind {
    use std::io::ErrorKind;
    match error.kind() {
        ErrorKind::ConnectionRefused
        | ErrorKind::AddrNotAvailable
        | ErrorKind::NetworkUnreachable
        | ErrorKind::HostUnreachable => FailureKind::Unreachable,
        ErrorKind::TimedOut => FailureKind::Timeout,
        ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe
        | ErrorKind::UnexpectedEof => FailureKind::ConnectionLost,
        _ => FailureKind::Transport,
    }
}

/// The start of a server's reply on one line, for an error message.
fn snippet(text: &str) -> String {
    const LIMIT: usize = 200;
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}…", &line[..end]),
        None => line,
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: [Message<'a>; 1],
    temperature: f64,
    top_p: f64,
    max_tokens: usize,
    stream: bool,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct ChatReply {
    choices: Vec<ReplyChoice>,
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct ReplyChoice {
    message: ReplyMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ReplyMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
}
