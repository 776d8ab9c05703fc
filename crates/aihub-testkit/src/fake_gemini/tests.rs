use super::replies::stream_events;
use super::*;

fn parsed(events: &[Bytes]) -> Vec<Value> {
    events
        .iter()
        .map(|b| {
            let s = String::from_utf8_lossy(b);
            assert!(s.starts_with("data: ") && s.ends_with("\r\n\r\n"), "{s}");
            serde_json::from_str(s.trim_start_matches("data: ").trim()).expect("json event")
        })
        .collect()
}

#[test]
fn ok_stream_ends_with_a_finish_reason_and_full_usage() {
    let events = parsed(&stream_events(
        &GeminiBehavior::default(),
        "gemini-1.5-flash",
    ));
    assert_eq!(events.len(), 4);
    assert_eq!(
        events[0]["candidates"][0]["content"]["parts"][0]["text"],
        "Hello"
    );
    assert!(events[0]["candidates"][0].get("finishReason").is_none());
    assert_eq!(events[3]["candidates"][0]["finishReason"], "STOP");
    assert_eq!(events[3]["usageMetadata"]["candidatesTokenCount"], 7);
    assert_eq!(events[3]["usageMetadata"]["promptTokenCount"], 9);
}

#[test]
fn cut_off_and_safety_streams_have_no_stop() {
    let cut = parsed(&stream_events(
        &GeminiBehavior::mode(GeminiMode::CutOff),
        "m",
    ));
    assert!(
        cut.iter()
            .all(|e| e["candidates"][0].get("finishReason").is_none())
    );
    let safety = parsed(&stream_events(
        &GeminiBehavior::mode(GeminiMode::SafetyMidStream),
        "m",
    ));
    let last = safety.last().expect("events");
    assert_eq!(last["candidates"][0]["finishReason"], "SAFETY");
    assert!(last["candidates"][0].get("content").is_none());
}
