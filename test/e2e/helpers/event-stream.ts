/**
 * A Server-Sent Events client for tests: opens `GET /events`, parses the
 * frames as they arrive, and lets a test wait for an event.
 */
import { get, type IncomingMessage } from 'node:http';
import { waitFor } from './nodes.js';

export interface StreamEvent {
  readonly event: string;
  readonly data: any;
}

export interface EventClient {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  /** Every event received so far, in order. */
  readonly events: StreamEvent[];
  /** The raw text received, comments and `retry:` included. */
  text(): string;
  /** Resolves when the server ends the stream. */
  readonly ended: Promise<void>;
  /** Waits for the first event named `name` (after `after` events) that satisfies `match`. */
  next(name: string, match?: (data: any) => boolean, after?: number): Promise<StreamEvent>;
  close(): Promise<void>;
}

export function openEvents(baseUrl: string): Promise<EventClient> {
  return new Promise((resolve, reject) => {
    const req = get(`${baseUrl}events`, (res) => {
      const events: StreamEvent[] = [];
      let raw = '';
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        raw += chunk;
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = frame.split('\n');
          const event = lines.find((line) => line.startsWith('event: '))?.slice(7);
          const data = lines.find((line) => line.startsWith('data: '))?.slice(6);
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
        }
      });
      const ended = new Promise<void>((done) => {
        res.on('end', done);
        res.on('close', done);
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        text: () => raw,
        ended,
        next: (name, match = () => true, after = 0) => waitFor(`a ${name} event`, () => events.slice(after).find((e) => e.event === name && match(e.data))),
        close: async () => {
          req.destroy();
          await ended;
        },
      });
    });
    req.on('error', reject);
  });
}
