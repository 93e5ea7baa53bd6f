//! Text placed into HTML or SVG markup that Easel writes itself (the web-page export, the
//! offline generator's vector images).

/// `text` safe as element content or a quoted attribute value in HTML and XML alike. Control
/// characters other than whitespace become spaces: XML 1.0 forbids them even escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && !matches!(c, '\n' | '\t' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_and_controls_cannot_break_out() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("bell\u{7}\ttab\nline"), "bell \ttab\nline");
        assert_eq!(escape("café 🌊"), "café 🌊");
    }
}
