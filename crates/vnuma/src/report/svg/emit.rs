//! The box tree as SVG text: one `<g>` per framed block, its frame `<rect>` first.

use std::fmt::Write as _;

use crate::render::xml;

use super::layout::{Anchor, Block, El, Style};

/// `text` as the content of an SVG `<text>` or `<title>`: every control character (tab and
/// line breaks included; a picture's text is one line) becomes a space, so the text keeps the
/// length the layout measured, then the one XML escape ([`crate::render::xml`]) applies.
pub(super) fn escape(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    xml::escape(&one_line).into_owned()
}

fn emit(out: &mut String, el: &El, depth: usize) {
    let indent = " ".repeat(depth);
    match el {
        El::Rect { x, y, w, h, style } => {
            let _ = write!(
                out,
                "{indent}<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{w:.2}\" height=\"{h:.2}\" fill=\"{}\"",
                style.fill
            );
            if style.radius > 0.0 {
                let _ = write!(out, " rx=\"{:.1}\"", style.radius);
            }
            if style.stroke != "none" {
                let _ = write!(
                    out,
                    " stroke=\"{}\" stroke-width=\"{:.1}\"",
                    style.stroke, style.stroke_width
                );
                if style.dashed {
                    out.push_str(" stroke-dasharray=\"3 2\"");
                }
            }
            out.push_str("/>\n");
        }
        El::Text {
            x,
            y,
            size,
            bold,
            anchor,
            fill,
            text,
        } => {
            let _ = write!(
                out,
                "{indent}<text x=\"{x:.2}\" y=\"{y:.2}\" font-size=\"{size:.1}\" fill=\"{fill}\""
            );
            if *bold {
                out.push_str(" font-weight=\"bold\"");
            }
            if *anchor == Anchor::Middle {
                out.push_str(" text-anchor=\"middle\"");
            }
            let _ = writeln!(out, ">{}</text>", escape(text));
        }
        El::Group(children) => {
            let _ = writeln!(out, "{indent}<g>");
            for child in children {
                emit(out, child, depth + 1);
            }
            let _ = writeln!(out, "{indent}</g>");
        }
    }
}

/// The whole document: a white page with a margin around `body`.
pub(super) fn document(body: Block, title: &str) -> String {
    let margin = 12.0;
    let page = body.framed(Style::fill("#ffffff"), margin, 0.0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
         version=\"1.1\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.2} {h:.2}\" \
         font-family=\"monospace\">",
        w = page.w.ceil(),
        h = page.h.ceil()
    );
    let _ = writeln!(out, " <title>{}</title>", escape(title));
    for el in &page.els {
        emit(&mut out, el, 1);
    }
    out.push_str("</svg>\n");
    out
}
