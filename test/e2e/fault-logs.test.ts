/**
 * What a node logs for faults that are not its own: a peer that is down,
 * a client's bad request. One line with the reason and no stack; a peer
 * that stays down is not reported again at every sync.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, postJson, recordingLogger, startTestNode, waitFor } from './helpers/nodes.js';

afterEach(closeAll);

/** A loopback port where nothing listens (the discard port, never a node's). */
const DOWN = 'http://127.0.0.1:9/';

describe('logs of others’ faults', () => {
  it('a peer that is down: one info line with the reason, then debug until it is back', async () => {
    const { logger, lines } = recordingLogger();
    await startTestNode({ peers: [DOWN], syncIntervalMs: 1000 }, { logger });
    const first = lines.find((line) => line.msg === 'peer unreachable, skipped');
    expect(first).toMatchObject({ level: 'info', fields: { peer: DOWN, code: 'PEER_UNREACHABLE', reason: expect.stringContaining('ECONNREFUSED') } });
    expect(first?.fields).not.toHaveProperty('err');
    const again = await waitFor('the next sync to fail too', () => lines.find((line) => line.msg === 'peer still down, skipped'));
    expect(again).toMatchObject({ level: 'debug', fields: { peer: DOWN, code: 'PEER_UNREACHABLE' } });
    expect(lines.filter((line) => line.msg === 'peer unreachable, skipped')).toHaveLength(1);
  });

  it("a client's request naming a peer that is down, or a malformed one: info lines with the reason, no error, no stack", async () => {
    const { logger, lines } = recordingLogger();
    const node = await startTestNode({}, { logger });
    const posted = await postJson(`${node.url}peers`, { url: DOWN });
    expect(posted.status).toBe(502);
    const bad = await postJson(`${node.url}data`, '{"data": ');
    expect(bad.status).toBe(400);
    const failed = lines.find((line) => line.msg === 'request failed');
    expect(failed).toMatchObject({ level: 'info', fields: { path: '/peers', status: 502, code: 'PEER_UNREACHABLE' } });
    const refused = lines.find((line) => line.msg === 'request refused');
    expect(refused).toMatchObject({ level: 'info', fields: { path: '/data', status: 400, code: 'MALFORMED_JSON' } });
    expect(lines.filter((line) => line.level === 'error')).toEqual([]);
    expect(lines.filter((line) => 'err' in line.fields && line.msg.includes('request'))).toEqual([]);
  });
});
