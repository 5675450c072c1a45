/**
 * What the node reports of itself: the Prometheus metrics and the
 * summaries of block activity in the log. Other folders import from here only.
 */
export { BlockActivity } from './block-activity.js';
export { NodeMetrics } from './metrics.js';
