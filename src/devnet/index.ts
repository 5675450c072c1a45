/**
 * A local network of nodes for development (`npm run devnet`): its options
 * and plan. Other folders import from here only.
 */
export { DEVNET_FLAGS } from './options.js';
