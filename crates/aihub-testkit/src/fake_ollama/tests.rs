use super::replies::{stream_lines, tool_calls};
use super::*;

fn parse(lines: &[Bytes]) -> Vec<Value> {
    let joined: Vec<u8> = lines.iter().flat_map(|b| b.iter().copied()).collect();
    String::from_utf8_lossy(&joined)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn stream_lines_follow_the_documented_shape() {
    let behavior = OllamaBehavior {
        pieces: vec!["The".into()],
        ..OllamaBehavior::default()
    };
    let (lines, ends_done) = stream_lines(&behavior, "llama3.2");
    assert!(ends_done);
    assert!(lines.iter().all(|l| !l.is_empty()));
    let objects = parse(&lines);
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["message"]["content"], "The");
    assert_eq!(objects[0]["done"], false);
    assert_eq!(objects[1]["done"], true);
    assert_eq!(objects[1]["done_reason"], "stop");
    assert_eq!(objects[1]["prompt_eval_count"], 26);
    assert_eq!(objects[1]["eval_count"], 7);
    assert!(objects[1]["total_duration"].is_u64());
}

#[test]
fn error_modes_end_their_streams_as_documented() {
    let (lines, done) = stream_lines(&OllamaBehavior::error(OllamaMode::MidStreamError), "m");
    assert!(!done);
    let objects = parse(&lines);
    assert!(objects.last().expect("lines")["error"].is_string());
    let (lines, done) = stream_lines(&OllamaBehavior::error(OllamaMode::CutOff), "m");
    assert!(!done);
    assert!(parse(&lines).iter().all(|o| o["done"] == false));
    let (lines, _) = stream_lines(&OllamaBehavior::error(OllamaMode::Malformed), "m");
    let last = lines.last().expect("lines");
    assert!(serde_json::from_slice::<Value>(last.trim_ascii()).is_err());
}

#[test]
fn tool_call_replies_carry_tool_calls_once() {
    let behavior = OllamaBehavior::error(OllamaMode::ToolCall);
    let whole = final_object(&behavior, "m", "", true);
    assert_eq!(whole["message"]["content"], "");
    assert_eq!(whole["message"]["tool_calls"], tool_calls());
    let (lines, _) = stream_lines(&behavior, "m");
    let objects = parse(&lines);
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["message"]["tool_calls"], tool_calls());
    assert!(objects[1]["message"].get("tool_calls").is_none());
}
