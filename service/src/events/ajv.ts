/**
 * The one ajv configuration used for request items and events: no type
 * coercion, no removal of properties and no defaults, so validation never
 * changes the data it checks.
 */
import { Ajv } from 'ajv';
import formatsPlugin from 'ajv-formats';

// ajv-formats is CommonJS; under NodeNext its default import is module.exports, the plugin itself.
const addFormats = formatsPlugin as unknown as (ajv: Ajv, formats: string[]) => Ajv;

export function createAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: false,
    coerceTypes: false,
    removeAdditional: false,
    useDefaults: false,
    strict: true,
    allowUnionTypes: true,
  });
  addFormats(ajv, ['date-time', 'uuid']);
  return ajv;
}
