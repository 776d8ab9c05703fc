//! Billing a generation: one usage record per generation, whatever its outcome.
//!
//! [`Reservation`] is taken before anything is dispatched ([`App::reserve`]) and consumed by
//! exactly one [`Reservation::settle`]. That is the seam for quotas and budgets: a reserve
//! step that can refuse before any upstream is called, and a settle step that learns the real
//! amount. Dropping an unsettled reservation (the caller's future was dropped while an
//! upstream was being called) settles it from a task on the app runtime, as
//! [`Outcome::ClientGone`] with the prompt counted locally.

use super::{Billed, Caller, GenerationId, Outcome, Served};
use crate::{App, Result};
use aihub_domain::{ChatMessage, ChatRequest, Id, Usage, UsageRecord, time};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Who pays for a generation and what it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Account {
    pub(crate) caller: Caller,
    pub(crate) generation_id: GenerationId,
    /// The HTTP request id, for correlation only.
    pub(crate) request_id: String,
    pub(crate) conversation_id: Option<Id>,
}

/// The upstream call in flight: what an unsettled drop bills.
#[derive(Clone)]
pub(crate) struct InFlight {
    pub(crate) served: Served,
    pub(crate) request: Arc<ChatRequest>,
}

/// A generation admitted for dispatch; settled exactly once.
pub(crate) struct Reservation {
    app: App,
    pub(crate) account: Arc<Account>,
    pub(crate) started: Instant,
    in_flight: Mutex<Option<InFlight>>,
    settled: bool,
}

/// What a settled generation records besides its outcome and tokens.
pub(crate) struct Settlement<'a> {
    pub(crate) outcome: Outcome,
    /// Who served it; `None` when no upstream was reached (then nothing is recorded).
    pub(crate) served: Option<&'a Served>,
    pub(crate) billed: Billed,
    pub(crate) message_id: Option<Id>,
    pub(crate) ttft_ms: Option<i64>,
}

impl App {
    /// Admits a generation before dispatch. Nothing refuses yet: per-key rate limits are
    /// checked at the HTTP edge; quotas and budgets will reserve here.
    ///
    /// # Errors
    /// None today; a quota or budget refusal later.
    pub(crate) fn reserve(&self, account: Account) -> Result<Reservation> {
        Ok(Reservation {
            app: self.clone(),
            account: Arc::new(account),
            started: Instant::now(),
            in_flight: Mutex::new(None),
            settled: false,
        })
    }

    /// The usage to bill: the vendor's numbers when reported, else a local count of the prompt
    /// and the text generated so far, marked `estimated`, priced in nano-units.
    pub(crate) fn price_usage(
        &self,
        model: &str,
        reported: Option<Usage>,
        prompt: &[ChatMessage],
        completion: &str,
    ) -> Billed {
        let usage = match reported {
            Some(u) => u,
            None => aihub_billing::estimate_usage(model, prompt, completion),
        };
        let priced = self.price_catalog().price(model, &usage);
        Billed {
            usage,
            cost: priced.cost,
            price_known: priced.price_known,
        }
    }
}

impl Reservation {
    /// Milliseconds since the reservation.
    pub(crate) fn elapsed_ms(&self) -> i64 {
        self.started.elapsed().as_millis() as i64
    }

    /// Notes the upstream call about to be made (billed if the caller goes away meanwhile).
    pub(crate) fn set_in_flight(&self, in_flight: Option<InFlight>) {
        *self.in_flight.lock().unwrap_or_else(|e| e.into_inner()) = in_flight;
    }

    /// Queues the generation's one usage record for the background writer (no database write
    /// on the request path; waits only while the writer's queue is full). A generation that
    /// reached no upstream records nothing.
    pub(crate) async fn settle(mut self, s: Settlement<'_>) {
        self.settled = true;
        let latency_ms = self.elapsed_ms();
        if let Some(served) = s.served {
            let record = usage_record(&self.app, &self.account, served, &s, latency_ms);
            self.app.inner.usage.record(record).await;
        }
    }
}

fn usage_record(
    app: &App,
    account: &Account,
    served: &Served,
    s: &Settlement<'_>,
    latency_ms: i64,
) -> UsageRecord {
    UsageRecord {
        generation_id: account.generation_id.as_str().to_owned(),
        request_id: account.request_id.clone(),
        user_id: account.caller.user_id,
        api_key_id: account.caller.api_key_id,
        provider_id: Some(served.provider_id),
        provider_kind: served.kind.as_str().to_owned(),
        conversation_id: account.conversation_id,
        message_id: s.message_id,
        model: served.model.clone(),
        prompt_tokens: i64::from(s.billed.usage.prompt_tokens),
        completion_tokens: i64::from(s.billed.usage.completion_tokens),
        estimated: s.billed.usage.estimated,
        cost: s.billed.cost,
        currency: app.price_catalog().currency.clone(),
        price_known: s.billed.price_known,
        status: s.outcome.usage_status(),
        latency_ms,
        ttft_ms: s.ttft_ms,
        created_at: time::now(),
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let Some(in_flight) = self
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return; // no upstream was called: nothing to bill
        };
        let app = self.app.clone();
        let account = self.account.clone();
        let latency_ms = self.elapsed_ms();
        self.app.inner.tasks.spawn_on(
            async move {
                let InFlight { served, request } = in_flight;
                let billed = app.price_usage(&served.model, None, &request.messages, "");
                let s = Settlement {
                    outcome: Outcome::ClientGone,
                    served: Some(&served),
                    billed,
                    message_id: None,
                    ttft_ms: None,
                };
                let record = usage_record(&app, &account, &served, &s, latency_ms);
                app.inner.usage.record(record).await;
            },
            &self.app.inner.runtime,
        );
    }
}
