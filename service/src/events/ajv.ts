/**
 * The one ajv configuration used for request items and events: no type
 * coercion, no removal of properties and no defaults, so validation never
 * changes the data it checks.
 */
import { Ajv } from 'ajv';
import formatsPlugin from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats.js';

// ajv-formats is CommonJS; under NodeNext its default import is module.exports, the plugin itself.
const addFormats = formatsPlugin as unknown as (ajv: Ajv, formats: string[]) => Ajv;

interface StringFormat {
  validate: (value: string) => boolean;
  compare: (first: string, second: string) => number | undefined;
}

const DATE_TIME = fullFormats['date-time'] as StringFormat;

/**
 * Wraps a pure string check so that a value equal to the previous one reuses
 * its result. The events of one request share one acceptance timestamp, so
 * consecutive events mostly carry the same `timestamp`.
 */
export function rememberLastResult(check: (value: string) => boolean): (value: string) => boolean {
  let lastValue: string | undefined;
  let lastResult = false;
  return (value) => {
    if (value !== lastValue) {
      lastResult = check(value);
      lastValue = value;
    }
    return lastResult;
  };
}

export function createAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: false,
    strict: true,
    allowUnionTypes: true,
  });
  addFormats(ajv, ['uuid']);
  // ajv-formats' full RFC 3339 date-time check, the same rule as addFormats(ajv, ['date-time']).
  ajv.addFormat('date-time', { type: 'string', validate: rememberLastResult(DATE_TIME.validate), compare: DATE_TIME.compare });
  return ajv;
}
