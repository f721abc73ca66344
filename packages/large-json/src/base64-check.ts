// The checks a long JSON string's text gets as its bytes arrive, with the state carried from one chunk to the
// next, in one pass: strict standard base64 (the same rule as rest-compat's `isStrictBase64`: the alphabet of
// Go's `base64.StdEncoding`, padding required, at most two `=` and only at the very end, no whitespace, not
// empty), whether every byte is printable ASCII, and where the first control character is (JSON does not allow
// one unescaped). A large attachment is never scanned a second time.

/**
 * What a byte is inside a JSON string literal's text: 0 another printable ASCII character, 1 a base64 letter,
 * 2 `=`, 3 a control character, 4 DEL or a byte of a multi-byte UTF-8 character.
 */
export const CONTENT_CLASS = (() => {
  const table = new Uint8Array(256);
  for (let c = 0; c < 0x20; c++) table[c] = 3;
  for (let c = 0x7f; c < 0x100; c++) table[c] = 4;
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') table[c.charCodeAt(0)] = 1;
  table[0x3d] = 2;
  return table;
})();

export class Base64Check {
  private bytes = 0;
  private pads = 0;
  private ok = true;
  private ascii = true;

  /**
   * Check `buf[start, end)`, the next bytes of the text. Returns the index in `buf` of the first control
   * character, or -1 (the bytes after a control character are not checked).
   */
  push(buf: Uint8Array, start = 0, end = buf.length): number {
    let ok = this.ok;
    let pads = this.pads;
    let ascii = this.ascii;
    let control = -1;
    for (let i = start; i < end; i++) {
      const k = CONTENT_CLASS[buf[i]!];
      if (k === 1) {
        if (pads !== 0) ok = false;
      } else if (k === 2) {
        if (++pads > 2) ok = false;
      } else {
        ok = false;
        if (k === 4) ascii = false;
        else if (k === 3) {
          control = i;
          break;
        }
      }
    }
    this.bytes += end - start;
    this.ok = ok;
    this.pads = pads;
    this.ascii = ascii;
    return control;
  }

  /** Start the base64 check again from the next byte (after a `data:…;base64,` header); `printable` stays. */
  restartBase64(): void {
    this.bytes = 0;
    this.pads = 0;
    this.ok = true;
  }

  /** Whether the bytes pushed (since the restart) are strict base64: whole 4-character groups, not empty. */
  get valid(): boolean {
    return this.ok && this.bytes > 0 && this.bytes % 4 === 0;
  }

  /** Whether every byte pushed is printable ASCII (0x20–0x7e). */
  get printable(): boolean {
    return this.ascii;
  }
}
