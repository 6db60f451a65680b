//! A text document as a PDF: A4 pages of lines in the PDF's standard fonts (Helvetica, its bold,
//! Courier for hashes), which every reader has, so nothing is embedded. Text is encoded in
//! WinAnsi, which holds French (accents, « », ’, –, €); anything else becomes `?`.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

/// How a line is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Title,
    Heading,
    Body,
    /// Fixed width: hashes, ids.
    Code,
}

impl Style {
    fn font(self) -> Name<'static> {
        match self {
            Style::Title | Style::Heading => Name(b"Bold"),
            Style::Body => Name(b"Regular"),
            Style::Code => Name(b"Mono"),
        }
    }

    fn size(self) -> f32 {
        match self {
            Style::Title => 16.0,
            Style::Heading => 12.0,
            Style::Body => 10.0,
            Style::Code => 8.5,
        }
    }

    /// Characters per line before wrapping, for A4 less the margins.
    fn width(self) -> usize {
        match self {
            Style::Title => 55,
            Style::Heading => 75,
            Style::Body => 95,
            Style::Code => 95,
        }
    }

    fn space_before(self) -> f32 {
        match self {
            Style::Title => 0.0,
            Style::Heading => 10.0,
            _ => 0.0,
        }
    }
}

const PAGE: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 50.0;

/// The PDF of these lines, wrapped at word boundaries and laid out page after page.
pub fn render(lines: &[(Style, String)]) -> Vec<u8> {
    let mut pages: Vec<Content> = vec![Content::new()];
    let mut y = PAGE.1 - MARGIN;
    for (style, text) in lines {
        for piece in wrap(text, style.width()) {
            let step = style.size() * 1.4 + style.space_before();
            if y - step < MARGIN {
                pages.push(Content::new());
                y = PAGE.1 - MARGIN;
            }
            y -= step;
            let content = pages.last_mut().expect("one page at least");
            content.begin_text();
            content.set_font(style.font(), style.size());
            content.next_line(MARGIN, y);
            content.show(Str(&win_ansi(&piece)));
            content.end_text();
        }
    }
    let (catalog, tree) = (Ref::new(1), Ref::new(2));
    let fonts = [
        (Name(b"Regular"), Ref::new(3), Name(b"Helvetica")),
        (Name(b"Bold"), Ref::new(4), Name(b"Helvetica-Bold")),
        (Name(b"Mono"), Ref::new(5), Name(b"Courier")),
    ];
    let page_ids: Vec<Ref> = (0..pages.len())
        .map(|i| Ref::new(10 + 2 * i as i32))
        .collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(pages.len() as i32);
    for (name, id, base) in fonts {
        let _ = name;
        pdf.type1_font(id)
            .base_font(base)
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    for (content, page_id) in pages.into_iter().zip(&page_ids) {
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(*page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1));
        page.parent(tree);
        page.contents(content_id);
        let mut resources = page.resources();
        let mut names = resources.fonts();
        for (name, id, _) in fonts {
            names.pair(name, id);
        }
        names.finish();
        resources.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

/// Lines of at most `width` characters, cut between words (a longer word is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let mut word = word.to_string();
            while word.chars().count() > width {
                let head: String = word.chars().take(width).collect();
                word = word.chars().skip(width).collect();
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                lines.push(head);
            }
            let needed =
                line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
            if needed > width && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(&word);
        }
        lines.push(line);
    }
    lines
}

/// The text in WinAnsi (PDF 1.7, annex D.2): Latin-1 where it agrees, the typographic signs
/// French uses where it does not, `?` for the rest.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            '€' => 0x80,
            '‚' => 0x82,
            '„' => 0x84,
            '…' => 0x85,
            'Œ' => 0x8C,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            'œ' => 0x9C,
            'Ÿ' => 0x9F,
            _ => b'?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_is_encoded_and_long_lines_wrap_between_words() {
        assert_eq!(
            win_ansi("é « – » €"),
            [0xE9, b' ', 0xAB, b' ', 0x96, b' ', 0xBB, b' ', 0x80]
        );
        assert_eq!(win_ansi("日"), b"?");
        assert_eq!(wrap("un deux trois", 8), ["un deux", "trois"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        let pdf = render(&[
            (Style::Title, "Preuve".into()),
            (Style::Body, "é".repeat(400)),
        ]);
        assert!(pdf.starts_with(b"%PDF-"));
    }
}
