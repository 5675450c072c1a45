/**
 * The node's chain: the store behind one queue that every change goes
 * through (a mined block, a peer's block, a sync), and the tip events it
 * announces. Other folders import from here only.
 */
export { chainFigures, roundDifficulty, MEAN_BLOCK_TIME_BLOCKS, type ChainFigures } from './figures.js';
export { ChainState, describeTip, type AdoptResult, type Adoption, type StoreFault, type TipChange } from './chain-state.js';
