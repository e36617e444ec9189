//! `subscriptions/listen` (2026-07-28) on stdio: every subscription shares stdout, so a
//! subscription is an entry here, not a stream. Opening one writes
//! `notifications/subscriptions/acknowledged`; then each server event the filter asks for is
//! written tagged with `_meta["io.modelcontextprotocol/subscriptionId"]` = the listen
//! request's id. The client ends one with `notifications/cancelled` (no answer follows). When
//! the server ends them (end of input, shutdown, no more events) each gets the server's
//! `notifications/cancelled` for its id and then its closing result.
//!
//! What a subscription is (params, acknowledgement, tagging, closing result) is shared with
//! Streamable HTTP (`crate::subscription`); this is the table of them.

use std::collections::HashMap;

use mcp_core::jsonrpc::{ErrorObject, RequestId, codes};
use mcp_core::protocol::SubscriptionFilter;
use mcp_core::{AllowList, ServerEvent};
use serde_json::value::RawValue;

use crate::subscription::{ResourceLimits, Subscription, not_publishing};

/// The open subscriptions of one connection, bounded in number and in resources each.
#[derive(Debug)]
pub(super) struct Listens {
    open: HashMap<RequestId, Subscription>,
    max: usize,
    max_resources: ResourceLimits,
    allow_list: Option<AllowList>,
}

impl Listens {
    pub(super) fn new(
        max: usize,
        max_resources: ResourceLimits,
        allow_list: Option<AllowList>,
    ) -> Self {
        Self {
            open: HashMap::new(),
            max,
            max_resources,
            allow_list,
        }
    }

    pub(super) fn contains(&self, id: &RequestId) -> bool {
        self.open.contains_key(id)
    }

    /// Checks a listen request before the service sees it: the transport's own refusals
    /// (no events to deliver, every slot taken) come first, so that the service (and its
    /// telemetry) never counts as answered a request the transport then refuses; then its
    /// params (see [`Subscription::check_request`]). `publishing`: whether the server has
    /// events to deliver at all.
    pub(super) fn check(
        &self,
        params: Option<&RawValue>,
        publishing: bool,
    ) -> Result<(), ErrorObject> {
        if !publishing {
            return Err(not_publishing());
        }
        if self.open.len() >= self.max {
            return Err(ErrorObject::new(codes::SERVER_ERROR, "Too many listeners"));
        }
        Subscription::check_request(params, self.max_resources)
    }

    /// Opens the subscription `id` carrying what the service `honoured` (see
    /// [`Subscription::open`]) and returns its acknowledgement, or the error to answer.
    /// Listen requests are handled one at a time, so the [`check`](Self::check) still holds,
    /// unless the server stopped publishing while the service answered.
    pub(super) fn open(
        &mut self,
        id: &RequestId,
        params: Option<&RawValue>,
        honoured: SubscriptionFilter,
        publishing: bool,
    ) -> Result<Vec<u8>, ErrorObject> {
        if !publishing {
            return Err(not_publishing());
        }
        let (subscription, acknowledgement) = Subscription::open(id, params, honoured);
        self.open.insert(id.clone(), subscription);
        Ok(acknowledgement)
    }

    /// Forgets the subscription `id` (the client cancelled it): nothing more is written for it.
    pub(super) fn cancel(&mut self, id: &RequestId) -> bool {
        self.open.remove(id).is_some()
    }

    /// The lines `event` becomes: one per subscription that asked for it and may see it.
    pub(super) fn lines_for(&self, event: &ServerEvent) -> Vec<Vec<u8>> {
        self.open
            .values()
            .filter_map(|subscription| subscription.notification(event, self.allow_list.as_ref()))
            .collect()
    }

    /// Ends every subscription from the server's side and returns what to write for each:
    /// `notifications/cancelled` for its id, then its closing result.
    ///
    /// The 2026-07-28 pages differ here (modelcontextprotocol issue #3348): Cancellation says
    /// a server MUST send `notifications/cancelled` referencing the listen request when it
    /// tears the subscription down, and only for a request still in progress; Subscriptions
    /// says it SHOULD send the (empty) `subscriptions/listen` result. Both are sent, the
    /// notification first, while the request is still in progress.
    pub(super) fn close_all(&mut self, reason: &str) -> Vec<Vec<u8>> {
        let mut lines = Vec::with_capacity(2 * self.open.len());
        for (_, subscription) in self.open.drain() {
            lines.push(subscription.cancelled(reason));
            lines.push(subscription.closing_result());
        }
        lines
    }
}
