//! Embeddings through the routed provider (`/v1/embeddings`), with the same retries as chat
//! and no fallbacks: vectors of another model are not interchangeable. Each call is billed
//! once, through the same reservation and settlement as a generation.

use crate::generation::bill::{Account, Settlement};
use crate::generation::{Billed, Caller, GenerationId, Outcome, Served};
use crate::routing::retry;
use crate::{App, Error, Result};
use aihub_domain::{EmbeddingRequest, EmbeddingResponse};

impl App {
    /// Embeds `request.input` with the model `model` names for `caller`. Bills prompt tokens
    /// once (status `success`, or `failed` with zero tokens).
    ///
    /// # Errors
    /// `model_not_found`, `unsupported_operation` (Anthropic), or the mapped upstream error.
    pub async fn embeddings(
        &self,
        caller: Caller,
        model: &str,
        mut request: EmbeddingRequest,
        request_id: String,
    ) -> Result<(EmbeddingResponse, Served)> {
        let app = self.clone();
        let model = model.to_owned();
        // On the app runtime and tracked: the call is billed even if the client goes away (the
        // task is not cancelled with its waiter, so the reservation is always settled here).
        let task = self.inner.tasks.spawn_on(
            async move {
                let reservation = app.reserve(Account {
                    caller,
                    generation_id: GenerationId::new(),
                    request_id,
                    conversation_id: None,
                })?;
                let (rp, vendor_model) = app.resolve_model(caller.user_id, &model).await?;
                request.model = vendor_model.clone();
                let routing = &app.config().routing;
                let circuits = &app.inner.routing.circuits;
                let retries = rp
                    .provider
                    .config
                    .max_retries
                    .unwrap_or(routing.max_retries);
                let mut attempts = 0;
                let served_now = |attempts| Served {
                    provider_id: rp.provider.id,
                    provider_slug: rp.provider.slug.clone(),
                    kind: rp.provider.kind,
                    model: vendor_model.clone(),
                    attempts,
                };
                let result = loop {
                    attempts += 1;
                    match rp.client.embed(&request).await {
                        Ok(r) => {
                            circuits.record(rp.provider.id, true, routing);
                            break Ok(r);
                        }
                        Err(e) => {
                            if e.is_retryable() {
                                circuits.record(rp.provider.id, false, routing);
                            }
                            let jitter = rand::random::<f64>();
                            match retry::delay(&e, attempts - 1, retries, routing, jitter) {
                                Some(d) => tokio::time::sleep(d).await,
                                None => break Err(e),
                            }
                        }
                    }
                };
                let served = served_now(attempts);
                match result {
                    Ok(response) => {
                        let ttft_ms = Some(reservation.elapsed_ms());
                        let priced = app.price_catalog().price(&vendor_model, &response.usage);
                        let billed = Billed {
                            usage: response.usage,
                            cost: priced.cost,
                            price_known: priced.price_known,
                        };
                        reservation
                            .settle(Settlement {
                                outcome: Outcome::Completed,
                                served: Some(&served),
                                billed,
                                message_id: None,
                                ttft_ms,
                            })
                            .await;
                        Ok((response, served))
                    }
                    Err(e) => {
                        reservation
                            .settle(Settlement {
                                outcome: Outcome::FailedBeforeFirstByte,
                                served: Some(&served),
                                billed: Billed::ZERO,
                                message_id: None,
                                ttft_ms: None,
                            })
                            .await;
                        Err(Error::from(e))
                    }
                }
            },
            &self.inner.runtime,
        );
        task.await.map_err(Error::internal)?
    }
}
