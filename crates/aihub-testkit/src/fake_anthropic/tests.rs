use super::*;

fn parse(events: &[Bytes]) -> Vec<(String, Value)> {
    events
        .iter()
        .map(|e| {
            let text = String::from_utf8_lossy(e).into_owned();
            assert!(text.ends_with("\n\n"), "{text}");
            let (name, data) = text
                .trim_end()
                .split_once('\n')
                .expect("an event line and a data line");
            let name = name.strip_prefix("event: ").expect("event line").to_owned();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").expect("data line"))
                .expect("json data");
            (name, data)
        })
        .collect()
}

#[test]
fn stream_events_follow_the_documented_order() {
    let behavior = AnthropicBehavior {
        pieces: vec!["Hi".into()],
        ..AnthropicBehavior::default()
    };
    let reply = Reply {
        behavior: &behavior,
        model: "m",
        tool: None,
    };
    let events = parse(&reply.events());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    // The data's `type` always repeats the event name.
    assert!(events.iter().all(|(n, d)| d["type"] == n.as_str()));
    assert_eq!(events[0].1["message"]["usage"]["input_tokens"], 25);
    assert_eq!(events[5].1["usage"]["output_tokens"], 15);
    assert_eq!(events[5].1["delta"]["stop_reason"], "end_turn");
}

#[test]
fn tool_use_streams_its_input_in_fragments() {
    let behavior = AnthropicBehavior::tool_use(json!({"location": "Paris"}));
    let input = json!({"location": "Paris"});
    let reply = Reply {
        behavior: &behavior,
        model: "m",
        tool: Some(("get_weather", &input)),
    };
    let events = parse(&reply.events());
    let fragments: String = events
        .iter()
        .filter(|(_, d)| d["delta"]["type"] == "input_json_delta")
        .filter_map(|(_, d)| d["delta"]["partial_json"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(fragments, r#"{"location":"Paris"}"#);
    let message = reply.message();
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!(message["content"][1]["name"], "get_weather");
}

#[test]
fn in_band_error_and_cut_off_end_early() {
    let behavior = AnthropicBehavior::error(AnthropicMode::InBandError);
    let reply = Reply {
        behavior: &behavior,
        model: "m",
        tool: None,
    };
    let events = parse(&reply.events());
    assert_eq!(events.last().map(|(n, _)| n.as_str()), Some("error"));
    assert_eq!(
        events
            .iter()
            .filter(|(n, _)| n == "content_block_delta")
            .count(),
        2
    );

    let behavior = AnthropicBehavior::error(AnthropicMode::CutOff);
    let reply = Reply {
        behavior: &behavior,
        model: "m",
        tool: None,
    };
    let events = parse(&reply.events());
    assert!(events.iter().all(|(n, _)| n != "message_stop"));
}
