/**
 * The official SARIF 2.1.0 JSON schema (OASIS, errata 01; vendored in test/fixtures/schemas with
 * its licence) compiled with a real JSON-schema validator: Ajv's draft-04 class (the schema is
 * draft-04) and ajv-formats (it uses `uri`, `uri-reference` and `date-time`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import AjvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { REPO_ROOT } from './run-cli.ts';

const schema = JSON.parse(
  readFileSync(join(REPO_ROOT, 'test/fixtures/schemas/sarif-schema-2.1.0.json'), 'utf8'),
) as object;

// Ajv's strict mode lints how a schema is written (e.g. `required` inside `anyOf` without its
// `properties`), which the official schema does: off, as it changes nothing in what is valid.
// Both packages are CommonJS whose module.exports is also their `default` export.
const ajv = new AjvDraft04.default({ allErrors: true, strict: false });
ajvFormats.default(ajv);
const validate = ajv.compile(schema);

/** The schema's complaints about a SARIF document (empty when it is valid), one line each. */
export function sarifSchemaErrors(document: unknown): string[] {
  if (validate(document)) return [];
  return (validate.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
  );
}
