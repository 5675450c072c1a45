import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { DelayProxy } from '../../../bench/delay-proxy.js';

/** What one side of a connection sent (each write's last byte offset and time) and received (each chunk's end offset and time). */
interface Tape {
  readonly sent: Array<{ end: number; at: number }>;
  readonly received: Array<{ end: number; at: number }>;
  bytes: Buffer[];
}

const tape = (): Tape => ({ sent: [], received: [], bytes: [] });

function record(socket: Socket, t: Tape): void {
  let total = 0;
  socket.on('data', (chunk: Buffer) => {
    total += chunk.length;
    t.received.push({ end: total, at: performance.now() });
    t.bytes.push(chunk);
  });
}

function send(socket: Socket, t: Tape, chunk: Buffer): void {
  const end = (t.sent.at(-1)?.end ?? 0) + chunk.length;
  t.sent.push({ end, at: performance.now() });
  socket.write(chunk);
}

/**
 * For each chunk received, the time since the latest write it contains was
 * made: the proxy may merge writes, but no byte may arrive before its delay.
 */
function delays(sender: Tape, receiver: Tape): number[] {
  return receiver.received.map((r) => {
    const write = sender.sent.find((s) => s.end >= r.end)!;
    return r.at - write.at;
  });
}

const pattern = (seed: number, length: number): Buffer => Buffer.from(Array.from({ length }, (_, i) => (seed * 31 + i) % 256));

let server: Server | undefined;
let proxy: DelayProxy | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await proxy?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = proxy = undefined;
});

/** A server behind a delaying proxy; resolves with both ends of one connection through it. */
async function link(delayMs: number): Promise<{ client: Socket; upstream: Socket }> {
  const accepted = new Promise<Socket>((resolve) => {
    server = createServer({ allowHalfOpen: true }, resolve);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  proxy = await DelayProxy.start({ targetPort: (server!.address() as AddressInfo).port, delayMs });
  const client = connect({ host: '127.0.0.1', port: proxy.port, allowHalfOpen: true });
  sockets.push(client);
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const upstream = await accepted;
  sockets.push(upstream);
  return { client, upstream };
}

describe('delaying TCP proxy', () => {
  it('carries bytes both ways in order, none before its delay', async () => {
    const delayMs = 30;
    const { client, upstream } = await link(delayMs);
    const up = tape();
    const down = tape();
    const fromClient = tape();
    const fromServer = tape();
    record(upstream, up);
    record(client, down);
    const writes = 20;
    const size = 1500;
    const upDone = new Promise<void>((resolve) => upstream.on('data', () => up.received.at(-1)!.end === writes * size && resolve()));
    const downDone = new Promise<void>((resolve) => client.on('data', () => down.received.at(-1)!.end === writes * size && resolve()));
    for (let i = 0; i < writes; i++) {
      send(client, fromClient, pattern(i, size));
      send(upstream, fromServer, pattern(100 + i, size));
      await new Promise(setImmediate);
    }
    await Promise.all([upDone, downDone]);

    const expected = (base: number) => Buffer.concat(Array.from({ length: writes }, (_, i) => pattern(base + i, size)));
    expect(Buffer.concat(up.bytes).equals(expected(0))).toBe(true);
    expect(Buffer.concat(down.bytes).equals(expected(100))).toBe(true);
    for (const ms of [...delays(fromClient, up), ...delays(fromServer, down)]) expect(ms).toBeGreaterThanOrEqual(delayMs);
  });

  it('delivers a half-close behind the data before it, and the answer still comes back', async () => {
    const delayMs = 20;
    const { client, upstream } = await link(delayMs);
    const received: Buffer[] = [];
    upstream.on('data', (chunk: Buffer) => received.push(chunk));
    const request = tape();
    const ended = new Promise<number>((resolve) => upstream.once('end', () => resolve(performance.now())));
    send(client, request, Buffer.from('GET / HTTP/1.0\r\n\r\n'));
    const endSentAt = performance.now();
    client.end();
    const endAt = await ended;
    expect(Buffer.concat(received).toString()).toBe('GET / HTTP/1.0\r\n\r\n');
    expect(endAt - endSentAt).toBeGreaterThanOrEqual(delayMs);

    const answer = new Promise<string>((resolve) => {
      const parts: Buffer[] = [];
      client.on('data', (chunk: Buffer) => parts.push(chunk)).once('end', () => resolve(Buffer.concat(parts).toString()));
    });
    upstream.end('HTTP/1.0 200 OK\r\n\r\nbye');
    expect(await answer).toBe('HTTP/1.0 200 OK\r\n\r\nbye');
  });

  it('with no delay, still in order', async () => {
    const { client, upstream } = await link(0);
    const got: Buffer[] = [];
    const all = 10 * 100;
    const done = new Promise<void>((resolve) => {
      let n = 0;
      upstream.on('data', (chunk: Buffer) => {
        got.push(chunk);
        n += chunk.length;
        if (n === all) resolve();
      });
    });
    for (let i = 0; i < 10; i++) client.write(pattern(i, 100));
    await done;
    expect(Buffer.concat(got).equals(Buffer.concat(Array.from({ length: 10 }, (_, i) => pattern(i, 100))))).toBe(true);
  });
});
