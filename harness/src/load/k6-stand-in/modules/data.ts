/**
 * Shim of k6/data for the k6 stand-in: SharedArray is the array its callback
 * returns, frozen (k6 shares it read-only between VUs).
 */
export class SharedArray<T> {
  constructor(name: string, build: () => T[]) {
    const data = build();
    if (!Array.isArray(data)) throw new TypeError(`SharedArray ${name}: the callback must return an array`);
    // A constructor that returns an object makes `new` return that object.
    return Object.freeze(data) as unknown as SharedArray<T>;
  }
}
