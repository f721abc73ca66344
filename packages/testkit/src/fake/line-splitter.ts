// Splits decoded stdin text into lines like Java's BufferedReader.readLine: "\n", "\r" and "\r\n" all end
// a line, also when "\r\n" is split across two chunks; a last line without terminator is returned at end.
// Only the new chunk is searched, and the pieces of an unfinished line are joined once, when it ends: a line
// of tens of megabytes arriving in 64 KiB chunks costs linear time, not a copy of everything so far per chunk.

export class LineSplitter {
  private rest: string[] = [];
  private skipLeadingLf = false;

  push(chunk: string, onLine: (line: string) => void): void {
    let pos = 0;
    if (this.skipLeadingLf && chunk.length > 0) {
      this.skipLeadingLf = false;
      if (chunk.charCodeAt(0) === 0x0a) pos = 1;
    }
    const re = /[\r\n]/g;
    re.lastIndex = pos;
    let m: RegExpExecArray | null;
    while ((m = re.exec(chunk)) !== null) {
      const at = m.index;
      const piece = chunk.slice(pos, at);
      if (this.rest.length > 0) {
        this.rest.push(piece);
        const line = this.rest.join('');
        this.rest = [];
        onLine(line);
      } else {
        onLine(piece);
      }
      if (chunk.charCodeAt(at) === 0x0d) {
        if (at + 1 < chunk.length) {
          if (chunk.charCodeAt(at + 1) === 0x0a) re.lastIndex = at + 2;
        } else {
          this.skipLeadingLf = true;
        }
      }
      pos = re.lastIndex;
    }
    if (pos < chunk.length) this.rest.push(pos === 0 ? chunk : chunk.slice(pos));
  }

  end(onLine: (line: string) => void): void {
    if (this.rest.length > 0) onLine(this.rest.join(''));
    this.rest = [];
  }
}
