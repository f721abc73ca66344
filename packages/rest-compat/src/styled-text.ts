// `text_mode: "styled"`: upstream's markup (`utils/textstyleparser.go`) → plain text plus signal-cli
// `start:length:STYLE` text styles, offsets in UTF-16 code units.
//
// Markers: `*italic*`, `**bold**`, `~strikethrough~`, `||spoiler||`, `` `monospace` ``. A backslash directly before
// `*`, `**`, `~`, `` ` `` or `||` makes the marker literal and is dropped; other backslashes are kept.
// Markers form a stack: a marker closes the style only if the same marker is on top (so `||**x**||` nests);
// otherwise it opens a new one. Markers left open at the end are removed from the text and produce no style.

export type TextStyleName = 'BOLD' | 'ITALIC' | 'MONOSPACE' | 'STRIKETHROUGH' | 'SPOILER';

export interface StyledText {
  text: string;
  /** `start:length:STYLE`, UTF-16 units, in the order the styles close. */
  styles: string[];
}

const ESCAPE = '\\';

export function parseStyledText(input: string): StyledText {
  const chars = Array.from(input); // code points, like Go's rune iteration
  const open: Array<{ style: TextStyleName; start: number }> = [];
  const styles: string[] = [];
  let text = '';
  let prev = '';

  const marker = (style: TextStyleName): void => {
    const top = open[open.length - 1];
    if (top !== undefined && top.style === style) {
      open.pop();
      const length = text.length - top.start;
      // Upstream also emits empty ranges (`****` → `0:0:BOLD`); they style nothing, so they are left out.
      if (length > 0) styles.push(`${top.start}:${length}:${style}`);
    } else {
      open.push({ style, start: text.length });
    }
  };

  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    const next = chars[i + 1];
    if (c === '*') {
      if (next === '*') {
        i++;
        if (prev === ESCAPE) {
          text += '**';
          prev = c;
          continue;
        }
        marker('BOLD');
      } else {
        if (prev === ESCAPE) {
          text += '*';
          prev = c;
          continue;
        }
        marker('ITALIC');
      }
    } else if (c === '|' && next === '|') {
      i++;
      if (prev === ESCAPE) {
        text += '||';
        prev = c;
        continue;
      }
      marker('SPOILER');
    } else if (c === '~' || c === '`') {
      if (prev === ESCAPE) {
        text += c;
        prev = c;
        continue;
      }
      marker(c === '~' ? 'STRIKETHROUGH' : 'MONOSPACE');
    } else if (c === ESCAPE && (next === '*' || next === '`' || next === '|' || next === '~')) {
      prev = c;
      continue;
    } else {
      text += c;
    }
    prev = c;
  }
  return { text, styles };
}
