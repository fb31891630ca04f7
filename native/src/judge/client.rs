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

/// Why a request gave no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestError {
    /// A timeout, a dropped connection, a 408, 429 or 5xx status, or a body that is not the
    /// API's JSON: another try may succeed.
    Transient {
        /// What went wrong, for the log.
        reason: String,
        /// The wait the server asked for, if it named one.
        retry_after: Option<Duration>,
    },
    /// Any other status (a wrong key, model or URL): every later request would fail the same
    /// way.
    Permanent(String),
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::Transient { reason, .. } | RequestError::Permanent(reason) => {
                f.write_str(reason)
            }
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
        let mut response = request.send_json(&body).map_err(transport_error)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_retry_after);
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(transport_error)?;
        let latency = started.elapsed();
        if !(200..300).contains(&status) {
            let reason = format!("HTTP {status}: {}", snippet(&text));
            return Err(if matches!(status, 408 | 429 | 500..=599) {
                RequestError::Transient {
                    reason,
                    retry_after,
                }
            } else {
                RequestError::Permanent(reason)
            });
        }
        let reply: ChatReply =
            serde_json::from_str(&text).map_err(|error| RequestError::Transient {
                reason: format!(
                    "the reply is not the API's JSON ({error}): {}",
                    snippet(&text)
                ),
                retry_after: None,
            })?;
        let choice = reply
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| RequestError::Transient {
                reason: "the reply holds no choice".to_string(),
                retry_after: None,
            })?;
        Ok(Answer {
            content: choice.message.content.unwrap_or_default(),
            truncated: choice.finish_reason.as_deref() == Some("length"),
            prompt_tokens: reply.usage.as_ref().and_then(|usage| usage.prompt_tokens),
            completion_tokens: reply.usage.and_then(|usage| usage.completion_tokens),
            latency,
        })
    }
}

/// A failure below HTTP: retried unless the request itself cannot be made.
fn transport_error(error: ureq::Error) -> RequestError {
    match error {
        ureq::Error::BadUri(_) | ureq::Error::RequireHttpsOnly(_) | ureq::Error::Json(_) => {
            RequestError::Permanent(error.to_string())
        }
        other => RequestError::Transient {
            reason: other.to_string(),
            retry_after: None,
        },
    }
}

/// The start of a server's reply, for an error message.
fn snippet(text: &str) -> String {
    const LIMIT: usize = 200;
    match text.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
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
