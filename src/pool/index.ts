/**
 * The data pool: entries users submit, kept until a block confirms them.
 * Other folders import from here only.
 */
export { DataPool, type EntryView, type SubmitResult } from './data-pool.js';
