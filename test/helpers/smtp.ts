/**
 * A real SMTP server for tests: Debian's python3-aiosmtpd on 127.0.0.1 with a small handler
 * that keeps each message as `<dir>/<ns>.eml` and rejects recipients starting with "reject".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/testing/free-port.js';

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const HANDLER = `
import os, time
class Capture:
    def __init__(self, out):
        self.out = out
    @classmethod
    def from_cli(cls, parser, *args):
        return cls(*args)
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('reject'):
            return '550 5.1.1 no such mailbox'
        envelope.rcpt_tos.append(address)
        return '250 OK'
    async def handle_DATA(self, server, session, envelope):
        path = os.path.join(self.out, '%d.eml' % time.time_ns())
        with open(path + '.part', 'wb') as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(path + '.part', path)
        return '250 Message accepted'
`;

export interface TestSmtp {
  port: number;
  /** The messages received so far, oldest first, as raw MIME text. */
  messages(): string[];
  stop(): void;
}


export async function startTestSmtp(): Promise<TestSmtp> {
  const dir = mkdtempSync(join(tmpdir(), 'duet-smtp-'));
  writeFileSync(join(dir, 'capture.py'), HANDLER);
  const mailDir = join(dir, 'mail');
  mkdirSync(mailDir);
  const port = await freePort();
  const child: ChildProcess = spawn(PYTHON, ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, '-c', 'capture.Capture', mailDir], { env: { ...process.env, PYTHONPATH: dir }, stdio: 'ignore' });
  for (let i = 0; ; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) break;
    if (i > 100 || child.exitCode !== null) throw new Error('aiosmtpd did not start (Debian package python3-aiosmtpd)');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    messages: () =>
      readdirSync(mailDir)
        .filter((f) => f.endsWith('.eml'))
        .sort()
        .map((f) => readFileSync(join(mailDir, f), 'utf8')),
    stop: () => void child.kill('SIGTERM'),
  };
}

/** The attachments of a MIME message: filename → decoded text. */
export function attachmentsOf(eml: string): Map<string, string> {
  const out = new Map<string, string>();
  const boundary = /boundary="?([^";\r\n]+)"?/i.exec(eml)?.[1];
  if (!boundary) return out;
  for (const part of eml.split(`--${boundary}`)) {
    const [head, ...rest] = part.split(/\r?\n\r?\n/);
    const name = /filename="?([^";\r\n]+)"?/i.exec(head ?? '')?.[1];
    if (!name) continue;
    const raw = rest.join('\n\n').trim();
    const enc = /Content-Transfer-Encoding:\s*(\S+)/i.exec(head!)?.[1]?.toLowerCase();
    const text =
      enc === 'base64'
        ? Buffer.from(raw.replace(/\s+/g, ''), 'base64').toString('utf8')
        : enc === 'quoted-printable'
          ? Buffer.from(raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8')
          : raw;
    out.set(name, text);
  }
  return out;
}
