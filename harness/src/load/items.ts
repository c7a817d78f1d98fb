/**
 * Generates the items of a run from its seed. Item `seq` depends only on the
 * seed, the run id and `seq`, so any item can be rebuilt on its own (to replay
 * a run item for item, or to recompute the hash of one acknowledged item).
 */
import { createRandom, type Random } from './random.js';
import type { ShapeWeights } from '../scenario/types.js';

export type ItemShape = 'flat' | 'coord';

export interface GeneratedItem {
  seq: number;
  id: string;
  shape: ItemShape;
  /** False for items made invalid on purpose, which the API must reject. */
  valid: boolean;
  /** The item as sent in `items[]` of /store_bulk. */
  body: Record<string, unknown>;
}

export interface ItemGeneratorOptions {
  runId: string;
  namespace: string;
  seed: string;
  shapes: ShapeWeights;
  /** Share of items generated without text or coordinate, in [0, 1]. */
  invalidItems: number;
  textLength: { min: number; max: number };
}

const WORDS = [
  'amber', 'harbor', 'lantern', 'meadow', 'quartz', 'river', 'signal', 'timber', 'vector', 'willow',
  'anchor', 'beacon', 'cobalt', 'delta', 'ember', 'falcon', 'glacier', 'horizon', 'island', 'juniper',
  'kernel', 'lagoon', 'marble', 'nebula', 'orchid', 'pepper', 'quiver', 'raven', 'saffron', 'tundra',
  'umber', 'valley', 'walnut', 'xenon', 'yonder', 'zephyr', 'memory', 'archive', 'ledger', 'mosaic',
];
const MEMORY_TYPES = ['episodic', 'semantic'] as const;
const SOURCE = 'soma-harness';

/** Builds the stable id of item `seq`: the same run id and seq always give the same id. */
export function itemId(runId: string, seq: number): string {
  return `${runId}-${String(seq).padStart(7, '0')}`;
}

function generateText(random: Random, seq: number, length: { min: number; max: number }): string {
  const target = random.integer(length.min, length.max);
  let text = `item ${seq}:`;
  while (text.length < target) text += ` ${random.pick(WORDS)}`;
  return text.slice(0, target);
}

function chooseShape(random: Random, shapes: ShapeWeights): ItemShape {
  const total = shapes.flat + shapes.coord;
  return random.next() * total < shapes.flat ? 'flat' : 'coord';
}

function flatBody(random: Random, seq: number, id: string, options: ItemGeneratorOptions): Record<string, unknown> {
  return {
    id,
    text: generateText(random, seq, options.textLength),
    run_id: options.runId,
    namespace: options.namespace,
    type: random.pick(MEMORY_TYPES),
    importance: random.integer(1, 100) / 100,
    payload: { seq, source: SOURCE },
  };
}

function coordBody(random: Random, seq: number, id: string, options: ItemGeneratorOptions): Record<string, unknown> {
  const coord = [random.integer(-1000, 1000) / 10, random.integer(-1000, 1000) / 10, random.integer(-1000, 1000) / 10];
  return {
    id,
    coord,
    type: random.pick(MEMORY_TYPES),
    namespace: options.namespace,
    run_id: options.runId,
    payload: { seq, source: SOURCE, text: generateText(random, seq, options.textLength) },
  };
}

/** Builds an item that neither shape accepts: no text and no coordinate. */
function invalidBody(seq: number, id: string, options: ItemGeneratorOptions): Record<string, unknown> {
  return { id, run_id: options.runId, namespace: options.namespace, payload: { seq, source: SOURCE, invalid: true } };
}

/** Generates item `seq` (0-based) of a run. */
export function generateItem(seq: number, options: ItemGeneratorOptions): GeneratedItem {
  const random = createRandom(`${options.seed}:${seq}`);
  const id = itemId(options.runId, seq);
  const invalid = options.invalidItems > 0 && random.next() < options.invalidItems;
  const shape = chooseShape(random, options.shapes);
  if (invalid) return { seq, id, shape: 'flat', valid: false, body: invalidBody(seq, id, options) };
  const body = shape === 'flat' ? flatBody(random, seq, id, options) : coordBody(random, seq, id, options);
  return { seq, id, shape, valid: true, body };
}

/** Generates items `from` (inclusive) to `to` (exclusive). */
export function generateItems(from: number, to: number, options: ItemGeneratorOptions): GeneratedItem[] {
  const items: GeneratedItem[] = [];
  for (let seq = from; seq < to; seq += 1) items.push(generateItem(seq, options));
  return items;
}
