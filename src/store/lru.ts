/**
 * A small least-recently-used map: the store keeps the blocks it read last
 * (the tip and its neighbours are asked for again and again) without holding
 * the chain in memory. Bounded by entries and, when given a weight, by their
 * total weight too, so a few big values cannot fill memory.
 */
export interface LruWeight<V> {
  /** Most total weight held; a value heavier than this alone is not kept. */
  readonly max: number;
  readonly of: (value: V) => number;
}

export class Lru<K, V> {
  readonly #max: number;
  readonly #weight: LruWeight<V> | undefined;
  readonly #map = new Map<K, V>();
  #total = 0;

  constructor(max: number, weight?: LruWeight<V>) {
    this.#max = max;
    this.#weight = weight;
  }

  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      // A Map iterates in insertion order; re-inserting makes this the newest.
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.#weight?.of(value) ?? 0;
    if (this.#max <= 0 || (this.#weight !== undefined && weight > this.#weight.max)) return;
    this.#map.set(key, value);
    this.#total += weight;
    while (this.#map.size > this.#max || (this.#weight !== undefined && this.#total > this.#weight.max)) {
      this.delete(this.#map.keys().next().value as K);
    }
  }

  delete(key: K): void {
    const value = this.#map.get(key);
    if (value === undefined) return;
    this.#map.delete(key);
    this.#total -= this.#weight?.of(value) ?? 0;
  }

  /** Drops every entry whose key matches. */
  deleteWhere(test: (key: K) => boolean): void {
    for (const key of [...this.#map.keys()]) if (test(key)) this.delete(key);
  }

  get size(): number {
    return this.#map.size;
  }

  /** Total weight held (0 without a weight). */
  get weight(): number {
    return this.#total;
  }
}
