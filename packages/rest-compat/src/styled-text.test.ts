import { describe, expect, it } from 'vitest';

import { parseStyledText } from './styled-text.ts';

describe('parseStyledText: upstream textstyleparser_test.go cases', () => {
  it.each([
    ['*italic*', 'italic', ['0:6:ITALIC']],
    ['**bold**', 'bold', ['0:4:BOLD']],
    ['*This is a italic message*', 'This is a italic message', ['0:24:ITALIC']],
    ['This is a **bold** and *italic* message', 'This is a bold and italic message', ['10:4:BOLD', '19:6:ITALIC']],
    ['This is a **bold** and another **bold** message', 'This is a bold and another bold message', ['10:4:BOLD', '27:4:BOLD']],
    ['This is a ~strikethrough~ and a **bold** message', 'This is a strikethrough and a bold message', ['10:13:STRIKETHROUGH', '30:4:BOLD']],
    ['This is a `monospace` and a **bold** message', 'This is a monospace and a bold message', ['10:9:MONOSPACE', '26:4:BOLD']],
    ['👋abcdefg', '👋abcdefg', []],
    ['👋**abcdefg**', '👋abcdefg', ['2:7:BOLD']],
    ['👋🏾abcdefg', '👋🏾abcdefg', []],
    ['👋🏾**abcdefg**', '👋🏾abcdefg', ['4:7:BOLD']],
    ['Test 👦🏿 via **signal** API', 'Test 👦🏿 via signal API', ['14:6:BOLD']],
    ['||this is a spoiler||', 'this is a spoiler', ['0:17:SPOILER']],
    ['||this is a spoiler|| and another ||spoiler||', 'this is a spoiler and another spoiler', ['0:17:SPOILER', '30:7:SPOILER']],
    ['||**this is a bold text inside a spoiler**||', 'this is a bold text inside a spoiler', ['0:36:BOLD', '0:36:SPOILER']],
    ['\\*escaped text\\*', '*escaped text*', []],
    ['\\**escaped text\\**', '**escaped text**', []],
    ['\\`escaped text\\`', '`escaped text`', []],
    ['\\~escaped text\\~', '~escaped text~', []],
    ['Test \\** \\* \\~ Escape', 'Test ** * ~ Escape', []],
  ])('%j', (input, text, styles) => {
    expect(parseStyledText(input)).toEqual({ text, styles });
  });
});

describe('parseStyledText: nesting, escapes and offsets', () => {
  it('nests different styles', () => {
    expect(parseStyledText('~a *b `c` d* e~')).toEqual({
      text: 'a b c d e',
      styles: ['4:1:MONOSPACE', '2:5:ITALIC', '0:9:STRIKETHROUGH'],
    });
  });

  it('escapes the spoiler marker', () => {
    expect(parseStyledText('a \\||b|| c')).toEqual({ text: 'a ||b c', styles: [] });
  });

  it('keeps backslashes that do not precede a marker', () => {
    expect(parseStyledText('C:\\path\\to\\file *x*')).toEqual({ text: 'C:\\path\\to\\file x', styles: ['16:1:ITALIC'] });
  });

  it('drops a backslash before a single pipe and keeps the pipe (as upstream)', () => {
    expect(parseStyledText('a \\| b')).toEqual({ text: 'a | b', styles: [] });
  });

  it('a single pipe is plain text', () => {
    expect(parseStyledText('a | b')).toEqual({ text: 'a | b', styles: [] });
  });

  it('removes unclosed markers without styling (as upstream)', () => {
    expect(parseStyledText('2 * 3 = 6')).toEqual({ text: '2  3 = 6', styles: [] });
    expect(parseStyledText('**open')).toEqual({ text: 'open', styles: [] });
  });

  it('leaves out empty ranges', () => {
    expect(parseStyledText('****')).toEqual({ text: '', styles: [] });
    expect(parseStyledText('a``b')).toEqual({ text: 'ab', styles: [] });
  });

  it('counts surrogate pairs as two UTF-16 units inside and before a style', () => {
    const { text, styles } = parseStyledText('😀 **🎉x🎉** *é*');
    expect(text).toBe('😀 🎉x🎉 é');
    expect(styles).toEqual(['3:5:BOLD', '9:1:ITALIC']);
    expect(text.slice(3, 8)).toBe('🎉x🎉');
  });

  it('handles ZWJ emoji sequences', () => {
    const family = '👨‍👩‍👧';
    const { text, styles } = parseStyledText(`${family} ~x~`);
    expect(styles).toEqual([`${family.length + 1}:1:STRIKETHROUGH`]);
    expect(text).toBe(`${family} x`);
  });

  it('plain text passes through unchanged', () => {
    expect(parseStyledText('Hello, World!')).toEqual({ text: 'Hello, World!', styles: [] });
    expect(parseStyledText('')).toEqual({ text: '', styles: [] });
  });
});
