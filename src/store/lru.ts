/**
 * A small least-recently-used map: the store keeps the blocks it read last
 * (the tip and its neighbours are asked for again and again) without holding
 * the chain in memory.
 */
export class Lru<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, V>();

  constructor(max: number) {
    this.#max = max;
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
    if (this.#max <= 0) return;
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as K);
  }

  /** Drops every entry whose key matches. */
  deleteWhere(test: (key: K) => boolean): void {
    for (const key of [...this.#map.keys()]) if (test(key)) this.#map.delete(key);
  }

  get size(): number {
    return this.#map.size;
  }
}
