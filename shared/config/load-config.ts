/** Reads the configuration file (YAML or JSON) and validates it, with errors that name the field. */
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AuditConfig, auditConfigSchema } from './audit-config.ts';

export const DEFAULT_CONFIG_FILES = [
  'irsa-audit.config.yaml',
  'irsa-audit.config.yml',
  'irsa-audit.config.json',
];

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The first default config file present in `directory`, if any. */
export async function findDefaultConfig(directory: string): Promise<string | undefined> {
  for (const name of DEFAULT_CONFIG_FILES) {
    const path = join(directory, name);
    try {
      await access(path);
      return path;
    } catch {
      // not there: try the next name
    }
  }
  return undefined;
}

export async function loadConfig(path: string): Promise<AuditConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  // Loaded with the first config file, not with the CLI (most runs have none): a faster start.
  const { parse: parseYaml } = await import('yaml');
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid YAML/JSON: ${(error as Error).message}`);
  }
  const result = auditConfigSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue?.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '');
    throw new ConfigError(`config file ${path}: ${field || '(top level)'}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}
