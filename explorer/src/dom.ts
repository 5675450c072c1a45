/**
 * The only way this page builds DOM. Strings always become text nodes, never
 * markup: block data is arbitrary text from anyone, and this keeps it inert
 * however it is rendered. Attribute values are set with setAttribute, and
 * links are built only from validated indexes and hashes (see `blockHref`).
 */
export type Child = Node | string | number | bigint | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Readonly<Record<string, string>> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  append(el, children);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';

export function svg(tag: string, attrs: Readonly<Record<string, string>> = {}): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  return el;
}

export function append(parent: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === 'object' ? child : String(child));
  }
}

/** The element with `id`; the page's HTML has it, so its absence is a bug worth failing loudly on. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
}

const INDEX = /^(0|[1-9][0-9]*)$/;
const HASH = /^[0-9a-f]{64}$/;

/** `#/blocks/N` for a canonical index, `#/blocks/hash/H` for a hash; anything else links nowhere. */
export function blockHref(key: string): string {
  if (INDEX.test(key)) return `#/blocks/${key}`;
  if (HASH.test(key)) return `#/blocks/hash/${key}`;
  return '#/';
}

/** `#/data/ID` for an entry id (64 hex, as a block hash); anything else links nowhere. */
export function entryHref(id: string): string {
  return HASH.test(id) ? `#/data/${id}` : '#/';
}

export function isIndex(text: string): boolean {
  return INDEX.test(text);
}

export function isHash(text: string): boolean {
  return HASH.test(text);
}
