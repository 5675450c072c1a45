import { describe, expect, it } from 'vitest';
import { CLIENT_USAGE, COMMANDS, isClientInvocation } from '../../../src/client/index.js';
import { nodeUrl } from '../../../src/client/connection.js';

describe('which command line is the client’s', () => {
  it.each([
    [['status']],
    [['block', '7']],
    [['--node', 'http://x:1/', 'status']],
    [['--node=http://x:1/', '--json', 'mine', '2']],
    [['--admin-token', 't', 'mine', '1']],
    [['status', '--help']],
    [['frobnicate']],
  ])('%j runs the client', (argv) => {
    expect(isClientInvocation(argv)).toBe(true);
  });

  it.each([
    [[]],
    [['--port', '5001']],
    [['--help']],
    [['-h']],
    [['--version']],
    [['--no-mine', '--peers', '']],
    [['--admin-token', 't', '--port', '5001']],
    [['--admin-token', 't']],
    [['--config', 'node.json']],
  ])('%j starts a node', (argv) => {
    expect(isClientInvocation(argv)).toBe(false);
  });

  it('lists every command and the exit codes in its usage', () => {
    for (const name of Object.keys(COMMANDS)) expect(CLIENT_USAGE).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    expect(CLIENT_USAGE).toMatch(/Exit status: 0 done; 1 the node answered with an error/);
  });
});

describe('--node', () => {
  it.each([
    ['localhost:5001', 'http://localhost:5001/'],
    ['http://10.0.0.5:5000', 'http://10.0.0.5:5000/'],
    ['https://node.example/jbc?x=1', 'https://node.example/jbc/'],
  ])('%s is %s', (text, url) => {
    expect(nodeUrl(text).href).toBe(url);
  });

  it.each([['ftp://x/'], ['http://']])('refuses %s naming --node', (text) => {
    expect(() => nodeUrl(text)).toThrow(/^--node must be/);
  });
});
