//! Server-Sent Events, as streamed generations and edits send them: the text arrives in
//! chunks cut anywhere (inside a line, between `\r` and `\n`), and [`SseParser`] turns it into
//! whole events. Then [`ImageEvent`] reads an event's JSON.

use serde::Deserialize;

use crate::api::Usage;

/// One event: its `event:` name, if any, and its `data:` lines joined with `\n`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Feeds on text chunks; yields each event once its blank line has arrived.
#[derive(Debug, Default)]
pub struct SseParser {
    /// The unfinished last line.
    line: String,
    /// A `\r` ended the last chunk: a `\n` starting the next belongs to it.
    after_cr: bool,
    event: Option<String>,
    data: Vec<String>,
}

impl SseParser {
    pub fn push(&mut self, chunk: &str) -> Vec<SseEvent> {
        let mut events = Vec::new();
        let mut rest = chunk;
        // Only text decides: an empty chunk (a reader holding an incomplete character's
        // bytes) between the `\r` and the `\n` must not end the wait.
        if self.after_cr && !rest.is_empty() {
            rest = rest.strip_prefix('\n').unwrap_or(rest);
            self.after_cr = false;
        }
        while let Some(end) = rest.find(['\r', '\n']) {
            self.line.push_str(&rest[..end]);
            let line = std::mem::take(&mut self.line);
            if let Some(event) = self.take_line(&line) {
                events.push(event);
            }
            let crlf = rest[end..].starts_with("\r\n");
            if rest[end..].starts_with('\r') && end + 1 == rest.len() {
                self.after_cr = true;
            }
            rest = &rest[end + if crlf { 2 } else { 1 }..];
        }
        self.line.push_str(rest);
        events
    }

    /// One complete line; a blank one ends the event.
    fn take_line(&mut self, line: &str) -> Option<SseEvent> {
        if line.is_empty() {
            if self.data.is_empty() && self.event.is_none() {
                return None;
            }
            return Some(SseEvent {
                event: self.event.take(),
                data: std::mem::take(&mut self.data).join("\n"),
            });
        }
        if line.starts_with(':') {
            return None; // a comment, e.g. a keep-alive
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => self.event = Some(value.to_owned()),
            "data" => self.data.push(value.to_owned()),
            _ => {} // id, retry, unknown: not used by the Images API
        }
        None
    }
}

/// The JSON of an image stream event (`image_generation.partial_image`, `….completed`, and the
/// `image_edit.*` twins), or of an `error` event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ImageEvent {
    #[serde(default, rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub b64_json: Option<String>,
    #[serde(default)]
    pub partial_image_index: Option<u32>,
    #[serde(default)]
    pub size: Option<String>,
    #[serde(default)]
    pub output_format: Option<String>,
    #[serde(default)]
    pub revised_prompt: Option<String>,
    #[serde(default)]
    pub usage: Option<Usage>,
    /// Set on an `error` event (or an error inside a data payload).
    #[serde(default)]
    pub error: Option<crate::api::ErrorBody>,
}

impl ImageEvent {
    pub fn is_partial(&self) -> bool {
        self.kind.ends_with(".partial_image")
    }

    pub fn is_completed(&self) -> bool {
        self.kind.ends_with(".completed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(chunks: &[&str]) -> Vec<SseEvent> {
        let mut parser = SseParser::default();
        chunks.iter().flat_map(|c| parser.push(c)).collect()
    }

    fn event(name: &str, data: &str) -> SseEvent {
        SseEvent {
            event: Some(name.into()),
            data: data.into(),
        }
    }

    #[test]
    fn whole_events_from_chunks_cut_anywhere() {
        let text = "event: a\ndata: {\"x\":1}\n\nevent: b\ndata: 2\n\n";
        let expected = vec![event("a", "{\"x\":1}"), event("b", "2")];
        assert_eq!(all(&[text]), expected);
        for cut in 0..text.len() {
            assert_eq!(all(&[&text[..cut], &text[cut..]]), expected, "cut at {cut}");
        }
        let bytes: Vec<String> = text.chars().map(String::from).collect();
        let singles: Vec<&str> = bytes.iter().map(String::as_str).collect();
        assert_eq!(all(&singles), expected);
    }

    #[test]
    fn crlf_and_cr_line_ends_comments_and_multiline_data() {
        let text = ": keep-alive\r\nevent: a\r\ndata: one\r\ndata: two\r\n\r\ndata:three\r\r";
        let expected = vec![
            event("a", "one\ntwo"),
            SseEvent {
                event: None,
                data: "three".into(),
            },
        ];
        assert_eq!(all(&[text]), expected);
        // A CRLF split between two chunks is one line end, not two.
        assert_eq!(
            all(&["data: x\r", "\n\r", "\n"]),
            vec![SseEvent {
                event: None,
                data: "x".into()
            }]
        );
    }

    /// Found by the `sse` fuzz target: an empty chunk between a `\r` and its `\n` made the
    /// `\n` a second line end, so a blank line appeared and split one event in two.
    #[test]
    fn an_empty_chunk_between_cr_and_lf_changes_nothing() {
        let text = "data: one\rdata: two\r\ndata: three\r\n\r\n";
        let expected = vec![SseEvent {
            event: None,
            data: "one\ntwo\nthree".into(),
        }];
        assert_eq!(all(&[text]), expected);
        assert_eq!(
            all(&["data: one\rdata: two\r", "", "\ndata: three\r\n\r\n"]),
            expected
        );
        assert_eq!(all(&["data: x\r", "", "", "\n"]), vec![]);
    }

    #[test]
    fn an_unfinished_event_waits_for_its_blank_line() {
        let mut parser = SseParser::default();
        assert!(parser.push("event: a\ndata: 1\n").is_empty());
        assert_eq!(parser.push("\n"), vec![event("a", "1")]);
    }

    #[test]
    fn image_events_are_read() {
        let partial: ImageEvent = serde_json::from_str(
            r#"{"type":"image_generation.partial_image","b64_json":"AAA","partial_image_index":1,"size":"1024x1024","created_at":1}"#,
        )
        .unwrap();
        assert!(partial.is_partial() && !partial.is_completed());
        assert_eq!(partial.partial_image_index, Some(1));
        let done: ImageEvent = serde_json::from_str(
            r#"{"type":"image_edit.completed","b64_json":"BBB","usage":{"total_tokens":5,"input_tokens":2,"output_tokens":3}}"#,
        )
        .unwrap();
        assert!(done.is_completed());
        assert_eq!(done.usage.unwrap().output_tokens, Some(3));
        let error: ImageEvent = serde_json::from_str(
            r#"{"type":"error","error":{"message":"nope","type":"server_error","code":null,"param":null}}"#,
        )
        .unwrap();
        assert_eq!(error.error.unwrap().message, "nope");
    }
}
