/**
 * What the node reports of itself: the Prometheus metrics, the summaries of
 * block activity in the log, and the recent hash rates and reorgs behind the
 * explorer's chart and network figures. Other folders import from here only.
 */
export { BlockActivity } from './block-activity.js';
export { HashrateHistory, type HashrateHistoryView, type HashrateSample } from './hashrate-history.js';
export { NodeMetrics } from './metrics.js';
export { ReorgLog, type Reorg, type ReorgSummary } from './reorg-log.js';
