/**
 * Usage errors of commands whose modules load the AWS SDK or the Kubernetes client, defined here
 * so that cli/main.ts can throw and recognise them without loading those commands (it imports a
 * command's module only when that command runs, for a fast start). The commands re-export them.
 */

/** Bad or conflicting live-collection options (check --live, collect): exit 2. */
export class LiveOptionsError extends Error {
  override readonly name = 'LiveOptionsError';
}

/** `enroll` cannot go on (no region, a bad principal, a cluster it cannot reach): exit 2. */
export class EnrollError extends Error {
  override readonly name = 'EnrollError';
}

/** A command needs a package the installed irsa-audit does not bring (an optional peer dependency): exit 2. */
export class MissingDependencyError extends Error {
  override readonly name = 'MissingDependencyError';
}

/**
 * For a failed import of a module that uses `dependency`: a {@link MissingDependencyError} saying
 * how to install it when that package is what is missing, else the error itself.
 */
export function missingDependency(command: string, dependency: string, version: string) {
  return (error: unknown): never => {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((error as Error).message).includes(`'${dependency}'`)) {
      throw new MissingDependencyError(
        `${command} needs ${dependency}, which is not installed with irsa-audit (an optional peer dependency, ` +
          `for the local pipeline only): install it beside irsa-audit (npm install -g ${dependency}@${version} ` +
          'for a global install), or run it from a clone of the repository after npm ci',
      );
    }
    throw error;
  };
}
