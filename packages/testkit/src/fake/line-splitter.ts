// Splits decoded stdin text into lines like Java's BufferedReader.readLine: "\n", "\r" and "\r\n" all end
// a line, also when "\r\n" is split across two chunks; a last line without terminator is returned at end.

export class LineSplitter {
  private rest = '';
  private skipLeadingLf = false;

  push(chunk: string, onLine: (line: string) => void): void {
    let text = this.rest + chunk;
    this.rest = '';
    if (this.skipLeadingLf) {
      this.skipLeadingLf = false;
      if (text.startsWith('\n')) text = text.slice(1);
    }
    const re = /[\r\n]/g;
    let pos = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(text)) !== null) {
      const at = m.index;
      onLine(text.slice(pos, at));
      if (text[at] === '\r') {
        if (at + 1 < text.length) {
          if (text[at + 1] === '\n') re.lastIndex = at + 2;
        } else {
          this.skipLeadingLf = true;
        }
      }
      pos = re.lastIndex;
    }
    this.rest = text.slice(pos);
  }

  end(onLine: (line: string) => void): void {
    if (this.rest.length > 0) onLine(this.rest);
    this.rest = '';
  }
}
