/**
 * The node subsystem's public surface: start a node, and the types of its
 * options and handle. Other folders import from here only.
 */
export { startNode, blockData, formatRate } from './node.js';
export { parseCommandLine, USAGE, type CommandLine, type CommandLineEnv, type LogSettings } from './args.js';
export {
  defaultNodeOptions,
  defaultPeerList,
  resolveNodeConfig,
  MAX_BLOCKS_PER_PAGE,
  type NodeConfig,
  type NodeOptions,
} from './options.js';
export type { NodeHandle, NodeModules, NodeMiner, NodeStatus, MiningStatus, TipChange } from './interface.js';
export { PEER_HEADER } from './peer-client.js';
