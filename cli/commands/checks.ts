/** `irsa-audit checks`: the catalogue, so users can pick ids for --check, exemptions and severities. */
import { CATALOGUE } from '#shared/checks/catalogue.ts';

export function renderCatalogue(format: 'table' | 'json'): string {
  if (format === 'json')
    return JSON.stringify(
      CATALOGUE.map((c) => c.metadata),
      null,
      2,
    );
  return CATALOGUE.map(
    (c) =>
      `${c.metadata.id.padEnd(10)}${c.metadata.severity.padEnd(10)}${c.metadata.scope.padEnd(17)}${c.metadata.title}`,
  ).join('\n');
}
