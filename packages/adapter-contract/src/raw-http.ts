import { connect, type Socket } from "node:net";

/** What a server answered on a raw connection: its status line, head and body as text. */
export interface RawAnswer {
  /** The status code, or 0 when the connection closed without one. */
  status: number;
  /** Everything received, head and body. */
  text: string;
}

/**
 * Sends `head` (a request line and headers, as written on the wire, which `fetch` would
 * refuse: a malformed `Host`, say) on a fresh connection, then lets `send` write a body,
 * and resolves with what came back once the server closes or `waitMs` passes (a bound, so
 * a server that never answers fails the test instead of hanging it).
 */
export function rawRequest(
  url: string,
  head: string,
  send?: (socket: Socket, answered: () => boolean) => Promise<void>,
  waitMs = 10_000,
): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let text = "";
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: status ? Number(status[1]) : 0, text });
    };
    const timer = setTimeout(finish, waitMs);
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      text += chunk;
      // One answer is all a test wants: stop at the end of a complete response.
      if (complete(text)) finish();
    });
    socket.on("error", () => {});
    socket.on("close", finish);
    socket.write(head.replaceAll("\n", "\r\n"));
    void send?.(socket, () => text.length > 0).catch(() => {});
  });
}

/** Whether `text` holds a whole response: a head, then a body of its content-length or chunks. */
function complete(text: string): boolean {
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return false;
  const head = text.slice(0, end).toLowerCase();
  const body = text.slice(end + 4);
  const length = /\r\ncontent-length: *(\d+)/.exec(head);
  if (length) return body.length >= Number(length[1]);
  if (/\r\ntransfer-encoding: *chunked/.test(head)) return body.endsWith("0\r\n\r\n");
  return false;
}

/**
 * Writes an endless chunked body, 64 KiB a chunk, until the server answers or `maxBytes`
 * are sent: the body a hostile caller streams at a size limit.
 */
export function chunkedFlood(maxBytes = 64 * 1024 * 1024) {
  return async (socket: Socket, answered: () => boolean) => {
    const chunk = `${(65_536).toString(16)}\r\n${"x".repeat(65_536)}\r\n`;
    for (let sent = 0; sent < maxBytes && !answered() && !socket.destroyed; sent += 65_536) {
      if (!socket.write(chunk))
        await new Promise<void>((resolve) => {
          // Whichever comes first removes the other, so waits do not pile up listeners.
          const done = () => {
            socket.off("drain", done);
            socket.off("close", done);
            resolve();
          };
          socket.once("drain", done);
          socket.once("close", done);
        });
    }
  };
}
