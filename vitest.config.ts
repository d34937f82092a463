import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'shared/**/*.test.ts', 'cli/**/*.test.ts', 'emulator/**/*.test.ts'],
    // The interop suite against moto_server runs on its own: npm run test:interop (vitest.interop.config.ts);
    // so does the package's install test: npm run test:pack (vitest.pack.config.ts).
    exclude: [...configDefaults.exclude, 'test/interop/**', 'test/pack/**'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 30_000,
  },
});
