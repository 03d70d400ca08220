//! Server-sent events, line by line, from text in chunks of any size.

/// One event: its `event:` name (Responses and Anthropic send one) and its `data:` text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, when sent.
    pub event: Option<String>,
    /// The `data:` field.
    pub data: String,
}

/// Splits SSE text into events. Each `data:` line is one event (the four providers never split
/// their JSON over several lines), paired with the `event:` line before it.
#[derive(Debug, Default, Clone)]
pub struct SseParser {
    partial_line: String,
    event: Option<String>,
}

/// Longest line kept while waiting for its end (a line this long is not SSE from these APIs).
const MAX_LINE_BYTES: usize = 64 * 1024 * 1024;

impl SseParser {
    /// A parser with nothing buffered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feed text; returns the events whose line ended in it.
    pub fn feed(&mut self, text: &str) -> Vec<SseEvent> {
        let mut events = Vec::new();
        let mut rest = text;
        while let Some(end) = rest.find('\n') {
            let (line, after) = rest.split_at(end);
            rest = &after[1..];
            if self.partial_line.is_empty() {
                self.line(line, &mut events);
            } else {
                let mut whole = std::mem::take(&mut self.partial_line);
                whole.push_str(line);
                self.line(&whole, &mut events);
            }
        }
        if self.partial_line.len() + rest.len() <= MAX_LINE_BYTES {
            self.partial_line.push_str(rest);
        }
        events
    }

    /// End of input: a last line without its newline still counts.
    pub fn finish(&mut self) -> Vec<SseEvent> {
        let line = std::mem::take(&mut self.partial_line);
        let mut events = Vec::new();
        self.line(&line, &mut events);
        events
    }

    fn line(&mut self, line: &str, events: &mut Vec<SseEvent>) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            self.event = None;
        } else if let Some(name) = field(line, "event") {
            self.event = Some(name.to_owned());
        } else if let Some(data) = field(line, "data") {
            events.push(SseEvent {
                event: self.event.clone(),
                data: data.to_owned(),
            });
        }
        // Comments (`:`), `id:` and `retry:` lines carry nothing a turn needs.
    }
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let value = line.strip_prefix(name)?.strip_prefix(':')?;
    Some(value.strip_prefix(' ').unwrap_or(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_are_reassembled() {
        let text = "event: a\ndata: {\"x\":1}\n\n: comment\ndata: [DONE]\r\n";
        for cut in 0..text.len() {
            let mut parser = SseParser::new();
            let mut events = parser.feed(&text[..cut]);
            events.extend(parser.feed(&text[cut..]));
            events.extend(parser.finish());
            assert_eq!(
                events,
                vec![
                    SseEvent {
                        event: Some("a".into()),
                        data: "{\"x\":1}".into()
                    },
                    SseEvent {
                        event: None,
                        data: "[DONE]".into()
                    },
                ],
                "cut at {cut}"
            );
        }
    }
}
