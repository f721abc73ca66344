// The UNIX-socket control channel: newline-delimited JSON commands `{"id":…,"cmd":…,…}` answered with
// `{"id":…,"ok":true,"result":…}` or `{"id":…,"ok":false,"error":"…"}`. Commands run concurrently (a long
// `emit` does not block `state`). The socket file is removed on exit, but only if it is still ours.
import { statSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';

export type CommandHandler = (command: Record<string, unknown>) => Promise<unknown>;

export class ControlCommandError extends Error {
  override readonly name = 'ControlCommandError';
}

export class ControlServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private inode: number | undefined;

  private constructor(
    readonly path: string,
    handler: CommandHandler,
  ) {
    this.server = createServer((socket) => this.accept(socket, handler));
  }

  /** Listens on `path`, replacing a stale socket file left by a previous process. */
  static async listen(path: string, handler: CommandHandler): Promise<ControlServer> {
    try {
      unlinkSync(path);
    } catch {
      // no stale file
    }
    const s = new ControlServer(path, handler);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(path, () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    s.inode = statSync(path).ino;
    s.server.unref();
    return s;
  }

  private accept(socket: Socket, handler: CommandHandler): void {
    this.sockets.add(socket);
    socket.unref();
    socket.setEncoding('utf8');
    let buffered = '';
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.trim() !== '') void this.run(socket, line, handler);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  private async run(socket: Socket, line: string, handler: CommandHandler): Promise<void> {
    let id: unknown = null;
    let answer: Record<string, unknown>;
    try {
      const command = JSON.parse(line) as unknown;
      if (typeof command !== 'object' || command === null || Array.isArray(command)) throw new ControlCommandError('command must be a JSON object');
      id = (command as Record<string, unknown>).id ?? null;
      const result = await handler(command as Record<string, unknown>);
      answer = { id, ok: true, result: result ?? null };
    } catch (e) {
      answer = { id, ok: false, error: e instanceof Error ? e.message : String(e) };
    }
    if (!socket.destroyed) socket.write(`${JSON.stringify(answer)}\n`);
  }

  /** Synchronous cleanup for process exit: remove the socket file if it is still the one we created. */
  removeSocketFile(): void {
    try {
      if (this.inode !== undefined && statSync(this.path).ino === this.inode) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
    this.removeSocketFile();
  }
}
