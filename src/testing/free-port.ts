/** Test helper: a TCP port on 127.0.0.1 that was free a moment ago (for servers started as child processes). */
import { createServer } from 'node:net';

/** Binds port 0 on loopback, reads the port the system gave, and closes it again. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
