//! A built-in 3×5 bitmap font for the digits and the few letters the legends need, so the
//! pictures need no font file and no font-rendering dependency.

/// Rows of a glyph, top first; bit 2 is the left column.
fn glyph(character: char) -> Option<[u8; 5]> {
    Some(match character {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        'p' => [0b000, 0b111, 0b101, 0b111, 0b100],
        'x' => [0b000, 0b101, 0b010, 0b101, 0b000],
        'f' => [0b011, 0b100, 0b110, 0b100, 0b100],
        'o' => [0b000, 0b111, 0b101, 0b101, 0b111],
        'l' => [0b110, 0b010, 0b010, 0b010, 0b111],
        'd' => [0b001, 0b001, 0b111, 0b101, 0b111],
        '.' => [0b000, 0b000, 0b000, 0b000, 0b010],
        ' ' => [0; 5],
        _ => return None,
    })
}

/// Width in pixels of `text` drawn at `scale` (unknown characters take no room).
pub fn text_width(text: &str, scale: usize) -> usize {
    text.chars().filter(|&c| glyph(c).is_some()).count() * 4 * scale
}

/// Draws `text` with its top-left corner at (`x`, `y`) through `plot(x, y)` for every lit pixel.
pub fn draw_text(text: &str, x: usize, y: usize, scale: usize, mut plot: impl FnMut(usize, usize)) {
    let mut left = x;
    for character in text.chars() {
        let Some(rows) = glyph(character) else {
            continue;
        };
        for (row, bits) in rows.iter().enumerate() {
            for column in 0..3 {
                if bits & (0b100 >> column) != 0 {
                    for dy in 0..scale {
                        for dx in 0..scale {
                            plot(left + column * scale + dx, y + row * scale + dy);
                        }
                    }
                }
            }
        }
        left += 4 * scale;
    }
}
