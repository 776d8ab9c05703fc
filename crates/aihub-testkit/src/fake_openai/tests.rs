use super::replies::Step;
use super::*;

fn texts(events: &[Bytes]) -> Vec<String> {
    events
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect()
}

fn data(event: &str) -> Value {
    serde_json::from_str(event.trim_start_matches("data: ").trim()).expect("json event")
}

#[test]
fn stream_events_follow_the_documented_order() {
    let behavior = FakeBehavior {
        pieces: vec!["Hi".into()],
        ..FakeBehavior::default()
    };
    let events = texts(&stream_events(&behavior, "gpt-4o-mini", true, None));
    assert_eq!(events.len(), 5);
    assert!(
        events
            .iter()
            .all(|e| e.starts_with("data: ") && e.ends_with("\n\n"))
    );
    let json = |i: usize| data(&events[i]);
    assert_eq!(
        json(0)["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert_eq!(json(1)["choices"][0]["delta"]["content"], "Hi");
    assert_eq!(json(1)["usage"], Value::Null);
    assert_eq!(json(2)["choices"][0]["finish_reason"], "stop");
    assert_eq!(json(3)["choices"], json!([]));
    assert_eq!(json(3)["usage"]["total_tokens"], 16);
    assert_eq!(events[4], "data: [DONE]\n\n");
}

#[test]
fn without_include_usage_there_is_no_usage_field() {
    let events = stream_events(&FakeBehavior::default(), "m", false, None);
    assert_eq!(events.len(), 4 + 3);
    assert!(
        events
            .iter()
            .all(|e| !String::from_utf8_lossy(e).contains("usage"))
    );
}

#[test]
fn tool_calls_stream_as_an_opening_piece_and_two_argument_pieces() {
    let call = ("get_weather".to_owned(), r#"{"city":"Paris"}"#.to_owned());
    let events = texts(&stream_events(
        &FakeBehavior::default(),
        "m",
        false,
        Some(&call),
    ));
    assert_eq!(events.len(), 5);
    let first = &data(&events[0])["choices"][0]["delta"]["tool_calls"][0];
    assert_eq!(first["id"], TOOL_CALL_ID);
    assert_eq!(first["function"]["name"], "get_weather");
    let args: String = (1..3)
        .map(|i| {
            data(&events[i])["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                .as_str()
                .expect("arguments")
                .to_owned()
        })
        .collect();
    assert_eq!(args, call.1);
    assert_eq!(
        data(&events[3])["choices"][0]["finish_reason"],
        "tool_calls"
    );
}

#[test]
fn fault_plans_keep_two_events_then_break() {
    let events = stream_events(&FakeBehavior::default(), "m", true, None);
    assert_eq!(plan(events.clone(), &FakeMode::Ok).len(), events.len());
    assert_eq!(plan(events.clone(), &FakeMode::EofWithoutDone).len(), 2);
    assert_eq!(
        plan(events.clone(), &FakeMode::StallMidStream).last(),
        Some(&Step::Hang)
    );
    let Some(Step::Send(error)) = plan(events.clone(), &FakeMode::InBandError).pop() else {
        panic!("an error event");
    };
    assert_eq!(
        data(&String::from_utf8_lossy(&error))["error"]["type"],
        "server_error"
    );
    assert_eq!(plan(events, &FakeMode::MalformedSse).len(), 4);
}

#[test]
fn base64_matches_the_standard_alphabet() {
    assert_eq!(base64_encode(b""), "");
    assert_eq!(base64_encode(b"f"), "Zg==");
    assert_eq!(base64_encode(b"fo"), "Zm8=");
    assert_eq!(base64_encode(b"foo"), "Zm9v");
    assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64_encode(&0.5_f32.to_le_bytes()), "AAAAPw==");
}

#[test]
fn embeddings_are_deterministic_and_exact() {
    assert_eq!(fake_embedding("abc", 3), vec![3.0 / 8.0, 0.5, 5.0 / 8.0]);
    assert_eq!(fake_embedding("abc", 8), fake_embedding("xyz", 8));
    assert_ne!(fake_embedding("ab", 8), fake_embedding("abc", 8));
}
