//! A language-model judge served behind an OpenAI-compatible chat-completions API: the client,
//! its retries, the ledger of answers bought, and the buyer that sends many requests at once
//! under caps on answers and tokens.

pub mod buyer;
pub mod client;
pub mod ledger;
pub mod retry;

pub use buyer::{Buyer, BuyingPolicy, Outcome, Unanswered};
pub use client::ChatClient;
pub use ledger::Ledger;
