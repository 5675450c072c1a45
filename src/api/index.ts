/**
 * The HTTP API: the Koa app and its routes, the server around it, the
 * error mapping, the event stream and the explorer's files; `NodeApi` is what
 * it asks of the node. Other folders import from here only.
 */
export { EventStream } from './events.js';
export { listen } from './http-server.js';
export { createApp } from './http.js';
export type { ChainStats, NodeApi, NodeStatus } from './interface.js';
