/**
 * The hash-rate chart: total and per-worker lines over the last few minutes,
 * drawn as SVG polylines: the node's own samples of the last five minutes
 * (`GET /hashrate`) when the page opens or reconnects, then the `hashrate`
 * events. Time runs on the node's clock (the samples' `at`), so a skewed
 * browser clock does not bend it.
 */
import type { HashrateEvent } from './api.js';
import { h, svg } from './dom.js';
import { formatRate } from './format.js';

const WINDOW_MS = 5 * 60_000;
const WIDTH = 300;
const HEIGHT = 100;
/** The same colours as `.swatch.cN` in style.css. */
const COLORS = ['#2f6fde', '#1f8a4c', '#b86e00', '#7a3fc4', '#c0392b', '#16879c', '#8a6d3b', '#c2185b'];

export class HashrateChart {
  readonly #svg: SVGElement;
  readonly #legend: HTMLElement;
  readonly #max: HTMLElement;
  readonly #span: HTMLElement;
  #points: HashrateEvent[] = [];

  constructor(svgEl: SVGElement, legend: HTMLElement, max: HTMLElement, span: HTMLElement) {
    this.#svg = svgEl;
    this.#legend = legend;
    this.#max = max;
    this.#span = span;
  }

  add(point: HashrateEvent): void {
    this.load([point]);
  }

  /** Samples from the node, merged with those already drawn by time (the same sample twice counts once). */
  load(samples: readonly HashrateEvent[]): void {
    const byTime = new Map(this.#points.map((p) => [p.at, p]));
    for (const sample of samples) byTime.set(sample.at, sample);
    const points = [...byTime.values()].sort((a, b) => a.at - b.at);
    const from = (points.at(-1)?.at ?? 0) - WINDOW_MS;
    this.#points = points.filter((p) => p.at >= from);
    this.#draw();
  }

  #draw(): void {
    const points = this.#points;
    const last = points.at(-1);
    if (last === undefined) return;
    const top = Math.max(1, ...points.map((p) => p.total)) * 1.1;
    // Until five minutes of samples are in, the samples there are fill the width.
    const start = points[0]!.at;
    const span = Math.max(1, last.at - start);
    const x = (at: number): string => (((at - start) / span) * WIDTH).toFixed(1);
    const y = (value: number): string => (HEIGHT - (value / top) * HEIGHT).toFixed(1);
    const line = (value: (p: HashrateEvent) => number, cls: string, color: string): SVGElement =>
      svg('polyline', { class: cls, stroke: color, points: points.map((p) => `${x(p.at)},${y(value(p))}`).join(' ') });
    const workers = Math.max(0, ...points.map((p) => p.perWorker.length));
    const lines = [line((p) => p.total, 'total', '#1d2330')];
    for (let w = 0; w < workers; w++) lines.push(line((p) => p.perWorker[w] ?? 0, 'worker', COLORS[w % COLORS.length]!));
    this.#svg.replaceChildren(...lines);
    this.#svg.dataset.samples = String(points.length);
    this.#svg.dataset.from = String(start);
    this.#max.textContent = formatRate(top);
    this.#span.textContent = span >= WINDOW_MS - 5_000 ? 'last 5 minutes' : `last ${Math.round(span / 1000)} s`;
    // Swatch colours come from classes: the page's policy allows no inline styles.
    const legend = [h('span', {}, h('span', { class: 'swatch total' }), `total ${formatRate(last.total)}`)];
    for (const [w, rate] of last.perWorker.entries())
      legend.push(h('span', {}, h('span', { class: `swatch c${w % COLORS.length}` }), `w${w} ${formatRate(rate)}`));
    this.#legend.replaceChildren(...legend);
  }
}
