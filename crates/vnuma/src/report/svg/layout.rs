//! The box tree: blocks with their own origin, placed in columns, rows and flows so that
//! nothing inside a frame touches its siblings, and text measured from its length.

use super::{ASCENT_EM, CHAR_ADVANCE_EM, DESCENT_EM, f};

/// How many characters of `size` fit in `width` (at least one).
fn fit_chars(width: f64, size: f64) -> usize {
    let mut n = 1;
    while f(n + 1) * CHAR_ADVANCE_EM * size <= width {
        n += 1;
    }
    n
}

/// The smallest whole number `k >= 1` with `k * step >= length`.
pub(super) fn steps_to_cover(length: f64, step: f64) -> usize {
    let mut k = 1;
    while f(k) * step < length {
        k += 1;
    }
    k
}

pub(super) fn text_width(text: &str, size: f64) -> f64 {
    f(text.chars().count()) * CHAR_ADVANCE_EM * size
}

pub(super) fn line_height(size: f64) -> f64 {
    (ASCENT_EM + DESCENT_EM) * size
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Anchor {
    Start,
    Middle,
}

/// A colour: a constant or computed (the heat ramp).
pub(super) type Colour = std::borrow::Cow<'static, str>;

#[derive(Debug, Clone)]
pub(super) struct Style {
    pub(super) fill: Colour,
    pub(super) stroke: &'static str,
    pub(super) stroke_width: f64,
    pub(super) dashed: bool,
    pub(super) radius: f64,
}

impl Style {
    pub(super) fn fill(fill: impl Into<Colour>) -> Self {
        Style {
            fill: fill.into(),
            stroke: "none",
            stroke_width: 0.0,
            dashed: false,
            radius: 0.0,
        }
    }

    pub(super) fn boxed(
        fill: impl Into<Colour>,
        stroke: &'static str,
        stroke_width: f64,
        radius: f64,
    ) -> Self {
        Style {
            fill: fill.into(),
            stroke,
            stroke_width,
            dashed: false,
            radius,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) enum El {
    Rect {
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        style: Style,
    },
    Text {
        x: f64,
        y: f64,
        size: f64,
        bold: bool,
        anchor: Anchor,
        fill: &'static str,
        text: String,
    },
    Group(Vec<El>),
}

impl El {
    pub(super) fn shift(&mut self, dx: f64, dy: f64) {
        match self {
            El::Rect { x, y, .. } | El::Text { x, y, .. } => {
                *x += dx;
                *y += dy;
            }
            El::Group(children) => children.iter_mut().for_each(|c| c.shift(dx, dy)),
        }
    }
}

/// A laid-out piece with its own origin at (0, 0).
#[derive(Debug, Clone, Default)]
pub(super) struct Block {
    pub(super) w: f64,
    pub(super) h: f64,
    pub(super) els: Vec<El>,
}

impl Block {
    pub(super) fn place(&mut self, mut other: Block, x: f64, y: f64) {
        for el in &mut other.els {
            el.shift(x, y);
        }
        self.els.extend(other.els);
        self.w = self.w.max(x + other.w);
        self.h = self.h.max(y + other.h);
    }

    /// A single text line; `y` of the block is its top.
    pub(super) fn text(text: &str, size: f64, bold: bool, fill: &'static str) -> Block {
        Block {
            w: text_width(text, size),
            h: line_height(size),
            els: vec![El::Text {
                x: 0.0,
                y: ASCENT_EM * size,
                size,
                bold,
                anchor: Anchor::Start,
                fill,
                text: text.to_string(),
            }],
        }
    }

    /// Lines wrapped at word boundaries to at most `max_width`.
    pub(super) fn paragraph(text: &str, size: f64, bold: bool, fill: &'static str, max_width: f64) -> Block {
        let limit = fit_chars(max_width, size);
        Block::column(
            wrap(text, limit)
                .iter()
                .map(|l| Block::text(l, size, bold, fill))
                .collect(),
            1.0,
        )
    }

    /// Blocks stacked top to bottom.
    pub(super) fn column(blocks: Vec<Block>, gap: f64) -> Block {
        let mut out = Block::default();
        let mut y = 0.0;
        for (i, b) in blocks.into_iter().enumerate() {
            if i > 0 {
                y += gap;
            }
            let h = b.h;
            out.place(b, 0.0, y);
            y += h;
        }
        out
    }

    /// Blocks side by side, top aligned.
    pub(super) fn row(blocks: Vec<Block>, gap: f64) -> Block {
        let mut out = Block::default();
        let mut x = 0.0;
        for (i, b) in blocks.into_iter().enumerate() {
            if i > 0 {
                x += gap;
            }
            let w = b.w;
            out.place(b, x, 0.0);
            x += w;
        }
        out
    }

    /// Blocks left to right, wrapping into rows no wider than `max_width`.
    pub(super) fn flow(blocks: Vec<Block>, gap: f64, max_width: f64) -> Block {
        let mut out = Block::default();
        let (mut x, mut y, mut row_h) = (0.0_f64, 0.0_f64, 0.0_f64);
        for b in blocks {
            if x > 0.0 && x + b.w > max_width {
                x = 0.0;
                y += row_h + gap;
                row_h = 0.0;
            }
            let (w, h) = (b.w, b.h);
            out.place(b, x, y);
            x += w + gap;
            row_h = row_h.max(h);
        }
        out
    }

    /// This block inside a frame with `pad` on every side, as one group. `min_w` widens it.
    pub(super) fn framed(self, style: Style, pad: f64, min_w: f64) -> Block {
        let w = (self.w + 2.0 * pad).max(min_w);
        let h = self.h + 2.0 * pad;
        let mut els = vec![El::Rect {
            x: 0.0,
            y: 0.0,
            w,
            h,
            style,
        }];
        let mut inner = self;
        for el in &mut inner.els {
            el.shift(pad, pad);
        }
        els.extend(inner.els);
        Block {
            w,
            h,
            els: vec![El::Group(els)],
        }
    }

    /// A plain rectangle.
    pub(super) fn rect(w: f64, h: f64, style: Style) -> Block {
        Block {
            w,
            h,
            els: vec![El::Rect {
                x: 0.0,
                y: 0.0,
                w,
                h,
                style,
            }],
        }
    }

    /// An empty block that only takes room.
    pub(super) fn space(w: f64, h: f64) -> Block {
        Block {
            w,
            h,
            els: Vec::new(),
        }
    }
}

/// Words wrapped into lines of at most `limit` characters (longer words are cut).
pub(super) fn wrap(text: &str, limit: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > limit {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let rest = word.split_off(limit);
            lines.push(word.into_iter().collect());
            word = rest;
        }
        let word: String = word.into_iter().collect();
        let len = line.chars().count();
        if len > 0 && len + 1 + word.chars().count() > limit {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Text centred in a block `w` wide.
pub(super) fn centred(text: &str, size: f64, bold: bool, fill: &'static str, w: f64) -> Block {
    Block {
        w,
        h: line_height(size),
        els: vec![El::Text {
            x: w / 2.0,
            y: ASCENT_EM * size,
            size,
            bold,
            anchor: Anchor::Middle,
            fill,
            text: text.to_string(),
        }],
    }
}
