//! XML text for every document vnuma writes (the libvirt domain, the SVG pictures): one escape,
//! so each of them is well-formed XML 1.0 whatever names it carries.

use std::borrow::Cow;

/// The character that stands in for one XML 1.0 does not allow.
const REPLACEMENT: char = '\u{FFFD}';

/// Whether XML 1.0 forbids `c` anywhere in a document, even as a character reference: the C0
/// controls other than tab, line feed and carriage return (U+0000–U+0008, U+000B, U+000C,
/// U+000E–U+001F), and the non-characters U+FFFE and U+FFFF.
fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// `text` as XML 1.0 character data or as an attribute value in either quotes.
///
/// Built on [`quick_xml::escape::escape`]: `&`, `<`, `>`, `"` and `'` become `&amp;`, `&lt;`,
/// `&gt;`, `&quot;` and `&apos;`, and a carriage return becomes `&#13;` (so XML end-of-line
/// handling does not turn it into a line feed). A character XML 1.0 forbids ([`forbidden`]:
/// C0 controls other than tab, line feed and carriage return, U+FFFE, U+FFFF) is **replaced
/// with U+FFFD** (the replacement character), not dropped: the document stays one that parsers
/// accept, a reader still sees that something was there, and the text keeps its length in
/// characters (the pictures measure text by it). Text without such characters escapes exactly
/// as before.
pub(crate) fn escape(text: &str) -> Cow<'_, str> {
    if text.chars().any(forbidden) {
        let clean: String = text
            .chars()
            .map(|c| if forbidden(c) { REPLACEMENT } else { c })
            .collect();
        Cow::Owned(quick_xml::escape::escape(clean).into_owned())
    } else {
        quick_xml::escape::escape(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_replaces_forbidden_characters() {
        assert_eq!(
            escape("<a & 'b'>\"c\""),
            "&lt;a &amp; &apos;b&apos;&gt;&quot;c&quot;"
        );
        assert_eq!(escape("plain"), "plain");
        assert!(matches!(escape("plain"), Cow::Borrowed(_)));
        assert_eq!(escape("a\u{0}b\u{1b}c\u{7}"), "a\u{FFFD}b\u{FFFD}c\u{FFFD}");
        assert_eq!(escape("\u{B}\u{C}\u{1F}\u{FFFE}\u{FFFF}"), "\u{FFFD}".repeat(5));
        // Allowed whitespace stays; a carriage return survives end-of-line handling.
        assert_eq!(escape("a\tb\nc"), "a\tb\nc");
        assert_eq!(escape("a\rb"), "a&#13;b");
        // Characters XML allows outside the C0 range pass unchanged.
        assert_eq!(escape("\u{7F}\u{85}é\u{FFFD}"), "\u{7F}\u{85}é\u{FFFD}");
        assert_eq!(escape("<\u{1}>"), "&lt;\u{FFFD}&gt;");
    }
}
