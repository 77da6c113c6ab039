// metadata.ts: call metadata, a multimap of lower-cased keys carried in
// Request.metadata as a list of KeyValue pairs.
import type { KeyValue } from './codec';

/** MetadataInit is what a Metadata can be built from. */
export type MetadataInit = Metadata | Record<string, string | string[]>;

/** Metadata holds call metadata: keys are lower-cased, and a repeated key keeps every value in order. */
export class Metadata {
  private readonly map = new Map<string, string[]>();

  constructor(init?: MetadataInit) {
    if (init instanceof Metadata) {
      for (const [k, vs] of init.map) this.map.set(k, [...vs]);
    } else if (init !== undefined) {
      for (const [k, v] of Object.entries(init)) this.set(k, v);
    }
  }

  /** fromKeyValues builds Metadata from the wire list, accumulating repeated keys. */
  static fromKeyValues(list: readonly KeyValue[]): Metadata {
    const md = new Metadata();
    for (const kv of list) md.append(kv.key, kv.value);
    return md;
  }

  /** size is the number of distinct keys. */
  get size(): number {
    return this.map.size;
  }

  /** get returns the first value of key, or undefined. */
  get(key: string): string | undefined {
    return this.map.get(key.toLowerCase())?.[0];
  }

  /** getAll returns every value of key (a copy; empty when absent). */
  getAll(key: string): string[] {
    return [...(this.map.get(key.toLowerCase()) ?? [])];
  }

  /** has reports whether key has at least one value. */
  has(key: string): boolean {
    return this.map.has(key.toLowerCase());
  }

  /** set replaces all values of key. */
  set(key: string, value: string | readonly string[]): this {
    const values = typeof value === 'string' ? [value] : [...value];
    if (values.length === 0) this.map.delete(key.toLowerCase());
    else this.map.set(key.toLowerCase(), values);
    return this;
  }

  /** append adds one more value to key. */
  append(key: string, value: string): this {
    const k = key.toLowerCase();
    const values = this.map.get(k);
    if (values === undefined) this.map.set(k, [value]);
    else values.push(value);
    return this;
  }

  /** delete removes key and all its values. */
  delete(key: string): boolean {
    return this.map.delete(key.toLowerCase());
  }

  /** entries iterates [key, values] pairs (values are copies). */
  *entries(): IterableIterator<[string, string[]]> {
    for (const [k, vs] of this.map) yield [k, [...vs]];
  }

  /** toKeyValues flattens the metadata into the wire list, one pair per value. */
  toKeyValues(): KeyValue[] {
    const out: KeyValue[] = [];
    for (const [key, values] of this.map) for (const value of values) out.push({ key, value });
    return out;
  }
}
