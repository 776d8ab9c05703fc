//! What a conversation reply sends upstream: the stored history as context, trimmed to the
//! model's context window.

use aihub_domain::{ChatMessage, ChatRole, MessageStatus};
use aihub_store::messages::MessageRow;

/// Tokens kept free for the reply when trimming to a context window and no `max_tokens` is set.
pub(crate) const DEFAULT_REPLY_RESERVE: u32 = 1024;

/// The messages sent upstream: the system prompt, then (with `use_context`) the stored turns
/// that carry text (complete or stopped replies; failed and empty ones are skipped), then the
/// new user message.
pub(crate) fn build_messages(
    system_prompt: Option<&str>,
    history: &[MessageRow],
    content: &str,
    use_context: bool,
) -> Vec<ChatMessage> {
    let mut out = Vec::with_capacity(history.len() + 2);
    if let Some(sp) = system_prompt.filter(|s| !s.trim().is_empty()) {
        out.push(ChatMessage::new(ChatRole::System, sp));
    }
    if use_context {
        for m in history {
            let Some(role) = ChatRole::parse(&m.role) else {
                continue;
            };
            let usable = matches!(
                MessageStatus::parse(&m.status),
                MessageStatus::Complete | MessageStatus::Stopped
            );
            if role != ChatRole::System && usable && !m.content.is_empty() {
                out.push(ChatMessage::new(role, m.content.clone()));
            }
        }
    }
    out.push(ChatMessage::new(ChatRole::User, content));
    out
}

/// Trims `messages` to a model's context window: keeps every system message and the newest
/// user message, and drops the oldest other messages until
/// `count(kept) + reserve_for_reply <= model_window` (all in tokens). After trimming, leading
/// non-user messages (an assistant reply whose question was dropped, tool results) are
/// dropped too, so the kept history starts with a user turn. When even the system messages
/// and the newest user message alone do not fit, every other message is dropped and the
/// upstream is left to reject the request.
///
/// Returns the kept messages in their original order and how many were dropped (0 when the
/// input already fits). `count` is called O(log n) times.
pub fn fit_context(
    model_window: u32,
    reserve_for_reply: u32,
    messages: Vec<ChatMessage>,
    count: impl Fn(&[ChatMessage]) -> u32,
) -> (Vec<ChatMessage>, usize) {
    let fits = |m: &[ChatMessage]| count(m).saturating_add(reserve_for_reply) <= model_window;
    if fits(&messages) {
        return (messages, 0);
    }
    let newest_user = messages.iter().rposition(|m| m.role == ChatRole::User);
    // Indices that may be dropped, oldest first.
    let droppable: Vec<usize> = (0..messages.len())
        .filter(|&i| messages[i].role != ChatRole::System && Some(i) != newest_user)
        .collect();
    let keep_without = |n: usize| -> Vec<ChatMessage> {
        let gone = &droppable[..n];
        messages
            .iter()
            .enumerate()
            .filter(|(i, _)| !gone.contains(i))
            .map(|(_, m)| m.clone())
            .collect()
    };
    // The fewest drops that fit: fitting is monotone in the number dropped.
    let (mut lo, mut hi) = (1, droppable.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fits(&keep_without(mid)) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let mut n = lo.min(droppable.len());
    while n < droppable.len() && messages[droppable[n]].role != ChatRole::User {
        n += 1;
    }
    (keep_without(n), n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aihub_domain::{Id, time};

    fn row(id: Id, role: &str, content: &str, status: &str) -> MessageRow {
        MessageRow {
            id,
            conversation_id: 1,
            role: role.into(),
            content: content.into(),
            status: status.into(),
            model: None,
            provider_id: None,
            provider_kind: None,
            prompt_tokens: None,
            completion_tokens: None,
            cost_nanos: None,
            finish_reason: None,
            response_time_ms: None,
            metadata: "{}".into(),
            created_at: time::now(),
        }
    }

    #[test]
    fn context_keeps_usable_turns_and_the_system_prompt() {
        let history = vec![
            row(1, "user", "hi", "complete"),
            row(2, "assistant", "hello", "complete"),
            row(3, "user", "again", "complete"),
            row(4, "assistant", "", "failed"),
            row(5, "assistant", "partial", "stopped"),
        ];
        let with = build_messages(Some("be brief"), &history, "next", true);
        let roles: Vec<_> = with
            .iter()
            .map(|m| (m.role, m.text().into_owned()))
            .collect();
        assert_eq!(
            roles,
            vec![
                (ChatRole::System, "be brief".to_owned()),
                (ChatRole::User, "hi".to_owned()),
                (ChatRole::Assistant, "hello".to_owned()),
                (ChatRole::User, "again".to_owned()),
                (ChatRole::Assistant, "partial".to_owned()),
                (ChatRole::User, "next".to_owned()),
            ]
        );
        let without = build_messages(Some("be brief"), &history, "next", false);
        assert_eq!(without.len(), 2);
        assert_eq!(build_messages(None, &history, "x", false).len(), 1);
    }

    /// Each message costs its text length; no framing.
    fn chars(m: &[ChatMessage]) -> u32 {
        m.iter().map(|m| m.text().len() as u32).sum()
    }

    fn texts(m: &[ChatMessage]) -> Vec<String> {
        m.iter().map(|m| m.text().into_owned()).collect()
    }

    fn chat(roles_texts: &[(ChatRole, &str)]) -> Vec<ChatMessage> {
        roles_texts
            .iter()
            .map(|(r, t)| ChatMessage::new(*r, *t))
            .collect()
    }

    use ChatRole::{Assistant as A, System as S, User as U};

    #[test]
    fn fit_context_leaves_a_fitting_prompt_alone() {
        let msgs = chat(&[(S, "sys"), (U, "aa"), (A, "bb"), (U, "cc")]);
        // 9 chars + 11 reserve = 20 = window: fits exactly.
        let (kept, dropped) = fit_context(20, 11, msgs.clone(), chars);
        assert_eq!(dropped, 0);
        assert_eq!(kept, msgs);
    }

    #[test]
    fn fit_context_drops_the_oldest_turns_first() {
        let msgs = chat(&[
            (S, "sys"),
            (U, "u1"),
            (A, "a1"),
            (U, "u2"),
            (A, "a2"),
            (U, "u3"),
        ]);
        // Total 13; window 10 with no reserve needs 2 dropped (u1, a1) → 9.
        let (kept, dropped) = fit_context(10, 0, msgs.clone(), chars);
        assert_eq!(dropped, 2);
        assert_eq!(texts(&kept), ["sys", "u2", "a2", "u3"]);
        // The reserve counts against the window the same way.
        let (kept, dropped) = fit_context(13, 3, msgs, chars);
        assert_eq!(dropped, 2);
        assert_eq!(texts(&kept), ["sys", "u2", "a2", "u3"]);
    }

    #[test]
    fn fit_context_never_starts_history_with_an_orphaned_reply() {
        let msgs = chat(&[
            (S, "s"),
            (U, "u1"),
            (A, "a1"),
            (U, "u2"),
            (A, "a2"),
            (U, "u3"),
        ]);
        // Total 11; window 10 would fit by dropping u1 alone, but a1 would then lead.
        let (kept, dropped) = fit_context(10, 0, msgs, chars);
        assert_eq!(dropped, 2);
        assert_eq!(texts(&kept), ["s", "u2", "a2", "u3"]);
    }

    #[test]
    fn fit_context_always_keeps_system_messages_and_the_newest_user_message() {
        let msgs = chat(&[
            (S, "system one"),
            (U, "old question"),
            (A, "old answer"),
            (S, "system two"),
            (U, "the newest question"),
        ]);
        // Nothing fits: everything else goes, the kept order is unchanged.
        let (kept, dropped) = fit_context(5, 1_000, msgs, chars);
        assert_eq!(dropped, 2);
        assert_eq!(
            texts(&kept),
            ["system one", "system two", "the newest question"]
        );
        // Only what must stay: nothing to drop.
        let only = chat(&[(S, "s"), (U, "u")]);
        let (kept, dropped) = fit_context(1, 1, only.clone(), chars);
        assert_eq!((kept, dropped), (only, 0));
    }

    #[test]
    fn fit_context_keeps_the_latest_user_message_even_when_it_is_not_last() {
        // A trailing assistant message (e.g. a prefill) is droppable; the newest user one is not.
        let msgs = chat(&[(U, "u1"), (A, "a1"), (U, "u2"), (A, "prefill")]);
        let (kept, dropped) = fit_context(2, 0, msgs, chars);
        assert_eq!(dropped, 3);
        assert_eq!(texts(&kept), ["u2"]);
    }

    #[test]
    fn fit_context_with_the_real_counter_drops_until_it_fits() {
        let model = "gpt-4o-mini";
        let mut msgs = vec![ChatMessage::new(S, "You are terse.")];
        for i in 0..40 {
            msgs.push(ChatMessage::new(
                U,
                format!("question number {i} about the weather"),
            ));
            msgs.push(ChatMessage::new(
                A,
                format!("answer number {i}: it is sunny"),
            ));
        }
        msgs.push(ChatMessage::new(U, "and tomorrow?"));
        let count = |m: &[ChatMessage]| aihub_billing::count_messages(model, m).tokens;
        let full = count(&msgs);
        let window = full / 2;
        let (kept, dropped) = fit_context(window, 100, msgs.clone(), count);
        assert!(dropped > 0 && dropped % 2 == 0, "dropped {dropped}");
        assert!(count(&kept) + 100 <= window);
        assert_eq!(kept.len() + dropped, msgs.len());
        assert_eq!(kept[0], msgs[0]);
        assert_eq!(kept[1].role, U);
        assert_eq!(kept.last(), msgs.last());
        // The fewest drops: putting back the last pair dropped would overflow.
        let mut more = vec![msgs[0].clone()];
        more.extend_from_slice(&msgs[dropped - 1..]);
        assert!(count(&more) + 100 > window);
    }
}
