import type { Block } from '../../../src/block.js';

export declare const BASE: number;
export declare const GROW: number;
export declare const FORK_AT: number;
export declare const FORK: number;
export declare function chains(): { base: Block[]; grow: Block[]; fork: Block[] };
